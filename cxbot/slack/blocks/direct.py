"""Direct messages: to the filer (posted, outcome), reminders to those who owe an answer,
and escalations to leads and the chair.

Each is rendered when it is delivered, in its reader's language (`tr`: their own choice, else
the council's language, else their Slack locale, else English; `cxbot.domain.languages`);
the council's own text (titles, department names, reasons people typed) is shown as written.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from cxbot.domain.model import Status
from cxbot.i18n import N_, Msg, Translator
from cxbot.services.readmodel import RequestView
from cxbot.services.reminders import DailyReminderView
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.modals import IMPACTS, MAGNITUDES
from cxbot.slack.blocks.reasons import reason_text, stored_reason
from cxbot.slack.blocks.request import (
    EN,
    STATUS_ICON,
    condition_blocks,
    conditions_text,
    filer_buttons,
    related_context,
    revision_context,
    safe_link,
    status_label,
    status_line,
    vote_buttons,
)
from cxbot.slack.text import clip, clip_plain, escape, mention, quote, slack_time

DM = tuple[str, list[Block]]


def _where(view: RequestView, tr: Translator) -> str:
    return (safe_link(view.permalink, tr.gettext("the thread")) if view.permalink
            else tr.gettext("the council channel"))


def _title(view: RequestView, tr: Translator) -> str:
    return tr.gettext("*CX review #{id}: {title}*").format(id=view.id, title=escape(view.title))


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, 3000))])


def _summary(view: RequestView, limit: int) -> str:
    return escape(clip_plain(view.summary, limit))


def _behalf(user: str | None, tr: Translator) -> str:
    return " " + tr.gettext("(you answer for <@{user}> while they are away)").format(user=user) if user else ""


FILER_NOW: dict[Status, Msg] = {
    Status.OPEN: N_("Your change is with the council."),
    Status.ON_HOLD: N_("Your change is with the council; a department has asked for more time."),
    Status.CHANGES_REQUESTED: N_("Changes requested on your change: amend it, or answer the objections in the "
                                 "thread."),
    Status.ESCALATED: N_("Your change is escalated to the council chair, who decides it."),
    Status.APPROVED: N_("Your change was approved."),
    Status.REJECTED: N_("Your change was rejected."),
    Status.WITHDRAWN: N_("You withdrew this change. Reopen it to put it back under review."),
    Status.EXPIRED: N_("Your change expired: the deadline passed before every department answered."),
}
FILER_ICON = {Status.CHANGES_REQUESTED: "✋ ", Status.ESCALATED: "⏫ ", Status.APPROVED: "✅ ",
              Status.REJECTED: "⛔ ", Status.WITHDRAWN: "↩️ ", Status.EXPIRED: "⌛ "}


def _filer_state(view: RequestView, tr: Translator) -> str:
    """The state and its one date. Not who is still to answer: that changes with every vote,
    and the receipt is updated when the request's state changes, not on each vote."""
    line = f"{STATUS_ICON[view.status]} *{status_label(view.status, tr)}*"
    if view.status.is_final:
        return line + (f" · {slack_time(view.decided_at, view.timezone, tr)}" if view.decided_at else "")
    when = slack_time(view.due_at, view.timezone, tr)
    return line + " · " + (tr.gettext("answers were due {when}") if view.overdue
                           else tr.gettext("answers due {when}")).format(when=when)


def filed(view: RequestView, tr: Translator = EN) -> DM:
    """The filer's receipt, kept up to date: it says where the request stands now, so an old
    "with the council… due" never sits beside a decision."""
    asked = ", ".join(escape(d.name) for d in view.routed)
    now = FILER_ICON.get(view.status, "") + tr.text(FILER_NOW[view.status])
    follow = tr.gettext("Asked to review: {departments}. Follow it in {where}.").format(
        departments=asked, where=_where(view, tr))
    blocks: list[Block] = [
        _section(f"{_title(view, tr)}\n{now}\n{follow}"),
        ContextBlock(elements=[MarkdownTextObject(text=_filer_state(view, tr))]),
    ]
    blocks += revision_context(view, tr) + related_context(view, tr) + condition_blocks(view, tr=tr)
    buttons = filer_buttons(view, tr)
    if buttons:
        blocks.append(ActionsBlock(block_id="request_actions", elements=buttons))
    if view.status is Status.OPEN:
        return tr.gettext("Your CX review #{id} was posted").format(id=view.id), blocks
    return tr.gettext("Your CX review #{id}: {status}").format(id=view.id, status=status_label(view.status, tr)), blocks


