"""The decision lifecycle over HTTP and sweeps: objections, overrule, amend, reminders,
escalation, expiry, substitutes and holds."""

from __future__ import annotations

import json

from cxbot.domain.model import Status, VoteKind
from cxbot.services.reminders import listed_ids
from cxbot.slack.blocks import ids
from cxbot.store.models import AuditEvent, DailyReminder, Escalation, Reminder, Vote
from tests.harness import CHANNEL, COUNCIL_FILE, OSLO, Stack, day, local


def texts(message) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(message.blocks, ensure_ascii=False) + message.text


def action_ids(message) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def objection_note(stack: Stack, request_id: int):  # type: ignore[no-untyped-def]
    return next(m for m in stack.slack.thread(CHANNEL, stack.parent(request_id).ts) if "objection" in texts(m)
                and "raises" in texts(m))


def object_(stack: Stack, user: str, request_id: int, reason: str, *, blocking: bool = True,
            mitigation: str = "") -> None:
    stack.press(user, request_id, ids.OBJECT)
    stack.slack.wait_for(lambda: stack.slack.open_views(user))
    values = {"note": reason, "severity": "blocking" if blocking else "non_blocking"}
    if mitigation:
        values["mitigation"] = mitigation
    result = stack.people.submit_view(user, values)
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle()


def press_in(stack: Stack, user: str, message, action_id: str) -> None:  # type: ignore[no-untyped-def]
    result = stack.people.press_button(user, channel=message.channel, ts=message.ts, action_id=action_id)
    assert result.status == 200
    stack.settle()


def dms_to(stack: Stack, user: str, containing: str) -> list:  # type: ignore[type-arg]
    return [m for m in stack.slack.dms(user) if containing in texts(m)]


def chair_decides(stack: Stack, action_id: str, rationale: str) -> None:
    """The chair answers the latest escalation DM: Approve… or Reject…, with a rationale."""
    chair_dm = dms_to(stack, "U0CHAIR", "escalated to you")[-1]
    press_in(stack, "U0CHAIR", chair_dm, action_id)
    stack.slack.wait_for(lambda: stack.slack.open_views("U0CHAIR"))
    stack.people.submit_view("U0CHAIR", {"note": rationale})
    stack.settle()


