"""Who may act for a department, read from the council as it is now, on every path: a vote
(stored press or form), the prompt's mentions, reminders, amend and reopen.

- A substitute answers for an away advocate only while both are active and the substitute
  leads or advocates for the advocate's current department; a council load that breaks that
  ends the substitution (audited, and the advocate is told by DM).
- Nobody with any role in the filing department reviews its change, whatever other role the
  council file gives them.
- A filer who left the filing department may still withdraw, but amending and reopening
  take a current lead of it (or the chair, for reopening).
"""

from __future__ import annotations

from cxbot.domain.model import Status
from cxbot.slack.blocks import ids
from cxbot.store.models import AuditEvent, DailyReminder, Reminder, Substitute, Vote
from tests.harness import CHANNEL, COUNCIL_FILE, Stack, day, local
from tests.test_lifecycle import dms_to, press_in, texts

COUNCIL = COUNCIL_FILE.read_text()


def away(stack: Stack, advocate: str, substitute: str) -> None:
    result = stack.people.slash_command(advocate, "/cx-review",
                                        f"away {stack.people.at(substitute)} until {day(14).isoformat()}")
    assert result.status == 200 and result.json()["text"].startswith("Until "), result.body


def refused(stack: Stack, user: str, request_id: int, containing: str) -> None:
    before = stack.count(Vote)
    stack.press(user, request_id, ids.APPROVE)
    stack.settle()
    assert containing in stack.slack.ephemerals(user)[-1].text
    assert stack.count(Vote) == before


def prompt_mentions(stack: Stack, request_id: int) -> list[str]:
    return stack.prompt(request_id).mentions  # type: ignore[no-any-return]


def reminded(stack: Stack) -> set[str]:
    """Whoever a reminder went to: a daily reminder listing requests, or a closing-soon notice."""
    return ({r.user_id for r in stack.all(Reminder)}
            | {d.user_id for d in stack.all(DailyReminder) if d.listed})


def test_a_substitute_removed_from_the_council_no_longer_answers(stack: Stack) -> None:
    away(stack, "U0LEGAL1", "U0LEGALLEAD")
    rid = stack.file()
    assert "<@U0LEGALLEAD>" in prompt_mentions(stack, rid)

    stack.load_council(COUNCIL.replace('leads = ["U0LEGALLEAD"]\n', ""))
    stack.settle()
    [row] = stack.all(Substitute)
    assert row.cancelled_at is not None
    ended = stack.all(AuditEvent, AuditEvent.kind == "substitute_ended")
    assert [(e.data["advocate"], e.data["substitutes"]) for e in ended] == [("U0LEGAL1", ["U0LEGALLEAD"])]
    told = dms_to(stack, "U0LEGAL1", "no longer answers for you")
    assert len(told) == 1 and "<@U0LEGALLEAD>" in texts(told[0])

    refused(stack, "U0LEGALLEAD", rid, "Only council advocates of the departments asked")
    mentions = prompt_mentions(stack, rid)
    assert "<@U0LEGALLEAD>" not in mentions and "<@U0LEGAL1>" in mentions

    stack.sweep(local(1, 10))
    assert "U0LEGALLEAD" not in reminded(stack) and "U0LEGAL1" in reminded(stack)
    assert dms_to(stack, "U0LEGALLEAD", "Reminder") == []

    stack.press("U0LEGAL1", rid, ids.APPROVE)      # the advocate answers for themself again
    assert [v.user_id for v in stack.all(Vote)] == ["U0LEGAL1"]


def test_a_substitute_cannot_follow_an_advocate_into_another_department(stack: Stack) -> None:
    # Legal's lead stands in for U0LEGAL1, who then moves to Support: the lead answers for
    # Legal only, never for Support.
    away(stack, "U0LEGAL1", "U0LEGALLEAD")
    rid = stack.file()
    moved = (COUNCIL.replace('advocates = ["U0LEGAL1", "U0LEGAL2"]', 'advocates = ["U0LEGAL2"]')
             .replace('advocates = ["U0SUP1"]', 'advocates = ["U0SUP1", "U0LEGAL1"]'))
    stack.load_council(moved)
    stack.settle()
    assert stack.all(Substitute)[0].cancelled_at is not None
    assert dms_to(stack, "U0LEGAL1", "no longer answers for you")

    refused(stack, "U0LEGALLEAD", rid, "Only council advocates of the departments asked")
    assert stack.request(rid).status is Status.OPEN
    assert "<@U0LEGALLEAD>" not in prompt_mentions(stack, rid)
    stack.sweep(local(1, 10))
    assert "U0LEGALLEAD" not in reminded(stack)