def outcome(view: RequestView, data: dict[str, Any], tr: Translator = EN) -> DM | None:
    status = Status(data["status"])
    where, title = _where(view, tr), _title(view, tr)
    texts = {
        Status.APPROVED: "✅ " + tr.gettext("{title} was approved. See {where}."),
        Status.REJECTED: "⛔ " + tr.gettext("{title} was rejected. See {where}."),
        Status.CHANGES_REQUESTED: "✋ " + tr.gettext("{title}: changes requested. Read the objections and amend or "
                                                    "answer in {where}."),
        Status.EXPIRED: "⌛ " + tr.gettext("{title} expired: the deadline passed before every department answered. "
                                          "You can reopen it from {where}."),
    }
    if status not in texts:
        return None
    text = texts[status].format(title=title, where=where)
    if data.get("rationale"):
        text += "\n" + tr.gettext("The chair's rationale:") + f"\n{quote(data['rationale'])}"
    go_live: list[Block] = []
    if status is Status.APPROVED:
        go_live = [_context(tr.gettext("Once it is live, say when: {days} days later cxbot asks you, and everyone "
                                       "who objected, how it turned out for customers.").format(
                                           days=view.follow_up_days)),
                   ActionsBlock(block_id="go_live", elements=[ButtonElement(
                       text=tr.gettext("Set the go-live date…"), action_id=ids.GO_LIVE, value=str(view.id))])]
    return (tr.gettext("CX review #{id}: {status}").format(id=view.id, status=status_label(status, tr)),
            [_section(text)] + outcome_conditions(view, status, tr) + go_live)


FOLLOW_UP_ANSWERS: dict[str, Msg] = {
    "as_predicted": N_("As predicted…"), "better": N_("Better…"), "worse": N_("Worse…"),
    "came_true": N_("It came true…"), "did_not": N_("It did not…"),
}


def follow_up(view: RequestView, data: dict[str, Any], objection: str | None, tr: Translator = EN) -> DM:
    """The follow-up question, weeks after the change went live: to the filer, did its impact
    come as predicted; to an objector (`objection`: what they said), did their concern come true."""
    title, where = _title(view, tr), _where(view, tr)
    went_live = tr.date(date.fromisoformat(data["go_live"])) if data.get("go_live") else "—"
    again = ("🔁 " + tr.gettext("Asking once more:") + " ") if data.get("again") else ""
    if data.get("role") == "filer":
        text = again + tr.gettext("📏 {title} went live on {day}. Did its impact on customers come as you "
                                  "predicted? You said: *{impact}*.").format(
            title=title, day=went_live, impact=tr.text(IMPACTS[view.impact]))
        if view.impact_note:
            text += "\n" + quote(clip_plain(view.impact_note, 500))
        answers = ("as_predicted", "better", "worse")
    else:
        text = again + tr.gettext("📏 {title} went live on {day}. You objected; did your concern come true?").format(
            title=title, day=went_live)
        if objection:
            text += "\n" + quote(clip_plain(objection, 500))
        answers = ("came_true", "did_not")
    text += "\n" + tr.gettext("Discuss in {where}.").format(where=where)
    value = str(int(data.get("follow_up_id", 0)))
    return (tr.gettext("CX review #{id}: how did it turn out?").format(id=view.id),
            [_section(text), ActionsBlock(block_id="follow_up", elements=[
                ButtonElement(text=tr.text(FOLLOW_UP_ANSWERS[a]), action_id=f"{ids.FOLLOW_UP}{a}", value=value)
                for a in answers])])


def outcome_conditions(view: RequestView, status: Status, tr: Translator = EN) -> list[Block]:
    """An approval's conditions, in the filer's outcome DM: the open items they now owe."""
    if status is not Status.APPROVED or not view.conditions:
        return []
    return [_section(tr.gettext("The approval comes with conditions. Once each one is done, mark it met with its "
                                "button in the request's message or in the DM you got when you filed it:")
                     + "\n" + conditions_text(view, tr))]


