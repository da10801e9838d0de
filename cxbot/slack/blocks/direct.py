"""Direct messages: to the filer (posted, outcome), reminders to those who owe an answer,
and escalations to leads and the chair."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from cxbot.domain.model import Status
from cxbot.services.readmodel import RequestView
from cxbot.services.reminders import DailyReminderView
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.request import (
    STATUS_ICON,
    condition_blocks,
    conditions_text,
    filer_buttons,
    revision_context,
    safe_link,
    status_line,
    vote_buttons,
)
from cxbot.slack.text import clip, clip_plain, escape, mention, quote, slack_time

DM = tuple[str, list[Block]]


def _where(view: RequestView) -> str:
    return safe_link(view.permalink, "the thread") if view.permalink else "the council channel"


def _title(view: RequestView) -> str:
    return f"*CX review #{view.id}: {escape(view.title)}*"


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))


FILER_NOW = {
    Status.OPEN: "Your change is with the council.",
    Status.ON_HOLD: "Your change is with the council; a department has asked for more time.",
    Status.CHANGES_REQUESTED: "✋ Changes requested on your change: amend it, or answer the objections in the thread.",
    Status.ESCALATED: "⏫ Your change is escalated to the council chair, who decides it.",
    Status.APPROVED: "✅ Your change was approved.",
    Status.REJECTED: "⛔ Your change was rejected.",
    Status.WITHDRAWN: "↩️ You withdrew this change. Reopen it to put it back under review.",
    Status.EXPIRED: "⌛ Your change expired: the deadline passed before every department answered.",
}


def _filer_state(view: RequestView) -> str:
    """The state and its one date. Not who is still to answer: that changes with every vote,
    and the receipt is updated when the request's state changes, not on each vote."""
    line = f"{STATUS_ICON[view.status]} *{view.status.label}*"
    if view.status.is_final:
        return line + (f" · {slack_time(view.decided_at, view.timezone)}" if view.decided_at else "")
    return line + f" · answers {'were ' if view.overdue else ''}due {slack_time(view.due_at, view.timezone)}"


def filed(view: RequestView) -> DM:
    """The filer's receipt, kept up to date: it says where the request stands now, so an old
    "with the council… due" never sits beside a decision."""
    asked = ", ".join(escape(d.name) for d in view.routed)
    blocks: list[Block] = [
        _section(f"{_title(view)}\n{FILER_NOW[view.status]}\nAsked to review: {asked}. Follow it in {_where(view)}."),
        ContextBlock(elements=[MarkdownTextObject(text=_filer_state(view))]),
    ]
    blocks += revision_context(view) + condition_blocks(view)
    buttons = filer_buttons(view)
    if buttons:
        blocks.append(ActionsBlock(block_id="request_actions", elements=buttons))
    if view.status is Status.OPEN:
        return f"Your CX review #{view.id} was posted", blocks
    return f"Your CX review #{view.id}: {view.status.label}", blocks


def outcome(view: RequestView, data: dict[str, Any]) -> DM | None:
    status = Status(data["status"])
    where = _where(view)
    texts = {
        Status.APPROVED: f"✅ {_title(view)} was approved. See {where}.",
        Status.REJECTED: f"⛔ {_title(view)} was rejected. See {where}.",
        Status.CHANGES_REQUESTED: f"✋ {_title(view)}: changes requested. Read the objections and amend or answer "
                                  f"in {where}.",
        Status.EXPIRED: f"⌛ {_title(view)} expired: the deadline passed before every department answered. "
                        f"You can reopen it from {where}.",
    }
    if status not in texts:
        return None
    text = texts[status]
    if data.get("rationale"):
        text += f"\nThe chair's rationale:\n{quote(data['rationale'])}"
    return f"CX review #{view.id}: {status.label}", [_section(text)] + outcome_conditions(view, status)


def outcome_conditions(view: RequestView, status: Status) -> list[Block]:
    """An approval's conditions, in the filer's outcome DM: the open items they now owe."""
    if status is not Status.APPROVED or not view.conditions:
        return []
    return [_section(f"The approval comes with conditions. Once each one is done, mark it met with its button in "
                     f"the request's message or in the DM you got when you filed it:\n{conditions_text(view)}")]


