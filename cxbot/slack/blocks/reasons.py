"""Reasons the audit trail and the routing keep, in the reader's language.

An event stored with a reason key (`cxbot.domain.reasons`) is rendered from the key; one
stored before keys were kept holds English text, read back here by its pattern (English
readers see it as it is; a text that matches no pattern is shown as it is). The reason a
department was asked (`cxbot.domain.routing`) is English composed from a fixed grammar
around the council's stage names, read back the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cxbot.domain.reasons import reason_msg
from cxbot.domain.routing import EVERYONE
from cxbot.i18n import DEFAULT, N_, Msg, Translator, nN_

_WORKING_DAYS = r"(?P<n>\d+) working days?"
REASONS: tuple[tuple[re.Pattern[str], Msg], ...] = (
    (re.compile(r"the deadline passed with (?P<waiting>.+) still outstanding"),
     N_("the deadline passed with {waiting} still outstanding")),
    (re.compile(rf"a blocking objection has stood for {_WORKING_DAYS}"),
     nN_("a blocking objection has stood for {n} working day", "a blocking objection has stood for {n} working days",
         2)),
    (re.compile(rf"still undecided {_WORKING_DAYS} after the last escalation"),
     nN_("still undecided {n} working day after the last escalation",
         "still undecided {n} working days after the last escalation", 2)),
    (re.compile(r"you are no longer a council advocate"), N_("you are no longer a council advocate")),
    (re.compile(r"(?P<user><@[UW][A-Z0-9]+>) no longer leads or advocates for your department"),
     N_("{user} no longer leads or advocates for your department")),
    (re.compile(r"dropped from the council"), N_("dropped from the council")),
    (re.compile(r"no advocate left to answer"), N_("no advocate left to answer")),
)


def _render(msg: Msg, params: dict[str, str], tr: Translator) -> str:
    if msg.plural is not None:
        n = int(params.pop("n"))
        return tr.ngettext(msg.msgid, msg.plural, n).format(n=n, **params)
    return tr.gettext(msg.msgid).format(**params)


def stored_reason(text: str, tr: Translator) -> str:
    """A reason stored as English text, in the reader's language (not escaped)."""
    if tr.language == DEFAULT:
        return text
    for pattern, msg in REASONS:
        found = pattern.fullmatch(text)
        if found is not None:
            return _render(msg, found.groupdict(), tr)
    return text


def reason_text(data: Mapping[str, Any], tr: Translator) -> str:
    """The reason of an event's data (or of one entry in it), by its key when it has one (not escaped)."""
    msg = reason_msg(data)
    return tr.text(msg) if msg is not None else stored_reason(str(data.get("reason", "")), tr)


_WHY = re.compile(r"(?:a (?P<magnitude>minor|major) change)?(?: ?(?P<verb>touches|touching) (?P<stages>.+))?")


def _why(text: str, tr: Translator) -> str:
    """What a routing rule matched: "a minor change", "touches Pay", "a major change touching Pay"."""
    if text == "every change":
        return tr.gettext("every change")
    found = _WHY.fullmatch(text)
    if found is None or not text:
        return text
    magnitude, stages = found["magnitude"], found["stages"]
    if magnitude and stages:
        return (tr.gettext("a minor change touching {stages}") if magnitude == "minor"
                else tr.gettext("a major change touching {stages}")).format(stages=stages)
    if magnitude:
        return tr.gettext("a minor change") if magnitude == "minor" else tr.gettext("a major change")
    return tr.gettext("touches {stages}").format(stages=stages)


_MOMENT = ", a moment of truth the change touches"


def routing_reason(text: str, tr: Translator) -> str:
    """Why a department was asked, in the reader's language (not escaped); stage and moment
    names as written."""
    if text == EVERYONE:
        return tr.gettext("every other department reviews each change")
    if text.startswith("owns ") and text.endswith(_MOMENT):
        return tr.gettext("owns {moments}, a moment of truth the change touches").format(
            moments=text.removeprefix("owns ").removesuffix(_MOMENT))
    if text.endswith("; always asked"):
        return tr.gettext("{why}; always asked").format(why=_why(text.removesuffix("; always asked"), tr))
    why, owns, stages = text.partition("; owns ")
    if owns:
        return tr.gettext("{why}; owns {stages}").format(why=_why(why, tr), stages=stages)
    return _why(text, tr)
