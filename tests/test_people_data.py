"""People data on demand: names and time zones are refreshed in the background when stale
and needed, with `users.list` pages for a large council, and at once on `user_change`."""

from __future__ import annotations

import json
import math
import time
from datetime import timedelta

from cxbot.jobs.people_worker import PeopleWorker
from cxbot.slack.blocks import ids
from cxbot.slack.people import SlackDirectory
from cxbot.store.models import Person
from tests.harness import COUNCIL_FILE, START, Stack, local

LARGE = 450
ZONES = ("America/New_York", "Asia/Tokyo", "Europe/Oslo")


def large_council(stack: Stack, size: int = LARGE) -> list[str]:
    """A council of `size` advocates (15 departments, the first led by U0BILLLEAD), each a
    person in the workspace."""
    advocates = [f"U1P{n:05d}" for n in range(size)]
    for n, user in enumerate(advocates):
        stack.slack.add_user(user, f"person{n}", real_name=f"Person {n}", tz=ZONES[n % len(ZONES)])
    head = COUNCIL_FILE.read_text().split("[[departments]]")[0]
    per = math.ceil(size / 15)
    leads = {0: ["U0BILLLEAD"]}
    departments = "".join(
        f'[[departments]]\nkey = "d{d}"\nname = "Department {d}"\nleads = {json.dumps(leads.get(d, []))}\n'
        f"advocates = {json.dumps(advocates[d * per:(d + 1) * per])}\n\n"
        for d in range(15))
    stack.load_council(head + departments)
    return advocates


def looked_up_alone(stack: Stack) -> list[str]:
    """Whom users.info was asked about, besides the filer: typing /cx-review looks up a person
    cxbot does not know yet, for their language (cxbot.slack.languages)."""
    return [c.params["user"] for c in stack.slack.calls("users.info") if c.params["user"] != "U0BILLLEAD"]


def needed(stack: Stack) -> int:
    """File a request, so the next sweep has work and needs its people's time zones (an idle
    sweep needs nobody's)."""
    return stack.file("U0BILLLEAD")


def test_a_large_council_is_refreshed_with_users_list_pages_not_one_users_info_each(stack: Stack) -> None:
    advocates = large_council(stack)
    rid = needed(stack)
    stack.sweep(local(0, 11))          # the sweep asks; the people worker looks them up
    lists = stack.slack.calls("users.list")
    assert len(lists) == math.ceil(LARGE / 200) == 3
    assert all(int(c.params["limit"]) == 200 for c in lists)
    assert "cursor" not in lists[0].params and all(c.params["cursor"] for c in lists[1:])
    assert [c.params["user"] for c in stack.slack.calls("users.info")] == ["U0BILLLEAD"]  # at /cx-review
    stored = {p.user_id: p for p in stack.all(Person)}
    assert set(stored) == {*advocates, "U0BILLLEAD"}       # the filer leads a department
    assert stored["U1P00001"].timezone == "Asia/Tokyo" and stored["U1P00001"].name == "Person 1"
    assert all(stored[user].fetched_at == local(0, 11) for user in advocates)

    # Fresh data is not fetched again, sweep after sweep, for a day.
    stack.sweep(local(0, 12))
    stack.sweep(local(1, 10))
    assert len(stack.slack.calls("users.list")) == 3 and looked_up_alone(stack) == []

    # Older than a day, and needed again (a vote makes the request due): refreshed once more, in pages.
    stack.clock.set(local(1, 11, 1))
    stack.press(advocates[-1], rid, ids.ABSTAIN)
    stack.sweep(local(1, 11, 1))
    assert len(stack.slack.calls("users.list")) == 6 and looked_up_alone(stack) == []


def test_a_few_stale_people_are_looked_up_one_by_one(stack: Stack) -> None:
    needed(stack)
    stack.sweep(local(0, 11))          # the test council's four advocates
    assert sorted(looked_up_alone(stack)) == ["U0BILL1", "U0LEGAL1", "U0LEGAL2", "U0SUP1"]
    assert stack.slack.calls("users.list") == []


def test_a_sweep_never_waits_for_slack(stack: Stack) -> None:
    large_council(stack)
    needed(stack)
    stack.slack.fail("users.list", delay=3.0)
    started = time.monotonic()
    stack.clock.set(local(0, 11))
    stack.runtime.sweep()
    assert time.monotonic() - started < 2.0
    stack.settle()                     # the refresh finishes on its own thread
    assert stack.count(Person) == LARGE + 1                # the advocates and the filing lead


def test_user_change_updates_a_person_at_once_and_nobody_is_looked_up(stack: Stack) -> None:
    stack.sweep(local(0, 11))
    looked_up = len(stack.slack.calls())
    stack.clock.set(local(0, 11, 30))
    result = stack.people.change_profile("U0SUP1", real_name="Sam Smith", tz="America/New_York")
    assert result is not None and result.status == 200
    [sam] = stack.all(Person, Person.user_id == "U0SUP1")   # stored before Slack had its answer
    assert (sam.name, sam.timezone, sam.fetched_at) == ("Sam Smith", "America/New_York", local(0, 11, 30))
    # Someone outside the council changes their profile: nothing is stored about them.
    assert stack.people.change_profile("U0OUTSIDER", tz="Asia/Tokyo").status == 200  # type: ignore[union-attr]
    assert stack.all(Person, Person.user_id == "U0OUTSIDER") == []
    stack.sweep(local(0, 12))
    assert len(stack.slack.calls()) == looked_up
    assert stack.runtime.timezones(["U0SUP1"]) == {"U0SUP1": "America/New_York"}


def test_the_refresh_is_paced_to_slacks_tiers(stack: Stack) -> None:
    large_council(stack)
    directory = SlackDirectory(stack.runtime.client, stack.runtime.sessions, stack.clock,
                               pace={"users.list": 0.3})
    worker = PeopleWorker(directory.refresh)
    stack.clock.set(START + timedelta(hours=1))
    worker.want([f"U1P{n:05d}" for n in range(LARGE)])
    assert worker.drain() == LARGE and worker.idle()
    at = [c.at for c in stack.slack.calls("users.list")]
    assert len(at) == 3 and all(b - a >= 0.29 for a, b in zip(at, at[1:], strict=False))


def test_a_rate_limited_page_is_asked_again_after_retry_after(stack: Stack) -> None:
    large_council(stack)
    needed(stack)
    stack.slack.fail("users.list", status=429, retry_after=1)
    stack.sweep(local(0, 11))
    lists = stack.slack.calls("users.list")
    assert [c.status for c in lists] == [429, 200, 200, 200]
    assert lists[1].at - lists[0].at >= 0.99
    assert stack.count(Person) == LARGE + 1                # the advocates and the filing lead
