"""Replies in a request's thread about what happened: objections (with their Resolve and
Overrule buttons), outcomes, holds, escalations, amendments, chair decisions.

In the council channel's language (`tr`); the council's own words (department names) and
what people typed are shown as written, and reasons the audit trail keeps by key are
rendered in the language (`cxbot.slack.blocks.reasons`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from cxbot.domain.model import Resolution, Status, VoteKind
from cxbot.i18n import N_, Translator
from cxbot.services.readmodel import NOTE_SECTIONS, ObjectionView, RequestView, asking
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.direct import field_label, field_value
from cxbot.slack.blocks.reasons import reason_text, routing_reason
from cxbot.slack.blocks.request import conditions_text, mention_sections, related_line, status_label
from cxbot.slack.text import clip, clip_plain, day, escape, mention, quote, slack_time

Note = tuple[str, list[Block] | None]

# Notes kept up to date in place (an objection's buttons go once it is resolved); every other
# note is posted once, as it read when it was delivered.
KEPT = frozenset({"voted", "vote_changed"})

ESCALATION_TARGET = {"leads": N_("the filing department's leads"), "chair": N_("the council chair")}


def objection_note(view: RequestView, objection: ObjectionView, tr: Translator) -> Note:
    """An objection, attributed, with Resolve (its author) and Overrule… (the chair) while it stands."""
    _ = tr.gettext
    dept = escape(view.department_name_of(objection.department))
    who = mention(objection.user) + (" " + _("for {user}").format(user=mention(objection.on_behalf_of))
                                     if objection.on_behalf_of else "")
    raises = (_("❌ {who} ({department}) raises a blocking objection:") if objection.blocking
              else _("❌ {who} ({department}) raises a non-blocking concern:"))
    text = raises.format(who=who, department=dept) + f"\n{quote(objection.reason)}"
    if objection.mitigation:
        text += "\n*" + _("What would resolve it:") + f"*\n{quote(objection.mitigation)}"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))]
    user = mention(objection.user)
    if objection.resolution is Resolution.RESOLVED:
        blocks.append(_context("✅ " + _("Resolved by {user}.").format(user=user)))
    elif objection.resolution is Resolution.OVERRULED:
        blocks.append(_context("⚖️ " + _("Overruled by {user}: {note}").format(
            user=mention(objection.resolved_by or ""), note=escape(objection.resolution_note))))
    elif objection.set_aside:
        blocks.append(_context(_("Set aside when the request was amended: it counts again if {user} objects "
                                 "again.").format(user=user)))
    elif not objection.standing:
        blocks.append(_context(_("Withdrawn by its author.")))
    elif objection.blocking and not view.status.is_final:
        value = f"{view.id}:{objection.vote_id}"
        blocks.append(ActionsBlock(block_id=f"objection_{objection.vote_id}", elements=[
            ButtonElement(text=_("Resolve"), action_id=ids.RESOLVE, value=value, style="primary"),
            ButtonElement(text=_("Overrule…"), action_id=ids.OVERRULE, value=value),
        ]))
        blocks.append(_context(_("Only {user} can resolve it; the council chair can overrule it.").format(user=user)))
    return escape(_("{department} objects to CX review #{id}").format(
        department=view.department_name_of(objection.department), id=view.id)), blocks


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, 3000))])


def _when(at: str, view: RequestView, tr: Translator) -> str:
    return slack_time(datetime.fromisoformat(at), view.timezone, tr)


def thread_note(view: RequestView, kind: str, actor: str, data: dict[str, Any], tr: Translator) -> Note | None:
    """The thread reply for an audit event, or None when the event is not announced."""
    _ = tr.gettext
    dept = escape(view.department_name_of(data.get("department", "")))
    who = mention(actor)
    if kind in ("voted", "vote_changed") and data.get("vote") == VoteKind.OBJECT.value:
        objection = view.objection(int(data.get("vote_id", 0)))
        return objection_note(view, objection, tr) if objection else None
    text: str | None = None
    if kind == "vote_retracted" and (data.get("previous") or {}).get("kind") == VoteKind.OBJECT.value:
        text = _("{user} withdrew their objection.").format(user=who)
    elif kind == "objection_resolved":
        text = "✅ " + _("{user} resolved their objection.").format(user=who)
        if data.get("note"):
            text += f"\n{quote(data['note'])}"
    elif kind == "objection_overruled":
        text = "⚖️ " + _("{user} overruled the objection of {objector} ({department}):").format(
            user=who, objector=mention(data.get("objector", "")), department=dept) + f"\n{quote(data.get('note', ''))}"
    elif kind == "withdrawn":
        text = "↩️ " + _("{user} withdrew this request. Voting is closed.").format(user=who)
    elif kind == "reopened":
        return asking_note(view, "🔄 " + _("{user} reopened this request. Answers are due {when}.").format(
                               user=who, when=_when(data["due_at"], view, tr)), _("Asked again:"),
                           list(data.get("asked_again") or []), _("CX review #{id} was reopened").format(id=view.id),
                           tr)
    elif kind == "hold_placed":
        text = ("⏸️ " + _("{user} put {department}'s review on hold until {when}:").format(
                    user=who, department=dept, when=_when(data["until"], view, tr))
                + f"\n{quote(data.get('reason', ''))}\n"
                + _("Answers are now due {when}.").format(when=_when(data["due_at"], view, tr)))
    elif kind == "hold_lapsed":
        text = "▶️ " + _("{department}'s hold has lapsed: its clock runs again, and reminders resume.").format(
            department=dept)
    elif kind == "escalated":
        text = escalation_text(view, data, tr)
    elif kind == "amended":
        return amendment_note(view, actor, data, tr)
    elif kind == "rerouted":
        return reroute_note(view, data, tr)
    elif kind == "approvals_set_aside":
        people = list(dict.fromkeys(v["user"] for v in data.get("votes", [])))
        return asking_note(view, "⚖️ " + _("The terms changed, so the answers of these people no longer count "
                                           "until they confirm them (each has a *Still approve* button in a DM) "
                                           "or vote again; the council chair can also decide:"), "", people,
                           _("Answers on CX review #{id} are set aside until confirmed").format(id=view.id), tr)
    elif kind in ("decided", "status_changed"):
        text = _status_text(view, actor, Status(data["status"]), data, tr)
        if text and Status(data["status"]) is Status.APPROVED and view.conditions:
            text += "\n" + _("*Conditions of the approval* (open items for the filer):") + "\n" \
                + conditions_text(view, tr)
    elif kind == "revised":
        text = "🔁 " + _("{user} filed a revision of this request: *CX review #{id}* {title}. Follow the review "
                        "there.").format(user=who, id=int(data.get("revised_by", 0)),
                                         title=escape(clip_plain(str(data.get("title", "")), 200)))
    elif kind == "filing_department_left":
        text = "🚪 " + filing_department_left_text(data, tr)
    elif kind == "condition_met":
        text = condition_met_text(view, actor, data, tr)
    elif kind == "follow_up_answered":
        text = follow_up_text(view, actor, data, tr)
    elif kind == "related_found":
        text = "🔗 " + _("Other departments are changing something close to this:") + "\n" + "\n".join(
            "• " + related_line(link, tr) for link in data.get("related") or [])
    elif kind == "clash_noted":
        text = "⚠️ " + _("Possible clash: {request} also touches {stages}, and a decision on it is needed by {day}, "
                         "within two weeks of this one's ({own}). Check the two fit together for customers.").format(
            request=related_line(data.get("link") or {}, tr), stages=escape(", ".join(data.get("stages") or [])),
            day=day(date.fromisoformat(data["day"]), tr), own=day(date.fromisoformat(data["own_day"]), tr))
    return (text, None) if text else None


def follow_up_text(view: RequestView, actor: str, data: dict[str, Any], tr: Translator) -> str:
    """A follow-up that brings bad news reopens the conversation: what happened, and the
    departments owning the moments of truth the change touched are mentioned."""
    _ = tr.gettext
    if data.get("role") == "filer":
        text = "📉 " + _("{user} reports that since it went live, this change turned out worse for customers than "
                         "predicted.").format(user=mention(actor))
    else:
        text = "📉 " + _("{user} reports that the concern they raised came true after the change went live.").format(
            user=mention(actor))
    if data.get("note"):
        text += "\n" + quote(str(data["note"]))
    if data.get("measured"):
        text += "\n" + _("Measured: {figure}").format(figure=escape(str(data["measured"])))
    owners = data.get("owners") or {}
    who = [f"<!subteam^{g}>" for g in owners.get("usergroups") or []] + [mention(u) for u in owners.get("users") or []]
    if who:
        text += "\n" + _("Owners of the moments of truth it touches: {who}").format(who=", ".join(who))
    return clip(text, 3000)


def filing_department_left_text(data: dict[str, Any], tr: Translator) -> str:
    """Why the filing department left (by the key kept, or the English text of older events)."""
    dropped = data.get("reason_key") == "dropped" or data.get("reason") == "dropped from the council"
    text = (tr.gettext("*{department}*, which filed this request, left the council: it was dropped from the "
                       "council. The review goes on: the change is still proposed, and {filer} can still amend, "
                       "withdraw or reopen it.") if dropped else
            tr.gettext("*{department}*, which filed this request, left the council: it has no lead in the council "
                       "any more. The review goes on: the change is still proposed, and {filer} can still amend, "
                       "withdraw or reopen it."))
    return text.format(department=escape(str(data.get("name", ""))), filer=mention(str(data.get("filer", ""))))


def condition_met_text(view: RequestView, actor: str, data: dict[str, Any], tr: Translator) -> str:
    dept = escape(view.department_name_of(data.get("department", "")))
    text = "☑️ " + tr.gettext("{user} marked a condition of {author} ({department}) met:").format(
        user=mention(actor), author=mention(data.get("author", "")), department=dept)
    text += f"\n{quote(clip_plain(data.get('condition', ''), 1000))}"
    open_ = int(data.get("still_open", 0))
    return text + "\n" + (tr.gettext("Every condition of the approval is met.") if open_ == 0 else
                          tr.ngettext("{n} condition still open.", "{n} conditions still open.", open_).format(n=open_))


def escalation_text(view: RequestView, data: dict[str, Any], tr: Translator) -> str:
    """Who an escalation reached: the chair, or the leads of the departments that owe an
    answer (with the filing department's leads in copy)."""
    reason = escape(reason_text(data, tr))
    if data.get("target") == "leads" and "departments" in data:
        owing = ", ".join(f"*{escape(view.department_name_of(k))}*" for k in data["departments"])
        if data.get("copies"):
            return "⏫ " + tr.gettext("Escalated to the leads of {departments} ({department}'s leads have a copy): "
                                     "{reason}.").format(departments=owing, department=escape(view.department_name),
                                                         reason=reason)
        return "⏫ " + tr.gettext("Escalated to the leads of {departments}: {reason}.").format(
            departments=owing, reason=reason)
    target = data.get("target", "")
    named = tr.text(ESCALATION_TARGET[target]) if target in ESCALATION_TARGET else escape(str(target))
    return "⏫ " + tr.gettext("Escalated to {target}: {reason}.").format(target=named, reason=reason)


def _chair_text(view: RequestView, actor: str, status: Status, data: dict[str, Any], tr: Translator) -> str:
    _ = tr.gettext
    approved = status is Status.APPROVED
    text = ("✅ " + _("*The council chair {user} approved this request.*") if approved
            else "⛔ " + _("*The council chair {user} rejected this request.*")).format(user=mention(actor))
    text += "\n*" + _("Rationale:") + f"*\n{quote(data.get('rationale', ''))}"
    dissent = data.get("dissent") or []
    if dissent:
        label = _("Dissent on record") if approved else _("Approvals on record")
        text += f"\n*{label}:*\n" + "\n".join(
            f"• {mention(d['user'])} ({escape(view.department_name_of(d['department']))}): "
            f"{escape(clip_plain(d.get('reason', ''), 300))}" for d in dissent)
    return text


def _status_text(view: RequestView, actor: str, status: Status, data: dict[str, Any], tr: Translator) -> str | None:
    _ = tr.gettext
    if data.get("by_chair"):
        return _chair_text(view, actor, status, data, tr)
    names = ", ".join(f"*{escape(view.department_name_of(k))}*" for k in data.get("outstanding", []))
    if status is Status.APPROVED:
        return "✅ " + _("*Approved.* The departments asked have answered and no objection stands.")
    if status is Status.CHANGES_REQUESTED:
        objectors = ", ".join(mention(o.user) for o in view.objections if o.standing and o.blocking
                              and o.resolution is None) or _("an advocate")
        return "✋ " + _("*Changes requested* by {objectors}. {filer}, amend the request or answer here; an "
                        "objection stands until its author resolves it or the chair overrules it.").format(
            objectors=objectors, filer=mention(view.filer))
    if status is Status.OPEN and data.get("previous") in (Status.CHANGES_REQUESTED.value, Status.ON_HOLD.value):
        return "🔄 " + _("*{status}* again: back with the departments for their answers.").format(
            status=status_label(Status.OPEN, tr))
    if status is Status.EXPIRED:
        return "⌛ " + (_("*Expired*: the deadline passed with {departments} still outstanding.").format(
            departments=names) if names else _("*Expired*: the deadline passed with departments still outstanding."))
    return None


LINE_SECTIONS = 8   # sections a note's own lines may fill: with its head, its intro and NOTE_SECTIONS, 50 blocks


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))


