"""Replies in a request's thread about what happened: objections (with their Resolve and
Overrule buttons), outcomes, holds, escalations, amendments, chair decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from cxbot.domain.model import Resolution, Status, VoteKind
from cxbot.services.readmodel import NOTE_SECTIONS, ObjectionView, RequestView, asking
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.request import conditions_text, mention_sections
from cxbot.slack.text import clip, clip_plain, escape, mention, quote, slack_time

Note = tuple[str, list[Block] | None]

# Notes kept up to date in place (an objection's buttons go once it is resolved); every other
# note is posted once, as it read when it was delivered.
KEPT = frozenset({"voted", "vote_changed"})

ESCALATION_TARGET = {"leads": "the filing department's leads", "chair": "the council chair"}


def objection_note(view: RequestView, objection: ObjectionView) -> Note:
    """An objection, attributed, with Resolve (its author) and Overrule… (the chair) while it stands."""
    dept = escape(view.department_name_of(objection.department))
    who = mention(objection.user) + (f" for {mention(objection.on_behalf_of)}" if objection.on_behalf_of else "")
    severity = "a blocking objection" if objection.blocking else "a non-blocking concern"
    text = f"❌ {who} ({dept}) raises {severity}:\n{quote(objection.reason)}"
    if objection.mitigation:
        text += f"\n*What would resolve it:*\n{quote(objection.mitigation)}"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))]
    if objection.resolution is Resolution.RESOLVED:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"✅ Resolved by {mention(objection.user)}.")]))
    elif objection.resolution is Resolution.OVERRULED:
        by = mention(objection.resolved_by or "")
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=clip(f"⚖️ Overruled by {by}: {escape(objection.resolution_note)}", 3000))]))
    elif objection.set_aside:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"Set aside when the request was amended: it counts again if {mention(objection.user)} "
                 "objects again.")]))
    elif not objection.standing:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="Withdrawn by its author.")]))
    elif objection.blocking and not view.status.is_final:
        value = f"{view.id}:{objection.vote_id}"
        blocks.append(ActionsBlock(block_id=f"objection_{objection.vote_id}", elements=[
            ButtonElement(text="Resolve", action_id=ids.RESOLVE, value=value, style="primary"),
            ButtonElement(text="Overrule…", action_id=ids.OVERRULE, value=value),
        ]))
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"Only {mention(objection.user)} can resolve it; the council chair can overrule it.")]))
    return escape(f"{view.department_name_of(objection.department)} objects to CX review #{view.id}"), blocks


def _when(at: str, view: RequestView) -> str:
    return slack_time(datetime.fromisoformat(at), view.timezone)


def thread_note(view: RequestView, kind: str, actor: str, data: dict[str, Any]) -> Note | None:
    """The thread reply for an audit event, or None when the event is not announced."""
    dept = escape(view.department_name_of(data.get("department", "")))
    if kind in ("voted", "vote_changed") and data.get("vote") == VoteKind.OBJECT.value:
        objection = view.objection(int(data.get("vote_id", 0)))
        return objection_note(view, objection) if objection else None
    text: str | None = None
    if kind == "vote_retracted" and (data.get("previous") or {}).get("kind") == VoteKind.OBJECT.value:
        text = f"{mention(actor)} withdrew their objection."
    elif kind == "objection_resolved":
        text = f"✅ {mention(actor)} resolved their objection."
        if data.get("note"):
            text += f"\n{quote(data['note'])}"
    elif kind == "objection_overruled":
        text = (f"⚖️ {mention(actor)} overruled the objection of {mention(data.get('objector', ''))} ({dept}):\n"
                f"{quote(data.get('note', ''))}")
    elif kind == "withdrawn":
        text = f"↩️ {mention(actor)} withdrew this request. Voting is closed."
    elif kind == "reopened":
        return asking_note(view, f"🔄 {mention(actor)} reopened this request. Answers are due "
                                 f"{_when(data['due_at'], view)}.", "Asked again:",
                           list(data.get("asked_again") or []),
                           f"CX review #{view.id} was reopened")
    elif kind == "hold_placed":
        text = (f"⏸️ {mention(actor)} put {dept}'s review on hold until {_when(data['until'], view)}:\n"
                f"{quote(data.get('reason', ''))}\nAnswers are now due {_when(data['due_at'], view)}.")
    elif kind == "hold_lapsed":
        text = f"▶️ {dept}'s hold has lapsed: its clock runs again, and reminders resume."
    elif kind == "escalated":
        text = escalation_text(view, data)
    elif kind == "amended":
        return amendment_note(view, actor, data)
    elif kind == "rerouted":
        return reroute_note(view, data)
    elif kind == "approvals_set_aside":
        who = list(dict.fromkeys(v["user"] for v in data.get("votes", [])))
        return asking_note(view, "⚖️ The terms changed, so the answers of these people no longer count until "
                                 "they confirm them (each has a *Still approve* button in a DM) or vote again; "
                                 "the council chair can also decide:", "", who,
                           f"Answers on CX review #{view.id} are set aside until confirmed")
    elif kind in ("decided", "status_changed"):
        text = _status_text(view, actor, Status(data["status"]), data)
        if text and Status(data["status"]) is Status.APPROVED and view.conditions:
            text += "\n*Conditions of the approval* (open items for the filer):\n" + conditions_text(view)
    elif kind == "revised":
        text = (f"🔁 {mention(actor)} filed a revision of this request: *CX review #{int(data.get('revised_by', 0))}* "
                f"{escape(clip_plain(str(data.get('title', '')), 200))}. Follow the review there.")
    elif kind == "filing_department_left":
        why = "it was dropped from the council" if data.get("reason") == "dropped from the council" else \
            "it has no lead in the council any more"
        text = (f"🚪 *{escape(str(data.get('name', '')))}*, which filed this request, left the council: {why}. "
                f"The review goes on: the change is still proposed, and {mention(str(data.get('filer', '')))} "
                "can still amend, withdraw or reopen it.")
    elif kind == "condition_met":
        text = condition_met_text(view, actor, data)
    return (text, None) if text else None


def condition_met_text(view: RequestView, actor: str, data: dict[str, Any]) -> str:
    dept = escape(view.department_name_of(data.get("department", "")))
    text = (f"☑️ {mention(actor)} marked a condition of {mention(data.get('author', ''))} ({dept}) met:\n"
            f"{quote(clip_plain(data.get('condition', ''), 1000))}")
    open_ = int(data.get("still_open", 0))
    return text + ("\nEvery condition of the approval is met." if open_ == 0 else
                   f"\n{open_} condition{'s' if open_ > 1 else ''} still open.")


def escalation_text(view: RequestView, data: dict[str, Any]) -> str:
    """Who an escalation reached: the chair, or the leads of the departments that owe an
    answer (with the filing department's leads in copy)."""
    reason = escape(data.get("reason", ""))
    if data.get("target") == "leads" and "departments" in data:
        owing = ", ".join(f"*{escape(view.department_name_of(k))}*" for k in data["departments"])
        copy = (f" ({escape(view.department_name)}'s leads have a copy)" if data.get("copies") else "")
        return f"⏫ Escalated to the leads of {owing}{copy}: {reason}."
    target = ESCALATION_TARGET.get(data.get("target", ""), data.get("target", ""))
    return f"⏫ Escalated to {target}: {reason}."


def _status_text(view: RequestView, actor: str, status: Status, data: dict[str, Any]) -> str | None:
    if data.get("by_chair"):
        verdict = "approved" if status is Status.APPROVED else "rejected"
        icon = "✅" if status is Status.APPROVED else "⛔"
        text = f"{icon} *The council chair {mention(actor)} {verdict} this request.*"
        text += f"\n*Rationale:*\n{quote(data.get('rationale', ''))}"
        dissent = data.get("dissent") or []
        if dissent:
            label = "Dissent on record" if status is Status.APPROVED else "Approvals on record"
            text += f"\n*{label}:*\n" + "\n".join(
                f"• {mention(d['user'])} ({escape(view.department_name_of(d['department']))}): "
                f"{escape(clip_plain(d.get('reason', ''), 300))}" for d in dissent)
        return text
    names = ", ".join(f"*{escape(view.department_name_of(k))}*" for k in data.get("outstanding", []))
    if status is Status.APPROVED:
        return "✅ *Approved.* The departments asked have answered and no objection stands."
    if status is Status.CHANGES_REQUESTED:
        objectors = ", ".join(mention(o.user) for o in view.objections if o.standing and o.blocking
                              and o.resolution is None) or "an advocate"
        return (f"✋ *Changes requested* by {objectors}. {mention(view.filer)}, amend the request or answer here; "
                "an objection stands until its author resolves it or the chair overrules it.")
    if status is Status.OPEN and data.get("previous") in (Status.CHANGES_REQUESTED.value, Status.ON_HOLD.value):
        return f"🔄 *{Status.OPEN.label}* again: back with the departments for their answers."
    if status is Status.EXPIRED:
        return f"⌛ *Expired*: the deadline passed with {names or 'departments'} still outstanding."
    return None


LINE_SECTIONS = 8   # sections a note's own lines may fill: with its head, its intro and NOTE_SECTIONS, 50 blocks


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))


