"""One reminder a person a day, through the served app: everyone who owes answers gets one
DM a working day listing all of it, soonest deadline first, updated in place when they
answer from it; "and N more" past what one message holds; a closing-soon notice joins that
DM unless the deadline falls before the next one."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from cxbot.services.reminders import SHOWN, listed_in
from cxbot.slack.blocks import ids
from cxbot.store.models import DailyReminder
from tests.harness import COUNCIL_FILE, START, Stack, local


def texts(message) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(message.blocks, ensure_ascii=False) + message.text


def reminders_to(stack: Stack, user: str) -> list:  # type: ignore[type-arg]
    return [m for m in stack.slack.dms(user) if "Reminder" in m.text or "Closing soon" in m.text]


def listed(message) -> list[int]:  # type: ignore[no-untyped-def]
    """The requests a reminder DM lists, in its order."""
    return [int(n) for n in re.findall(r"CX review #(\d+)", json.dumps(message.blocks, ensure_ascii=False))]


def approve_buttons(message) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
            if e.get("action_id") == ids.APPROVE]


def file_with_deadlines(stack: Stack, days_ahead: list[int]) -> list[int]:
    """File one request per entry, each decided by the end of that day (working days from a Monday)."""
    return [stack.file(title=f"Change {n}", decision_by=(START.date() + timedelta(days=d)).isoformat())
            for n, d in enumerate(days_ahead)]


def test_one_dm_a_morning_lists_all_owed_soonest_first_and_answering_updates_it_in_place(stack: Stack) -> None:
    rids = file_with_deadlines(stack, [9, 8, 7, 4, 3])       # filed latest deadline first
    soonest_first = sorted(rids, key=lambda r: (stack.request(r).due_at, r))
    assert soonest_first == rids[::-1]

    stack.sweep(local(1, 10))
    dms = reminders_to(stack, "U0LEGAL2")
    assert len(dms) == 1
    dm = dms[0]
    assert listed(dm) == soonest_first
    assert approve_buttons(dm) == [str(r) for r in soonest_first]
    assert texts(dm).count("*Legal* · discuss in") == 5 and "on 5 CX reviews" in dm.text
    assert stack.count(DailyReminder, DailyReminder.user_id == "U0LEGAL2") == 1

    # A later sweep the same day sends nothing more.
    assert stack.sweep(local(1, 15)).reminders == 0
    assert len(reminders_to(stack, "U0LEGAL2")) == 1

    # Answering from the DM updates that DM (chat.update of its ts), no new message.
    posts = len(stack.slack.calls("chat.postMessage"))
    result = stack.people.press_button("U0LEGAL2", channel=dm.channel, ts=dm.ts, action_id=ids.APPROVE,
                                       value=str(soonest_first[0]))
    assert result.status == 200
    stack.applied()
    stack.settle()
    updates = [c for c in stack.slack.calls("chat.update") if c.params.get("ts") == dm.ts]
    assert updates and all(c.ok for c in updates)
    assert not [c for c in stack.slack.calls("chat.postMessage")[posts:]
                if c.params.get("channel") == dm.channel]
    now_shown = stack.slack.message(dm.channel, dm.ts)
    assert approve_buttons(now_shown) == [str(r) for r in soonest_first[1:]]
    assert "answered" in texts(now_shown) and "on 4 CX reviews" in now_shown.text

    # The next working day: one DM again, listing what is still owed.
    assert stack.sweep(local(2, 10)).reminders >= 1
    dms = reminders_to(stack, "U0LEGAL2")
    assert len(dms) == 2 and listed(dms[1]) == soonest_first[1:]


def test_more_than_fit_in_one_message_ends_with_and_n_more(stack: Stack) -> None:
    rids = [stack.file(title=f"Change {n}") for n in range(SHOWN + 2)]
    stack.sweep(local(1, 10))
    dms = reminders_to(stack, "U0LEGAL2")
    assert len(dms) == 1
    dm = dms[0]
    assert len(dm.blocks) <= 50
    assert len(approve_buttons(dm)) == SHOWN and listed(dm) == rids[:SHOWN]
    assert "and 2 more" in texts(dm) and "<#C0COUNCIL>" in texts(dm)
    with stack.session() as s:
        assert sorted(listed_in(s, "U0LEGAL2")) == sorted(rids)


def test_closing_soon_joins_the_days_dm(stack: Stack) -> None:
    rid = stack.file(magnitude="minor")                      # due Thursday 17:00; closing soon from Wednesday 17:00
    other = stack.file(title="Another change")               # major: due later
    assert stack.request(rid).due_at == local(3, 17) < stack.request(other).due_at
    stack.sweep(local(1, 10))
    stack.sweep(local(2, 10))
    stack.sweep(local(3, 9))                                 # the window is open: Thursday's DM carries it
    dms = reminders_to(stack, "U0LEGAL2")
    assert len(dms) == 3 and all(listed(m) == [rid, other] for m in dms)
    assert texts(dms[2]).count("Closing soon") == 2          # the item, and the notification text
    assert "Closing soon" not in texts(dms[1])
    stack.sweep(local(3, 16))
    assert len(reminders_to(stack, "U0LEGAL2")) == 3         # nothing on its own: it joined


def test_closing_soon_comes_on_its_own_when_the_deadline_falls_before_the_next_dm(stack: Stack) -> None:
    stack.load_council(COUNCIL_FILE.read_text() + "\n[reminders]\nclosing_soon_hours = 4\n")
    rid = stack.file(magnitude="minor")                      # due Thursday 17:00; closing soon from 13:00
    other = stack.file(title="Another change")
    assert stack.request(rid).due_at == local(3, 17)
    stack.sweep(local(3, 10))                                # Thursday's one DM, before the window
    dms = reminders_to(stack, "U0LEGAL2")
    assert len(dms) == 1 and listed(dms[0]) == [rid, other] and "Closing soon" not in texts(dms[0])
    stack.sweep(local(3, 13, 30))                            # Friday's DM would come after the deadline
    dms = reminders_to(stack, "U0LEGAL2")
    assert len(dms) == 2 and "Closing soon" in dms[1].text and listed(dms[1]) == [rid]
    stack.sweep(local(3, 15))
    assert len(reminders_to(stack, "U0LEGAL2")) == 2
