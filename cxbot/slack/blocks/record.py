"""The *View record* modal: a request's timeline from its audit trail, in the reader's language.

Pure: a `Record` in, a modal out. People's words (reasons, rationales, comments, amended text)
are escaped and clipped; a modal holds 100 blocks, so a long record shows its first and its
latest events (the rest are in `cxbot export`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from cxbot.domain.model import Status, VoteKind
from cxbot.i18n import N_, Translator
from cxbot.services.record import Entry, Record
from cxbot.slack.blocks.direct import field_label, field_value
from cxbot.slack.blocks.reasons import routing_reason
from cxbot.slack.blocks.request import status_label
from cxbot.slack.text import clip, clip_plain, escape, mention, slack_time

QUOTE_MAX = 600


def _said(text: Any) -> str:
    """Someone's words, escaped, on one line, clipped."""
    return clip(escape(" ".join(str(text or "").split())), QUOTE_MAX)


def record_modal(rec: Record, tr: Translator) -> View:
    view = rec.view
    _ = tr.gettext
    blocks: list[Block] = [
        HeaderBlock(text=clip_plain(f"#{view.id} {view.title}", 150)),
        ContextBlock(elements=[MarkdownTextObject(text=escape(_("{department} · {status}").format(
            department=view.department_name, status=status_label(view.status, tr))))]),
    ]
    for i, entry in enumerate(rec.entries):
        if rec.left_out and i == 10:
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=tr.ngettext(
                "… {n} more event, in `cxbot export`", "… {n} more events, in `cxbot export`",
                rec.left_out).format(n=rec.left_out))]))
        line = entry_text(rec, entry, tr)
        if line:
            blocks.append(SectionBlock(text=MarkdownTextObject(
                text=clip(f"{slack_time(entry.at, view.timezone, tr)} · {line}", 3000))))
    return View(type="modal", title=clip_plain(_("Record of #{id}").format(id=view.id), 24),
                close=_("Close"), blocks=blocks[:100])


def _who(entry: Entry) -> str:
    return mention(entry.actor) if entry.actor.startswith(("U", "W")) else "cxbot"


def entry_text(rec: Record, entry: Entry, tr: Translator) -> str | None:
    """One event in words, or None for what the record does not show."""
    render = _KINDS.get(entry.kind)
    if render is None:
        return None
    return render(rec, entry, tr)


def _dept(rec: Record, key: Any) -> str:
    view = rec.view
    return escape(view.department_name if key == view.department_key else view.department_name_of(str(key or "")))


def _filed(rec: Record, e: Entry, tr: Translator) -> str:
    return tr.gettext("📝 {who} filed it for *{department}*.").format(who=_who(e), department=_dept(rec, e.data.get(
        "department")))


def _routed(rec: Record, e: Entry, tr: Translator) -> str:
    asked = "; ".join(f"*{_dept(rec, d.get('department'))}* ({escape(routing_reason(str(d.get('reason', '')), tr))})"
                      for d in e.data.get("departments") or [])
    return tr.gettext("🧭 Asked: {departments}.").format(departments=asked)


def _voted(rec: Record, e: Entry, tr: Translator) -> str:
    d = e.data
    who = _who(e)
    if d.get("on_behalf_of"):
        who = tr.gettext("{who} for {advocate}").format(who=who, advocate=mention(str(d["on_behalf_of"])))
    dept = _dept(rec, d.get("department"))
    kind = d.get("vote")
    if kind == VoteKind.APPROVE.value:
        text = tr.gettext("✅ {who} ({department}) approved.").format(who=who, department=dept)
    elif kind == VoteKind.OBJECT.value:
        text = (tr.gettext("❌ {who} ({department}) raised a blocking objection.") if d.get("blocking") else
                tr.gettext("❌ {who} ({department}) raised a non-blocking concern.")).format(who=who, department=dept)
    else:
        text = tr.gettext("➖ {who} ({department}) abstained.").format(who=who, department=dept)
    if d.get("note"):
        text += f"\n> {_said(d['note'])}"
    if d.get("mitigation"):
        text += "\n" + tr.gettext("What would resolve it: {text}").format(text=_said(d["mitigation"]))
    return text


def _simple(message: str) -> Callable[[Record, Entry, Translator], str]:
    def render(rec: Record, e: Entry, tr: Translator) -> str:
        return tr.gettext(message).format(who=_who(e), department=_dept(rec, e.data.get("department")))
    return render