def _after_deadline(view: RequestView) -> str:
    """What happens to an overdue request now: who has it, and what an answer still does."""
    step = view.escalation
    if step is None or not step.recipients:
        return "Nothing is decided without the answers still owed: please answer now."
    who = ", ".join(mention(u) for u in step.recipients)
    if step.target == "chair":
        return (f"⏫ It is with the council chair ({who}), who can decide it now; "
                "your department's answer still counts until they do.")
    return (f"⏫ It was escalated {slack_time(step.at, view.timezone)} to {who}, "
            "who are chasing the answers still owed.")


def reminder(view: RequestView, kind: str, on_behalf_of: str | None) -> DM:
    """About one request, to an advocate whose department still owes an answer on it, with
    the buttons to give it: the closing-soon notice sent on its own, when the deadline falls
    before the person's next daily reminder (`daily_reminder`). Once the deadline has passed
    it says so, and what happens now, instead of a due date."""
    behalf = f" (you answer for <@{on_behalf_of}> while they are away)" if on_behalf_of else ""
    if view.overdue:
        lead = "⌛ Overdue"
        text = (f"{lead}: your department's answer on {_title(view)} is still outstanding{behalf}. "
                f"Answers were due {slack_time(view.due_at, view.timezone)}. {_after_deadline(view)}\n"
                f"{escape(clip_plain(view.summary, 600))}")
        fallback = f"{lead}: CX review #{view.id} still needs your department's answer"
    else:
        lead = "⏰ Closing soon" if kind == "closing" else "👋 Reminder"
        text = (f"{lead}: your department's answer on {_title(view)} is still outstanding{behalf}. "
                f"Answers are due {slack_time(view.due_at, view.timezone)}.\n{escape(clip_plain(view.summary, 600))}")
        fallback = f"{lead}: CX review #{view.id} needs your department's answer"
    return (fallback,
            [_section(text), ContextBlock(elements=[MarkdownTextObject(text=clip(status_line(view), 3000))]),
             vote_buttons(view.id), ContextBlock(elements=[MarkdownTextObject(text=f"Discuss in {_where(view)}.")])])


def daily_reminder(day: DailyReminderView) -> DM:
    """A person's one reminder of the day: every request they owe an answer on, soonest
    deadline first, each with its department, deadline and buttons; an item answered since
    shows as such. Past what one message holds (50 blocks), "and N more" points to the
    council channel."""
    n = day.owing
    blocks: list[Block] = [_section(
        f"👋 *Reminder:* your answer is still outstanding on {n} CX review{'' if n == 1 else 's'}, "
        "soonest deadline first." if n else "✅ Nothing left to answer from this reminder. Thank you!")]
    for item in day.items:
        view = item.view
        if item.answered:
            state = view.status.label.lower() if view.status.is_final else "answered"
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(
                f"✅ ~CX review #{view.id}: {escape(view.title)}~ · {state}", 3000))]))
            continue
        behalf = f" (you answer for <@{item.on_behalf_of}> while they are away)" if item.on_behalf_of else ""
        if view.overdue:
            when = f"⌛ *Overdue*: Answers were due {slack_time(view.due_at, view.timezone)}. {_after_deadline(view)}"
        else:
            when = (("⏰ *Closing soon*: " if item.closing else "")
                    + f"Answers are due {slack_time(view.due_at, view.timezone)}.")
        blocks.append(_section(f"{_title(view)}\n*{escape(item.department)}*{behalf} · discuss in {_where(view)}\n"
                               f"{when}\n{status_line(view)}\n{escape(clip_plain(view.summary, 300))}"))
        buttons = vote_buttons(view.id)
        buttons.block_id = f"vote_{view.id}"   # block ids are unique within a message
        blocks.append(buttons)
    if day.more:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"…and {day.more} more: see <#{day.council_channel}>.")]))
    closing = any(i.closing and not i.answered and not i.view.overdue for i in day.items)
    overdue = any(i.view.overdue and not i.answered for i in day.items)
    marks = ("⌛ Overdue · " if overdue else "") + ("⏰ Closing soon · " if closing else "")
    fallback = (f"{marks}👋 Reminder: your answer is still outstanding on {n} CX review{'' if n == 1 else 's'}"
                if n else "👋 Reminder: nothing left to answer")
    return fallback, blocks


