"""Nobody left unasked: every advocate asked is mentioned in the vote prompt, reached through
their department's Slack user group, or asked by DM, however large the council."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from cxbot.services.outbox import DEAD
from cxbot.store.models import Department, OutboxItem
from tests.harness import CHANNEL, Stack, day
from tests.test_council_file import GOOD, cli, snapshot

FILER = "U0FILER"


def big_council(departments: int, advocates: int, *, user: str = "U0D{d:02d}A{a:02d}",
                groups: dict[int, str] | None = None) -> tuple[str, dict[int, list[str]]]:
    """A council file with `departments` × `advocates` (department 0 files, the others review),
    and who advocates for each department."""
    groups = groups or {}
    people = {d: [user.format(d=d, a=a) for a in range(advocates)] for d in range(departments)}
    text = f'[council]\nchannel = "{CHANNEL}"\nchair = "U0CHAIR"\nadmins = ["U0ADMIN"]\ntimezone = "Europe/Oslo"\n'
    for d, advocates_of in people.items():
        text += (f'\n[[departments]]\nkey = "dept-{d:02d}"\nname = "Department {d:02d}"\n'
                 f'leads = ["{FILER if d == 0 else f"U0LEAD{d:02d}"}"]\n'
                 f'advocates = [{", ".join(f"{chr(34)}{u}{chr(34)}" for u in advocates_of)}]\n')
        if d in groups:
            text += f'usergroup = "{groups[d]}"\n'
    return text, people


def join(stack: Stack, people: dict[int, list[str]], groups: dict[int, str] | None = None) -> None:
    """Everyone in the workspace and in the council channel, where a mention reaches them;
    each department's user group, when it has one, holds its advocates."""
    everyone = [FILER] + [u for users in people.values() for u in users] + [f"U0LEAD{d:02d}" for d in people]
    for user in everyone:
        stack.slack.add_user(user, user.lower())
    stack.slack.invite(CHANNEL, *everyone)
    for d, group in (groups or {}).items():
        stack.slack.add_usergroup(group, f"dept-{d:02d}-advocates", people[d])


def asked_in(stack: Stack, request_id: int) -> tuple[set[str], set[str]]:
    """The people and the user groups the vote prompt mentions."""
    mentions = stack.prompt(request_id).mentions
    users = {m[2:-1] for m in mentions if m.startswith("<@")}
    groups = {m[len("<!subteam^"):-1] for m in mentions if m.startswith("<!subteam^")}
    return users, groups


@pytest.mark.parametrize("with_groups", [False, True], ids=["people", "some-groups"])
def test_fifty_departments_of_forty_advocates_are_all_reached(stack: Stack, with_groups: bool) -> None:
    groups = {d: f"S0GROUP{d:02d}" for d in range(5, 50, 10)} if with_groups else {}
    text, people = big_council(50, 40, groups=groups)
    join(stack, people, groups)
    stack.load_council(text)
    rid = stack.file(FILER)
    prompt = stack.prompt(rid)
    assert prompt is not None and len(prompt.blocks) <= 50, "the strict emulator took the prompt"
    users, mentioned_groups = asked_in(stack, rid)
    assert mentioned_groups == set(groups.values())
    by_group = stack.slack.notified([f"<!subteam^{g}>" for g in mentioned_groups])
    assert by_group == {u for d in groups for u in people[d]}
    dmed = {u for d in range(1, 50) for u in people[d] if stack.slack.dms(u)}
    asked = {u for d in range(1, 50) for u in people[d]}
    assert len(asked) == 1960
    assert asked <= users | by_group | dmed, f"{len(asked - users - by_group - dmed)} advocates never told"
    assert not users & by_group, "a department with a user group is mentioned as the group, not its people"
    assert not set(people[0]) & (users | dmed), "the filing department is not asked"
    assert stack.count(OutboxItem, OutboxItem.status == DEAD) == 0


def test_a_department_with_a_user_group_is_mentioned_as_the_group(stack: Stack) -> None:
    text, people = big_council(3, 2, groups={1: "S0LEGALS"})
    join(stack, people, {1: "S0LEGALS"})
    stack.load_council(text)
    assert [d.usergroup for d in stack.all(Department, Department.active.is_(True), order_by=Department.position)] \
        == ["", "S0LEGALS", ""]
    rid = stack.file(FILER)
    users, groups = asked_in(stack, rid)
    assert groups == {"S0LEGALS"} and "<!subteam^S0LEGALS>" in stack.prompt(rid).mentions
    assert users == set(people[2]), "Department 01's people are reached through their group"
    assert not any(stack.slack.dms(u) for d in (1, 2) for u in people[d]), "nobody mentioned is DMed"


def test_people_beyond_slacks_limits_are_asked_by_dm(stack: Stack) -> None:
    """Slack user ids of the longest kind, enough of them to fill the prompt's 50 blocks: the
    rest are asked by DM, once each, with a link to the thread, and the prompt says so."""
    text, people = big_council(50, 78, user="U{d:02d}A{a:02d}" + "X" * 26)
    join(stack, people)
    stack.load_council(text)
    rid = stack.file(FILER)
    prompt = stack.prompt(rid)
    assert len(prompt.blocks) == 50
    users, _ = asked_in(stack, rid)
    asked = {u for d in range(1, 50) for u in people[d]}
    dmed = {u for u in asked if stack.slack.dms(u)}
    assert users and dmed and asked == users | dmed and not users & dmed
    assert f"{len(dmed)} more people asked did not fit in this message" in str(prompt.blocks)
    one = stack.slack.dms(sorted(dmed)[0])
    assert len(one) == 1 and one[0].text == f"You are asked to review CX review #{rid}"
    assert any(link.endswith("|the thread>") for link in one[0].links), one[0].links
    assert any(b["type"] == "actions" for b in one[0].blocks), "the DM carries the vote buttons"


def test_cli_refuses_a_usergroup_that_is_not_a_user_group_id(database_url: str, engine: Engine,
                                                             tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    assert cli("council", "load", str(good), db=database_url).returncode == 0
    before = snapshot(engine)
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('advocates = ["U0LEGAL1", "U0LEGAL2"]',
                                'advocates = ["U0LEGAL1", "U0LEGAL2"]\nusergroup = "@legal-team"'))
    result = cli("council", "load", str(bad), db=database_url)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"cxbot: {bad}:19: departments[1].usergroup: '@legal-team' is not a Slack user group id (like S012AB3CD)")
    assert snapshot(engine) == before


def test_a_substitute_is_mentioned_beside_the_group_they_are_not_in(stack: Stack) -> None:
    """An away advocate's substitute answers for the department without being in its user
    group: the prompt mentions them by name, next to the group."""
    stack.load_council(GOOD.replace('advocates = ["U0LEGAL1", "U0LEGAL2"]',
                                    'advocates = ["U0LEGAL1", "U0LEGAL2"]\nusergroup = "S0LEGAL"'))
    result = stack.people.slash_command("U0LEGAL1", "/cx-review",
                                        f"away {stack.people.at('U0LEGALLEAD')} until {day(14).isoformat()}")
    assert result.status == 200 and result.json()["text"].startswith("Until "), result.body
    rid = stack.file()
    assert set(stack.prompt(rid).mentions) == {"<!subteam^S0LEGAL>", "<@U0LEGALLEAD>", "<@U0SUP1>"}
    assert not stack.slack.dms("U0LEGAL2") and not stack.slack.dms("U0SUP1")
