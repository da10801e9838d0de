"""Block Kit and mrkdwn as a person would read them, in a terminal.

The demo prints what every participant saw, and tests look at the mentions and links Slack
would act on; both need the same reading of Slack's markup (`<@U1>`, `<!here>`,
`<https://x|label>` and the `&lt;` `&gt;` `&amp;` escapes), so it lives in one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

NameOf = Callable[[str], str]

# Slack markup: anything between unescaped angle brackets. Escaped user text (`&lt;`) never matches.
_MARKUP = re.compile(r"<([^<>]*)>")
_ENTITY = re.compile(r"&(lt|gt|amp);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&"}
_SPECIAL_PINGS = ("channel", "here", "everyone")
_BUTTONISH = {"button", "workflow_button"}


def _same(uid: str) -> str:
    return uid


def unescape(text: str) -> str:
    """Undo Slack's three escapes in one pass, so `&amp;lt;` reads `&lt;` as the person typed it."""
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


def mrkdwn_to_text(text: str, *, user_name: NameOf = _same) -> str:
    """Render mrkdwn as a Slack client shows it: mentions as `@Name`, links as `label (url)`."""

    def markup(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (unescape(label) if label else user_name(target[1:]))
        if target.startswith("#"):
            return "#" + (unescape(label) if label else target[1:])
        if target.startswith("!"):
            keyword = target[1:].split("^", 1)[0]
            if keyword in _SPECIAL_PINGS:
                return "@" + keyword
            if keyword == "subteam" and not label:
                return "@" + user_name(target[1:])   # a user group, by its handle where known
            return unescape(label) if label else "@" + target[1:]
        url = unescape(target)
        return f"{unescape(label)} ({url})" if label else url

    pieces: list[str] = []
    last = 0
    for match in _MARKUP.finditer(text):
        pieces.append(unescape(text[last : match.start()]))
        pieces.append(markup(match))
        last = match.end()
    pieces.append(unescape(text[last:]))
    return "".join(pieces)


def mentions_in(text: str) -> list[str]:
    """Every markup in `text` that notifies someone: `<@U1>`, `<!here>`, `<!subteam^S1>`, as written."""
    found: list[str] = []
    for match in _MARKUP.finditer(text):
        target = match.group(1).partition("|")[0]
        if target.startswith("@"):
            found.append(f"<{target}>")
        elif target.startswith("!") and (
            target[1:] in _SPECIAL_PINGS or target.startswith("!subteam^")
        ):
            found.append(f"<{target}>")
    return found


def links_in(text: str) -> list[str]:
    """Every link markup in `text` (`<url>` or `<url|label>`), as written, label included."""
    return [
        match.group(0)
        for match in _MARKUP.finditer(text)
        if match.group(1)[:1] not in {"@", "#", "!"} and match.group(1)
    ]


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> Iterator[str]:
    """The mrkdwn strings of `blocks` that Slack parses for mentions and links."""
    for block in blocks:
        kind = block.get("type")
        if kind == "section":
            yield from _mrkdwn_of(block.get("text"))
            for field in block.get("fields") or []:
                yield from _mrkdwn_of(field)
        elif kind == "context":
            for element in block.get("elements") or []:
                yield from _mrkdwn_of(element)
        elif kind == "markdown":
            yield str(block.get("text", ""))
        elif kind == "rich_text":
            yield _rich_text_markup(block)


def _mrkdwn_of(obj: Any) -> Iterator[str]:
    if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
        yield str(obj.get("text", ""))


def _rich_text_markup(block: dict[str, Any]) -> str:
    """Rich text as the equivalent mrkdwn markup, so its mentions and links are found the same way."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if kind == "user":
            out.append(f"<@{node.get('user_id', '')}>")
        elif kind == "usergroup":
            out.append(f"<!subteam^{node.get('usergroup_id', '')}>")
        elif kind == "broadcast":
            out.append(f"<!{node.get('range', '')}>")
        elif kind == "link":
            label = node.get("text")
            out.append(f"<{node.get('url', '')}|{label}>" if label else f"<{node.get('url', '')}>")
        elif kind == "text":
            raw = str(node.get("text", ""))
            out.append(raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
        walk(node.get("elements"))

    walk(block.get("elements"))
    return "".join(out)


def _text(obj: Any, user_name: NameOf) -> str:
    """A text object (or bare string) as read: mrkdwn is rendered, plain_text shown as is."""
    if obj is None:
        return ""
    if isinstance(obj, str):
        return mrkdwn_to_text(obj, user_name=user_name)
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_text(str(obj.get("text", "")), user_name=user_name)
    return str(obj.get("text", ""))


def element_to_text(element: dict[str, Any], *, user_name: NameOf = _same) -> str:
    """One interactive element the way it looks: `[Approve]`, `[Pick one ▾]`, `[⋯ Edit | Delete]`."""
    kind = element.get("type", "")
    if kind in _BUTTONISH:
        return f"[{_text(element.get('text'), user_name)}]"
    if kind == "overflow":
        options = " | ".join(_text(o.get("text"), user_name) for o in element.get("options") or [])
        return f"[⋯ {options}]"
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if kind in {"plain_text", "mrkdwn"}:
        return _text(element, user_name)
    shown = _initial_of(element, user_name) or _text(element.get("placeholder"), user_name)
    if "select" in kind:
        return f"[{shown or 'Select'} ▾]"
    return f"[{kind}: {shown}]" if shown else f"[{kind}]"


def _initial_of(element: dict[str, Any], user_name: NameOf) -> str:
    """What an element shows prefilled, if anything."""
    if element.get("initial_option"):
        return _text(element["initial_option"].get("text"), user_name)
    if element.get("initial_options"):
        return ", ".join(_text(o.get("text"), user_name) for o in element["initial_options"])
    for key in ("initial_value", "initial_date", "initial_time", "initial_conversation", "initial_channel"):
        if element.get(key):
            return str(element[key])
    if element.get("initial_user"):
        return "@" + user_name(element["initial_user"])
    return ""


def _rich_text_to_text(block: dict[str, Any], user_name: NameOf) -> str:
    lines: list[str] = []
    for part in block.get("elements") or []:
        kind = part.get("type")
        if kind == "rich_text_list":
            for item in part.get("elements") or []:
                lines.append("• " + mrkdwn_to_text(_rich_text_markup(item), user_name=user_name))
            continue
        text = mrkdwn_to_text(_rich_text_markup(part), user_name=user_name)
        if kind == "rich_text_quote":
            lines.extend("> " + line for line in text.splitlines() or [""])
        elif kind == "rich_text_preformatted":
            lines.append(f"```{text}```")
        else:
            lines.append(text)
    return "\n".join(lines)


def _block_to_text(block: dict[str, Any], user_name: NameOf) -> str:
    kind = block.get("type")
    if kind == "header":
        return "# " + _text(block.get("text"), user_name)
    if kind == "divider":
        return "────────"
    if kind == "section":
        lines = [_text(block.get("text"), user_name)] if block.get("text") else []
        lines.extend("  " + _text(f, user_name) for f in block.get("fields") or [])
        accessory = block.get("accessory")
        if accessory:
            lines.append("  " + element_to_text(accessory, user_name=user_name))
        return "\n".join(lines)
    if kind == "context":
        return " · ".join(element_to_text(e, user_name=user_name) for e in block.get("elements") or [])
    if kind == "actions":
        return " ".join(element_to_text(e, user_name=user_name) for e in block.get("elements") or [])
    if kind == "input":
        label = _text(block.get("label"), user_name)
        optional = " (optional)" if block.get("optional") else ""
        element = block.get("element") or {}
        hint = _text(block.get("hint"), user_name)
        line = f"{label}{optional}: {element_to_text(element, user_name=user_name)}"
        return f"{line}\n  ({hint})" if hint else line
    if kind == "rich_text":
        return _rich_text_to_text(block, user_name)
    if kind == "markdown":
        return str(block.get("text", ""))
    if kind == "image":
        return f"[image: {block.get('alt_text', '')}]"
    return f"[{kind}]"


def blocks_to_text(blocks: list[dict[str, Any]], *, user_name: NameOf = _same) -> str:
    """A message's blocks as readable lines, one or more per block."""
    return "\n".join(_block_to_text(block, user_name) for block in blocks)


def view_to_text(view: dict[str, Any], *, user_name: NameOf = _same) -> str:
    """A modal or Home tab: its title, its blocks (inputs with their labels), its buttons."""
    title = _text(view.get("title"), user_name)
    lines = [f"┌ {title}"] if title else []
    body = blocks_to_text(view.get("blocks") or [], user_name=user_name)
    lines.extend("│ " + line for line in body.splitlines())
    buttons = [
        f"[{_text(view[key], user_name)}]" for key in ("close", "submit") if view.get(key)
    ]
    if buttons:
        lines.append("└ " + " ".join(buttons))
    return "\n".join(lines)
