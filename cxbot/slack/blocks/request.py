"""The request in the council channel: the parent message and the vote prompt in its thread.

Both are re-rendered from the database whenever the request changes, and updated in place, in
the council channel's language (`RequestView.language`: the council's, else the channel's
locale, else English); the council's own words (title, department names, stages, reasons
people typed) are shown as written. `/cx-review status` shows the same request to one person,
in theirs.
"""

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

from cxbot.domain.cost import WARNING_SIGNS, CustomerCost
from cxbot.domain.model import STATUS_LABELS, Answer, Ballot, Magnitude, Status, VoteKind
from cxbot.i18n import N_, Translator, translator
from cxbot.services.readmodel import Asking, ConditionView, RelatedLink, RequestView, asking
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.modals import IMPACTS, MAGNITUDES
from cxbot.slack.blocks.reasons import routing_reason
from cxbot.slack.text import clip, clip_plain, day, escape, mention, slack_time

HEADER_MAX = 150  # characters of a header block's plain text
# English: the default of the pieces a DM shares with the channel's messages.
EN = translator("en")

STATUS_ICON = {
    Status.OPEN: "🟡", Status.ON_HOLD: "⏸️", Status.CHANGES_REQUESTED: "✋", Status.ESCALATED: "⏫",
    Status.APPROVED: "✅", Status.REJECTED: "⛔", Status.WITHDRAWN: "↩️", Status.EXPIRED: "⌛",
}
ANSWER_ICON = {Answer.APPROVES: "✅", Answer.OBJECTS: "❌", Answer.ANSWERED: "☑️", Answer.OUTSTANDING: "⏳"}


def status_label(status: Status, tr: Translator = EN) -> str:
    """A state's name in the reader's language ("Changes requested", "Endringer ønsket")."""
    return tr.text(STATUS_LABELS[status])


def safe_link(url: str, label: str) -> str:
    """A mrkdwn link to a validated http(s) URL; `|` and `>` cannot end it early."""
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def voter(b: Ballot, tr: Translator) -> str:
    return mention(b.user) + (" " + tr.gettext("(for {user})").format(user=mention(b.on_behalf_of))
                              if b.on_behalf_of else "")


def status_line(view: RequestView, tr: Translator = EN) -> str:
    """Where the request stands, for everyone who reads it. "Answers due" is the council's
    working-day deadline (the filer's own date is "Filer needs a decision by")."""
    line = f"{STATUS_ICON[view.status]} *{status_label(view.status, tr)}*"
    if view.status.is_final:
        if view.decided_at is not None:
            line += f" · {slack_time(view.decided_at, view.timezone, tr)}"
        return line
    outstanding = [view.department_name_of(k) for k in view.tally.outstanding]
    if outstanding:
        line += " · " + tr.gettext("waiting for {departments}").format(
            departments=", ".join(f"*{escape(n)}*" for n in outstanding))
    when = slack_time(view.due_at, view.timezone, tr)
    line += " · " + (tr.gettext("answers were due {when}") if view.overdue
                     else tr.gettext("answers due {when}")).format(when=when)
    return line


# What a department's line says of each objection, by how it stands.
OBJECTION_KINDS = {"resolved": N_("resolved objection from {user}"), "overruled": N_("overruled objection from {user}"),
                   "blocking": N_("blocking objection from {user}"), "concern": N_("concern from {user}")}


def department_lines(view: RequestView, tr: Translator) -> str:
    """A line per department asked: its answer, who voted how, and a hold."""
    on_hold = {h.department: h for h in view.holds}
    lines = []
    for dept in view.tally.departments:
        name = escape(view.department_name_of(dept.department))
        parts = []
        approvals = [b for b in dept.approvals if b.kind is VoteKind.APPROVE]
        if approvals:
            parts.append(tr.gettext("approved by {users}").format(users=", ".join(voter(b, tr) for b in approvals)))
        for b in dept.objections:
            kind = b.resolution if b.resolution in ("resolved", "overruled") else \
                "blocking" if b.blocking else "concern"
            parts.append(tr.text(OBJECTION_KINDS[kind]).format(user=voter(b, tr)))
        if dept.abstentions:
            parts.append(tr.gettext("abstained: {users}").format(
                users=", ".join(voter(b, tr) for b in dept.abstentions)))
        icon = ANSWER_ICON[dept.answer]
        if dept.department in on_hold and dept.outstanding:
            hold = on_hold[dept.department]
            icon = "⏸️"
            parts.append(tr.gettext("on hold until {when}: {reason}").format(
                when=slack_time(hold.until, view.timezone, tr), reason=escape(clip_plain(hold.reason, 200))))
        lines.append(f"{icon} *{name}*: " + ("; ".join(parts) if parts else tr.gettext("outstanding")))
    return "\n".join(lines)


