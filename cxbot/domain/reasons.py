"""Why something happened, as the audit trail keeps it: a stable key and its parameters
(`reason_key`, `reason_params`), beside the English text (`reason`: what the CLI, the logs and
events stored before keys were kept show). The edge that knows its reader renders the key in
the reader's language (`reason_msg`); council-file words in the parameters (department names)
stay as written.

Pure: no Slack and no database here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cxbot.i18n import N_, Msg, nN_

KEY, PARAMS = "reason_key", "reason_params"


def reason(key: str, /, **params: Any) -> Msg:
    """The reason `key` with its parameters; KeyError for a key nobody wrote."""
    n = int(params.pop("n", 0))
    match key:
        case "deadline_passed":
            return N_("the deadline passed with {waiting} still outstanding", **params)
        case "objection_stood":
            return nN_("a blocking objection has stood for {n} working day",
                       "a blocking objection has stood for {n} working days", n)
        case "still_undecided":
            return nN_("still undecided {n} working day after the last escalation",
                       "still undecided {n} working days after the last escalation", n)
        case "dropped":
            return N_("dropped from the council")
        case "no_advocate":
            return N_("no advocate left to answer")
        case "no_lead":
            return N_("no lead left")
    raise KeyError(key)


def keyed(key: str, /, **params: Any) -> dict[str, Any]:
    """What an audit event stores of a reason: its English text, key and parameters."""
    return {"reason": str(reason(key, **params)), KEY: key, PARAMS: params}


def reason_msg(data: Mapping[str, Any]) -> Msg | None:
    """The reason an event's data (or one of its entries) keeps by key, or None: stored before
    keys were kept, or with a key this version does not know (show its `reason` as it is)."""
    key = data.get(KEY)
    if not isinstance(key, str):
        return None
    params = data.get(PARAMS)
    try:
        return reason(key, **(params if isinstance(params, dict) else {}))
    except (KeyError, TypeError, ValueError):
        return None
