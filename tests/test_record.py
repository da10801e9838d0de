"""A request's record (*View record*): its timeline from the audit trail, in the reader's
language, people's words escaped; a long record keeps to Slack's 100 blocks; only those who may
look the request up may read it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from cxbot.clock import FixedClock
from cxbot.council_file import load_council_file
from cxbot.domain.errors import NotAllowed
from cxbot.domain.model import Draft, Impact, Magnitude, VoteKind
from cxbot.i18n import translator
from cxbot.services import record, requests, votes
from cxbot.services.audit import record as audit
from cxbot.services.context import Services
from cxbot.services.council import load_council
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.record import record_modal
from cxbot.store.db import make_session_factory
from tests.harness import COUNCIL_FILE, day, local


@pytest.fixture
def cx(engine: Engine) -> Services:
    clock = FixedClock(local(0, 9))
    services = Services(make_session_factory(engine), clock)
    load_council(services.uow(), load_council_file(COUNCIL_FILE), clock=clock)
    return services


def _history(cx: Services) -> int:
    cx.clock.set(local(0, 10))  # type: ignore[attr-defined]
    draft = Draft(title="Card fees", summary="s", department="billing", stages=("Pay",), impact=Impact.NEUTRAL,
                  impact_note="", magnitude=Magnitude.MINOR, decision_by=day(20))
    rid = requests.file_request(cx.uow(), actor="U0BILLLEAD", draft=draft, clock=cx.clock)  # type: ignore[arg-type]
    cx.clock.set(local(0, 11))  # type: ignore[attr-defined]
    votes.cast_vote(cx.uow(), actor="U0LEGAL1", request_id=rid, kind=VoteKind.OBJECT,  # type: ignore[arg-type]
                    note="Needs a notice <!channel> period", clock=cx.clock)
    votes.cast_vote(cx.uow(), actor="U0SUP1", request_id=rid, kind=VoteKind.APPROVE,  # type: ignore[arg-type]
                    clock=cx.clock)
    return rid


def _text(view: object) -> str:
    return json.dumps(view.to_dict(), ensure_ascii=False)  # type: ignore[attr-defined]


def test_the_record_tells_what_happened_in_order(cx: Services) -> None:
    rid = _history(cx)
    found = record.record(cx.reader(), actor="U0CHAIR", request_id=rid, clock=cx.clock)  # type: ignore[arg-type]
    assert [e.kind for e in found.entries] == ["filed", "routed", "voted", "status_changed", "voted"]
    shown = _text(record_modal(found, translator("en")))
    assert "<@U0BILLLEAD> filed it for *Billing*" in shown
    assert "<@U0LEGAL1> (Legal) raised a blocking objection" in shown
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown          # people's words are escaped
    assert "<@U0SUP1> (Support) approved" in shown and "*Changes requested*" in shown
    assert "Asked: *Legal* (every other department reviews each change); *Support*" in shown
    norsk = _text(record_modal(found, translator("nb")))
    assert "filed it for" not in norsk and "Billing" in norsk


def test_someone_outside_the_council_may_not_read_it(cx: Services) -> None:
    rid = _history(cx)
    with pytest.raises(NotAllowed):
        record.record(cx.reader(), actor="U0OUTSIDER", request_id=rid, clock=cx.clock)  # type: ignore[arg-type]


def test_a_long_record_keeps_to_a_modals_hundred_blocks(cx: Services) -> None:
    rid = _history(cx)
    with cx.uow() as uow:
        for n in range(150):
            audit(uow.session, kind="commented", actor="U0LEGAL2", at=local(1, 9), request_id=rid, flush=False,
                  comment_id=n, text=f"comment {n}", files=[])
        uow.commit()
    found = record.record(cx.reader(), actor="U0CHAIR", request_id=rid, clock=cx.clock)  # type: ignore[arg-type]
    assert len(found.entries) == record.SHOWN and found.left_out > 0
    view = record_modal(found, translator("en")).to_dict()
    assert len(view["blocks"]) <= 100
    shown = json.dumps(view)
    assert "more events, in `cxbot export`" in shown and "comment 149" in shown and "filed it for" in shown


def test_view_record_opens_from_the_request_message_for_members_only(stack) -> None:  # type: ignore[no-untyped-def]
    from tests.test_lifecycle import action_ids, press_in

    rid = stack.file()
    parent = stack.parent(rid)
    assert ids.VIEW_RECORD in action_ids(parent)
    press_in(stack, "U0LEGAL1", parent, ids.VIEW_RECORD)
    view = stack.slack.wait_for(lambda: stack.slack.open_views("U0LEGAL1"))[-1]
    assert view["title"]["text"] == f"Record of #{rid}" and "filed it for *Billing*" in json.dumps(view)
    press_in(stack, "U0OUTSIDER", parent, ids.VIEW_RECORD)
    told = stack.slack.wait_for(lambda: stack.slack.ephemerals("U0OUTSIDER"))
    assert told[-1].text.startswith("Only council members can look up requests.")
    assert stack.slack.open_views("U0OUTSIDER") == []
