"""The messages about one request: the parent in the council channel, the vote prompt in
its thread, thread notes, and direct messages to the filer."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    PlainTextObject,
    SectionBlock,
)

from cxbot.domain.model import Status, VoteKind
from cxbot.services.readmodel import RequestView
from cxbot.slack.blocks import ids
from cxbot.slack.text import clip, day, escape, local_time, mention, quote

STATUS_ICON = {
    Status.OPEN: "🟡", Status.CHANGES_REQUESTED: "✋", Status.APPROVED: "✅",
    Status.REJECTED: "⛔", Status.WITHDRAWN: "↩️", Status.EXPIRED: "⌛",
}


def safe_link(url: str, label: str) -> str:
    """A mrkdwn link to a validated http(s) URL; `|` and `>` cannot end it early."""
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def status_line(view: RequestView) -> str:
    icon = STATUS_ICON[view.status]
    line = f"{icon} *{view.status.label}*"
    outstanding = [view.department_name_of(k) for k in view.tally.outstanding]
    if not view.status.is_final and outstanding:
        line += " · waiting for " + ", ".join(f"*{escape(n)}*" for n in outstanding)
    if view.decided_at is not None and view.status.is_final:
        line += f" · {local_time(view.decided_at, view.timezone)}"
    return line


def department_lines(view: RequestView) -> str:
    lines = []
    for dept in view.tally.departments:
        name = escape(view.department_name_of(dept.department))
        parts = []
        if dept.approvals:
            parts.append("approved by " + ", ".join(mention(b.user) for b in dept.approvals))
        if dept.objections:
            parts.append("objection from " + ", ".join(mention(b.user) for b in dept.objections))
        if dept.abstentions:
            parts.append("abstained: " + ", ".join(mention(b.user) for b in dept.abstentions))
        icon = "❌" if dept.objections else "✅" if dept.approvals else "⏳"
        lines.append(f"{icon} *{name}*: " + ("; ".join(parts) if parts else "outstanding"))
    return "\n".join(lines)


def title_text(view: RequestView) -> str:
    return f"CX review #{view.id}: {view.title}"


def parent_message(view: RequestView) -> tuple[str, list[Block]]:
    """The request as posted in the council channel; the status and answers update in place."""
    details = [
        MarkdownTextObject(text="*Lifecycle stages*\n" + escape(", ".join(view.stages))),
        MarkdownTextObject(text=f"*Magnitude*\n{view.magnitude.label}"),
        MarkdownTextObject(
            text=clip(f"*Expected customer impact*\n{view.impact.label}"
                      + (f" — {escape(view.impact_note)}" if view.impact_note else ""), 2000)
        ),
        MarkdownTextObject(text=f"*Decision needed by*\n{day(view.decision_by)}"),
    ]
    if view.link:
        details.append(MarkdownTextObject(text="*Link*\n" + safe_link(view.link, clip(view.link, 200))))
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=clip(title_text(view), 150), emoji=False)),
        ContextBlock(elements=[MarkdownTextObject(
            text=f"*{escape(view.department_name)}* · filed by {mention(view.filer)} · "
                 f"{local_time(view.created_at, view.timezone)}")]),
        SectionBlock(text=MarkdownTextObject(text=clip(escape(view.summary), 3000))),
        SectionBlock(fields=details),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=clip(status_line(view) + "\n" + department_lines(view), 3000))),
    ]
    if not view.status.is_final:
        blocks.append(ActionsBlock(block_id="request_actions", elements=[withdraw_button(view.id)]))
    text = f"{escape(title_text(view))} — {escape(view.department_name)}, {view.status.label}"
    return text, blocks


def withdraw_button(request_id: int) -> ButtonElement:
    return ButtonElement(
        text="Withdraw", action_id=ids.WITHDRAW, value=str(request_id),
        confirm=ConfirmObject(title="Withdraw this request?", text="Voting stops. You can file it again later.",
                              confirm="Withdraw", deny="Keep it"),
    )


def vote_prompt(view: RequestView) -> tuple[str, list[Block]]:
    """The thread reply that asks the routed advocates, with the vote buttons while it is open."""
    asked = " ".join(mention(u) for d in view.routed for u in d.advocates)
    reasons: dict[str, list[str]] = {}
    for d in view.routed:
        reasons.setdefault(d.reason, []).append(f"*{escape(d.name)}*")
    why = "; ".join(f"{', '.join(names)}: {escape(reason)}" for reason, names in reasons.items())
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=clip(
            f"{asked} — please review this change for your department and its customers. "
            "Vote below; reply in this thread to discuss.", 3000))),
        ContextBlock(elements=[MarkdownTextObject(text=clip("Why you: " + why, 3000))]),
    ]
    if view.status.is_final:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"Voting is closed: {view.status.label.lower()}.")]))
        return f"Voting on CX review #{view.id} is closed.", blocks
    rid = str(view.id)
    blocks.append(ActionsBlock(block_id="vote", elements=[
        ButtonElement(text="Approve", action_id=ids.APPROVE, value=rid, style="primary"),
        ButtonElement(text="Object…", action_id=ids.OBJECT, value=rid, style="danger"),
        ButtonElement(text="Abstain", action_id=ids.ABSTAIN, value=rid),
        OverflowMenuElement(action_id=ids.MORE, options=[
            Option(text="Approve with a condition…", value=f"{ids.MORE_APPROVE_NOTE}:{rid}"),
            Option(text="Abstain with a note…", value=f"{ids.MORE_ABSTAIN_NOTE}:{rid}"),
            Option(text="Retract my vote", value=f"{ids.MORE_RETRACT}:{rid}"),
        ]),
    ]))
    names = ", ".join(escape(d.name) for d in view.routed)
    return f"Review requested from {names}: CX review #{view.id}", blocks


def thread_note(view: RequestView, kind: str, actor: str, data: dict[str, Any]) -> str | None:
    """The thread reply for an audit event, or None when the event is not announced."""
    if kind in ("voted", "vote_changed") and data.get("vote") == VoteKind.OBJECT.value:
        dept = escape(view.department_name_of(data.get("department", "")))
        return f"❌ {mention(actor)} ({dept}) objects:\n{quote(data.get('note', ''))}"
    if kind == "vote_retracted":
        return f"{mention(actor)} withdrew their objection."
    if kind == "withdrawn":
        return f"↩️ {mention(actor)} withdrew this request. Voting is closed."
    if kind in ("decided", "status_changed"):
        status = Status(data["status"])
        if status is Status.APPROVED:
            names = ", ".join(escape(d.name) for d in view.routed)
            return f"✅ *Approved.* Every department asked has approved: {names}."
        if status is Status.CHANGES_REQUESTED:
            objectors = ", ".join(mention(b.user) for b in view.tally.objections) or "an advocate"
            return (f"✋ *Changes requested* by {objectors}. {mention(view.filer)}, answer here, "
                    "or withdraw and file a revised change.")
        if status is Status.OPEN:
            return "🔄 No objection stands any more: back under review."
    return None


def direct_message(view: RequestView, kind: str, data: dict[str, Any]) -> tuple[str, list[Block]] | None:
    """A DM to the filer: the request was posted, or it has an outcome."""
    where = safe_link(view.permalink, "the thread") if view.permalink else "the council channel"
    title = f"*CX review #{view.id}: {escape(view.title)}*"
    if kind == "filed":
        asked = ", ".join(escape(d.name) for d in view.routed)
        text = f"Your change is with the council. {title}\nAsked to review: {asked}. Follow it in {where}."
        blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))]
        if not view.status.is_final:
            blocks.append(ActionsBlock(block_id="request_actions", elements=[withdraw_button(view.id)]))
        return f"Your CX review #{view.id} was posted", blocks
    if kind in ("decided", "status_changed"):
        status = Status(data["status"])
        if status is Status.APPROVED:
            text = f"✅ {title} was approved by every department asked. See {where}."
        elif status is Status.CHANGES_REQUESTED:
            text = f"✋ {title}: changes requested. Read the objections and answer in {where}."
        else:
            return None
        return f"CX review #{view.id}: {status.label}", [SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))]
    return None
