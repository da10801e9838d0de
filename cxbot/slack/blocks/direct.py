"""Direct messages: to the filer (posted, outcome), reminders to those who owe an answer,
and escalations to leads and the chair."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from cxbot.domain.model import Status
from cxbot.services.readmodel import RequestView
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.request import (
    condition_blocks,
    conditions_text,
    filer_buttons,
    revision_context,
    safe_link,
    status_line,
    vote_buttons,
)
from cxbot.slack.text import clip, clip_plain, escape, local_time, quote

DM = tuple[str, list[Block]]


def _where(view: RequestView) -> str:
    return safe_link(view.permalink, "the thread") if view.permalink else "the council channel"


def _title(view: RequestView) -> str:
    return f"*CX review #{view.id}: {escape(view.title)}*"


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))


def filed(view: RequestView) -> DM:
    asked = ", ".join(escape(d.name) for d in view.routed)
    blocks: list[Block] = [_section(
        f"Your change is with the council. {_title(view)}\nAsked to review: {asked}. "
        f"Due {local_time(view.due_at, view.timezone)}. Follow it in {_where(view)}.")]
    blocks += revision_context(view) + condition_blocks(view)
    buttons = filer_buttons(view)
    if buttons:
        blocks.append(ActionsBlock(block_id="request_actions", elements=buttons))
    return f"Your CX review #{view.id} was posted", blocks


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


def reminder(view: RequestView, kind: str, on_behalf_of: str | None) -> DM:
    """To an advocate whose department still owes an answer, with the buttons to give it."""
    lead = "⏰ Closing soon" if kind == "closing" else "👋 Reminder"
    behalf = f" (you answer for <@{on_behalf_of}> while they are away)" if on_behalf_of else ""
    text = (f"{lead}: your department's answer on {_title(view)} is still outstanding{behalf}. "
            f"It is due {local_time(view.due_at, view.timezone)}.\n{escape(clip_plain(view.summary, 600))}")
    return (f"{lead}: CX review #{view.id} needs your department's answer",
            [_section(text), ContextBlock(elements=[MarkdownTextObject(text=clip(status_line(view), 3000))]),
             vote_buttons(view.id), ContextBlock(elements=[MarkdownTextObject(text=f"Discuss in {_where(view)}.")])])


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