def title_text(view: RequestView, tr: Translator) -> str:
    return tr.gettext("CX review #{id}: {title}").format(id=view.id, title=view.title)


def _fact(label: str, value: str) -> MarkdownTextObject:
    """A field of the request's facts: its label in bold over its value (mrkdwn)."""
    return MarkdownTextObject(text=clip(f"*{label}*\n{value}", 2000))


def request_details(view: RequestView, tr: Translator) -> list[Block]:
    """Title, who filed it, what changes, and the facts the council weighs."""
    _ = tr.gettext
    impact = tr.text(IMPACTS[view.impact]) + (f" — {escape(view.impact_note)}" if view.impact_note else "")
    magnitude = tr.text(MAGNITUDES[view.magnitude])
    if view.major_by_cost and view.magnitude is Magnitude.MAJOR:
        magnitude += " — " + _("for the customer time it adds")
    details = [
        _fact(_("Lifecycle stages"), escape(", ".join(view.stages))),
        _fact(_("Magnitude"), magnitude),
        _fact(_("Expected customer impact"), impact),
        _fact(_("Filer needs a decision by"), day(view.decision_by, tr)),
    ]
    if view.moments:
        details.append(_fact(_("Moments of truth"), escape(", ".join(view.moments))))
    if view.cost.given:
        details.append(_fact(_("Cost to customers"), cost_text(view.cost, tr)))
    if view.go_live:
        details.append(_fact(_("Went live"), day(view.go_live, tr)))
    if view.link:
        details.append(_fact(_("Link"), safe_link(view.link, clip_plain(view.link, 200))))
    amended = (" · " + _("amended (version {version})").format(version=view.version)) if view.version > 1 else ""
    return [
        # The title alone: TITLE_MAX is the header's own limit, so a full-length title shows whole.
        HeaderBlock(text=PlainTextObject(text=clip_plain(view.title, HEADER_MAX), emoji=False)),
        ContextBlock(elements=[MarkdownTextObject(
            text=_("*CX review #{id}* · *{department}* · filed by {filer} · {when}").format(
                id=view.id, department=escape(view.department_name), filer=mention(view.filer),
                when=slack_time(view.created_at, view.timezone, tr)) + amended)]),
        SectionBlock(text=MarkdownTextObject(text=clip(escape(view.summary), 3000))),
        SectionBlock(fields=details),
    ]


def _signed(value: float, tr: Translator) -> str:
    text = tr.number(abs(round(value, 1)))
    return ("+" if value > 0 else "−" if value < 0 else "") + text


def cost_text(cost: CustomerCost, tr: Translator) -> str:
    """What the filer said the change costs the customer, in the reader's words and numbers."""
    _ = tr.gettext
    parts = []
    if cost.minutes is not None:
        parts.append(_("{minutes} min each time").format(minutes=_signed(cost.minutes, tr)))
    if cost.customers is not None:
        parts.append(tr.ngettext("{n} customer a month", "{n} customers a month", cost.customers).format(
            n=tr.number(cost.customers)))
    if cost.hours_a_month is not None:
        parts.append(_("*{hours} customer hours a month*").format(hours=_signed(round(cost.hours_a_month), tr)))
    if cost.steps:
        parts.append(tr.ngettext("{n} step, form or contact", "{n} steps, forms or contacts", abs(cost.steps))
                     .format(n=_signed(cost.steps, tr)))
    text = " · ".join(parts)
    signs = [tr.text(WARNING_SIGNS[s]) for s in cost.warning_signs if s in WARNING_SIGNS]
    if signs:
        text += ("\n" if text else "") + "⚠️ " + "; ".join(signs)
    return clip(text, 1900)


