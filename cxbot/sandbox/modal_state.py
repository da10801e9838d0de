"""What a person's answers in a modal look like to the app: a view's `state.values`.

Built from every input block of the view, with what a person typed or picked, and the
element's prefilled value where they left it alone; what Slack's own client refuses to
submit (an empty required input, text over its limit) raises instead.
"""

from __future__ import annotations

from typing import Any

from cxbot.sandbox.emulator import JsonDict

# Input element type -> (state key, key of its prefilled value, what a person's answer is).
_INPUT_STATE: dict[str, tuple[str, str, str]] = {
    "plain_text_input": ("value", "initial_value", "text"),
    "url_text_input": ("value", "initial_value", "text"),
    "email_text_input": ("value", "initial_value", "text"),
    "number_input": ("value", "initial_value", "text"),
    "rich_text_input": ("rich_text_value", "initial_value", "rich_text"),
    "datepicker": ("selected_date", "initial_date", "plain"),
    "timepicker": ("selected_time", "initial_time", "plain"),
    "datetimepicker": ("selected_date_time", "initial_date_time", "plain"),
    "static_select": ("selected_option", "initial_option", "option"),
    "radio_buttons": ("selected_option", "initial_option", "option"),
    "multi_static_select": ("selected_options", "initial_options", "options"),
    "checkboxes": ("selected_options", "initial_options", "options"),
    "users_select": ("selected_user", "initial_user", "plain"),
    "multi_users_select": ("selected_users", "initial_users", "list"),
    "conversations_select": ("selected_conversation", "initial_conversation", "plain"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations", "list"),
    "channels_select": ("selected_channel", "initial_channel", "plain"),
    "multi_channels_select": ("selected_channels", "initial_channels", "list"),
}


def view_state_values(view: JsonDict, values: dict[str, Any], *, submitting: bool = True) -> JsonDict:
    """`view.state.values` as Slack builds it when a person submits `view`.

    Every input block contributes, keyed `{block_id: {action_id: state}}`. `values` is keyed by
    action_id or block_id; an input not mentioned keeps what was prefilled. Raises `LookupError`
    for a key naming no input, `ValueError` for what Slack's client itself refuses to submit
    (an empty required input, text over `max_length`); while the person is still filling the
    modal in (`submitting=False`), nothing is refused.
    """
    inputs = [b for b in view.get("blocks") or [] if b.get("type") == "input" and b.get("element")]
    known = {b["block_id"] for b in inputs} | {b["element"].get("action_id") for b in inputs}
    unknown = set(values) - known
    if unknown:
        raise LookupError(f"no input {sorted(unknown)} in view {view.get('id')}; inputs: {sorted(known)}")
    state: JsonDict = {}
    for block in inputs:
        element = block["element"]
        action_id = element.get("action_id")
        key = next((k for k in (action_id, block["block_id"]) if k in values), None)
        entry = _element_state(element, values.get(key), answered=key is not None)
        if submitting:
            _check_submittable(block, entry)
        state.setdefault(block["block_id"], {})[action_id] = entry
    return state


def _element_state(element: JsonDict, given: Any, *, answered: bool) -> JsonDict:
    """One input's state: the person's answer in Slack's shape, or what was prefilled."""
    kind = element.get("type", "")
    if kind not in _INPUT_STATE:
        raise ValueError(f"the sandbox cannot fill a {kind!r} input")
    state_key, initial_key, shape = _INPUT_STATE[kind]
    if not answered:
        prefilled = element.get(initial_key)
        if prefilled is None and shape in {"options", "list"}:
            prefilled = []
        return {"type": kind, state_key: prefilled}
    if shape == "text":
        answer: Any = None if given is None else str(given)
    elif shape == "rich_text":
        answer = None if given is None else {
            "type": "rich_text",
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": str(given)}]}],
        }
    elif shape == "option":
        answer = None if given is None else find_option(element, given)
    elif shape == "options":
        answer = [find_option(element, value) for value in given or []]
    elif shape == "list":
        answer = list(given or [])
    else:
        answer = given
    return {"type": kind, state_key: answer}


def find_option(element: JsonDict, value: Any) -> JsonDict:
    """The element's full option object whose value is `value` (a person picks from what is offered)."""
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    for option in options:
        if option.get("value") == value:
            return option
    offered = [o.get("value") for o in options]
    raise LookupError(f"{value!r} is not an option of {element.get('action_id')}; offered: {offered}")


def _check_submittable(block: JsonDict, entry: JsonDict) -> None:
    label = block.get("label", {}).get("text", block["block_id"])
    answer = next(v for k, v in entry.items() if k != "type")
    if not block.get("optional") and answer in (None, "", []):
        raise ValueError(f"Slack does not submit a modal with the required input {label!r} empty")
    limit = block["element"].get("max_length")
    if isinstance(answer, str) and limit is not None and len(answer) > limit:
        raise ValueError(f"Slack does not submit {label!r} longer than {limit} characters")