def asked(view: RequestView) -> DM:
    """To someone asked to review whom the vote prompt had no room to mention: the request,
    its deadline, the buttons to answer, and the thread."""
    text = (f"🗳️ You are asked to review {_title(view)} for your department and its customers, by "
            f"{slack_time(view.due_at, view.timezone)}.\n{escape(clip_plain(view.summary, 600))}")
    return (f"You are asked to review CX review #{view.id}",
            [_section(text), vote_buttons(view.id),
             ContextBlock(elements=[MarkdownTextObject(text=f"Discuss in {_where(view)}.")])])


def escalation(view: RequestView, data: dict[str, Any], *, for_chair: bool, user: str | None = None) -> DM:
    """To the leads of the departments that still owe an answer (to chase), a copy to the
    filing department's leads (for their information), or to the chair (to decide)."""
    if user is not None and user in (data.get("copies") or ()):
        return escalation_copy(view, data)
    reason = escape(data.get("reason", ""))
    text = f"⏫ {_title(view)} is escalated to you: {reason}.\n{escape(clip_plain(view.summary, 600))}"
    state = ContextBlock(elements=[MarkdownTextObject(text=clip(status_line(view), 3000))])
    blocks: list[Block] = [_section(text), state]
    if for_chair and view.status is Status.ESCALATED:
        blocks.append(ActionsBlock(block_id="chair_decision", elements=[
            ButtonElement(text="Approve…", action_id=ids.DECIDE_APPROVE, value=str(view.id), style="primary"),
            ButtonElement(text="Reject…", action_id=ids.DECIDE_REJECT, value=str(view.id), style="danger"),
        ]))
    elif not for_chair:
        owing = _department_names(view, data.get("departments") or ())
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(
            f"You lead a department that still owes its answer ({owing}). Please see that its advocates "
            f"answer, or resolve their objection, in {_where(view)}.", 3000))]))
    return f"CX review #{view.id} is escalated to you", blocks


def still_approve(view: RequestView, data: dict[str, Any], user: str) -> DM:
    """To someone whose approval an amendment of the terms set aside: one click counts it again."""
    changes = "; ".join(f"{escape(str(c['label']))}: {escape(str(c['before']))} → {escape(str(c['after']))}"
                        for c in data.get("changes", []))
    text = (f"✏️ {_title(view)} was amended: {changes}. Your answer was given under the old terms, so it no "
            f"longer counts. Press *Still approve* to approve it as it stands now, or vote again in {_where(view)}.")
    blocks: list[Block] = [_section(text)]
    if not view.status.is_final:
        blocks.append(ActionsBlock(block_id="still_approve", elements=[
            ButtonElement(text="Still approve", action_id=ids.STILL_APPROVE, value=str(view.id), style="primary")]))
    return f"CX review #{view.id} changed: confirm your approval", blocks


def substitute_ended(substitute: str, reason: str) -> DM:
    """To an away advocate whose substitute the council file no longer supports."""
    text = (f"The council changed, so <@{substitute}> no longer answers for you while you are away: "
            f"{reason}. Reviews, reminders and votes no longer go to them; `/cx-review away` names someone else "
            "if you still need a stand-in.")
    return "Your substitute no longer answers for you", [_section(text)]


def _department_names(view: RequestView, keys: Any) -> str:
    return ", ".join(f"*{escape(view.department_name_of(k))}*" for k in keys) or "none"


def escalation_copy(view: RequestView, data: dict[str, Any]) -> DM:
    """The filing department's leads hear that their request was escalated to others' leads:
    for their information, nothing for them to do."""
    owing = _department_names(view, data.get("departments") or ())
    text = (f"ℹ️ For your information: {_title(view)}, filed by your department, is escalated to the leads "
            f"of {owing}: {escape(data.get('reason', ''))}.\n{escape(clip_plain(view.summary, 600))}")
    return (f"For your information: CX review #{view.id} is escalated to the leads of the departments that owe "
            "an answer",
            [_section(text), ContextBlock(elements=[MarkdownTextObject(text=clip(status_line(view), 3000))]),
             ContextBlock(elements=[MarkdownTextObject(
                 text=f"You get a copy because your department filed it. Follow it in {_where(view)}.")])])
