"""Block Kit as Slack judges it: why it would refuse blocks or a view, and the ids it fills in.

Validation leans on slack_sdk's own models and adds what they do not check: per-surface limits,
unknown element types, empty texts, duplicate block ids. Nothing here touches emulator state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any, NamedTuple

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from cxbot.sandbox.state import JsonDict

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
VIEW_SIZE_LIMIT = 250_000
SECTION_TEXT_LIMIT = 3000
HEADER_TEXT_LIMIT = 150
SECTION_FIELDS_LIMIT = 10


class Refusal(NamedTuple):
    """Slack's `error` code for a refused view, and the messages it lists under `errors`."""

    error: str
    messages: list[str]


def block_errors(blocks: Any, *, in_view: bool, pointer: str = "/blocks") -> list[str]:
    """Why Slack would refuse these blocks; empty when it would accept them.

    slack_sdk's models check most limits in `to_dict()`, but they silently drop unknown element
    types and accept empty texts, so those are checked here too, with the per-surface limits the
    models do not know (50 blocks per message, no inputs in messages, unique block ids). Text
    lengths are checked here first, so the answer reads as Slack's ("must be less than 3001
    characters [json-pointer:/blocks/0/text/text]"); `pointer` is where the blocks sit in the
    call (`/view/blocks` in a view).
    """
    if not isinstance(blocks, list):
        return ["blocks must be a JSON array of block objects"]
    limit = VIEW_BLOCK_LIMIT if in_view else MESSAGE_BLOCK_LIMIT
    errors = [f"no more than {limit} items allowed [json-pointer:{pointer}]"] if len(blocks) > limit else []
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(block, dict):
            errors.append(f"a block must be an object [json-pointer:{where}]")
            continue
        if block.get("type") == "input" and not in_view:
            errors.append(f"input blocks are only allowed in modals and Home tabs [json-pointer:{where}]")
        block_id = block.get("block_id")
        if block_id in seen:
            errors.append(f"duplicate block_id {block_id!r} [json-pointer:{where}]")
        elif isinstance(block_id, str):
            seen.add(block_id)
        errors.extend(_one_block_errors(block, where))
    return errors


def _length_errors(block: JsonDict, where: str) -> list[str]:
    """Slack's own limits on a section's and a header's text, in Slack's words."""
    errors = []
    limits = {"section": SECTION_TEXT_LIMIT, "header": HEADER_TEXT_LIMIT}
    text = block.get("text")
    if block.get("type") in limits and isinstance(text, dict) and isinstance(text.get("text"), str):
        limit = limits[block["type"]]
        if len(text["text"]) > limit:
            errors.append(f"must be less than {limit + 1} characters [json-pointer:{where}/text/text]")
    fields = block.get("fields")
    if block.get("type") == "section" and isinstance(fields, list):
        if len(fields) > SECTION_FIELDS_LIMIT:
            errors.append(f"no more than {SECTION_FIELDS_LIMIT} items allowed [json-pointer:{where}/fields]")
        for index, field in enumerate(fields):
            if isinstance(field, dict) and isinstance(field.get("text"), str) and len(field["text"]) > 2000:
                errors.append(f"must be less than 2001 characters [json-pointer:{where}/fields/{index}/text]")
    return errors


def _one_block_errors(block: JsonDict, where: str) -> list[str]:
    lengths = _length_errors(block, where)
    if lengths:
        return lengths
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"unknown block type {block.get('type')!r} [json-pointer:{where}]"]
        rendered = parsed.to_dict()
    except SlackObjectFormationError as exc:
        return [f"{exc} [json-pointer:{where}]"]
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        return [f"malformed {block.get('type')} block: {exc} [json-pointer:{where}]"]
    errors = [f"unknown element type [json-pointer:{where}{path}]" for path in _dropped(rendered)]
    kind = block.get("type")
    if kind in {"actions", "context"} and not block.get("elements"):
        errors.append(f"{kind} needs at least one element [json-pointer:{where}/elements]")
    if kind == "input" and not isinstance(block.get("element"), dict):
        errors.append(f"input needs an element [json-pointer:{where}/element]")
    for path, obj in _text_objects(block, where):
        if not isinstance(obj.get("text"), str) or not obj["text"]:
            errors.append(f"must be more than 0 characters [json-pointer:{path}/text]")
    return errors


def _dropped(node: Any, path: str = "") -> Iterator[str]:
    """Where slack_sdk left a `None`: it does that for element types it does not know."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            if item is None:
                yield f"{path}/{index}"
            else:
                yield from _dropped(item, f"{path}/{index}")
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _dropped(value, f"{path}/{key}")


def _text_objects(node: Any, path: str) -> Iterator[tuple[str, JsonDict]]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _text_objects(item, f"{path}/{index}")
    elif isinstance(node, dict):
        if node.get("type") in {"plain_text", "mrkdwn"}:
            yield path, node
            return
        for key, value in node.items():
            yield from _text_objects(value, f"{path}/{key}")


def view_refusal(view: Any, *, kind: str) -> Refusal | None:
    """Why Slack would refuse this view (`invalid_arguments`, `view_too_large`), or None."""
    if not isinstance(view, dict):
        return Refusal("invalid_arguments", ["view must be a JSON object"])
    if len(json.dumps(view)) > VIEW_SIZE_LIMIT:
        return Refusal("view_too_large", [f"views are limited to {VIEW_SIZE_LIMIT} bytes"])
    if view.get("type") != kind:
        return Refusal("invalid_arguments", [f"view type must be {kind!r} here [json-pointer:/view/type]"])
    errors = block_errors(view.get("blocks", []), in_view=True, pointer="/view/blocks")
    for key in ("title", "submit", "close"):
        value = view.get(key)
        if value is not None and not (isinstance(value, dict) and value.get("type") == "plain_text"):
            errors.append(f"{key} must be a plain_text object [json-pointer:/view/{key}]")
    if kind == "modal" and "title" not in view:
        errors.append("a modal needs a title [json-pointer:/view/title]")
    has_inputs = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
    if kind == "modal" and has_inputs and "submit" not in view:
        errors.append("a modal with input blocks needs a submit button [json-pointer:/view/submit]")
    if not errors:
        try:
            View(**view).to_dict()
        except SlackObjectFormationError as exc:
            errors.append(str(exc))
        except TypeError as exc:
            errors.append(f"malformed view: {exc}")
    return Refusal("invalid_arguments", errors) if errors else None


def with_ids(blocks: list[JsonDict]) -> list[JsonDict]:
    """Copy of `blocks` with the block_id / action_id Slack makes up when the app gives none.

    The made-up ids derive from content and position, so runs are reproducible. (Blocks are
    JSON, so a JSON round trip copies them, several times faster than `copy.deepcopy`; the
    digest is worked out only for a block that lacks an id.)
    """
    filled: list[JsonDict] = json.loads(json.dumps(blocks))
    for index, block in enumerate(filled):
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        elements.extend(block[key] for key in ("accessory", "element") if isinstance(block.get(key), dict))
        named = [e for e in elements if e.get("type") != "image"]
        if "block_id" in block and all("action_id" in e for e in named):
            continue
        digest = hashlib.sha1(f"{index}:{json.dumps(block, sort_keys=True)}".encode()).hexdigest()
        block.setdefault("block_id", digest[:5])
        for position, element in enumerate(elements):
            if element.get("type") != "image":
                element.setdefault("action_id", f"{digest[5:10]}{position}")
    return filled
