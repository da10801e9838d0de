"""Direct messages: to the filer (posted, outcome), reminders to those who owe an answer,
and escalations to leads and the chair."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from cxbot.domain.model import Status
from cxbot.services.readmodel import RequestView
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.request import filer_buttons, safe_link, status_line, vote_buttons
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
    return f"CX review #{view.id}: {status.label}", [_section(text)]


def reminder(view: RequestView, kind: str, on_behalf_of: str | None) -> DM:
    """To an advocate whose department still owes an answer, with the buttons to give it."""
    lead = "⏰ Closing soon" if kind == "closing" else "👋 Reminder"
    behalf = f" (you answer for <@{on_behalf_of}> while they are away)" if on_behalf_of else ""
    text = (f"{lead}: your department's answer on {_title(view)} is still outstanding{behalf}. "
            f"It is due {local_time(view.due_at, view.timezone)}.\n{escape(clip_plain(view.summary, 600))}")
    return (f"{lead}: CX review #{view.id} needs your department's answer",
            [_section(text), ContextBlock(elements=[MarkdownTextObject(text=clip(status_line(view), 3000))]),
             vote_buttons(view.id), ContextBlock(elements=[MarkdownTextObject(text=f"Discuss in {_where(view)}.")])])


def escalation(view: RequestView, data: dict[str, Any], *, for_chair: bool) -> DM:
    """To the filing department's leads (to chase) or the chair (to decide)."""
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
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"Please help the outstanding departments answer in {_where(view)}.")]))
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