def state_blocks(view: RequestView, tr: Translator) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=clip(status_line(view, tr) + "\n" + department_lines(view, tr),
                                                           3000)))]


def filer_buttons(view: RequestView, tr: Translator = EN) -> list[ButtonElement]:
    """Withdraw and Amend while it is under review; Reopen once withdrawn or expired."""
    rid = str(view.id)
    if view.status in (Status.WITHDRAWN, Status.EXPIRED):
        return revision_buttons(view, tr)
    if view.status.is_final:
        return []
    _ = tr.gettext
    return [
        ButtonElement(text=_("Amend"), action_id=ids.AMEND, value=rid),
        ButtonElement(text=_("Withdraw"), action_id=ids.WITHDRAW, value=rid, confirm=ConfirmObject(
            title=_("Withdraw this request?"), text=_("Voting stops. You can reopen it later."),
            confirm=_("Withdraw"), deny=_("Keep it"))),
    ]


CONDITION_BUTTONS = 20   # open conditions shown with a button each; the rest follow as they are met


def condition_line(view: RequestView, c: ConditionView, tr: Translator = EN) -> str:
    """Who set the condition, for which department, and what it says (escaped)."""
    who = mention(c.user) + (" " + tr.gettext("(for {user})").format(user=mention(c.on_behalf_of))
                             if c.on_behalf_of else "")
    return tr.gettext("{who} for *{department}*: {text}").format(
        who=who, department=escape(view.department_name_of(c.department)), text=escape(clip_plain(c.text, 1000)))


def conditions_text(view: RequestView, tr: Translator = EN) -> str:
    """The conditions as lines of mrkdwn, with whether each is met once the request is approved."""
    lines = []
    for c in view.conditions:
        if view.status is not Status.APPROVED:
            lines.append(f"• {condition_line(view, c, tr)}")
        elif c.met_at is None:
            lines.append(f"⬜ {condition_line(view, c, tr)}")
        else:
            lines.append(_met(view, c, tr))
    return "\n".join(lines)


def _met(view: RequestView, c: ConditionView, tr: Translator = EN) -> str:
    when = f" {slack_time(c.met_at, view.timezone, tr)}" if c.met_at is not None else ""
    return "✅ " + tr.gettext("{condition} — met, marked by {user}{when}").format(
        condition=condition_line(view, c, tr), user=mention(c.met_by or ""), when=when)


def conditions_heading(view: RequestView, tr: Translator = EN) -> str:
    if view.status is Status.APPROVED:
        unmet = sum(1 for c in view.conditions if c.met_at is None)
        return (tr.gettext("*Approved with conditions* · {unmet} of {total} open").format(
                    unmet=unmet, total=len(view.conditions)) if unmet
                else tr.gettext("*Approved with conditions* · all met"))
    return tr.gettext("*Approvals with conditions*")


def condition_blocks(view: RequestView, *, buttons: bool = True, tr: Translator = EN) -> list[Block]:
    """An approval's conditions, part of the approval wherever it is shown. Once the request is
    approved each is an open item, with a "Mark met" button for the filing side (`buttons`)."""
    if not view.conditions:
        return []
    if not (buttons and view.status is Status.APPROVED):
        return [SectionBlock(text=MarkdownTextObject(text=clip(conditions_heading(view, tr) + "\n"
                                                              + conditions_text(view, tr), 3000)))]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=conditions_heading(view, tr)))]
    met = [c for c in view.conditions if c.met_at is not None]
    unmet = [c for c in view.conditions if c.met_at is None]
    for c in unmet[:CONDITION_BUTTONS]:
        blocks.append(SectionBlock(
            block_id=f"condition_{c.vote_id}",
            text=MarkdownTextObject(text=clip(f"⬜ {condition_line(view, c, tr)}", 3000)),
            accessory=ButtonElement(text=tr.gettext("Mark met"), action_id=ids.CONDITION_MET,
                                    value=f"{view.id}:{c.vote_id}")))
    if len(unmet) > CONDITION_BUTTONS:
        more = len(unmet) - CONDITION_BUTTONS
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=tr.ngettext(
            "…and {n} more open condition, shown as these are met.",
            "…and {n} more open conditions, shown as these are met.", more).format(n=more))]))
    if met:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip("\n".join(_met(view, c, tr) for c in met),
                                                                     3000))))
    return blocks