def _line_sections(lines: list[str]) -> list[Block]:
    """Lines of mrkdwn, whole, as few sections of at most 3,000 characters as hold them, at
    most LINE_SECTIONS; past those, "…and N more"."""
    texts: list[str] = []
    for n, line in enumerate(lines):
        line = clip(line, 2900)
        if texts and len(texts[-1]) + 1 + len(line) <= 3000:
            texts[-1] += "\n" + line
        elif len(texts) < LINE_SECTIONS:
            texts.append(line)
        else:
            texts[-1] = clip(texts[-1], 2900) + f"\n…and {len(lines) - n} more."
            break
    return [_section(text) for text in texts]


def asking_note(view: RequestView, head: str, intro: str, people: list[str] | None, fallback: str,
                lines: list[str] | None = None) -> Note:
    """A thread note that asks people: `head`, then `lines`, then `intro` and the mentions of
    `people` (None: everyone asked), packed as the vote prompt packs them (`asking`, within
    NOTE_SECTIONS sections); whoever does not fit is asked by DM
    (`cxbot.services.notices.asked_by_dm`). The text fallback mentions nobody."""
    blocks: list[Block] = [_section(head), *_line_sections(lines or [])]
    plan = asking(view, people, sections=NOTE_SECTIONS)
    if plan.sections:
        if intro:
            blocks.append(_section(intro))
        blocks += mention_sections(plan)
    return escape(fallback), blocks


