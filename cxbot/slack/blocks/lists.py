"""Lists of requests, for one reader: `/cx-review list`, `mine` and `search` (and App Home).

One line a request: its number linking to its thread, its title, its filing department, its
state and its deadline (or when it was decided), which each reader's Slack shows in their own
time zone. A section a line keeps every message well inside Block Kit's 50 blocks and 3,000
characters a section.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from cxbot.i18n import Translator
from cxbot.services.finder import Mine, Page, RequestLine
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.request import STATUS_ICON, safe_link, status_label
from cxbot.slack.text import clip, clip_plain, escape, mention, slack_time

TITLE_CHARS = 150


def request_line(line: RequestLine, tr: Translator, now: datetime | None = None) -> str:
    """`#12 Title — Billing · 🟡 Open · answers due Tomorrow 17:00` (mrkdwn, user text escaped)."""
    label = f"#{line.id}"
    number = safe_link(line.permalink, label) if line.permalink else f"*{label}*"
    state = f"{STATUS_ICON[line.status]} {status_label(line.status, tr)}"
    if line.status.is_final:
        when = f" · {slack_time(line.decided_at, line.timezone, tr)}" if line.decided_at is not None else ""
    else:
        due = slack_time(line.due_at, line.timezone, tr)
        overdue = now is not None and now >= line.due_at
        when = " · " + (tr.gettext("answers were due {when}") if overdue else tr.gettext("answers due {when}")).format(
            when=due)
    text = f"{number} {escape(clip_plain(line.title, TITLE_CHARS))} — *{escape(line.department)}* · {state}{when}"
    if line.on_behalf_of:
        text += " · " + tr.gettext("for {advocate}").format(advocate=mention(line.on_behalf_of))
    return clip(text, 3000)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))


def _lines(lines: tuple[RequestLine, ...], tr: Translator, now: datetime | None) -> list[Block]:
    return [_section(request_line(line, tr, now)) for line in lines]


def _dicts(blocks: list[Block]) -> list[dict[str, object]]:
    return [b.to_dict() for b in blocks]


def list_message(page: Page, tr: Translator, now: datetime | None = None) -> tuple[str, list[dict[str, object]]]:
    """A page of open requests, with *Next page* when another follows."""
    if not page.lines:
        text = (tr.gettext("No request is open in your council.") if page.number == 1
                else tr.gettext("There is no page {page}: fewer requests are open.").format(page=page.number))
        return text, _dicts([_section(text)])
    text = tr.gettext("Open requests, newest first (page {page})").format(page=page.number)
    blocks: list[Block] = [_section(f"*{text}*"), *_lines(page.lines, tr, now)]
    if page.more:
        blocks.append(ActionsBlock(block_id="list_pages", elements=[ButtonElement(
            text=tr.gettext("Next page"), action_id=ids.LIST_PAGE, value=str(page.number + 1))]))
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=tr.gettext(
            "Or type `{command} list {page}`.").format(command="/cx-review", page=page.number + 1))]))
    return text, _dicts(blocks)


def _more(shown: int, total: int, tr: Translator) -> list[Block]:
    if total <= shown:
        return []
    return [ContextBlock(elements=[MarkdownTextObject(text=tr.ngettext(
        "… and {n} more.", "… and {n} more.", total - shown).format(n=total - shown))])]


def mine_message(found: Mine, tr: Translator, now: datetime | None = None) -> tuple[str, list[dict[str, object]]]:
    """What waits on the reader (as the daily reminder lists it), then what they filed."""
    blocks: list[Block] = []
    if found.owed:
        blocks.append(_section("*" + tr.ngettext("Waiting on you: {n} request", "Waiting on you: {n} requests",
                                                 found.owed_total).format(n=found.owed_total) + "*"))
        blocks += _lines(found.owed, tr, now) + _more(len(found.owed), found.owed_total, tr)
    else:
        blocks.append(_section(tr.gettext("Nothing waits on you.")))
    if found.filed:
        blocks.append(_section("*" + tr.ngettext("You filed {n} request", "You filed {n} requests",
                                                 found.filed_total).format(n=found.filed_total) + "*"))
        blocks += _lines(found.filed, tr, now) + _more(len(found.filed), found.filed_total, tr)
    text = tr.ngettext("{n} request waits on you.", "{n} requests wait on you.", found.owed_total).format(
        n=found.owed_total)
    return text, _dicts(blocks)


def search_message(words: tuple[str, ...], lines: tuple[RequestLine, ...], tr: Translator,
                   now: datetime | None = None) -> tuple[str, list[dict[str, object]]]:
    """The requests matching the words, best first."""
    asked = escape(" ".join(words))
    if not lines:
        text = tr.gettext("Nothing in your council's requests matches “{words}”.").format(words=asked)
        return text, _dicts([_section(text)])
    text = tr.ngettext("{n} request matches “{words}”, best match first", "{n} requests match “{words}”, best "
                       "match first", len(lines)).format(n=len(lines), words=asked)
    return text, _dicts([_section(f"*{text}*"), *_lines(lines, tr, now)])


def search_usage(tr: Translator) -> str:
    return tr.gettext("Usage: `{command} search invoice fee` — a few words from a request's title, description, "
                      "objections or comments.").format(command="/cx-review")


def list_usage(tr: Translator) -> str:
    return tr.gettext("Usage: `{command} list` for the open requests, `{command} list 2` for the next page.").format(
        command="/cx-review")