def test_a_substitution_the_new_council_still_supports_stays(stack: Stack) -> None:
    away(stack, "U0LEGAL1", "U0LEGAL2")
    stack.load_council(COUNCIL.replace('advocates = ["U0SUP1"]', 'advocates = ["U0SUP1", "U0SUP2"]'))
    stack.settle()
    assert stack.all(Substitute)[0].cancelled_at is None
    assert not stack.all(AuditEvent, AuditEvent.kind == "substitute_ended")
    assert not dms_to(stack, "U0LEGAL1", "no longer answers for you")


def test_nobody_from_the_filing_department_reviews_its_change_through_another_role(stack: Stack) -> None:
    # U0LEGAL2 is a Legal advocate and also a Billing lead: two hats are allowed…
    stack.load_council(COUNCIL.replace('leads = ["U0BILLLEAD"]', 'leads = ["U0BILLLEAD", "U0LEGAL2"]'))
    rid = stack.file()
    # …but on Billing's change they are not asked, mentioned, reminded, nor counted as a seat.
    assert "<@U0LEGAL2>" not in prompt_mentions(stack, rid)
    refused(stack, "U0LEGAL2", rid, "You hold a role in the department that filed this request")
    stack.sweep(local(1, 10))
    assert "U0LEGAL2" not in reminded(stack) and "U0LEGAL1" in reminded(stack)

    # Nor do they answer for Billing's change as someone's substitute.
    away(stack, "U0LEGAL1", "U0LEGAL2")
    refused(stack, "U0LEGAL2", rid, "You hold a role in the department that filed this request")
    assert "<@U0LEGAL2>" not in prompt_mentions(stack, rid)
    stack.people.slash_command("U0LEGAL1", "/cx-review", "back")

    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.press("U0SUP1", rid, ids.APPROVE)
    assert stack.request(rid).status is Status.APPROVED

    # On another department's change, the Legal hat votes as usual.
    other = stack.file("U0SUPLEAD", department="support")
    stack.press("U0LEGAL2", other, ids.APPROVE)
    assert [v.user_id for v in stack.all(Vote, Vote.request_id == other)] == ["U0LEGAL2"]


def test_a_filer_who_left_the_department_may_withdraw_but_not_amend_or_reopen(stack: Stack) -> None:
    stack.slack.add_user("U0BILLLEAD2", "bill", real_name="Bill (second Billing lead)")
    stack.slack.invite(CHANNEL, "U0BILLLEAD2")
    rid = stack.file()
    stack.load_council(COUNCIL.replace('leads = ["U0BILLLEAD"]', 'leads = ["U0BILLLEAD2"]'))
    stack.settle()
    parent = stack.parent(rid)

    press_in(stack, "U0BILLLEAD", parent, ids.AMEND)
    assert "You no longer lead or advocate for the department that filed this request" in (
        stack.slack.ephemerals("U0BILLLEAD")[-1].text)
    assert stack.slack.open_views("U0BILLLEAD") == []

    press_in(stack, "U0BILLLEAD2", parent, ids.AMEND)       # a current lead of the department may
    stack.slack.wait_for(lambda: stack.slack.open_views("U0BILLLEAD2"))
    result = stack.people.submit_view("U0BILLLEAD2", {"title": "Annual plans get a smaller fee"})
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle()
    assert stack.request(rid).title == "Annual plans get a smaller fee"

    press_in(stack, "U0BILLLEAD", parent, ids.WITHDRAW)      # withdrawing only stops work
    assert stack.request(rid).status is Status.WITHDRAWN

    parent = stack.parent(rid)
    press_in(stack, "U0BILLLEAD", parent, ids.REOPEN)
    assert "can't reopen it" in stack.slack.ephemerals("U0BILLLEAD")[-1].text
    assert stack.request(rid).status is Status.WITHDRAWN
    press_in(stack, "U0BILLLEAD2", parent, ids.REOPEN)
    assert stack.request(rid).status is Status.OPEN