def amendment_note(view: RequestView, actor: str, data: dict[str, Any]) -> Note:
    """The field-by-field diff (a section each), and who is asked again."""
    changes = [f"• *{escape(change['label'])}*: ~{escape(clip_plain(str(change['before']), 300))}~ → "
               f"{escape(clip_plain(str(change['after']), 300))}" for change in data.get("changes", [])]
    why = ("every earlier vote was cleared for a full re-review" if data.get("full") else
           "answers given under the old terms count once confirmed" if data.get("terms") else
           "approvals already given stand")
    return asking_note(view, f"✏️ {mention(actor)} amended this request (version {data.get('version')}):",
                       f"Asked again ({why}):", list(data.get("asked_again") or []),
                       f"CX review #{view.id} was amended (version {data.get('version')})", changes)


def reroute_note(view: RequestView, data: dict[str, Any]) -> Note:
    """Which departments the new terms ask (mentioning who answers for them), and which they
    release; or, after a council load, which departments nobody can answer for any more (and why)."""
    head = ("🔀 The council changed, so the routing changed:" if data.get("by_council_load")
            else "🔀 With the new terms, the routing changed:")
    lines = [f"• *{escape(d['name'])}* is now asked ({escape(d.get('reason', ''))})" for d in data.get("asked", [])]
    for d in data.get("released", []):
        why = f" ({escape(d['reason'])})" if d.get("reason") else ""
        lines.append(f"• *{escape(d['name'])}* is released{why}: its answer is no longer needed.")
    asked = [u for d in data.get("asked", []) for u in view.answering(d["department"])]
    return asking_note(view, head, "Now asked:", asked,
                       f"The routing of CX review #{view.id} changed", lines)
