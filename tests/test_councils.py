"""Several councils in one workspace and one database: each file loads its own council, and
requests, votes, reminders and digests stay within the council of the filing department."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from cxbot.domain.errors import NotAllowed, NotFound
from cxbot.domain.model import VoteKind
from cxbot.services import digests, requests
from cxbot.services.reminders import listed_in
from cxbot.slack.blocks import ids
from cxbot.store.models import (
    Council,
    DailyReminder,
    Department,
    DigestSend,
    ReviewRequest,
    Routing,
    Vote,
)
from tests.harness import (
    CHANNEL,
    COUNCIL_FILE,
    NORDICS_CHANNEL,
    NORDICS_FILE,
    Stack,
    filing_values,
    iso_week,
    local,
)
from tests.test_council_file import cli, snapshot

BEA = "U0BILLLEAD"   # leads Billing in both councils


def council_of(stack: Stack, request_id: int) -> str:
    with stack.session() as s:
        return s.scalar(select(Council.key).join(Department, Department.council_id == Council.id)
                        .join(ReviewRequest, ReviewRequest.department_id == Department.id)
                        .where(ReviewRequest.id == request_id)) or ""


def routed(stack: Stack, request_id: int) -> list[tuple[str, str]]:
    with stack.session() as s:
        return [(key, council) for key, council in s.execute(
            select(Department.key, Council.key).join(Routing, Routing.department_id == Department.id)
            .join(Council, Council.id == Department.council_id)
            .where(Routing.request_id == request_id).order_by(Routing.position))]


def buttons(message: Any) -> list[dict[str, Any]]:
    return [e for b in message.blocks if b.get("type") == "actions" for e in b["elements"]]


def choose_council(stack: Stack, user: str, key: str) -> dict[str, Any]:
    """`/cx-review` by someone who files in several councils: the question, then `key`'s form."""
    seen = len(stack.slack.ephemerals(user))
    assert stack.people.slash_command(user, "/cx-review", "").status == 200
    asked = stack.slack.wait_for(lambda: [m for m in stack.slack.ephemerals(user)[seen:] if m.blocks])[-1]
    assert stack.slack.open_views(user) == [], "asked first, no form yet"
    offered = buttons(asked)
    assert [b["value"] for b in offered] == ["default", "nordics"]
    assert f"<#{CHANNEL}>" in json.dumps(asked.blocks) and f"<#{NORDICS_CHANNEL}>" in json.dumps(asked.blocks)
    chosen = next(b for b in offered if b["value"] == key)
    assert stack.people.press_button(user, channel=asked.channel, ts=asked.ts,
                                     action_id=chosen["action_id"]).status == 200
    return stack.slack.wait_for(lambda: (stack.slack.open_views(user) or [None])[-1])  # type: ignore[no-any-return]


def file_in_nordics(stack: Stack, **fields: Any) -> int:
    view = choose_council(stack, BEA, "nordics")
    result = stack.people.submit_view(BEA, filing_values(**{"stages": ["Pay", "Return"], **fields}))
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    assert view["private_metadata"] and json.loads(view["private_metadata"]) == {"council": "nordics"}
    stack.settle()
    with stack.session() as s:
        return s.scalar(select(ReviewRequest.id).order_by(ReviewRequest.id.desc()).limit(1))  # type: ignore[return-value]


def test_two_councils_load_from_two_files_and_keep_their_own_departments(stack: Stack) -> None:
    stack.add_nordics()
    with stack.session() as s:
        councils = {c.key: c for c in s.scalars(select(Council))}
        assert set(councils) == {"default", "nordics"}
        assert councils["nordics"].channel == NORDICS_CHANNEL and councils["nordics"].timezone == "Europe/Helsinki"
        departments = {(d.key, d.council_id) for d in s.scalars(select(Department).where(Department.active))}
    default, nordics = councils["default"].id, councils["nordics"].id
    assert departments == {("billing", default), ("legal", default), ("support", default),
                           ("billing", nordics), ("legal", nordics), ("care", nordics)}
    # Loading the default council again leaves the other one as it is.
    stack.load_council(COUNCIL_FILE.read_text())
    with stack.session() as s:
        assert s.scalar(select(Department.active).where(Department.council_id == nordics,
                                                        Department.key == "care")) is True


