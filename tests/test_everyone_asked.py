"""Nobody left unasked: every advocate asked is mentioned in the vote prompt, reached through
their department's Slack user group, or asked by DM, however large the council."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cxbot.services.outbox import DEAD
from cxbot.slack.blocks import ids
from cxbot.store.models import Department, OutboxItem
from tests.harness import CHANNEL, Stack, day
from tests.test_council_file import GOOD, cli, snapshot
from tests.test_lifecycle import press_in, texts

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


# --- asked again: amendments, re-routing, reopening ------------------------------------------

LONG = "U{d:02d}A{a:02d}" + "X" * 26      # Slack user ids of the longest kind
# With 49 departments of 70 such advocates asked, the vote prompt mentions everyone and a thread
# note (which spends some of its 50 blocks on what it says) has room for all but about 150.
CROWD = 70


def amend(stack: Stack, rid: int, values: dict[str, object], user: str) -> None:
    """Amend through the form, then wait for everything it queued (hundreds of DMs, each
    rendering the request with its thousands of advocates) to reach Slack."""
    stack.people.press_button(user, channel=stack.parent(rid).channel, ts=stack.parent(rid).ts,
                              action_id=ids.AMEND)
    stack.slack.wait_for(lambda: stack.slack.open_views(user))
    result = stack.people.submit_view(user, values)
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle(timeout=120)


def within_block_kit(message) -> None:  # type: ignore[no-untyped-def]
    """What the strict emulator took is within Slack's limits (it refuses the rest outright)."""
    assert len(message.blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in message.blocks if b["type"] == "section")


def thread_after(stack: Stack, rid: int, ts: str, containing: str) -> list:  # type: ignore[type-arg]
    """The request's thread replies posted after `ts` whose text (fallback or blocks) contains `containing`."""
    return [m for m in stack.slack.thread(CHANNEL, stack.parent(rid).ts)
            if float(m.ts) > float(ts) and containing in texts(m)]


def asked_dms_after(stack: Stack, users: set[str], rid: int, ts: str) -> set[str]:
    return {u for u in users for m in stack.slack.dms(u)
            if float(m.ts) > float(ts) and m.text == f"You are asked to review CX review #{rid}"}


def reached(stack: Stack, message) -> set[str]:  # type: ignore[no-untyped-def]
    return stack.slack.notified(message.mentions)


def last_ts(stack: Stack) -> str:
    return max((m.ts for m in stack.slack.messages()), key=float)


@pytest.mark.parametrize("with_groups", [False, True], ids=["people", "some-groups"])
def test_an_amendment_of_a_large_council_asks_everyone_again_within_block_kit(stack: Stack,
                                                                               with_groups: bool) -> None:
    """50 departments × 40 advocates, everyone asked again by a full re-review: the amendment's
    note carries its diff and every mention in sections of at most 3,000 characters."""
    groups = {d: f"S0GROUP{d:02d}" for d in range(5, 50, 10)} if with_groups else {}
    text, people = big_council(50, 40, groups=groups)
    join(stack, people, groups)
    stack.load_council(text)
    rid = stack.file(FILER)
    before = last_ts(stack)
    amend(stack, rid, {"title": "Annual plans get a smaller cancellation fee", "full_review": ["full"]}, FILER)
    [note] = thread_after(stack, rid, before, "amended this request")
    within_block_kit(note)
    assert len([b for b in note.blocks if b["type"] == "section"]) > 2, "the mentions span several sections"
    asked = {u for d in range(1, 50) for u in people[d]}
    assert reached(stack, note) - {FILER} == asked, "everyone asked again is mentioned, or reached through their group"
    assert not asked_dms_after(stack, asked, rid, before), "nobody mentioned is DMed"
    assert {m[len("<!subteam^"):-1] for m in note.mentions if m.startswith("<!subteam^")} == set(groups.values())
    assert stack.count(OutboxItem, OutboxItem.status == DEAD) == 0


def test_whoever_an_amendment_note_has_no_room_for_is_asked_by_dm(stack: Stack) -> None:
    text, people = big_council(50, CROWD, user=LONG)
    join(stack, people)
    stack.load_council(text)
    rid = stack.file(FILER)
    before = last_ts(stack)
    amend(stack, rid, {"title": "Annual plans get a smaller cancellation fee", "full_review": ["full"]}, FILER)
    [note] = thread_after(stack, rid, before, "amended this request")
    within_block_kit(note)
    asked = {u for d in range(1, 50) for u in people[d]}
    mentioned, dmed = reached(stack, note) - {FILER}, asked_dms_after(stack, asked, rid, before)
    assert mentioned and dmed and mentioned | dmed == asked and not mentioned & dmed
    assert stack.count(OutboxItem, OutboxItem.status == DEAD) == 0