def _line_sections(lines: list[str], tr: Translator) -> list[Block]:
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
            texts[-1] = clip(texts[-1], 2900) + "\n" + tr.ngettext("…and {n} more.", "…and {n} more.",
                                                                   len(lines) - n).format(n=len(lines) - n)
            break
    return [_section(text) for text in texts]


def asking_note(view: RequestView, head: str, intro: str, people: list[str] | None, fallback: str,
                tr: Translator, lines: list[str] | None = None) -> Note:
    """A thread note that asks people: `head`, then `lines`, then `intro` and the mentions of
    `people` (None: everyone asked), packed as the vote prompt packs them (`asking`, within
    NOTE_SECTIONS sections); whoever does not fit is asked by DM
    (`cxbot.services.notices.asked_by_dm`). The text fallback mentions nobody."""
    blocks: list[Block] = [_section(head), *_line_sections(lines or [], tr)]
    plan = asking(view, people, sections=NOTE_SECTIONS)
    if plan.sections:
        if intro:
            blocks.append(_section(intro))
        blocks += mention_sections(plan)
    return escape(fallback), blocks


def amendment_note(view: RequestView, actor: str, data: dict[str, Any], tr: Translator) -> Note:
    """The field-by-field diff (a section each), and who is asked again."""
    _ = tr.gettext
    changes = [f"• *{escape(field_label(change, tr))}*: ~{escape(clip_plain(field_value(change, 'before', tr), 300))}~"
               f" → {escape(clip_plain(field_value(change, 'after', tr), 300))}" for change in data.get("changes", [])]
    intro = (_("Asked again (every earlier vote was cleared for a full re-review):") if data.get("full") else
             _("Asked again (answers given under the old terms count once confirmed):") if data.get("terms") else
             _("Asked again (approvals already given stand):"))
    version = data.get("version")
    return asking_note(view, "✏️ " + _("{user} amended this request (version {version}):").format(
                           user=mention(actor), version=version), intro, list(data.get("asked_again") or []),
                       _("CX review #{id} was amended (version {version})").format(id=view.id, version=version),
                       tr, changes)


def reroute_note(view: RequestView, data: dict[str, Any], tr: Translator) -> Note:
    """Which departments the new terms ask (mentioning who answers for them), and which they
    release; or, after a council load, which departments nobody can answer for any more (and why)."""
    _ = tr.gettext
    head = "🔀 " + (_("The council changed, so the routing changed:") if data.get("by_council_load")
                   else _("With the new terms, the routing changed:"))
    lines = ["• " + _("*{department}* is now asked ({reason})").format(
        department=escape(d["name"]), reason=escape(routing_reason(str(d.get("reason", "")), tr)))
        for d in data.get("asked", [])]
    for d in data.get("released", []):
        name = escape(d["name"])
        lines.append("• " + (_("*{department}* is released ({reason}): its answer is no longer needed.").format(
            department=name, reason=escape(reason_text(d, tr))) if d.get("reason") else
            _("*{department}* is released: its answer is no longer needed.").format(department=name)))
    asked = [u for d in data.get("asked", []) for u in view.answering(d["department"])]
    return asking_note(view, head, _("Now asked:"), asked,
                       _("The routing of CX review #{id} changed").format(id=view.id), tr, lines)