def test_a_lead_of_both_councils_is_asked_which_and_files_into_the_chosen_one(stack: Stack) -> None:
    stack.add_nordics()
    view = choose_council(stack, BEA, "nordics")
    stages = next(b for b in view["blocks"] if b.get("block_id") == "stages")
    assert [o["value"] for o in stages["element"]["options"]] == ["Buy", "Pay", "Leave", "Return"]
    department = next(b for b in view["blocks"] if b.get("block_id") == "department")
    assert [o["text"]["text"] for o in department["element"]["options"]] == ["Nordic Billing"]
    result = stack.people.submit_view(BEA, filing_values(stages=["Pay", "Return"]))
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle()
    rid = stack.all(ReviewRequest)[-1].id
    assert council_of(stack, rid) == "nordics"
    assert routed(stack, rid) == [("legal", "nordics"), ("care", "nordics")]
    parent, prompt = stack.parent(rid), stack.prompt(rid)
    assert parent.channel == NORDICS_CHANNEL and prompt.channel == NORDICS_CHANNEL
    assert set(prompt.mentions) == {"<@U0NLEG1>", "<@U0SUP1>"}

    # The same person asked again picks the default council: its form, its departments.
    view = choose_council(stack, BEA, "default")
    stages = next(b for b in view["blocks"] if b.get("block_id") == "stages")
    assert [o["value"] for o in stages["element"]["options"]][:3] == ["Discover", "Buy", "Onboard"]
    stack.people.submit_view(BEA, filing_values())
    stack.settle()
    other = stack.all(ReviewRequest)[-1].id
    assert council_of(stack, other) == "default"
    assert routed(stack, other) == [("legal", "default"), ("support", "default")]
    assert stack.parent(other).channel == CHANNEL

    # Someone of one council only gets the form straight away.
    assert stack.open_filing_modal("U0NLEGLEAD")["private_metadata"] == json.dumps({"council": "nordics"})


def test_an_advocate_or_chair_of_one_council_has_no_say_on_the_others_requests(stack: Stack) -> None:
    stack.add_nordics()
    rid = file_in_nordics(stack)
    seen = len(stack.slack.ephemerals("U0LEGAL1"))
    stack.press("U0LEGAL1", rid, ids.APPROVE)        # Legal advocate of the default council
    stack.settle()
    told = stack.slack.wait_for(lambda: stack.slack.ephemerals("U0LEGAL1")[seen:])
    assert told and stack.count(Vote, Vote.request_id == rid) == 0
    stack.press("U0NLEG1", rid, ids.APPROVE)         # Nordic Legal's own advocate
    assert [(v.user_id, v.kind) for v in stack.all(Vote, Vote.request_id == rid)] == [("U0NLEG1", VoteKind.APPROVE)]

    uow = stack.runtime.services.uow
    for act in (lambda: requests.check_chair(uow(), actor="U0CHAIR", request_id=rid),
                lambda: requests.chair_decide(uow(), actor="U0CHAIR", request_id=rid, approve=True,
                                              rationale="Fine by me.", clock=stack.clock),
                lambda: requests.withdraw(uow(), actor="U0ADMIN", request_id=rid, clock=stack.clock)):
        with pytest.raises(NotAllowed):
            act()
    assert requests.check_chair(uow(), actor="U0NCHAIR", request_id=rid) == stack.request(rid).title
    # The default council's chair is an outsider to the other council's requests: to them it
    # does not exist, as for a number that names no request.
    with pytest.raises(NotFound, match=f"There is no CX review #{rid}."):
        requests.status(uow(), actor="U0CHAIR", request_id=rid, clock=stack.clock)