def revision_context(view: RequestView, tr: Translator = EN) -> list[Block]:
    """"Revises #1" on a refiled request, "Revised by #2" on the withdrawn one, each linked."""
    parts = []
    if view.revises is not None:
        parts.append("🔁 " + tr.gettext("Revises {request}").format(
            request=_request_link(view.revises.id, view.revises.title, view.revises.permalink)))
    if view.revised_by is not None:
        parts.append("🔁 " + tr.gettext("Revised by {request}").format(
            request=_request_link(view.revised_by.id, view.revised_by.title, view.revised_by.permalink)))
    if not parts:
        return []
    return [ContextBlock(elements=[MarkdownTextObject(text=clip(" · ".join(parts), 3000))])]


def _request_link(request_id: int, title: str, permalink: str) -> str:
    label = f"#{request_id}"
    named = f" {escape(clip_plain(title, 200))}"
    return (safe_link(permalink, label) if permalink else f"*{label}*") + named


def related_line(link: dict[str, Any] | RelatedLink, tr: Translator) -> str:
    """A related request: its link and title, its department and its state."""
    if isinstance(link, RelatedLink):
        link = {"id": link.id, "title": link.title, "department": link.department, "status": link.status.value,
                "permalink": link.permalink}
    status = status_label(Status(str(link.get("status", "open"))), tr)
    return (_request_link(int(link.get("id", 0)), str(link.get("title", "")), str(link.get("permalink", "")))
            + f" — {escape(str(link.get('department', '')))}, {status}")


def related_context(view: RequestView, tr: Translator) -> list[Block]:
    """"Related" requests of other departments (found when it was filed), as they stand now."""
    if not view.related:
        return []
    lines = " · ".join(related_line(link, tr) for link in view.related)
    return [ContextBlock(elements=[MarkdownTextObject(text=clip("🔗 " + tr.gettext("Related: {requests}").format(
        requests=lines), 3000))])]


def revision_buttons(view: RequestView, tr: Translator = EN) -> list[ButtonElement]:
    """A withdrawn or expired request can be reopened; a withdrawn one revised, as a new request
    linked to it. Once revised, neither: the revision is the one under review."""
    if view.revised_by is not None:
        return []
    rid = str(view.id)
    buttons = [ButtonElement(text=tr.gettext("Reopen"), action_id=ids.REOPEN, value=rid)]
    if view.status is Status.WITHDRAWN:
        buttons.append(ButtonElement(text=tr.gettext("File a revision…"), action_id=ids.REVISE, value=rid))
    return buttons


def parent_message(view: RequestView, tr: Translator) -> tuple[str, list[Block]]:
    """The request as posted in the council channel; the status and answers update in place."""
    blocks = (request_details(view, tr) + revision_context(view, tr) + related_context(view, tr) + [DividerBlock()]
              + state_blocks(view, tr) + condition_blocks(view, tr=tr))
    buttons = [*filer_buttons(view, tr), record_button(view, tr)]
    blocks.append(ActionsBlock(block_id="request_actions", elements=buttons))
    text = f"{escape(title_text(view, tr))} — {escape(view.department_name)}, {status_label(view.status, tr)}"
    return text, blocks


def record_button(view: RequestView, tr: Translator) -> ButtonElement:
    """*View record*: the request's timeline, for those who may look it up."""
    return ButtonElement(text=tr.gettext("View record"), action_id=ids.VIEW_RECORD, value=str(view.id))


def _and(names: list[str], tr: Translator) -> str:
    """`A`, `A and B`, `A, B and C`."""
    if len(names) == 1:
        return names[0]
    return tr.gettext("{names} and {last}").format(names=", ".join(names[:-1]), last=names[-1])