def _after_deadline(view: RequestView, tr: Translator) -> str:
    """What happens to an overdue request now: who has it, and what an answer still does."""
    step = view.escalation
    if step is None or not step.recipients:
        return tr.gettext("Nothing is decided without the answers still owed: please answer now.")
    who = ", ".join(mention(u) for u in step.recipients)
    if step.target == "chair":
        return "⏫ " + tr.gettext("It is with the council chair ({who}), who can decide it now; your department's "
                                 "answer still counts until they do.").format(who=who)
    return "⏫ " + tr.gettext("It was escalated {when} to {who}, who are chasing the answers still owed.").format(
        when=slack_time(step.at, view.timezone, tr), who=who)


def reminder(view: RequestView, kind: str, on_behalf_of: str | None, tr: Translator = EN) -> DM:
    """About one request, to an advocate whose department still owes an answer on it, with
    the buttons to give it: the closing-soon notice sent on its own, when the deadline falls
    before the person's next daily reminder (`daily_reminder`). Once the deadline has passed
    it says so, and what happens now, instead of a due date."""
    behalf = _behalf(on_behalf_of, tr)
    when = slack_time(view.due_at, view.timezone, tr)
    if view.overdue:
        lead = "⌛ " + tr.gettext("Overdue")
        text = (tr.gettext("{lead}: your department's answer on {title} is still outstanding{behalf}. Answers were "
                           "due {when}.").format(lead=lead, title=_title(view, tr), behalf=behalf, when=when)
                + f" {_after_deadline(view, tr)}\n{_summary(view, 600)}")
        fallback = tr.gettext("{lead}: CX review #{id} still needs your department's answer").format(
            lead=lead, id=view.id)
    else:
        lead = "⏰ " + tr.gettext("Closing soon") if kind == "closing" else "👋 " + tr.gettext("Reminder")
        text = (tr.gettext("{lead}: your department's answer on {title} is still outstanding{behalf}. Answers are "
                           "due {when}.").format(lead=lead, title=_title(view, tr), behalf=behalf, when=when)
                + f"\n{_summary(view, 600)}")
        fallback = tr.gettext("{lead}: CX review #{id} needs your department's answer").format(lead=lead, id=view.id)
    return (fallback,
            [_section(text), _context(status_line(view, tr)), vote_buttons(view.id, tr),
             ContextBlock(elements=[MarkdownTextObject(text=_discuss(view, tr))])])


def _discuss(view: RequestView, tr: Translator) -> str:
    return tr.gettext("Discuss in {where}.").format(where=_where(view, tr))


def daily_reminder(day: DailyReminderView, tr: Translator = EN) -> DM:
    """A person's one reminder of the day: every request they owe an answer on, soonest
    deadline first, each with its department, deadline and buttons; an item answered since
    shows as such. Past what one message holds (50 blocks), "and N more" points to the
    council channel."""
    n = day.owing
    blocks: list[Block] = [_section(
        "👋 " + tr.ngettext("*Reminder:* your answer is still outstanding on {n} CX review, soonest deadline first.",
                           "*Reminder:* your answer is still outstanding on {n} CX reviews, soonest deadline first.",
                           n).format(n=n)
        if n else "✅ " + tr.gettext("Nothing left to answer from this reminder. Thank you!"))]
    for item in day.items:
        view = item.view
        if item.answered:
            state = status_label(view.status, tr).lower() if view.status.is_final else tr.gettext("answered")
            blocks.append(_context("✅ " + tr.gettext("~CX review #{id}: {title}~ · {state}").format(
                id=view.id, title=escape(view.title), state=state)))
            continue
        due = slack_time(view.due_at, view.timezone, tr)
        if view.overdue:
            when = ("⌛ " + tr.gettext("*Overdue*: Answers were due {when}.").format(when=due)
                    + f" {_after_deadline(view, tr)}")
        else:
            when = (("⏰ " + tr.gettext("*Closing soon*:") + " " if item.closing else "")
                    + tr.gettext("Answers are due {when}.").format(when=due))
        where = tr.gettext("discuss in {where}").format(where=_where(view, tr))
        blocks.append(_section(f"{_title(view, tr)}\n*{escape(item.department)}*{_behalf(item.on_behalf_of, tr)}"
                               f" · {where}\n{when}\n{status_line(view, tr)}\n{_summary(view, 300)}"))
        buttons = vote_buttons(view.id, tr)
        buttons.block_id = f"vote_{view.id}"   # block ids are unique within a message
        blocks.append(buttons)
    if day.more:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=tr.gettext("…and {n} more: see {channel}.").format(n=day.more, channel=f"<#{day.council_channel}>"))]))
    if day.follow_ups:
        blocks.append(_section("📏 " + tr.gettext("*Still waiting for your follow-up:* how did these changes turn out "
                                                 "for customers?")))
    for follow_up_id, role, request_id, title, permalink in day.follow_ups:
        link = tr.gettext("*CX review #{id}: {title}*").format(id=request_id, title=escape(title))
        blocks.append(_section(safe_link(permalink, f"#{request_id}") + " " + link if permalink else link))
        answers = ("as_predicted", "better", "worse") if role == "filer" else ("came_true", "did_not")
        blocks.append(ActionsBlock(block_id=f"follow_up_{follow_up_id}", elements=[
            ButtonElement(text=tr.text(FOLLOW_UP_ANSWERS[a]), action_id=f"{ids.FOLLOW_UP}{a}",
                          value=str(follow_up_id)) for a in answers]))
    closing = any(i.closing and not i.answered and not i.view.overdue for i in day.items)
    overdue = any(i.view.overdue and not i.answered for i in day.items)
    marks = ("⌛ " + tr.gettext("Overdue") + " · " if overdue else "") + (
        "⏰ " + tr.gettext("Closing soon") + " · " if closing else "")
    owing = tr.ngettext("Reminder: your answer is still outstanding on {n} CX review",
                        "Reminder: your answer is still outstanding on {n} CX reviews", n).format(n=n)
    fallback = marks + "👋 " + owing if n else "👋 " + tr.gettext("Reminder: nothing left to answer")
    return fallback, blocks