def test_each_council_gets_its_own_digest_in_its_own_week_and_zone(stack: Stack) -> None:
    stack.add_nordics()
    nordic = file_in_nordics(stack, title="Nordic fee")
    choose_council(stack, BEA, "default")
    stack.people.submit_view(BEA, filing_values(title="Default fee"))
    stack.settle()
    default = stack.all(ReviewRequest)[-1].id

    week = iso_week(0)
    stack.clock.set(local(7, 9))     # Monday 09:00 in Oslo: the default council's digest time
    assert stack.runtime.send_due_digest() == week
    stack.settle()
    with stack.session() as s:
        sent = {(s.get(Council, d.council_id).key, d.week) for d in s.scalars(select(DigestSend))}  # type: ignore[union-attr]
    assert sent == {("default", week)}
    assert stack.slack.dms("U0CHAIR") and not stack.slack.dms("U0NCHAIR")

    stack.clock.set(local(8, 7))     # Tuesday 08:00 in Helsinki: the Nordic council's
    assert stack.runtime.send_due_digest() == week
    stack.settle()
    with stack.session() as s:
        sent = {(s.get(Council, d.council_id).key, d.week) for d in s.scalars(select(DigestSend))}  # type: ignore[union-attr]
    assert sent == {("default", week), ("nordics", week)}
    assert stack.slack.dms("U0NCHAIR")
    assert stack.runtime.send_due_digest() is None   # each council's week is sent once
    reports = [f.name for f in stack.slack.files if f.name.endswith(".html")]
    assert reports == [f"cx-council-{week}.html", f"cx-council-nordics-{week}.html"]  # never the same name

    uow, clock = stack.runtime.services.uow, stack.clock
    mine = digests.digest(uow(), week=week, clock=clock, council="default")
    theirs = digests.digest(uow(), week=week, clock=clock, council="nordics")
    assert [w.request_id for w in mine.waiting] == [default]
    assert [w.request_id for w in theirs.waiting] == [nordic]
    assert theirs.timezone == "Europe/Helsinki" and mine.headline.filed == theirs.headline.filed == 1
    assert {d.key for d in theirs.departments} == {"billing", "legal", "care"}


def test_one_daily_reminder_lists_what_a_person_owes_in_both_councils(stack: Stack) -> None:
    stack.add_nordics()
    nordic = file_in_nordics(stack)
    choose_council(stack, BEA, "default")
    stack.people.submit_view(BEA, filing_values(title="Default fee"))
    stack.settle()
    default = stack.all(ReviewRequest)[-1].id
    # Before working hours: nobody is reminded, and the new people's time zones are fetched
    # (in the background, which makes every open request due again once they are known).
    assert stack.sweep(local(1, 7)).reminders == 0
    stack.sweep(local(1, 11))
    assert stack.count(DailyReminder, DailyReminder.user_id == "U0SUP1") == 1
    with stack.session() as s:
        listed = set(listed_in(s, "U0SUP1"))
    assert listed == {nordic, default}
    [claim] = stack.all(DailyReminder, DailyReminder.user_id == "U0SUP1")
    dm = stack.slack.message(claim.channel, claim.ts)
    shown = json.dumps(dm.blocks) if dm is not None else ""
    assert "Nordic Care" in shown and "Support" in shown, shown   # each with its own council's department
    assert stack.sweep(local(1, 15)).reminders == 0               # and one DM that day, whatever the council


def test_cli_loads_several_files_and_names_the_council_to_show(database_url: str, engine: Any, tmp_path: Any) -> None:
    done = cli("council", "load", str(COUNCIL_FILE), str(NORDICS_FILE), db=database_url)
    assert done.returncode == 0, done.stderr
    assert f"{COUNCIL_FILE}:" in done.stdout and f"{NORDICS_FILE}:" in done.stdout

    ambiguous = cli("council", "show", db=database_url)
    assert ambiguous.returncode == 2 and "default, nordics" in ambiguous.stderr, ambiguous.stderr
    shown = cli("council", "show", "--council", "nordics", db=database_url)
    assert shown.returncode == 0 and "[care] Nordic Care" in shown.stdout and NORDICS_CHANNEL in shown.stdout
    unknown = cli("council", "show", "--council", "dach", db=database_url)
    assert unknown.returncode == 2 and "'dach'" in unknown.stderr and "default, nordics" in unknown.stderr
    for command in (["digest", "preview"], ["digest", "send"]):
        refused = cli(*command, "--council", "dach", db=database_url)
        assert refused.returncode == 2 and "default, nordics" in refused.stderr, refused.stderr
    preview = cli("digest", "preview", "--council", "nordics", db=database_url)
    assert preview.returncode == 0, preview.stderr


