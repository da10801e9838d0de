"""`/cx-review list`, `mine` and `search`: signed slash commands in, ephemeral answers out.

Search is full text over titles, descriptions, objections' reasons and comments (FTS5 on
SQLite, a tsvector with a GIN index on PostgreSQL), stemmed, ranked, and kept current in
the transaction that changes what it reads; nobody sees another council's requests.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy import select

from cxbot.sandbox.state import Message
from cxbot.slack.blocks import ids
from cxbot.slack.replies import SORRY
from cxbot.store.models import Department, SearchDocument, SlackMessage
from tests.harness import CHANNEL, Stack
from tests.test_amend_terms import amend
from tests.test_councils import file_in_nordics
from tests.test_thread_events import deleted, edited, reply

USAGE = "Usage: `/cx-review search"


def ask(stack: Stack, user: str, text: str) -> Message | dict[str, Any]:
    """The answer to `/cx-review text`: the acknowledgement's own (a usage line), or the
    ephemeral message sent right after it."""
    seen = len(stack.slack.ephemerals(user))
    result = stack.people.slash_command(user, "/cx-review", text)
    assert result.status == 200, result.body
    if result.body and (result.json() or {}).get("text"):
        return result.json()  # type: ignore[no-any-return]
    return stack.slack.wait_for(lambda: stack.slack.ephemerals(user)[seen:])[-1]


def shown(answer: Message | dict[str, Any]) -> str:
    blocks = answer.blocks if isinstance(answer, Message) else answer.get("blocks") or []
    return json.dumps(blocks, ensure_ascii=False)


def ids_in(answer: Message | dict[str, Any]) -> list[int]:
    """The request numbers an answer lists, in order (each line starts with its linked number)."""
    blocks = answer.blocks if isinstance(answer, Message) else answer.get("blocks") or []
    found = []
    for block in blocks:
        text = (block.get("text") or {}).get("text", "") if block.get("type") == "section" else ""
        if "|#" in text:
            found.append(int(text.split("|#", 1)[1].split(">", 1)[0]))
    return found


def test_list_pages_the_open_requests_newest_first(stack: Stack) -> None:
    rids = [stack.file(title=f"Change number {n}") for n in range(12)]
    page = ask(stack, "U0LEGAL2", "list")
    assert isinstance(page, Message) and page.visible_to == "U0LEGAL2"
    assert ids_in(page) == rids[::-1][:10]
    parent = stack.all(SlackMessage, SlackMessage.request_id == rids[-1], SlackMessage.role == "parent")[0]
    assert f"<{parent.permalink}|#{rids[-1]}> Change number 11 — *Billing* · 🟡 Open · answers due <!date^" \
        in shown(page)
    result = stack.people.press_button("U0LEGAL2", channel=page.channel, ts=page.ts, action_id=ids.LIST_PAGE)
    assert result.status == 200
    second = stack.slack.wait_for(lambda: [m for m in stack.slack.ephemerals("U0LEGAL2")
                                           if m.ts == page.ts and ids_in(m) != ids_in(page)])[-1]
    assert ids_in(second) == rids[:2][::-1] and ids.LIST_PAGE not in shown(second)
    assert ids_in(ask(stack, "U0CHAIR", "list 2")) == rids[:2][::-1]
    assert "There is no page 3" in ask(stack, "U0CHAIR", "list 3").text  # type: ignore[union-attr]
    assert ask(stack, "U0CHAIR", "list two")["text"].startswith("Usage: `/cx-review list`")  # type: ignore[index]
    # A withdrawn request is no longer open.
    press = stack.people.press_button("U0BILLLEAD", channel=CHANNEL, ts=stack.parent(rids[-1]).ts,
                                      action_id=ids.WITHDRAW)
    assert press.status == 200
    stack.settle()
    assert rids[-1] not in ids_in(ask(stack, "U0ADMIN", "list"))


def test_mine_lists_what_i_owe_and_what_i_filed(stack: Stack) -> None:
    first = stack.file(title="Dunning letters get friendlier")
    second = stack.file(title="Receipts by email only")
    owes = ask(stack, "U0LEGAL1", "mine")
    assert ids_in(owes) == [first, second]                         # soonest deadline first
    assert "Waiting on you: 2 requests" in shown(owes) and "You filed" not in shown(owes)
    stack.press("U0LEGAL1", first, ids.APPROVE)
    stack.settle()
    assert ids_in(ask(stack, "U0LEGAL1", "mine")) == [second]     # Legal answered the first
    assert ids_in(ask(stack, "U0LEGAL2", "mine")) == [second]     # for the whole department
    stack.people.slash_command("U0LEGAL2", "/cx-review", "language nb")
    norsk = ask(stack, "U0LEGAL2", "mine")                        # in the reader's language
    assert "Venter på deg: 1 sak" in shown(norsk) and ids_in(norsk) == [second]
    assert "Åpne saker, nyeste først (side 1)" in shown(ask(stack, "U0LEGAL2", "list"))
    filed = ask(stack, "U0BILLLEAD", "mine")
    assert "Nothing waits on you." in shown(filed) and "You filed 2 requests" in shown(filed)
    assert ids_in(filed) == [second, first]                       # newest first


def test_search_stems_ranks_and_reads_objections_and_comments(stack: Stack) -> None:
    in_title = stack.file(title="Invoices get a new layout", summary="Columns move.", impact_note="")
    in_comment = stack.file(title="Dunning letters", summary="Letters change.", impact_note="")
    objected = stack.file(title="Plan prices rise", summary="Prices rise.", impact_note="")
    unrelated = stack.file(title="Support hours", summary="Longer evenings.", impact_note="")
    thread = stack.parent(in_comment)
    assert stack.people.post_in_thread("U0SUP1", channel=CHANNEL, thread_ts=thread.ts,
                                       text="This touches the invoice email too").status == 200
    stack.vote_with_note("U0LEGAL1", objected, ids.OBJECT, "The refund clauses are unclear")
    stack.settle()

    found = ask(stack, "U0LEGAL2", "search invoice")            # "invoice" finds "Invoices"
    assert ids_in(found) == [in_title, in_comment], shown(found)  # a title hit above a comment hit
    assert "2 requests match “invoice”" in shown(found)
    assert ids_in(ask(stack, "U0LEGAL2", "search Refund clause")) == [objected]
    assert ids_in(ask(stack, "U0LEGAL2", "search invo")) == [in_title, in_comment]   # the last word as a prefix
    assert ids_in(ask(stack, "U0LEGAL2", "search invoice letters")) == [in_comment]  # every word
    nothing = ask(stack, "U0LEGAL2", "search parking")
    assert ids_in(nothing) == [] and "Nothing in your council's requests matches “parking”" in shown(nothing)
    assert unrelated not in ids_in(ask(stack, "U0LEGAL2", "search evenings layout"))


def test_the_index_follows_comments_their_edits_and_deletions_and_amendments(stack: Stack) -> None:
    rid = stack.file(title="Paper statements", summary="Statements go digital.", impact_note="")
    assert ids_in(ask(stack, "U0SUP1", "search paper")) == [rid]
    amend(stack, rid, {"title": "Printed statements"})
    assert ids_in(ask(stack, "U0SUP1", "search paper")) == []
    assert ids_in(ask(stack, "U0SUP1", "search printed")) == [rid]
    thread = stack.parent(rid)
    stack.people.post_in_thread("U0SUP1", channel=CHANNEL, thread_ts=thread.ts, text="Pensioners will complain")
    stack.settle()
    assert ids_in(ask(stack, "U0SUP1", "search pensioner")) == [rid]
    with stack.session() as s:
        document = s.scalar(select(SearchDocument).where(SearchDocument.request_id == rid))
        assert document is not None and document.title == "Printed statements"
        assert "Pensioners will complain" in document.discussion
    # A reply edited in Slack is searched as it reads now; a deleted one is no longer found.
    said = reply(stack, "U0LEGAL1", thread.ts, "Archive rules apply")
    stack.settle()
    assert ids_in(ask(stack, "U0SUP1", "search archive")) == [rid]
    edited(stack, said, "Retention rules apply")
    stack.settle()
    assert ids_in(ask(stack, "U0SUP1", "search archive")) == []
    assert ids_in(ask(stack, "U0SUP1", "search retention")) == [rid]
    deleted(stack, dict(said, text="Retention rules apply"))
    stack.settle()
    assert ids_in(ask(stack, "U0SUP1", "search retention")) == []


@pytest.mark.parametrize("typed", ["search", "search   ", "search ?!*\"'():^-", "search " + "x" * 10_000,
                                   "search " + "invoice " * 1500])
def test_search_without_words_or_too_long_gets_the_usage(stack: Stack, typed: str,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    answer = ask(stack, "U0LEGAL1", typed)
    assert isinstance(answer, dict) and answer["text"].startswith(USAGE), answer
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_query_syntax_typed_is_searched_as_words(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    rid = stack.file(title="Invoice fees", summary="Fees.", impact_note="")
    caplog.set_level(logging.WARNING)
    for typed in ('search invoice" OR title:*', "search NEAR(invoice fees)", "search invoice & <!channel>",
                  "search 'invoice' | !fee:*", "search invoice AND NOT fees"):
        answer = ask(stack, "U0LEGAL1", typed)
        assert SORRY not in shown(answer) and "<!channel>" not in shown(answer), (typed, answer)
    assert ids_in(ask(stack, "U0LEGAL1", 'search "invoice" fee*')) == [rid]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_another_councils_requests_are_not_shown_and_outsiders_are_refused(stack: Stack) -> None:
    home = stack.file(title="Invoice reminders", summary="Sooner.", impact_note="")
    stack.add_nordics()
    nordic = file_in_nordics(stack, title="Invoice layout in Finland", summary="Finnish.", impact_note="")
    # A Nordic advocate sees the Nordic request only, and hears that the other does not exist.
    assert ids_in(ask(stack, "U0NLEG1", "search invoice")) == [nordic]
    assert ids_in(ask(stack, "U0NLEG1", "list")) == [nordic]
    for rid in (home, nordic + 50):      # as for a number that names no request
        assert ask(stack, "U0NLEG1", f"status {rid}")["text"] == f"There is no CX review #{rid}."  # type: ignore[index]
    # The default council's people see theirs only; Bea, in both, sees both.
    assert ids_in(ask(stack, "U0LEGAL1", "search invoice")) == [home]
    assert sorted(ids_in(ask(stack, "U0BILLLEAD", "search invoice"))) == [home, nordic]
    for text in ("list", "search invoice", f"status {home}"):
        refused = ask(stack, "U0OUTSIDER", text)
        told = refused.text if isinstance(refused, Message) else refused["text"]
        assert told.startswith("Only council members can look up requests."), (text, told)
        assert "Invoice" not in shown(refused) and "Invoice" not in told
    assert "Nothing waits on you." in shown(ask(stack, "U0OUTSIDER", "mine"))


def test_a_word_most_requests_hold_is_ranked_among_its_newest_matches(stack: Stack) -> None:
    """Ranking every match of a word nearly every request holds would cost a rank each; the
    store ranks the newest `window` matches (then the best of those come first)."""
    from cxbot.store import search

    older = stack.file(title="Invoice layout", summary="Columns.", impact_note="")
    in_summary = stack.file(title="Dunning letters", summary="The invoice changes.", impact_note="")
    newest = stack.file(title="Invoice totals", summary="Rounding.", impact_note="")
    with stack.session() as s:
        council = s.scalar(select(Department.council_id).limit(1))
        every = search.ranked(s.connection(), ("invoice",), {council}, 20)
        window = search.ranked(s.connection(), ("invoice",), {council}, 20, window=2)
        elsewhere = search.ranked(s.connection(), ("invoice",), {council + 1}, 20)
    assert sorted(every[:2]) == [older, newest] and every[2] == in_summary
    assert window == [newest, in_summary] and elsewhere == []