def asked(view: RequestView, tr: Translator = EN) -> DM:
    """To someone asked to review whom the vote prompt had no room to mention: the request,
    its deadline, the buttons to answer, and the thread."""
    text = "🗳️ " + tr.gettext("You are asked to review {title} for your department and its customers, by "
                              "{when}.").format(title=_title(view, tr), when=slack_time(view.due_at, view.timezone, tr))
    text += f"\n{_summary(view, 600)}"
    return (tr.gettext("You are asked to review CX review #{id}").format(id=view.id),
            [_section(text), vote_buttons(view.id, tr),
             ContextBlock(elements=[MarkdownTextObject(text=_discuss(view, tr))])])


def decision_buttons(request_id: int, tr: Translator = EN, block_id: str = "chair_decision") -> ActionsBlock:
    """The chair's Approve… and Reject…, each opening the decision form."""
    return ActionsBlock(block_id=block_id, elements=[
        ButtonElement(text=tr.pgettext("decision", "Approve") + "…", action_id=ids.DECIDE_APPROVE,
                      value=str(request_id), style="primary"),
        ButtonElement(text=tr.pgettext("decision", "Reject") + "…", action_id=ids.DECIDE_REJECT,
                      value=str(request_id), style="danger"),
    ])


def escalation(view: RequestView, data: dict[str, Any], *, for_chair: bool, user: str | None = None,
               tr: Translator = EN) -> DM:
    """To the leads of the departments that still owe an answer (to chase), a copy to the
    filing department's leads (for their information), or to the chair (to decide)."""
    if user is not None and user in (data.get("copies") or ()):
        return escalation_copy(view, data, tr)
    reason = escape(reason_text(data, tr))
    text = ("⏫ " + tr.gettext("{title} is escalated to you: {reason}.").format(title=_title(view, tr), reason=reason)
            + f"\n{_summary(view, 600)}")
    blocks: list[Block] = [_section(text), _context(status_line(view, tr))]
    if for_chair and view.status is Status.ESCALATED:
        blocks.append(decision_buttons(view.id, tr))
    elif not for_chair:
        owing = _department_names(view, data.get("departments") or (), tr)
        blocks.append(_context(tr.gettext("You lead a department that still owes its answer ({departments}). Please "
                                          "see that its advocates answer, or resolve their objection, in {where}.")
                               .format(departments=owing, where=_where(view, tr))))
    return tr.gettext("CX review #{id} is escalated to you").format(id=view.id), blocks