NORDICS = NORDICS_FILE.read_text()


@pytest.mark.parametrize("files, where, words", [
    ([NORDICS.replace('key = "nordics"', 'key = "Nordics!"')], "b.toml:4: council.key:", "not a council key"),
    ([NORDICS, NORDICS.replace('channel = "C0NORDICS"', 'channel = "C0OTHER"')], "b.toml:4: council.key:",
     "also loaded from"),
    ([NORDICS.replace('channel = "C0NORDICS"', 'channel = "C0COUNCIL"')], "b.toml:5: council.channel:",
     "channel of its own"),
    ([NORDICS, NORDICS.replace('key = "nordics"', 'key = "dach"')], "b.toml:5: council.channel:",
     "channel of its own"),
])
def test_bad_council_files_stop_the_load_and_change_nothing(
        database_url: str, engine: Any, tmp_path: Any, files: list[str], where: str, words: str) -> None:
    assert cli("council", "load", str(COUNCIL_FILE), db=database_url).returncode == 0
    before = snapshot(engine)
    paths = []
    for name, content in zip(("a.toml", "b.toml"), files if len(files) == 2 else ["", *files], strict=True):
        if content:
            (tmp_path / name).write_text(content)
            paths.append(str(tmp_path / name))
    result = cli("council", "load", *paths, db=database_url, cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    line = result.stderr.strip().splitlines()[-1]
    assert where in line and words in line, line
    assert snapshot(engine) == before


def test_the_migration_keeps_a_single_council_database_whole(database_url: str, engine: Any) -> None:
    """A database at the revision before several councils, with a council, its departments,
    people, requests, votes and digests, upgrades without losing a row: everything becomes
    the default council's, and a second council may then reuse its department keys."""
    from alembic import command
    from sqlalchemy import MetaData, Table, func, insert, text

    from cxbot.clock import FixedClock
    from cxbot.council_file import load_council_file
    from cxbot.services.context import Services
    from cxbot.services.council import load_council
    from cxbot.store.db import make_session_factory
    from cxbot.store.migrate import alembic_config, current_revision, head_revision
    from cxbot.store.models import Membership
    from tests.harness import START

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "27d7f6297bce")
    t = START.replace(tzinfo=None)
    with engine.begin() as conn:
        # The tables as they are at that revision (today's models have columns added since).
        old = MetaData()
        tables = {name: Table(name, old, autoload_with=conn)
                  for name in ("memberships", "review_requests", "routings", "votes")}
        conn.execute(text("INSERT INTO council (id, channel, chair, admins, timezone, stages, policy, working_time, "
                          "loaded_at) VALUES (1, 'C0COUNCIL', 'U0CHAIR', '[\"U0ADMIN\"]', 'Europe/Oslo', '[\"Pay\"]', "
                          "'{}', '{}', :t)"), {"t": t})
        for i, key in ((1, "billing"), (2, "legal")):
            conn.execute(text("INSERT INTO departments (id, key, name, position, active, stages, usergroup) "
                              "VALUES (:i, :k, :n, :i, true, '[]', '')"), {"i": i, "k": key, "n": key.title()})
        conn.execute(insert(tables["memberships"]), [
            {"id": 1, "user_id": "U0BILLLEAD", "department_id": 1, "role": "lead", "active": True},
            {"id": 2, "user_id": "U0LEGAL1", "department_id": 2, "role": "advocate", "active": True}])
        conn.execute(insert(tables["review_requests"]), [{
            "id": n, "department_id": 1, "filer": "U0BILLLEAD", "title": f"Request {n}", "summary": "s",
            "stages": ["Pay"], "impact": "neutral", "impact_note": "", "magnitude": "minor",
            "decision_by": START.date(), "link": "", "status": "open" if n == 1 else "approved", "created_at": START,
            "updated_at": START, "decided_at": None if n == 1 else START, "due_at": START, "escalation_step": 0,
            "version": 1, "applied_press_id": 0, "votes_revision": 0, "next_due_at": None} for n in (1, 2)])
        conn.execute(insert(tables["routings"]), [
            {"id": n, "request_id": n, "department_id": 2, "position": 0, "reason": "asked"} for n in (1, 2)])
        conn.execute(insert(tables["votes"]), [{
            "id": 1, "request_id": 2, "user_id": "U0LEGAL1", "department_id": 2, "kind": "approve", "note": "",
            "retracted": False, "cast_at": START, "updated_at": START, "blocking": True, "mitigation": "",
            "resolution_note": ""}])
        conn.execute(text("INSERT INTO digest_sends (week, claimed_at, sent_at, forced, dm_channel, dm_ts) VALUES "
                          "('2026-W01', :t, :t, false, 'D1', '1.1'), ('2026-W02', :t, NULL, true, '', '')"), {"t": t})
        if conn.dialect.name == "postgresql":   # rows given their ids: the sequences follow, as in a live database
            for name in ("council", "departments", *tables):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"(SELECT max(id) FROM {name}))"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert current_revision(engine) == head_revision()

    with make_session_factory(engine)() as s:
        council = s.scalars(select(Council)).one()
        assert (council.id, council.key, council.channel, council.admins) == (1, "default", "C0COUNCIL", ["U0ADMIN"])
        assert [(d.id, d.key, d.council_id) for d in s.scalars(select(Department).order_by(Department.id))] == [
            (1, "billing", 1), (2, "legal", 1)]
        assert s.scalar(select(func.count()).select_from(Membership)) == 2
        assert [(r.id, r.title, r.department_id) for r in s.scalars(select(ReviewRequest).order_by(ReviewRequest.id))
                ] == [(1, "Request 1", 1), (2, "Request 2", 1)]
        assert s.scalar(select(func.count()).select_from(Routing)) == 2
        votes = [(v.request_id, v.user_id, v.kind) for v in s.scalars(select(Vote))]
        assert votes == [(2, "U0LEGAL1", VoteKind.APPROVE)]
        sends = s.scalars(select(DigestSend).order_by(DigestSend.week))
        assert [(d.council_id, d.week, d.dm_ts, d.forced) for d in sends] == [
            (1, "2026-W01", "1.1", False), (1, "2026-W02", "", True)]

    # The old file loads into the council the migration kept, and a second council may reuse its keys.
    services = Services(make_session_factory(engine), FixedClock(START))
    load_council(services.uow(), load_council_file(COUNCIL_FILE), clock=services.clock)
    load_council(services.uow(), load_council_file(NORDICS_FILE), clock=services.clock)
    with make_session_factory(engine)() as s:
        assert sorted(s.scalars(select(Council.key))) == ["default", "nordics"]
        assert s.scalar(select(func.count()).select_from(Department).where(Department.key == "billing")) == 2
        assert s.scalar(select(Department.council_id).where(Department.id == 1)) == 1