def test_blocking_objection_stands_until_its_author_resolves_it(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    object_(stack, "U0SUP1", rid, "Refunds are not covered", mitigation="Add a refund rule")
    assert stack.request(rid).status is Status.CHANGES_REQUESTED
    note = objection_note(stack, rid)
    assert "blocking objection" in texts(note) and "Add a refund rule" in texts(note)
    assert action_ids(note) == [ids.RESOLVE, ids.OVERRULE]

    press_in(stack, "U0LEGAL1", note, ids.RESOLVE)       # someone else: refused
    assert "Only the advocate who raised" in stack.slack.ephemerals("U0LEGAL1")[-1].text
    assert stack.request(rid).status is Status.CHANGES_REQUESTED

    press_in(stack, "U0SUP1", note, ids.RESOLVE)
    assert stack.request(rid).status is Status.APPROVED
    note = stack.slack.message(note.channel, note.ts)
    assert action_ids(note) == [] and "Resolved by <@U0SUP1>" in texts(note)
    vote = stack.all(Vote, Vote.user_id == "U0SUP1")[0]
    assert vote.resolution == "resolved" and vote.resolved_by == "U0SUP1"
    kinds = [e.kind for e in stack.all(AuditEvent, AuditEvent.request_id == rid, order_by=AuditEvent.id)]
    assert kinds[-2:] == ["objection_resolved", "decided"]


def test_chair_overrules_with_a_written_rationale(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    object_(stack, "U0SUP1", rid, "Too risky")
    note = objection_note(stack, rid)
    press_in(stack, "U0LEGAL1", note, ids.OVERRULE)
    assert "Only the council chair" in stack.slack.ephemerals("U0LEGAL1")[-1].text
    assert stack.slack.open_views("U0LEGAL1") == []

    press_in(stack, "U0CHAIR", note, ids.OVERRULE)
    stack.slack.wait_for(lambda: stack.slack.open_views("U0CHAIR"))
    blank = stack.people.submit_view_raw("U0CHAIR", stack.slack.open_views("U0CHAIR")[-1],
                                         {"note": {"value": {"type": "plain_text_input", "value": "  "}}})
    assert "why the objection is overruled" in blank.json()["errors"]["note"]
    stack.people.submit_view("U0CHAIR", {"note": "Support's concern is covered by the FAQ update"})
    stack.settle()
    assert stack.request(rid).status is Status.APPROVED
    thread = stack.slack.thread(CHANNEL, stack.parent(rid).ts)
    assert any("overruled the objection of <@U0SUP1>" in m.text and "FAQ update" in m.text for m in thread)
    assert "Overruled by <@U0CHAIR>" in texts(stack.slack.message(note.channel, note.ts))


def test_non_blocking_concern_answers_without_blocking(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    object_(stack, "U0SUP1", rid, "Expect more calls in January", blocking=False)
    assert stack.request(rid).status is Status.APPROVED
    assert "concern from <@U0SUP1>" in texts(stack.parent(rid))


def test_amend_posts_a_diff_and_asks_again_only_those_who_owe_an_answer(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.load_council(COUNCIL_FILE.read_text().replace('advocates = ["U0SUP1"]', 'advocates = ["U0SUP1"]\n\n'
                       '[[departments]]\nkey = "marketing"\nname = "Marketing"\nadvocates = ["U0MKT1"]'))
    object_(stack, "U0SUP1", rid, "Refunds?")
    parent = stack.parent(rid)
    press_in(stack, "U0LEGAL1", parent, ids.AMEND)
    assert "Only the person who filed" in stack.slack.ephemerals("U0LEGAL1")[-1].text

    press_in(stack, "U0BILLLEAD", parent, ids.AMEND)
    view = stack.slack.wait_for(lambda: (stack.slack.open_views("U0BILLLEAD") or [None])[-1])
    title = next(b for b in view["blocks"] if b.get("block_id") == "title")
    assert title["element"]["initial_value"] == "Annual plans get a cancellation fee"
    result = stack.people.submit_view("U0BILLLEAD", {"title": "Annual plans get a fee, refunds pro rata",
                                                     "link": "https://wiki.example.com/fees-v2"})
    assert result.status == 200 and not (result.json() or {}).get("errors")
    stack.settle()
    request = stack.request(rid)
    assert request.version == 2 and request.title == "Annual plans get a fee, refunds pro rata"
    diff = next(m for m in stack.slack.thread(CHANNEL, parent.ts) if "amended this request" in texts(m))
    assert diff.text == f"CX review #{rid} was amended (version 2)"
    assert "*Title*: ~Annual plans get a cancellation fee~ → Annual plans get a fee, refunds pro rata" in texts(diff)
    assert "*Link*: ~https://wiki.example.com/fees~ → https://wiki.example.com/fees-v2" in texts(diff)
    assert diff.mentions == ["<@U0BILLLEAD>", "<@U0SUP1>"], "only the objector is asked again; Legal approved"
    assert "approvals already given stand" in texts(diff)
    assert stack.all(Vote, Vote.user_id == "U0LEGAL1")[0].retracted is False


def test_amend_with_full_re_review_clears_votes(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    press_in(stack, "U0BILLLEAD", stack.parent(rid), ids.AMEND)
    stack.slack.wait_for(lambda: stack.slack.open_views("U0BILLLEAD"))
    stack.people.submit_view("U0BILLLEAD", {"full_review": ["full"]})
    stack.settle()
    assert [v.retracted for v in stack.all(Vote)] == [True]
    diff = next(m for m in stack.slack.thread(CHANNEL, stack.parent(rid).ts) if "amended" in texts(m))
    assert set(diff.mentions) >= {"<@U0LEGAL1>", "<@U0LEGAL2>", "<@U0SUP1>"}


def test_reminders_go_only_to_those_who_owe_an_answer_in_their_working_hours(stack: Stack) -> None:
    stack.slack.add_user("U0SUP1", "Sam (Support, New York)", tz="America/New_York")
    rid = stack.file()                                    # Monday 10:00 in Oslo
    stack.press("U0LEGAL1", rid, ids.APPROVE)             # Legal has answered
    assert stack.sweep(local(0, 15)).reminders == 0       # too soon: one working day first
    report = stack.sweep(local(1, 10))                    # Tuesday 10:00 Oslo = 04:00 in New York
    assert report.reminders == 0
    report = stack.sweep(local(1, 16))                    # 10:00 in New York
    assert report.reminders == 1
    reminders = dms_to(stack, "U0SUP1", "still outstanding")
    assert len(reminders) == 1 and action_ids(reminders[0])[:3] == [ids.APPROVE, ids.OBJECT, ids.ABSTAIN]
    assert dms_to(stack, "U0LEGAL1", "Reminder") == [] and dms_to(stack, "U0LEGAL2", "Reminder") == []
    assert stack.sweep(local(1, 20)).reminders == 0       # same day: at most one a day
    # The reminder's buttons work: the vote counts.
    press_in(stack, "U0SUP1", reminders[0], ids.APPROVE)
    assert stack.request(rid).status is Status.APPROVED
    assert stack.sweep(local(2, 16)).reminders == 0       # nobody owes anything now


def test_closing_soon_reminder_comes_once_before_the_deadline(stack: Stack) -> None:
    rid = stack.file(magnitude="minor")                   # minor: due in 3 working days, Thursday 17:00
    assert stack.request(rid).due_at == local(3, 17)
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.sweep(local(2, 9))
    stack.sweep(local(3, 9))                              # within 24 h of the deadline
    closing = dms_to(stack, "U0SUP1", "Closing soon")
    assert len(closing) == 1
    # The closing-soon notice joins Thursday's one DM: a DM a day, the last one marked.
    assert len(dms_to(stack, "U0SUP1", "Reminder")) == 2
    assert stack.count(DailyReminder, DailyReminder.user_id == "U0SUP1") == 2
    assert [r.kind for r in stack.all(Reminder, order_by=Reminder.id)] == ["closing"]
    stack.sweep(local(3, 15))
    assert len(dms_to(stack, "U0SUP1", "Reminder")) == 2


def test_deadline_escalates_to_the_leads_then_the_chair_who_decides(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    assert stack.request(rid).due_at == local(9, 17)
    stack.sweep(local(9, 16))
    assert stack.request(rid).status is Status.OPEN
    report = stack.sweep(local(10, 9))
    assert report.escalations == 1 and stack.request(rid).status is Status.ESCALATED
    assert dms_to(stack, "U0SUPLEAD", "escalated to you") and dms_to(stack, "U0BILLLEAD", "For your information")
    assert "Escalated to the leads of *Support* (Billing's leads have a copy): the deadline passed with Support " \
        "still outstanding" in [m.text for m in stack.slack.thread(CHANNEL, stack.parent(rid).ts)][-1]
    assert stack.sweep(local(11, 9)).escalations == 0   # one working day later: not yet
    assert stack.sweep(local(14, 9)).escalations == 1   # two working days later: the chair
    chair_dm = dms_to(stack, "U0CHAIR", "escalated to you")[-1]
    assert action_ids(chair_dm) == [ids.DECIDE_APPROVE, ids.DECIDE_REJECT]
    assert [(e.step, e.target) for e in stack.all(Escalation, order_by=Escalation.step)] == [(1, "leads"), (2, "chair")]

    press_in(stack, "U0CHAIR", chair_dm, ids.DECIDE_APPROVE)
    stack.slack.wait_for(lambda: stack.slack.open_views("U0CHAIR"))
    stack.people.submit_view("U0CHAIR", {"note": "Support had a week; the change is low risk"})
    stack.settle()
    request = stack.request(rid)
    assert request.status is Status.APPROVED
    decided = stack.all(AuditEvent, AuditEvent.kind == "decided")[-1]
    assert decided.actor == "U0CHAIR" and decided.data["outstanding"] == ["support"]
    assert "low risk" in decided.data["rationale"]
    assert action_ids(stack.slack.message(chair_dm.channel, chair_dm.ts)) == [], "the chair's buttons go"
    thread = stack.slack.thread(CHANNEL, stack.parent(rid).ts)
    assert any("The council chair <@U0CHAIR> approved" in m.text for m in thread)


def test_chair_rejection_records_the_dissent(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.load_council(COUNCIL_FILE.read_text() + "\n[escalation]\nladder = [\"chair\"]\n")
    stack.sweep(local(10, 9))
    chair_decides(stack, ids.DECIDE_REJECT, "Not before the pricing review")
    assert stack.request(rid).status is Status.REJECTED
    decided = stack.all(AuditEvent, AuditEvent.kind == "decided")[-1]
    assert decided.data["dissent"] == [{"user": "U0LEGAL1", "department": "legal", "reason": "approved"}]
    assert "rejected" in texts(dms_to(stack, "U0BILLLEAD", "rejected")[-1])


def test_objection_standing_too_long_escalates(stack: Stack) -> None:
    rid = stack.file()
    object_(stack, "U0SUP1", rid, "No")
    assert stack.sweep(local(4, 10)).escalations == 0     # 4 working days
    assert stack.sweep(local(7, 10)).escalations == 1     # 5 working days
    assert "blocking objection has stood for 5 working days" in stack.all(Escalation)[0].reason


def test_expiry_without_escalation_then_reopen(stack: Stack) -> None:
    stack.load_council(COUNCIL_FILE.read_text() + "\n[escalation]\nladder = []\n")
    rid = stack.file()
    stack.sweep(local(10, 9))
    assert stack.request(rid).status is Status.EXPIRED
    assert dms_to(stack, "U0BILLLEAD", "expired")
    assert action_ids(stack.parent(rid)) == [ids.REOPEN, ids.VIEW_RECORD]
    press_in(stack, "U0LEGAL1", stack.parent(rid), ids.REOPEN)
    assert stack.request(rid).status is Status.EXPIRED
    press_in(stack, "U0BILLLEAD", stack.parent(rid), ids.REOPEN)
    request = stack.request(rid)
    assert request.status is Status.OPEN and request.due_at > local(10, 9)


def test_substitute_votes_on_behalf_of_an_away_advocate_and_gets_the_reminders(stack: Stack) -> None:
    bad = stack.people.slash_command("U0SUP1", "/cx-review", f"away {stack.people.at('U0LEGAL1')} until {day(31)}")
    assert "Pick a lead or advocate of Support" in bad.json()["text"]
    ok = stack.people.slash_command("U0SUP1", "/cx-review", f"away @sue until {day(31)}")
    assert "<@U0SUPLEAD> answers for you" in ok.json()["text"]
    rid = stack.file()
    assert "<@U0SUPLEAD>" in stack.prompt(rid).mentions and "<@U0SUP1>" not in stack.prompt(rid).mentions
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.sweep(local(1, 10))
    assert dms_to(stack, "U0SUPLEAD", "you answer for <@U0SUP1>") and not dms_to(stack, "U0SUP1", "Reminder")
    stack.press("U0SUPLEAD", rid, ids.APPROVE)
    stack.settle()
    assert stack.request(rid).status is Status.APPROVED
    vote = stack.all(Vote, Vote.user_id == "U0SUPLEAD")[0]
    assert vote.on_behalf_of == "U0SUP1" and vote.kind is VoteKind.APPROVE
    event = stack.all(AuditEvent, AuditEvent.actor == "U0SUPLEAD", AuditEvent.kind == "voted")[0]
    assert event.data["on_behalf_of"] == "U0SUP1"
    assert "approved by <@U0SUPLEAD> (for <@U0SUP1>)" in texts(stack.parent(rid))
    back = stack.people.slash_command("U0SUP1", "/cx-review", "back")
    assert "Welcome back" in back.json()["text"]


def test_hold_pauses_the_department_then_lapses(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    due = stack.request(rid).due_at
    prompt = stack.prompt(rid)
    stack.people.choose_overflow("U0SUP1", channel=CHANNEL, ts=prompt.ts, action_id=ids.MORE,
                                 option_value=f"{ids.MORE_HOLD}:{rid}")
    view = stack.slack.wait_for(lambda: (stack.slack.open_views("U0SUP1") or [None])[-1])
    days = next(b for b in view["blocks"] if b.get("block_id") == "days")
    assert [o["value"] for o in days["element"]["options"]] == ["1", "2", "3"]
    stack.people.submit_view("U0SUP1", {"note": "Waiting for the refund numbers", "days": "2"})
    stack.settle()
    request = stack.request(rid)
    assert request.status is Status.ON_HOLD
    assert request.due_at > due
    assert "on hold until" in texts(stack.parent(rid))
    assert stack.sweep(local(1, 10)).reminders == 0       # Support is on hold: no reminder
    report = stack.sweep(local(2, 17, 30))                # the hold ran out at Wednesday 17:00
    assert report.holds_lapsed == 1
    assert stack.request(rid).status is Status.OPEN
    assert any("hold has lapsed" in m.text for m in stack.slack.thread(CHANNEL, stack.parent(rid).ts))
    assert stack.sweep(local(3, 10)).reminders == 1


def test_status_command(stack: Stack) -> None:
    rid = stack.file()
    result = stack.people.slash_command("U0LEGAL2", "/cx-review", f"status {rid}")
    body = result.json()
    assert body["response_type"] == "ephemeral" and "waiting for *Legal*, *Support*" in json.dumps(body["blocks"])
    assert "no CX review #99" in stack.people.slash_command("U0LEGAL2", "/cx-review", "status 99").json()["text"]
    assert "Usage" in stack.people.slash_command("U0LEGAL2", "/cx-review", "status x").json()["text"]
    refused = stack.people.slash_command("U0OUTSIDER", "/cx-review", f"status {rid}").json()
    assert "Only council members" in refused["text"] and "blocks" not in refused


def test_two_sweep_processes_started_together_send_each_reminder_once(stack: Stack, database_url: str) -> None:
    """`cxbot sweep --now …` twice at once against one database: every reminder exactly once."""
    import subprocess
    import sys

    from tests.harness import BOT_TOKEN, process_env

    requests = [stack.file(title=f"Change {n}") for n in range(8)]
    stack.press("U0LEGAL1", requests[0], ids.APPROVE)     # Legal answered the first one
    listed = 3 * len(requests) - 2                        # Legal's two advocates owe nothing on the first
    expected = 3                                          # one DM a person, listing what they owe
    env = process_env(CXBOT_DATABASE_URL=database_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                      CXBOT_SLACK_API_URL=stack.slack.url, CXBOT_LOG_LEVEL="WARNING")
    now = local(1, 10).isoformat()
    procs = [subprocess.Popen([sys.executable, "-m", "cxbot", "sweep", "--now", now], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    stack.clock.set(local(1, 10))
    stack.settle()
    reminders = [m for user in ("U0LEGAL1", "U0LEGAL2", "U0SUP1") for m in dms_to(stack, user, "Reminder")]
    assert len(reminders) == expected
    claims = stack.all(DailyReminder)
    assert len(claims) == expected and sum(len(listed_ids(c.listed)) for c in claims) == listed
    assert stack.count(Reminder) == 0
    sent = sum(int(out.split(": ")[1].split(" reminder")[0]) for out, _ in outputs)
    assert sent == expected, outputs


TWO_APPROVALS = COUNCIL_FILE.read_text() + "\n[policies.major]\napprovals = 2\n"


def test_a_reopened_request_escalates_again(stack: Stack) -> None:
    rid = stack.file()
    stack.sweep(local(10, 9))
    assert stack.request(rid).status is Status.ESCALATED
    press_in(stack, "U0BILLLEAD", stack.parent(rid), ids.WITHDRAW)
    press_in(stack, "U0BILLLEAD", stack.parent(rid), ids.REOPEN)
    request = stack.request(rid)
    assert (request.status, request.escalation_step) == (Status.OPEN, 0)
    assert stack.sweep(request.due_at.astimezone(OSLO).replace(hour=23)).escalations == 1
    assert stack.request(rid).status is Status.ESCALATED


def test_amending_keeps_the_deadline_a_reopen_gave(stack: Stack) -> None:
    stack.load_council(COUNCIL_FILE.read_text() + "\n[escalation]\nladder = []\n")
    rid = stack.file()
    stack.sweep(local(10, 9))
    stack.clock.set(local(14, 9))
    press_in(stack, "U0BILLLEAD", stack.parent(rid), ids.REOPEN)
    due = stack.request(rid).due_at
    press_in(stack, "U0BILLLEAD", stack.parent(rid), ids.AMEND)
    stack.slack.wait_for(lambda: stack.slack.open_views("U0BILLLEAD"))
    stack.people.submit_view("U0BILLLEAD", {"title": "Clearer title", "decision_by": day(38).isoformat()})
    stack.settle()
    assert stack.request(rid).due_at == due
    assert stack.sweep(local(15, 9)).expired == 0


def test_an_away_advocate_and_their_substitute_hold_one_seat(stack: Stack) -> None:
    stack.load_council(TWO_APPROVALS)
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.people.slash_command("U0LEGAL1", "/cx-review", f"away {stack.people.at('U0LEGALLEAD')} until {day(31)}")
    stack.press("U0LEGAL1", rid, ids.ABSTAIN)             # away: the vote has passed to the substitute
    stack.settle()
    assert "answers for you while you are away" in stack.slack.ephemerals("U0LEGAL1")[-1].text
    stack.press("U0LEGALLEAD", rid, ids.APPROVE)          # the substitute, for U0LEGAL1's seat
    stack.settle()
    assert stack.all(Vote, Vote.user_id == "U0LEGALLEAD")[0].on_behalf_of == "U0LEGAL1"
    parent = texts(stack.parent(rid))
    assert "waiting for *Legal*, *Support*" in parent, "two approvals in one seat are still one"


def test_one_approval_is_enough_where_a_department_has_one_advocate(stack: Stack) -> None:
    stack.load_council(TWO_APPROVALS)
    rid = stack.file()
    stack.press("U0SUP1", rid, ids.APPROVE)
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.settle()
    assert "waiting for *Legal*" in texts(stack.parent(rid))   # Legal has two advocates: needs both
    stack.press("U0LEGAL2", rid, ids.APPROVE)
    stack.settle()
    assert stack.request(rid).status is Status.APPROVED


def test_sending_an_overruled_objection_again_changes_nothing(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    object_(stack, "U0SUP1", rid, "Too risky")
    note = objection_note(stack, rid)
    press_in(stack, "U0CHAIR", note, ids.OVERRULE)
    stack.slack.wait_for(lambda: stack.slack.open_views("U0CHAIR"))
    stack.people.submit_view("U0CHAIR", {"note": "Covered"})
    stack.settle()
    assert stack.request(rid).status is Status.APPROVED
    rid2 = stack.file(title="Another")
    object_(stack, "U0SUP1", rid2, "Too risky")
    note2 = objection_note(stack, rid2)
    press_in(stack, "U0CHAIR", note2, ids.OVERRULE)
    stack.slack.wait_for(lambda: stack.slack.open_views("U0CHAIR"))
    stack.people.submit_view("U0CHAIR", {"note": "Covered"})
    stack.settle()
    object_(stack, "U0SUP1", rid2, "Too risky")            # the same objection again
    assert stack.all(Vote, Vote.request_id == rid2)[0].resolution == "overruled"
    assert stack.request(rid2).status is not Status.CHANGES_REQUESTED


def hold(stack: Stack, user: str, request_id: int, days: str = "2") -> dict:  # type: ignore[type-arg]
    prompt = stack.prompt(request_id)
    stack.people.choose_overflow(user, channel=CHANNEL, ts=prompt.ts, action_id=ids.MORE,
                                 option_value=f"{ids.MORE_HOLD}:{request_id}")
    stack.settle()
    if not stack.slack.open_views(user):
        return {"refused": stack.slack.ephemerals(user)[-1].text}
    result = stack.people.submit_view(user, {"note": "Need the numbers", "days": days}).json() or {}
    stack.settle()
    return result


def test_holds_only_for_outstanding_departments_once_and_in_working_days(stack: Stack) -> None:
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.settle()
    assert "already answered" in hold(stack, "U0LEGAL2", rid)["refused"]
    due = stack.request(rid).due_at
    assert hold(stack, "U0SUP1", rid, "2") == {}
    assert stack.request(rid).due_at == local(11, 17)   # Wednesday + 2 working days: Friday 17:00
    assert due == local(9, 17)
    stack.sweep(local(3, 17, 30))                               # the hold lapses
    assert "already had its hold" in hold(stack, "U0SUP1", rid)["refused"]


def test_withdrawing_ends_holds(stack: Stack) -> None:
    rid = stack.file()
    hold(stack, "U0SUP1", rid)
    press_in(stack, "U0BILLLEAD", stack.parent(rid), ids.WITHDRAW)
    press_in(stack, "U0BILLLEAD", stack.parent(rid), ids.REOPEN)
    assert stack.request(rid).status is Status.OPEN
    assert "on hold" not in texts(stack.parent(rid))


def test_reminders_skip_those_who_voted_and_closing_soon_stops_at_the_deadline(stack: Stack) -> None:
    stack.load_council(TWO_APPROVALS)
    rid = stack.file()
    stack.press("U0LEGAL1", rid, ids.APPROVE)              # Legal still owes a second approval
    stack.sweep(local(1, 10))
    assert dms_to(stack, "U0LEGAL2", "Reminder") and not dms_to(stack, "U0LEGAL1", "Reminder")
    stack.sweep(local(10, 10))                      # after the deadline: no "closing soon"
    assert not dms_to(stack, "U0LEGAL2", "Closing soon")
    assert stack.count(Reminder, Reminder.kind == "closing") == 0
