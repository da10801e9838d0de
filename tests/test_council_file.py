"""`cxbot council load` / `show`: validation names the file, line and key; loading is idempotent."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from cxbot.clock import FixedClock
from cxbot.council_file import CouncilFileError, load_council_file, parse_council
from cxbot.domain.model import DEFAULT_STAGES, Role
from cxbot.services.context import Services
from cxbot.services.council import load_council
from cxbot.store.db import make_session_factory
from cxbot.store.models import AuditEvent, Base, Department, Membership
from tests.harness import COUNCIL_FILE, START, process_env

GOOD = COUNCIL_FILE.read_text()


def cli(*args: str, db: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = process_env(CXBOT_DATABASE_URL=db)
    return subprocess.run([sys.executable, "-m", "cxbot", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=60)


def snapshot(engine: Engine, *, skip: Collection[str] = ()) -> str:
    """A digest of every row of every table (but those in `skip`): equal digests mean the
    database did not change."""
    h = hashlib.sha256()
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def test_parses_the_example_with_default_stages() -> None:
    spec = parse_council(GOOD)
    assert spec.channel == "C0COUNCIL" and spec.timezone == "Europe/Oslo"
    assert spec.stages == DEFAULT_STAGES
    assert [d.key for d in spec.departments] == ["billing", "legal", "support"]


@pytest.mark.parametrize("change, key, line", [
    (lambda t: t.replace('timezone = "Europe/Oslo"', 'timezone = "Europe/Oslo"\ncolour = "red"'), "council.colour", 7),
    (lambda t: t.replace('key = "legal"', 'key = "billing"'), "departments[1].key", 15),
    (lambda t: t.replace('advocates = ["U0SUP1"]', 'advocates = ["U0SUP1", "U0LEGAL1"]'),
     "departments[2].advocates", 24),
    (lambda t: t.replace('channel = "C0COUNCIL"\n', ""), "council.channel", None),
    (lambda t: t.replace('timezone = "Europe/Oslo"', 'timezone = "Mars/Olympus"'), "council.timezone", 6),
    (lambda t: t.replace('leads = ["U0LEGALLEAD"]', 'leads = ["legal lead"]'), "departments[1].leads", 17),
    (lambda t: t.replace('name = "Support"', 'nmae = "Support"'), "departments[2].nmae", 22),
])
def test_errors_name_the_key_and_line(change, key: str, line: int | None) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CouncilFileError) as info:
        parse_council(change(GOOD), source="council.toml")
    assert info.value.key == key
    if line is not None:
        assert info.value.line == line, str(info.value)
    assert str(info.value).startswith("council.toml")


def test_toml_syntax_error_names_the_line() -> None:
    with pytest.raises(CouncilFileError) as info:
        parse_council("[council]\nchannel = \n", source="c.toml")
    assert info.value.line == 2 and "not valid TOML" in str(info.value)


def test_load_is_idempotent_and_deactivates_removed_people(engine: Engine) -> None:
    services = Services(make_session_factory(engine), FixedClock(START))
    spec = load_council_file(COUNCIL_FILE)
    assert load_council(services.uow(), spec, clock=services.clock).changes
    before = snapshot(engine)
    assert load_council(services.uow(), spec, clock=services.clock).changes == []
    assert snapshot(engine) == before

    smaller = parse_council(GOOD.replace('advocates = ["U0LEGAL1", "U0LEGAL2"]', 'advocates = ["U0LEGAL1"]'))
    report = load_council(services.uow(), smaller, clock=services.clock)
    assert report.changes == ["advocate U0LEGAL2 of legal deactivated"]
    with services.sessions() as s:
        liv = s.scalars(select(Membership).where(Membership.user_id == "U0LEGAL2")).one()
        assert liv.active is False and liv.role is Role.ADVOCATE
        assert s.scalar(select(AuditEvent.kind).order_by(AuditEvent.id.desc()).limit(1)) == "council_loaded"
    load_council(services.uow(), spec, clock=services.clock)
    with services.sessions() as s:
        assert s.scalars(select(Membership).where(Membership.user_id == "U0LEGAL2")).one().active is True
        assert s.scalar(select(text("count(*)")).select_from(Department)) == 3


def test_cli_load_and_show(database_url: str, engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "council.toml"
    path.write_text(GOOD.replace('advocates = ["U0LEGAL1", "U0LEGAL2"]',
                                 'advocates = ["U0LEGAL1", "U0LEGAL2"]\nusergroup = "S0LEGAL"'))
    first = cli("council", "load", str(path), db=database_url)
    assert first.returncode == 0, first.stderr
    assert "advocate U0LEGAL2 of legal added" in first.stdout
    again = cli("council", "load", str(path), db=database_url)
    assert again.returncode == 0 and "nothing changed" in again.stdout
    shown = cli("council", "show", db=database_url)
    assert shown.returncode == 0
    assert "[legal] Legal" in shown.stdout and "U0LEGAL1, U0LEGAL2" in shown.stdout
    legal = shown.stdout.split("[legal] Legal\n")[1].split("\n\n")[0]
    assert legal.splitlines() == ["  leads     U0LEGALLEAD", "  advocates U0LEGAL1, U0LEGAL2", "  usergroup S0LEGAL"]
    billing = shown.stdout.split("[billing] Billing\n")[1].split("\n\n")[0]
    assert "usergroup" not in billing


def test_cli_bad_file_changes_nothing(database_url: str, engine: Engine, tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    assert cli("council", "load", str(good), db=database_url).returncode == 0
    before = snapshot(engine)
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('advocates = ["U0SUP1"]', 'advocates = ["U0SUP1", "U0BILL1"]')
                   .replace('name = "Billing"', 'name = "Billing & Co"'))
    result = cli("council", "load", str(bad), db=database_url)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"cxbot: {bad}:24: departments[2].advocates: U0BILL1 is already an advocate of 'billing': "
        "one department per advocate")
    assert "Traceback" not in result.stderr
    assert snapshot(engine) == before


def test_cli_missing_file(database_url: str, engine: Engine, tmp_path: Path) -> None:
    result = cli("council", "load", str(tmp_path / "nope.toml"), db=database_url)
    assert result.returncode == 2 and "nope.toml" in result.stderr and "cannot read" in result.stderr


POLICIES = GOOD.replace('name = "Legal"', 'name = "Legal"\nstages = ["Buy", "Leave"]') + """
[policies.minor]
review_days = 2
required = 0.5
abstain_counts = true

