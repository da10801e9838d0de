"""The Home tab, in its reader's language: a section per council the person belongs to.

Advocates see what they still owe, with the vote buttons of the thread (the same action ids,
so a vote from Home is the vote in the thread), and what they answered lately; leads and
filers their requests, with Amend / Withdraw / Reopen and a button to file a new one; the
chair and admins the council at a glance, with Approve… / Reject… on escalations. People
outside every council are told what cxbot is and whom to ask.

Slack holds 100 blocks in a Home view: the read model caps each list (and says how many it
left out), and `home_tab` cuts whatever still overflows, ending with a pointer to the rest.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from cxbot.domain.model import VoteKind
from cxbot.i18n import Translator
from cxbot.services.home import AnsweredItem, CouncilHome, Glance, HomeView, OwedItem
from cxbot.services.readmodel import RequestView
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.direct import decision_buttons
from cxbot.slack.blocks.request import STATUS_ICON, filer_buttons, safe_link, status_label, vote_buttons
from cxbot.slack.text import clip, clip_plain, escape, mention, slack_time

HOME_BLOCKS = 100        # Slack's limit for a Home view
SECTION_CHARS = 3000
HEADER_CHARS = 150
COMMAND = "/cx-review"


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_CHARS)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, SECTION_CHARS))])


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=clip_plain(text, HEADER_CHARS), emoji=True))


def _link(request_id: int, title: str, permalink: str, tr: Translator, limit: int = 200) -> str:
    """"CX review #12: title", linked to its thread when it has one (escaped either way)."""
    text = tr.gettext("CX review #{id}: {title}").format(id=request_id, title=clip_plain(title, limit))
    return safe_link(permalink, text) if permalink else escape(text)


def _title(view: RequestView, tr: Translator) -> str:
    return f"*{_link(view.id, view.title, view.permalink, tr)}*"


def _more(n: int, tr: Translator) -> ContextBlock:
    return _context(tr.ngettext("…and {n} more: `{command} mine` lists them all.",
                                "…and {n} more: `{command} mine` lists them all.", n).format(n=n, command=COMMAND))


def _owed(item: OwedItem, tr: Translator) -> list[Block]:
    behalf = (" " + tr.gettext("(you answer for <@{user}> while they are away)").format(user=item.on_behalf_of)
              if item.on_behalf_of else "")
    due = slack_time(item.due_at, item.timezone, tr)
    when = (tr.gettext("⌛ *Overdue*: answers were due {when}.") if item.overdue
            else tr.gettext("Answers are due {when}.")).format(when=due)
    text = (f"*{_link(item.id, item.title, item.permalink, tr)}*\n"
            + tr.gettext("Filed by *{department}* · you answer for *{yours}*").format(
                department=escape(item.filed_by), yours=escape(item.department)) + behalf
            + f"\n{when}")
    buttons = vote_buttons(item.id, tr)
    buttons.block_id = f"vote_{item.id}"   # block ids are unique within a view
    return [_section(text), buttons]


VOTED = {VoteKind.APPROVE: "✅", VoteKind.OBJECT: "❌", VoteKind.ABSTAIN: "☑️"}


def _answered(items: tuple[AnsweredItem, ...], tr: Translator) -> list[Block]:
    names = {VoteKind.APPROVE: tr.gettext("approved"), VoteKind.OBJECT: tr.gettext("objected"),
             VoteKind.ABSTAIN: tr.gettext("abstained")}
    lines = []
    for a in items:
        title = _link(a.request_id, a.title, a.permalink, tr, 120)
        lines.append(f"{VOTED[a.vote]} {title} · {names[a.vote]} {slack_time(a.at, a.timezone, tr)}")
    return [_section("*" + tr.gettext("Answered recently") + "*\n" + "\n".join(lines))] if lines else []


def _objections(view: RequestView, tr: Translator) -> str:
    standing = [o for o in view.objections if o.standing and o.resolution is None]
    return "".join("\n❌ " + tr.gettext("*{department}* objects: {reason}").format(
        department=escape(view.department_name_of(o.department)), reason=escape(clip_plain(o.reason, 300)))
        for o in standing)


def _mine(view: RequestView, tr: Translator) -> list[Block]:
    line = f"{STATUS_ICON[view.status]} *{status_label(view.status, tr)}*"
    outstanding = [view.department_name_of(k) for k in view.tally.outstanding] if not view.status.is_final else []
    if outstanding:
        line += " · " + tr.gettext("waiting for {departments}").format(
            departments=", ".join(f"*{escape(n)}*" for n in outstanding))
    blocks: list[Block] = [_section(f"{_title(view, tr)}\n{line}{_objections(view, tr)}")]
    buttons = filer_buttons(view, tr)
    if buttons:
        blocks.append(ActionsBlock(block_id=f"filer_{view.id}", elements=buttons))
    return blocks


def _glance(glance: Glance, key: str, timezone: str, tr: Translator, *, decides: bool) -> list[Block]:
    """The council at a glance; the escalations with Approve… and Reject… for the chair, who
    alone decides them (admins see them listed)."""
    stages = " · ".join(f"{status_label(status, tr)}: *{n}*" for status, n in glance.by_status)
    overdue = ("\n".join(f"• *{escape(name)}*: {n}" for name, n in glance.overdue[:15])
               or tr.gettext("No department is late."))
    week = tr.gettext("Since {start}: *{filed}* filed, *{approved}* approved, *{rejected}* rejected.").format(
        start=slack_time(glance.week_start, timezone, tr), filed=glance.filed, approved=glance.approved,
        rejected=glance.rejected)
    blocks: list[Block] = [
        _header(tr.gettext("The council at a glance")),
        _section("*" + tr.gettext("Under review") + "*\n" + stages),
        _section("*" + tr.gettext("Overdue answers by department") + "*\n" + overdue),
        _section("*" + tr.gettext("This week") + "*\n" + week),
    ]
    if glance.escalated:
        blocks.append(_section("*" + tr.gettext("Escalated to the chair") + "*"))
    for view in glance.escalated:
        blocks.append(_section(f"⏫ {_title(view, tr)} · *{escape(view.department_name)}*"))
        if decides:
            blocks.append(decision_buttons(view.id, tr, block_id=f"decide_{view.id}"))
    if glance.escalated_more:
        blocks.append(_context(tr.ngettext("…and {n} more escalated request.", "…and {n} more escalated requests.",
                                           glance.escalated_more).format(n=glance.escalated_more)))
    blocks.append(ActionsBlock(block_id=f"digest_{key}"[:255], elements=[
        ButtonElement(text=tr.gettext("Send me the digest now"), action_id=ids.DIGEST_NOW, value=key),
        ButtonElement(text=tr.gettext("Export the record"), action_id=ids.EXPORT_NOW, value=key)]))
    return blocks


def _council(home: CouncilHome, user: str, tr: Translator, several: bool) -> list[Block]:
    blocks: list[Block] = []
    if several:
        blocks += [_header(tr.gettext("Council {key}").format(key=home.key)), _context(f"<#{home.channel}>")]
    if home.advocate:
        blocks.append(_header(tr.gettext("Waiting on you")))
        for item in home.owed:
            blocks += _owed(item, tr)
        if not home.owed:
            blocks.append(_context("✅ " + tr.gettext("Nothing is waiting on you.")))
        if home.owed_more:
            blocks.append(_more(home.owed_more, tr))
        blocks += _answered(home.answered, tr)
    if home.files or home.mine:
        blocks.append(_header(tr.gettext("Your requests")))
        for view in home.mine:
            blocks += _mine(view, tr)
        if not home.mine:
            blocks.append(_context(tr.gettext("You have no request under review.")))
        if home.mine_more:
            blocks.append(_more(home.mine_more, tr))
        if home.files:
            blocks.append(ActionsBlock(block_id=f"file_{home.position}", elements=[ButtonElement(
                text=tr.gettext("File a request"), action_id=f"{ids.FILE_IN_COUNCIL}{home.position}",
                value=home.key, style="primary")]))
    if home.glance is not None:
        blocks += _glance(home.glance, home.key, home.timezone, tr, decides=home.chair == user)
    return blocks


def _outsider(home: HomeView, tr: Translator) -> list[Block]:
    chairs = ", ".join(dict.fromkeys(mention(chair) for chair, _ in home.chairs))
    text = tr.gettext("*cxbot* runs the Customer-Experience council: a department that changes something customers "
                      "notice files it here, and the other departments it touches review it before it ships.")
    ask = (tr.gettext("You are not on the council. To join it, or to file a change, ask the council chair: {chairs}.")
           .format(chairs=chairs) if chairs else tr.gettext("No council is set up here yet."))
    return [_header(tr.gettext("Welcome to cxbot")), _section(text), _section(ask)]


def home_tab(home: HomeView, tr: Translator) -> dict[str, Any]:
    """The Home view to publish for `home.user`."""
    if home.outsider:
        blocks = _outsider(home, tr)
    else:
        blocks = []
        several = len(home.councils) > 1
        for i, council in enumerate(home.councils):
            if i:
                blocks.append(DividerBlock())
            blocks += _council(council, home.user, tr, several)
    if len(blocks) > HOME_BLOCKS:
        blocks = blocks[:HOME_BLOCKS - 1]
        # Never leave an item's text without its buttons, nor buttons without their item.
        while blocks and isinstance(blocks[-1], SectionBlock | HeaderBlock):
            blocks.pop()
        blocks.append(_context(tr.gettext("There is more than fits here: `{command} mine` lists it all.").format(
            command=COMMAND)))
    return {"type": "home", "callback_id": "cx_home", "blocks": [b.to_dict() for b in blocks]}