def mention_sections(plan: Asking) -> list[Block]:
    """The sections `asking` packed: a line `*Department*: <@U…> …` each (bare mentions for
    people outside the routed departments), within Slack's section limit."""
    return [SectionBlock(text=MarkdownTextObject(text="\n".join(
        (f"*{escape(line.department)}*: " if line.department else "") + " ".join(line.mentions)
        for line in section))) for section in plan.sections]


# The vote buttons as the council channel shows them (the help names them so).
VOTE_BUTTONS = {"approve": N_("Approve"), "object": N_("Object…"), "abstain": N_("Abstain")}


def vote_buttons(request_id: int, tr: Translator = EN) -> ActionsBlock:
    """The vote buttons: in the channel in its language, in a DM in its reader's."""
    rid = str(request_id)
    _ = tr.gettext
    return ActionsBlock(block_id="vote", elements=[
        ButtonElement(text=tr.text(VOTE_BUTTONS["approve"]), action_id=ids.APPROVE, value=rid, style="primary"),
        ButtonElement(text=tr.text(VOTE_BUTTONS["object"]), action_id=ids.OBJECT, value=rid, style="danger"),
        ButtonElement(text=tr.text(VOTE_BUTTONS["abstain"]), action_id=ids.ABSTAIN, value=rid),
        OverflowMenuElement(action_id=ids.MORE, options=[
            Option(text=_("Approve with a condition…"), value=f"{ids.MORE_APPROVE_NOTE}:{rid}"),
            Option(text=_("Abstain with a note…"), value=f"{ids.MORE_ABSTAIN_NOTE}:{rid}"),
            Option(text=_("Hold: I need more time…"), value=f"{ids.MORE_HOLD}:{rid}"),
            Option(text=_("Retract my vote"), value=f"{ids.MORE_RETRACT}:{rid}"),
        ]),
    ])


def vote_prompt(view: RequestView, tr: Translator) -> tuple[str, list[Block]]:
    """The thread reply that asks the routed advocates, with the vote buttons while it is open.

    Everyone asked is mentioned, department by department (a department's user group stands
    for its advocates), over as many sections as Slack's limits allow; anyone beyond them is
    asked by DM, and the prompt says how many."""
    plan = asking(view)
    reasons: dict[str, list[str]] = {}
    for d in view.routed:
        reasons.setdefault(d.reason, []).append(f"*{escape(d.name)}*")
    why = "; ".join(f"{_and(names, tr)} ({escape(routing_reason(reason, tr))})"
                    for reason, names in reasons.items())
    _ = tr.gettext
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=_(
            "Please review this change for your department and its customers by {when}. Vote below; reply in "
            "this thread to discuss.").format(when=slack_time(view.due_at, view.timezone, tr)))),
        *mention_sections(plan),
        ContextBlock(elements=[MarkdownTextObject(text=clip(_("Why these departments: {why}").format(why=why),
                                                            3000))]),
    ]
    if plan.by_dm:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=tr.ngettext(
            "{n} more person asked did not fit in this message: they were asked by DM.",
            "{n} more people asked did not fit in this message: each was asked by DM.",
            len(plan.by_dm)).format(n=len(plan.by_dm)))]))
    if view.status.is_final:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=_("Voting is closed: {status}.").format(status=status_label(view.status, tr)))]))
        return _("Voting on CX review #{id} is closed.").format(id=view.id), blocks
    blocks.append(vote_buttons(view.id, tr))
    names = ", ".join(escape(d.name) for d in view.routed)
    return _("Review requested from {departments}: CX review #{id}").format(departments=names, id=view.id), blocks


def status_message(view: RequestView, tr: Translator) -> tuple[str, list[Block]]:
    """`/cx-review status <id>`: the request and where it stands, for one person, in their language."""
    blocks = (request_details(view, tr) + revision_context(view, tr) + [DividerBlock()] + state_blocks(view, tr)
              + condition_blocks(view, buttons=False, tr=tr))
    if view.permalink:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=safe_link(view.permalink, tr.gettext("Open the thread")))]))
    blocks.append(ActionsBlock(block_id="status_actions", elements=[record_button(view, tr)]))
    return f"{escape(title_text(view, tr))}: {status_label(view.status, tr)}", blocks