def _with_words(message: str, key: str) -> Callable[[Record, Entry, Translator], str]:
    def render(rec: Record, e: Entry, tr: Translator) -> str:
        text = tr.gettext(message).format(who=_who(e), department=_dept(rec, e.data.get("department")),
                                          objector=mention(str(e.data.get("objector", ""))))
        return text + (f"\n> {_said(e.data[key])}" if e.data.get(key) else "")
    return render


def _hold(rec: Record, e: Entry, tr: Translator) -> str:
    until = datetime.fromisoformat(e.data["until"]) if e.data.get("until") else e.at
    return tr.gettext("⏸️ {who} put {department}'s review on hold until {until}.").format(
        who=_who(e), department=_dept(rec, e.data.get("department")),
        until=slack_time(until, rec.view.timezone, tr)) + (
        f"\n> {_said(e.data['reason'])}" if e.data.get("reason") else "")


def _escalated(rec: Record, e: Entry, tr: Translator) -> str:
    target = e.data.get("target")
    reached = ", ".join(mention(u) for u in e.data.get("recipients") or [])
    text = (tr.gettext("⏫ Escalated to the council chair.") if target == "chair" else
            tr.gettext("⏫ Escalated to the leads of the departments that still owe an answer."))
    return text + (" " + reached if reached else "")


def _amended(rec: Record, e: Entry, tr: Translator) -> str:
    lines = [tr.gettext("✏️ {who} amended it (version {version}).").format(who=_who(e), version=e.data.get(
        "version", "?"))]
    for c in e.data.get("changes") or []:
        lines.append(f"• *{escape(field_label(c, tr))}*: {_said(field_value(c, 'before', tr))} → "
                     f"{_said(field_value(c, 'after', tr))}")
    return "\n".join(lines)


def _rerouted(rec: Record, e: Entry, tr: Translator) -> str:
    asked = ", ".join(f"*{_dept(rec, d.get('department') if isinstance(d, dict) else d)}*"
                      for d in e.data.get("asked") or [])
    released = ", ".join(f"*{_dept(rec, d.get('department') if isinstance(d, dict) else d)}*"
                         for d in e.data.get("released") or [])
    parts = []
    if asked:
        parts.append(tr.gettext("🧭 Now also asked: {departments}.").format(departments=asked))
    if released:
        parts.append(tr.gettext("🧭 No longer asked: {departments}.").format(departments=released))
    return " ".join(parts) or tr.gettext("🧭 Routing checked again; nothing changed.")


def _decided(rec: Record, e: Entry, tr: Translator) -> str:
    status = Status(e.data["status"])
    if e.data.get("by_chair"):
        text = tr.gettext("⚖️ The council chair {who} decided: *{status}*.").format(who=_who(e),
                                                                                    status=status_label(status, tr))
        return text + (f"\n> {_said(e.data['rationale'])}" if e.data.get("rationale") else "")
    return tr.gettext("🏁 *{status}*.").format(status=status_label(status, tr))


def _commented(rec: Record, e: Entry, tr: Translator) -> str:
    return tr.gettext("💬 {who} commented:").format(who=_who(e)) + f"\n> {_said(e.data.get('text'))}"


def _revised(rec: Record, e: Entry, tr: Translator) -> str:
    return tr.gettext("🔁 {who} filed a revision: #{id}.").format(who=_who(e), id=int(e.data.get("revised_by", 0)))


_KINDS: dict[str, Callable[[Record, Entry, Translator], str]] = {
    "filed": _filed,
    "routed": _routed,
    "voted": _voted,
    "vote_changed": _voted,
    "vote_retracted": _simple(N_("↩️ {who} retracted their vote.")),
    "approval_confirmed": _simple(N_("✅ {who} confirmed their approval under the new terms.")),
    "objection_resolved": _with_words(N_("✅ {who} resolved their objection."), "note"),
    "objection_overruled": _with_words(N_("⚖️ {who} overruled the objection of {objector} ({department})."), "note"),
    "hold_placed": _hold,
    "hold_lapsed": _simple(N_("▶️ {department}'s hold lapsed.")),
    "hold_ended": _simple(N_("▶️ {department}'s hold ended.")),
    "escalated": _escalated,
    "amended": _amended,
    "rerouted": _rerouted,
    "approvals_set_aside": _simple(N_("⚖️ The terms changed: the answers given so far count again once confirmed.")),
    "decided": _decided,
    "status_changed": _decided,
    "withdrawn": _simple(N_("↩️ {who} withdrew it.")),
    "reopened": _simple(N_("🔄 {who} reopened it.")),
    "revised": _revised,
    "condition_met": _with_words(N_("☑️ {who} marked a condition met."), "condition"),
    "commented": _commented,
    "filing_department_left": _simple(N_("🚪 The filing department left the council; the review went on.")),
}
