"""`/cx-review list`, `mine` and `search <words>`, and the list's *Next page* button.

Each is acknowledged at once and answered right after, ephemerally, through the command's
`response_url` (so the list's button can replace its page in place); text that cannot be a
search or a page is answered with the usage in the acknowledgement, before any query.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from cxbot.domain.identifiers import parse_id
from cxbot.domain.search import search_words
from cxbot.i18n import Translator
from cxbot.services import finder
from cxbot.services.context import Services
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.lists import list_message, list_usage, mine_message, search_message, search_usage
from cxbot.slack.replies import AfterAck, Respond, answers_errors

WORDS = ("list", "mine", "search")


def answer(cx: Services, after: AfterAck, ack: Ack, command: dict[str, Any], head: str, text: str,
           tr: Translator) -> None:
    """`head` is one of WORDS; `text` what follows it, as Slack sent it."""
    user, response_url = command["user_id"], command["response_url"]
    if head == "list":
        rest = text.split()
        page = parse_id(rest[0]) if len(rest) == 1 else 1 if not rest else None
        if page is None:
            ack(response_type="ephemeral", text=list_usage(tr))
            return
        ack()
        after.answer(response_url=response_url, user=user, build=lambda tr: page_of(cx, user, page, tr))
    elif head == "mine":
        ack()
        after.answer(response_url=response_url, user=user, build=lambda tr: Respond(*mine_message(
            finder.mine(cx.reader(), actor=user, clock=cx.clock), tr, cx.clock.now())))
    else:
        # Slack escapes &, < and > in a command's text: as entities they would read as words.
        words = search_words(text.replace("&amp;", " ").replace("&lt;", " ").replace("&gt;", " "))
        if not words:
            ack(response_type="ephemeral", text=search_usage(tr))
            return
        ack()
        after.answer(response_url=response_url, user=user, build=lambda tr: Respond(*search_message(
            words, finder.search(cx.reader(), actor=user, words=words), tr, cx.clock.now())))


def page_of(cx: Services, user: str, page: int, tr: Translator) -> Respond:
    return Respond(*list_message(finder.open_requests(cx.reader(), actor=user, page=page), tr, cx.clock.now()))


def register(app: App, cx: Services, after: AfterAck) -> None:
    @app.action(ids.LIST_PAGE)
    @answers_errors(after)
    def next_page(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The page the button names, in place of the one it was on (read again: who may see
        what is decided now, not when the first page was shown)."""
        ack()
        user, page = body["user"]["id"], parse_id(str(action.get("value") or "")) or 1
        after.answer(response_url=body["response_url"], user=user, build=lambda tr: page_of(cx, user, page, tr),
                     replace=True)
