"""The requests a daily reminder DM lists are kept on the DM's own row (`listed`) with one
`daily_listings` row a request and day naming whose DMs list it, not one `reminders` row a
request listed; the migration moves the rows of the old shape without loss, and back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select, text

from cxbot.services.reminders import listed_ids, listed_in
from cxbot.slack.blocks import ids
from cxbot.store.models import DailyListing, DailyReminder, Reminder
from tests.harness import Stack, local

BEFORE = "ef5510395f04"   # the revision before the listed requests moved to the DM's row


def _shape(stack: Stack) -> tuple[dict[tuple[str, str], list[int]], set[tuple[int, str, str]]]:
    """(person, day) → the requests their DM lists; {(request, day, person)} from the listings."""
    claims = {(c.user_id, c.day.isoformat()): listed_ids(c.listed) for c in stack.all(DailyReminder)}
    listings = {(row.request_id, row.day.isoformat(), user) for row in stack.all(DailyListing)
                for user in row.users.split(",")}
    return claims, listings


def test_a_morning_writes_a_row_a_dm_and_a_listing_row_a_request(stack: Stack) -> None:
    rids = [stack.file(title=f"Change {n}") for n in range(3)]
    stack.sweep(local(1, 10))
    claims, listings = _shape(stack)
    assert claims and all(sorted(listed) == rids for listed in claims.values())
    assert listings == {(r, day, user) for (user, day), listed in claims.items() for r in listed}
    assert stack.count(DailyListing) == len(rids)      # one batch: one row a request
    assert stack.count(Reminder) == 0                  # nothing per request listed in `reminders`
    with stack.session() as s:
        assert sorted(listed_in(s, "U0LEGAL2")) == rids


def test_the_migration_moves_listed_reminder_rows_to_the_dm_rows_without_loss(stack: Stack, engine: Engine) -> None:
    from alembic import command

    from cxbot.store.migrate import alembic_config, current_revision, head_revision

    rids = [stack.file(title=f"Change {n}") for n in range(3)]
    stack.sweep(local(1, 10))
    dm = [m for m in stack.slack.dms("U0LEGAL2") if "Reminder" in m.text][0]
    claims, listings = _shape(stack)
    listed = sum(len(v) for v in claims.values())
    cfg = alembic_config()

    def migrate(step: Any, revision: str) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, revision)

    migrate(command.downgrade, BEFORE)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT request_id, user_id, day FROM reminders WHERE kind = 'daily'")).all()
        assert len(rows) == listed and len(set(rows)) == listed
        # A request listed for someone whose DM was never claimed (rows of before the claims).
        day = conn.execute(text("SELECT day FROM reminders LIMIT 1")).scalar()
        at = conn.execute(text("SELECT at FROM reminders LIMIT 1")).scalar()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO reminders (request_id, user_id, kind, day, at) "
                          "VALUES (:r, 'U0GONE', 'daily', :day, :at)"), {"r": rids[1], "day": day, "at": at})
    migrate(command.upgrade, "head")
    assert current_revision(engine) == head_revision()

    after, after_listings = _shape(stack)
    gone = [key for key in after if key[0] == "U0GONE"]
    assert len(gone) == 1 and after.pop(gone[0]) == [rids[1]]
    assert after == claims
    assert after_listings - {(rids[1], gone[0][1], "U0GONE")} == listings
    assert stack.count(Reminder) == 0
    with stack.session() as s:
        [gone_claim] = s.scalars(select(DailyReminder).where(DailyReminder.user_id == "U0GONE"))
        assert gone_claim.ts == "" and gone_claim.at is not None

    # Answering from the DM still updates it in place.
    updates = len(stack.slack.calls("chat.update"))
    stack.people.press_button("U0LEGAL2", channel=dm.channel, ts=dm.ts, action_id=ids.APPROVE, value=str(rids[0]))
    stack.applied()
    stack.settle()
    assert [c for c in stack.slack.calls("chat.update")[updates:] if c.params.get("ts") == dm.ts]