[policies.major]
approvals = 2

[[routing]]
stages = ["Pay"]
add = ["billing"]

[[routing]]
magnitude = "minor"
only_stage_owners = true

[escalation]
ladder = ["chair"]
step_days = 1
objection_days = 3

[reminders]
first_after_days = 2
closing_soon_hours = 8
"""


def test_policies_routing_escalation_and_reminders_are_read() -> None:
    spec = parse_council(POLICIES + '\n', source="c.toml")
    policy = spec.policy
    assert (policy.minor.review_days, policy.minor.required_share, policy.minor.abstain_counts) == (2, 0.5, True)
    assert (policy.major.review_days, policy.major.approvals, policy.major.required_share) == (7, 2, None)
    assert [r.add for r in policy.routing] == [("billing",), ()]
    assert policy.routing[1].only_stage_owners and policy.routing[1].magnitude is not None
    assert policy.escalation.ladder == ("chair",) and policy.escalation.objection_days == 3
    assert (policy.reminders.first_after_days, policy.reminders.closing_soon_hours) == (2, 8)
    assert spec.departments[1].stages == ("Buy", "Leave")
    assert spec.working_time.timezone == "Europe/Oslo"


@pytest.mark.parametrize("change, key", [
    (lambda t: t.replace("required = 0.5", "required = 2"), "policies.minor.required"),
    (lambda t: t.replace("review_days = 2", "review_days = 0"), "policies.minor.review_days"),
    (lambda t: t.replace('add = ["billing"]', 'add = ["finance"]'), "routing[0].add"),
    (lambda t: t.replace('stages = ["Pay"]', 'stages = ["Payday"]'), "routing[0].stages"),
    (lambda t: t.replace('magnitude = "minor"', 'magnitude = "huge"'), "routing[1].magnitude"),
    (lambda t: t.replace('ladder = ["chair"]', 'ladder = ["ceo"]'), "escalation.ladder"),
    (lambda t: t.replace("closing_soon_hours = 8", "closing_soon = 8"), "reminders.closing_soon"),
    (lambda t: t.replace('stages = ["Buy", "Leave"]', 'stages = ["Nowhere"]'), "departments[1].stages"),
    (lambda t: t.replace('timezone = "Europe/Oslo"', 'timezone = "Europe/Oslo"\nworking_days = ["mon", "funday"]'),
     "council.working_days"),
    (lambda t: t.replace('timezone = "Europe/Oslo"', 'timezone = "Europe/Oslo"\nworking_hours = ["17:00", "09:00"]'),
     "council.working_hours"),
])
def test_policy_errors_name_the_key_and_line(change, key: str) -> None:  # type: ignore[no-untyped-def]
    text = change(POLICIES)
    with pytest.raises(CouncilFileError) as info:
        parse_council(text, source="c.toml")
    assert info.value.key == key, str(info.value)
    assert info.value.line is not None
    name = key.rsplit(".", 1)[-1]
    assert name in text.splitlines()[info.value.line - 1] or "[" in text.splitlines()[info.value.line - 1]


def test_migrations_upgrade_a_database_with_requests_from_the_first_revision(database_url: str,
                                                                               engine: Engine) -> None:
    """Requests filed before deadlines existed get a due time; the upgrade keeps every row."""
    from alembic import command

    from cxbot.store.migrate import alembic_config

    cfg = alembic_config()
    first = "187fdaf393f1"
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, first)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO council (id, channel, chair, admins, timezone, stages, loaded_at) VALUES "
                          "(1, 'C1', 'U1', '[]', 'UTC', '[]', :t)"), {"t": START.replace(tzinfo=None)})
        conn.execute(text("INSERT INTO departments (id, key, name, position, active) VALUES (1, 'b', 'B', 0, true)"))
        conn.execute(text(
            "INSERT INTO review_requests (id, department_id, filer, title, summary, stages, impact, impact_note, "
            "magnitude, decision_by, link, status, created_at, updated_at) VALUES (1, 1, 'U1', 't', 's', '[]', "
            "'neutral', '', 'minor', '2026-12-01', '', 'open', :t, :t)"), {"t": START.replace(tzinfo=None)})
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with make_session_factory(engine)() as s:
        from cxbot.store.models import ReviewRequest

        request = s.get(ReviewRequest, 1)
        assert request is not None and request.escalation_step == 0 and request.version == 1
        assert (request.due_at - START).days == 7
        assert s.scalar(select(Department.stages)) == []