def test_a_department_routed_by_an_amendment_is_told_beyond_the_prompts_room(stack: Stack) -> None:
    """An amendment routes one more department to the request: its advocates are mentioned in
    the re-routing note (the vote prompt's edit notifies nobody) or, beyond that note's room,
    asked by DM; so is everyone the amendment's note asks again and has no room for."""
    text, people = big_council(50, CROWD, user=LONG)
    join(stack, people)
    stack.load_council(text + '\n[[routing]]\nremove = ["dept-49"]\n\n'
                              '[[routing]]\nstages = ["Discover"]\nadd = ["dept-49"]\n')
    rid = stack.file(FILER)
    newly = set(people[49])
    assert not reached(stack, stack.prompt(rid)) & newly and not any(stack.slack.dms(u) for u in newly)
    assert not any(stack.slack.dms(u) for d in range(1, 49) for u in people[d]), "the prompt mentions all"
    before = last_ts(stack)
    amend(stack, rid, {"stages": ["Pay", "Leave", "Discover"]}, FILER)
    [note] = thread_after(stack, rid, before, "routing changed")
    within_block_kit(note)
    assert "*Department 49* is now asked" in texts(note)
    assert newly <= reached(stack, note) | asked_dms_after(stack, newly, rid, before)
    [amended] = thread_after(stack, rid, before, "amended this request")
    within_block_kit(amended)
    owing = {u for d in range(1, 50) for u in people[d]}
    assert owing <= reached(stack, amended) | reached(stack, note) | asked_dms_after(stack, owing, rid, before)
    assert stack.count(OutboxItem, OutboxItem.status == DEAD) == 0


def test_a_reopened_request_asks_again_whoever_owes_an_answer(stack: Stack) -> None:
    text, people = big_council(50, CROWD, user=LONG)
    join(stack, people)
    stack.load_council(text)
    rid = stack.file(FILER)
    press_in(stack, FILER, stack.parent(rid), ids.WITHDRAW)
    before = last_ts(stack)
    stack.people.press_button(FILER, channel=stack.parent(rid).channel, ts=stack.parent(rid).ts,
                              action_id=ids.REOPEN)
    stack.settle(timeout=120)
    [note] = thread_after(stack, rid, before, "reopened this request")
    within_block_kit(note)
    asked = {u for d in range(1, 50) for u in people[d]}
    mentioned, dmed = reached(stack, note) - {FILER}, asked_dms_after(stack, asked, rid, before)
    assert mentioned and dmed and mentioned | dmed == asked and not mentioned & dmed
    assert stack.count(OutboxItem, OutboxItem.status == DEAD) == 0


def test_a_reopening_mentions_only_who_still_owes_an_answer(stack: Stack) -> None:
    stack.load_council(GOOD)
    rid = stack.file(magnitude="minor")                  # one approval a department
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    press_in(stack, "U0BILLLEAD", stack.parent(rid), ids.WITHDRAW)
    press_in(stack, "U0BILLLEAD", stack.parent(rid), ids.REOPEN)
    [note] = [m for m in stack.slack.thread(CHANNEL, stack.parent(rid).ts) if "reopened this request" in texts(m)]
    assert note.text == f"CX review #{rid} was reopened"
    assert note.mentions == ["<@U0BILLLEAD>", "<@U0SUP1>"], "Legal answered: only Support is asked again"
    assert "*Support*: <@U0SUP1>" in texts(note)


def test_every_place_that_routes_a_request_tells_who_did_not_fit() -> None:
    """Routing rows are made when a request is filed and when an amendment re-routes it; each
    of those modules asks by DM whoever the message that asks them cannot mention."""
    package = Path(__file__).parent.parent / "cxbot"
    making = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                    if re.search(r"\bRouting\(", p.read_text()) and p.name != "models.py")
    assert making == ["services/amend.py", "services/requests.py"]
    assert "notices.asked_by_dm(" in (package / "services/amend.py").read_text()
    assert "notices.request_filed(" in (package / "services/requests.py").read_text()
    assert "asked_by_dm(session, request_id, now)" in (package / "services/notices.py").read_text()