def still_approve(view: RequestView, data: dict[str, Any], user: str, tr: Translator = EN) -> DM:
    """To someone whose approval an amendment of the terms set aside: one click counts it again."""
    changes = "; ".join(f"{escape(field_label(c, tr))}: {escape(field_value(c, 'before', tr))} → "
                        f"{escape(field_value(c, 'after', tr))}"
                        for c in data.get("changes", []))
    text = "✏️ " + tr.gettext("{title} was amended: {changes}. Your answer was given under the old terms, so it no "
                             "longer counts. Press *{button}* to approve it as it stands now, or vote again in "
                             "{where}.").format(title=_title(view, tr), changes=changes,
                                                button=tr.gettext("Still approve"), where=_where(view, tr))
    blocks: list[Block] = [_section(text)]
    if not view.status.is_final:
        blocks.append(ActionsBlock(block_id="still_approve", elements=[
            ButtonElement(text=tr.gettext("Still approve"), action_id=ids.STILL_APPROVE, value=str(view.id),
                          style="primary")]))
    return tr.gettext("CX review #{id} changed: confirm your approval").format(id=view.id), blocks


# An amendment's changed fields by name (the audit trail stores their English labels).
FIELDS: dict[str, Msg] = {
    "title": N_("Title"), "summary": N_("What changes"), "stages": N_("Lifecycle stages"),
    "impact": N_("Expected impact"), "impact_note": N_("Impact note"), "magnitude": N_("Magnitude"),
    "decision_by": N_("Decision needed by"), "link": N_("Link"),
}
_LABELLED: dict[str, dict[str, Msg]] = {"magnitude": {m.label: msg for m, msg in MAGNITUDES.items()},
                                        "impact": {i.label: msg for i, msg in IMPACTS.items()}}


def field_label(change: dict[str, Any], tr: Translator) -> str:
    msg = FIELDS.get(str(change.get("field")))
    return tr.text(msg) if msg is not None else str(change.get("label", ""))


def field_value(change: dict[str, Any], side: str, tr: Translator) -> str:
    value = str(change.get(side, ""))
    msg = _LABELLED.get(str(change.get("field")), {}).get(value)
    return tr.text(msg) if msg is not None else value


def substitute_ended(substitute: str, reason: str, tr: Translator = EN) -> DM:
    """To an away advocate whose substitute the council file no longer supports."""
    text = tr.gettext("The council changed, so <@{substitute}> no longer answers for you while you are away: "
                      "{reason}. Reviews, reminders and votes no longer go to them; `/cx-review away` names "
                      "someone else if you still need a stand-in.").format(substitute=substitute,
                                                                           reason=stored_reason(reason, tr))
    return tr.gettext("Your substitute no longer answers for you"), [_section(text)]


def _department_names(view: RequestView, keys: Any, tr: Translator) -> str:
    return ", ".join(f"*{escape(view.department_name_of(k))}*" for k in keys) or tr.gettext("none")


def escalation_copy(view: RequestView, data: dict[str, Any], tr: Translator = EN) -> DM:
    """The filing department's leads hear that their request was escalated to others' leads:
    for their information, nothing for them to do."""
    owing = _department_names(view, data.get("departments") or (), tr)
    reason = escape(reason_text(data, tr))
    text = ("ℹ️ " + tr.gettext("For your information: {title}, filed by your department, is escalated to the leads "
                              "of {departments}: {reason}.").format(title=_title(view, tr), departments=owing,
                                                                    reason=reason)
            + f"\n{_summary(view, 600)}")
    return (tr.gettext("For your information: CX review #{id} is escalated to the leads of the departments that owe "
                       "an answer").format(id=view.id),
            [_section(text), _context(status_line(view, tr)),
             ContextBlock(elements=[MarkdownTextObject(text=tr.gettext(
                 "You get a copy because your department filed it. Follow it in {where}.").format(
                     where=_where(view, tr)))])])


def delivery_failed(kind: str, lane: str, error: str, tr: Translator = EN) -> str:
    """To the admins (or the chair): a message Slack refused for good. Plain text, one line."""
    about = (tr.gettext("CX review #{id}").format(id=lane.split(":")[1]) if lane.startswith("request:") else lane)
    return "⚠️ " + tr.gettext("cxbot could not deliver a Slack message ({kind}, {about}): `{error}`. Slack will never "
                             "take it as it is, so it is not retried: check the bot's channel membership and scopes; "
                             "any other error is a bug to report.").format(kind=kind, about=about, error=error)