def test_away_and_back_hold_in_each_council_where_the_substitute_may_answer(stack: Stack) -> None:
    """Sam advocates in both councils; Sue leads Support in the default council only: she
    stands in for Sam there, and nobody does in the Nordic council."""
    from datetime import timedelta

    from cxbot.store.models import Substitute
    from tests.harness import today

    stack.add_nordics()
    until = today() + timedelta(days=7)
    told = stack.people.slash_command("U0SUP1", "/cx-review", f"away {stack.people.at('U0SUPLEAD')} until {until}")
    assert told.json()["text"].startswith("Until "), told.body
    with stack.session() as s:
        rows = [(row.substitute, s.get(Department, row.department_id)) for row in s.scalars(select(Substitute))]
    assert [(sub, d.key, d.council_id) for sub, d in rows if d is not None] == [
        ("U0SUPLEAD", "support", stack.all(Council, Council.key == "default")[0].id)]
    refused = stack.people.slash_command("U0SUP1", "/cx-review", f"away {stack.people.at('U0NLEG1')} until {until}")
    assert "Support or Nordic Care" in refused.json()["text"], refused.body
    back = stack.people.slash_command("U0SUP1", "/cx-review", "back")
    assert back.json()["text"].startswith("Welcome back")
    assert all(row.cancelled_at is not None for row in stack.all(Substitute))
