"""The authorization matrix: every action × every council role, over signed HTTP.

Each cell is one test case that files its own fresh request(s) through the UI; the cells of
one action share a running stack (council, emulator, database), which keeps the module quick.
An allowed cell performs the action and checks it took effect (the row, the audit event, the
status). A refused cell checks that the person is told why where they acted (an ephemeral
message for a button, the slash command's reply, a field error on a form, the CLI's output)
and that *nothing* was recorded: every row of every table the council keeps is the same
before and after, and no Slack message was queued.
Where an action goes through a form, the refused person also submits the form someone
allowed had opened (as a stale or forged submission would): the server must refuse at
submission too, not only when the button is pressed.

The council of every case is `tests/council.toml` plus a second Billing lead, U0BILLLEAD2,
and U0SUP1 (Support's advocate) is away with U0SUPLEAD (Support's lead) answering for them.
Requests are filed by U0BILLLEAD for Billing, so Legal and Support are asked.

Roles:

| role              | who                                                       |
| ----------------- | --------------------------------------------------------- |
| `filer`           | U0BILLLEAD, the Billing lead who filed                    |
| `filing_lead`     | U0BILLLEAD2, another lead of the filing department        |
| `routed_advocate` | U0LEGAL1, an advocate of a department asked (Legal)       |
| `filing_advocate` | U0BILL1, the filing department's own advocate             |
| `substitute`      | U0SUPLEAD, standing in for the away U0SUP1 (Support)      |
| `chair`           | U0CHAIR                                                   |
| `admin`           | U0ADMIN                                                   |
| `outsider`        | U0OUTSIDER, not in the council                            |
| `operator`        | whoever runs `python -m cxbot` against the database (CLI) |

The rules, from the README and `cxbot/domain/permissions.py`, and where both are silent what a
council would expect:

- *file*: leads and advocates, each for their own department (the substitute files as
  Support's lead). The chair and admins hold no department, so they cannot file; the
  outsider is told to ask the chair.
- *vote*, *change vote* (Abstain after Approve), *hold*: only active advocates of a
  department asked, or a substitute standing in for one; never the filer, the filing
  department's own advocate or leads, the chair, an admin or an outsider. (The chair acts by
  overruling and deciding, not by voting; admins have no say in outcomes.)
- *resolve*: only the author of the objection. For the two roles who can object the objection
  is their own (the substitute's is raised on U0SUP1's behalf); for everyone else it is
  U0LEGAL1's. The chair overrules instead; the filer cannot declare an objection met.
- *amend*: the filer, or another current lead of the filing department (the department
  speaks for its change; tests/test_standing.py covers a filer who has left it).
- *withdraw*: only the filer (withdrawing only stops work, so it needs no standing).
- *reopen*: the filer, another current lead of the filing department, or the chair.
- *chair decision* (Approve…/Reject… in the chair's escalation DM) and *overrule*: only the
  chair, not admins. The escalation first reaches the leads of the departments that owe an
  answer (the filing department's leads get a copy); neither DM carries decision buttons.
- *council load* and *digest send*: operator actions on the CLI, for anyone with the CLI and
  the database; no Slack user has a way to do either (`/cx-review` does not know them). A
  digest is sent once a week: a second `digest send` says it was sent and sends nothing
  (exit 0, as the concurrent-send test in test_digest.py expects); `--force` sends it again.

Beyond the matrix, four cases look at standing that lapses or no longer applies (each found
a hole, since fixed): resolving an objection counts as its department's
approval, so it should need the standing a vote needs (a substitute after `/cx-review back`,
an advocate removed from the council, an advocate away while a substitute answers for them
may not vote, and should not resolve either); and the chair decides a request escalated to
the chair, not one a withdraw and reopen put back under review.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cxbot.domain.model import Status, VoteKind
from cxbot.sandbox.client import view_state_values
from cxbot.services import notices
from cxbot.slack.blocks import ids
from cxbot.store.db import make_engine
from cxbot.store.models import AuditEvent, Base, Department, DigestSend, Hold, Membership, ReviewRequest, Vote
from tests.conftest import BACKENDS, empty_database
from tests.harness import (
    BOT_TOKEN,
    CHANNEL,
    COUNCIL_FILE,
    START,
    Stack,
    day,
    filing_values,
    iso_week,
    local,
    process_env,
    running_stack,
)

ROLES = {
    "filer": "U0BILLLEAD",
    "filing_lead": "U0BILLLEAD2",
    "routed_advocate": "U0LEGAL1",
    "filing_advocate": "U0BILL1",
    "substitute": "U0SUPLEAD",
    "chair": "U0CHAIR",
    "admin": "U0ADMIN",
    "outsider": "U0OUTSIDER",
}
FILER = ROLES["filer"]
AWAY = "U0SUP1"                       # the advocate the substitute stands in for
OPERATOR = "operator"                 # the CLI: not a Slack user

Y, N = True, False
# action             filer  filing_lead  routed_adv  filing_adv  substitute  chair  admin  outsider
MATRIX_ROWS: dict[str, tuple[bool, ...]] = {
    "file":           (Y,     Y,           Y,          Y,          Y,          N,     N,     N),
    "vote":           (N,     N,           Y,          N,          Y,          N,     N,     N),
    "change_vote":    (N,     N,           Y,          N,          Y,          N,     N,     N),
    "resolve":        (N,     N,           Y,          N,          Y,          N,     N,     N),
    "amend":          (Y,     Y,           N,          N,          N,          N,     N,     N),
    "withdraw":       (Y,     N,           N,          N,          N,          N,     N,     N),
    "reopen":         (Y,     Y,           N,          N,          N,          Y,     N,     N),
    "chair_decision": (N,     N,           N,          N,          N,          Y,     N,     N),
    "overrule":       (N,     N,           N,          N,          N,          Y,     N,     N),
    "hold":           (N,     N,           Y,          N,          Y,          N,     N,     N),
    "council_load":   (N,     N,           N,          N,          N,          N,     N,     N),
    "digest_send":    (N,     N,           N,          N,          N,          N,     N,     N),
}
MATRIX: dict[tuple[str, str], bool] = {
    (action, role): allowed
    for action, row in MATRIX_ROWS.items() for role, allowed in zip(ROLES, row, strict=True)
}
# Operator actions: anyone with the CLI and the database.
MATRIX[("council_load", OPERATOR)] = True
MATRIX[("digest_send", OPERATOR)] = True

# Cells where cxbot is known to do the wrong thing, (action, role) -> what goes wrong: marked
# xfail(strict=True) so a fix shows. None today.
HOLES: dict[tuple[str, str], str] = {}

DEPARTMENT_OF = {"filer": "billing", "filing_lead": "billing", "routed_advocate": "legal",
                 "filing_advocate": "billing", "substitute": "support"}
ON_BEHALF_OF = {"substitute": AWAY}

# What a refused voter is told (vote, change vote, hold).
VOTE_REFUSAL = {"filer": "You filed this request, so you can't vote on it",
                "filing_advocate": "Your department filed this request"}
VOTE_REFUSAL_OTHERS = "Only council advocates of the departments asked to review can vote"

COUNCIL = COUNCIL_FILE.read_text().replace('leads = ["U0BILLLEAD"]', 'leads = ["U0BILLLEAD", "U0BILLLEAD2"]', 1)
assert COUNCIL != COUNCIL_FILE.read_text(), "tests/council.toml changed: add the second Billing lead another way"


# --- the stack -------------------------------------------------------------------------

def prepare(stack: Stack) -> Stack:
    """The council of every case: a second Billing lead, and U0SUP1 away with U0SUPLEAD for them."""
    stack.slack.add_user(ROLES["filing_lead"], "bill", real_name="Bill (second Billing lead)")
    stack.slack.invite(CHANNEL, ROLES["filing_lead"])
    stack.load_council(COUNCIL)
    typed = f"away {stack.people.at(ROLES['substitute'])} until {day(31)}"
    away = stack.people.slash_command(AWAY, "/cx-review", typed)
    assert f"<@{ROLES['substitute']}> answers for you" in away.json()["text"]
    return stack


class RowStacks:
    """One running cxbot at a time, per action and database: the cells of a row share it, each
    filing its own requests (starting a hundred stacks took longer than the cells themselves).
    A key of its own gives a test a stack of its own."""

    def __init__(self, databases: dict[str, Any], tmp: Path) -> None:
        self._databases, self._tmp = databases, tmp
        self._key: tuple[str, str] | None = None
        self._exits = ExitStack()
        self.stack: Stack | None = None
        self.url = ""

    def get(self, backend: str, action: str) -> Stack:
        if self._key != (backend, action):
            self.close()
            if backend == "sqlite":
                path = self._tmp / f"{action}.db"
                shutil.copy(self._databases["sqlite"], path)
                self.url = f"sqlite:///{path}"
            else:
                self.url = self._databases["postgresql"]
                empty_database(self.url)
            engine = make_engine(self.url)
            self._exits.callback(engine.dispose)
            self.stack = prepare(self._exits.enter_context(running_stack(self.url, engine)))
            self._key = (backend, action)
        assert self.stack is not None
        return self.stack

    def close(self) -> None:
        stack, self.stack, self._key = self.stack, None, None
        try:
            self._exits.close()
        finally:
            self._exits = ExitStack()
        if stack is not None:
            assert not stack.slack.problems, stack.slack.problems


@pytest.fixture(scope="module")
def rows(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RowStacks]:
    databases = {backend: request.getfixturevalue("sqlite_template" if backend == "sqlite" else "postgres_database")
                 for backend in BACKENDS}
    stacks = RowStacks(databases, tmp_path_factory.mktemp("rows"))
    try:
        yield stacks
    finally:
        stacks.close()


@pytest.fixture
def stack(rows: RowStacks, backend: str, request: pytest.FixtureRequest) -> Stack:
    """A stack of its own, for the cases beyond the matrix (they change substitutes and the council)."""
    return rows.get(backend, request.node.name)


@dataclass
class Case:
    stack: Stack
    database_url: str
    tmp_path: Path
    action: str
    role: str
    allowed: bool

    @property
    def user(self) -> str:
        return ROLES[self.role]


# --- what a person sees, and what the database holds ------------------------------------


def action_ids(message: Any) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def dms_to(stack: Stack, user: str, containing: str) -> list[Any]:
    return [m for m in stack.slack.dms(user) if containing in m.text]


# The tables a refused action is most likely to touch, named first when one changes.
RECORDS = ["review_requests", "votes", "holds", "audit_events"]
# Delivery's own bookkeeping, written while queued messages go out: where they landed, the
# lanes' leases, a cache of Slack profiles. Not the council's records, and it may change at any
# time, so it is left out; the outbox counts by what was queued, not how far delivery got.
DELIVERY = {"slack_messages", "outbox_lanes", "people"}
DELIVERY_COLUMNS = {"review_requests": ("applied_press_id",),
                    "daily_reminders": ("channel", "ts", "content_hash")}
QUEUED = ("id", "lane", "kind", "payload")


def snapshot(stack: Stack) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the council keeps, and every Slack message queued."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with stack.runtime.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in DELIVERY:
                continue
            # A press's journal mark (cxbot.store.journal) says it was answered, not that it counted;
            # where a day's reminder DM was posted, and what it last showed, is delivery, not record.
            stmt = select(*[c for c in table.c if c.name not in DELIVERY_COLUMNS.get(table.name, ())])
            if table.name == "outbox":
                # An ephemeral answer to the person refused is the refusal itself, not a record.
                stmt = select(*[table.c[c] for c in QUEUED]).where(table.c.kind != notices.EPHEMERAL)
            rows[table.name] = [tuple(r) for r in conn.execute(stmt.order_by(*table.primary_key.columns))]
    return rows


@contextmanager
def records_nothing(stack: Stack) -> Iterator[None]:
    """The block records nothing: no vote, hold, amendment, decision, audit event or change of
    status, and no Slack message queued but the refusal. A use case commits before Slack is
    answered, and the helpers wait for a vote button's press to be applied, so what a refused
    action had recorded is in the database when the block ends."""
    before = snapshot(stack)
    yield
    after = snapshot(stack)
    changed = sorted((table for table in before if before[table] != after[table]),
                     key=lambda t: (t not in RECORDS, RECORDS.index(t) if t in RECORDS else 0, t))
    details = "\n".join(f"  {table}: now {[r for r in after[table] if r not in before[table]]}, "
                         f"was {[r for r in before[table] if r not in after[table]]}" for table in changed)
    assert not changed, f"a refused action changed the database, in {', '.join(changed)}:\n{details}"


def close_forms(stack: Stack) -> None:
    """Everyone closes the forms an earlier cell of the row left open."""
    for user in [*ROLES.values(), AWAY]:
        while stack.slack.open_views(user):
            stack.slack.close_view(user)


def events(stack: Stack, request_id: int, actor: str) -> list[AuditEvent]:
    return stack.all(AuditEvent, AuditEvent.request_id == request_id, AuditEvent.actor == actor,
                     order_by=AuditEvent.id)


def press(stack: Stack, user: str, message: Any, action_id: str) -> None:
    result = stack.people.press_button(user, channel=message.channel, ts=message.ts, action_id=action_id)
    assert result.status == 200, result.body
    stack.applied()


def choose_hold(stack: Stack, user: str, request_id: int) -> None:
    prompt = stack.prompt(request_id)
    result = stack.people.choose_overflow(user, channel=CHANNEL, ts=prompt.ts, action_id=ids.MORE,
                                          option_value=f"{ids.MORE_HOLD}:{request_id}")
    assert result.status == 200, result.body


def modal_of(stack: Stack, user: str, callback_id: str) -> dict[str, Any]:
    view: dict[str, Any] = stack.slack.wait_for(lambda: next(reversed(stack.slack.open_views(user)), {}))
    assert view["callback_id"] == callback_id, view["callback_id"]
    return view


def submit(stack: Stack, user: str, values: dict[str, Any]) -> None:
    result = stack.people.submit_view(user, values)
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body


def refused_ephemerally(stack: Stack, user: str, act: Callable[[], Any], reason: str) -> None:
    """`act` (a button or menu) is answered with an ephemeral `reason` for `user`, and no form opens.

    A press forged on a message in a conversation `user` is not in (another person's DM) is
    refused too, but Slack shows nobody an ephemeral there (`user_not_in_channel`): then the
    bot's attempt to tell them is what there is to check."""
    seen = len(stack.slack.ephemerals(user))
    tried = len(stack.slack.calls("chat.postEphemeral"))

    def attempts() -> list[Any]:
        return [c for c in stack.slack.calls("chat.postEphemeral")[tried:] if c.params.get("user") == user]

    with records_nothing(stack):
        act()
    stack.slack.wait_for(lambda: stack.slack.ephemerals(user)[seen:] or stack.slack.open_views(user) or attempts())
    assert stack.slack.open_views(user) == [], "a refused person got a form"
    told = stack.slack.ephemerals(user)[seen:]
    if not told:
        [attempt] = attempts()
        assert attempt.error == "user_not_in_channel" and not stack.slack.is_member(attempt.params["channel"], user)
        told = [attempt.params]
    text = told[-1]["text"] if isinstance(told[-1], dict) else told[-1].text
    assert reason in text, text


def refused_on_the_form(stack: Stack, user: str, view: dict[str, Any], values: dict[str, Any],
                        reason: str) -> None:
    """`user` submits a form someone allowed had opened: refused with a field error."""
    with records_nothing(stack):
        result = stack.people.submit_view_raw(user, view, view_state_values(view, values))
    assert result.status == 200, result.body
    body = result.json() or {}
    assert body.get("response_action") == "errors", f"the form was accepted: {body}"
    assert any(reason in error for error in body["errors"].values()), body


def withdrawn(stack: Stack, request_id: int) -> Any:
    """The filer withdraws the request; returns its parent message once it offers Reopen."""
    press(stack, FILER, stack.parent(request_id), ids.WITHDRAW)
    assert stack.request(request_id).status is Status.WITHDRAWN
    return stack.slack.wait_for(lambda: next(
        (p for p in [stack.parent(request_id)] if ids.REOPEN in action_ids(p)), None))


def object_(stack: Stack, user: str, request_id: int, reason: str) -> Any:
    """`user` raises a blocking objection; returns its note in the thread."""
    stack.press(user, request_id, ids.OBJECT)
    modal_of(stack, user, ids.VOTE_VIEW)
    submit(stack, user, {"note": reason, "severity": "blocking"})
    parent = stack.parent(request_id)
    return stack.slack.wait_for(lambda: next((
        m for m in stack.slack.thread(CHANNEL, parent.ts)
        if f"<@{user}>" in json.dumps(m.blocks) and ids.RESOLVE in action_ids(m)), None))


def cli(case: Case, *args: str) -> subprocess.CompletedProcess[str]:
    env = process_env(CXBOT_DATABASE_URL=case.database_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                      CXBOT_SLACK_API_URL=case.stack.slack.url, CXBOT_LOG_LEVEL="WARNING")
    return subprocess.run([sys.executable, "-m", "cxbot", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def no_slack_command(case: Case, text: str) -> None:
    """A Slack user asks `/cx-review` for an operator action: it is not one of its commands."""
    stack, word = case.stack, text.split()[0]
    with records_nothing(stack):
        reply = stack.people.slash_command(case.user, "/cx-review", text)
        assert reply.status == 200, reply.body
        answer = reply.json()["text"]
        assert answer.startswith(f"I don't know `{word}`"), answer
    usage = stack.people.slash_command(case.user, "/cx-review", "help").json()["text"]
    assert f"/cx-review {word}" not in usage, "the usage offers an operator action to Slack users"
    assert stack.slack.open_views(case.user) == []


# --- the actions ----------------------------------------------------------------------------

def file_(case: Case) -> None:
    stack, user = case.stack, case.user
    if case.allowed:
        rid = stack.file(user)
        with stack.session() as s:
            request = s.get(ReviewRequest, rid)
            assert request is not None
            assert (request.filer, request.department.key, request.status) == (
                user, DEPARTMENT_OF[case.role], Status.OPEN)
            assert DEPARTMENT_OF[case.role] not in [r.department.key for r in request.routings]
        assert [e.kind for e in events(stack, rid, user)] == ["filed"]
        return
    view = stack.open_filing_modal(FILER)    # a form someone allowed opened, for the submission
    with records_nothing(stack):
        seen = len(stack.slack.ephemerals(user))
        assert stack.people.slash_command(user, "/cx-review", "").status == 200
        text = stack.slack.wait_for(lambda: stack.slack.ephemerals(user)[seen:])[-1].text
        assert "Only department leads and council advocates can file" in text and "<@U0CHAIR>" in text, text
        refused_on_the_form(stack, user, view, filing_values(), "Only department leads and council advocates")
    assert stack.slack.open_views(user) == []


def vote(case: Case) -> None:
    stack, user = case.stack, case.user
    rid = stack.file()
    if case.allowed:
        stack.press(user, rid, ids.APPROVE)
        assert [(v.user_id, v.kind, v.on_behalf_of) for v in stack.all(Vote, Vote.request_id == rid)] == [
            (user, VoteKind.APPROVE, ON_BEHALF_OF.get(case.role))]
        assert [e.kind for e in events(stack, rid, user)] == ["voted"]
        return
    with records_nothing(stack):
        refused_ephemerally(stack, user, lambda: stack.press(user, rid, ids.APPROVE),
                            VOTE_REFUSAL.get(case.role, VOTE_REFUSAL_OTHERS))


def change_vote(case: Case) -> None:
    stack, user = case.stack, case.user
    rid = stack.file()
    if case.allowed:
        stack.press(user, rid, ids.APPROVE)
        stack.press(user, rid, ids.ABSTAIN)
        assert [(v.user_id, v.kind, v.on_behalf_of) for v in stack.all(Vote, Vote.request_id == rid)] == [
            (user, VoteKind.ABSTAIN, ON_BEHALF_OF.get(case.role))]
        changes = events(stack, rid, user)
        assert [e.kind for e in changes] == ["voted", "vote_changed"]
        assert changes[-1].data["previous"]["kind"] == VoteKind.APPROVE.value
        return
    stack.press("U0LEGAL2", rid, ids.APPROVE)             # a vote on the request, not theirs
    reason = VOTE_REFUSAL.get(case.role, VOTE_REFUSAL_OTHERS)
    with records_nothing(stack):
        refused_ephemerally(stack, user, lambda: stack.press(user, rid, ids.APPROVE), reason)
        refused_ephemerally(stack, user, lambda: stack.press(user, rid, ids.ABSTAIN), reason)


def resolve(case: Case) -> None:
    stack, user = case.stack, case.user
    rid = stack.file()
    objector = user if case.allowed else ROLES["routed_advocate"]
    note = object_(stack, objector, rid, "Refunds are not covered")
    assert stack.request(rid).status is Status.CHANGES_REQUESTED
    if case.allowed:
        press(stack, user, note, ids.RESOLVE)
        objection = stack.all(Vote, Vote.request_id == rid, Vote.user_id == user)[0]
        assert (objection.resolution, objection.resolved_by, objection.on_behalf_of) == (
            "resolved", user, ON_BEHALF_OF.get(case.role))
        assert events(stack, rid, user)[-1].kind == "objection_resolved"
        assert stack.request(rid).status is Status.OPEN     # the other department is still outstanding
        return
    with records_nothing(stack):
        refused_ephemerally(stack, user, lambda: press(stack, user, note, ids.RESOLVE),
                            "Only the advocate who raised this objection can resolve it")


def amend(case: Case) -> None:
    stack, user = case.stack, case.user
    rid = stack.file()
    parent = stack.parent(rid)
    if case.allowed:
        press(stack, user, parent, ids.AMEND)
        modal_of(stack, user, ids.AMEND_VIEW)
        submit(stack, user, {"title": "Annual plans get a fee, refunds pro rata"})
        request = stack.request(rid)
        assert (request.version, request.title) == (2, "Annual plans get a fee, refunds pro rata")
        assert events(stack, rid, user)[-1].kind == "amended"
        return
    press(stack, FILER, parent, ids.AMEND)
    view = modal_of(stack, FILER, ids.AMEND_VIEW)
    reason = "Only the person who filed this request, or a lead of its department, can amend it"
    with records_nothing(stack):
        refused_ephemerally(stack, user, lambda: press(stack, user, parent, ids.AMEND), reason)
        refused_on_the_form(stack, user, view, {"title": "Hijacked title"}, reason)


def withdraw(case: Case) -> None:
    stack, user = case.stack, case.user
    rid = stack.file()
    parent = stack.parent(rid)
    if case.allowed:
        press(stack, user, parent, ids.WITHDRAW)
        assert stack.request(rid).status is Status.WITHDRAWN
        assert events(stack, rid, user)[-1].kind == "withdrawn"
        return
    with records_nothing(stack):
        refused_ephemerally(stack, user, lambda: press(stack, user, parent, ids.WITHDRAW),
                            "Only the person who filed this request can withdraw it")


def reopen(case: Case) -> None:
    stack, user = case.stack, case.user
    rid = stack.file()
    parent = withdrawn(stack, rid)
    if case.allowed:
        press(stack, user, parent, ids.REOPEN)
        assert stack.request(rid).status is Status.OPEN
        assert events(stack, rid, user)[-1].kind == "reopened"
        return
    with records_nothing(stack):
        refused_ephemerally(stack, user, lambda: press(stack, user, parent, ids.REOPEN),
                            "Only the person who filed this request, a lead of its department, or the council chair "
                            "can reopen it")


def chair_decision(case: Case) -> None:
    stack, user = case.stack, case.user
    rid = stack.file()
    stack.sweep(local(10, 9))           # due, nobody answered: to Legal's and Support's leads, Billing's in copy
    for lead, words in (("U0LEGALLEAD", "is escalated to you"), ("U0SUPLEAD", "is escalated to you"),
                        (FILER, "For your information"), (ROLES["filing_lead"], "For your information")):
        told = [m for m in dms_to(stack, lead, f"CX review #{rid}") if "escalated" in m.text]
        assert told and all(words in m.text for m in told), (lead, [m.text for m in told])
        assert all(action_ids(m) == [] for m in told), "the leads chase; they do not decide"
    stack.sweep(local(14, 9))           # two working days later: the chair
    assert stack.request(rid).status is Status.ESCALATED
    chair_dm = dms_to(stack, ROLES["chair"], f"CX review #{rid} is escalated to you")[-1]
    assert action_ids(chair_dm) == [ids.DECIDE_APPROVE, ids.DECIDE_REJECT]
    if case.allowed:
        press(stack, user, chair_dm, ids.DECIDE_APPROVE)
        modal_of(stack, user, ids.DECIDE_VIEW)
        submit(stack, user, {"note": "Two weeks were enough; the change is low risk"})
        assert stack.request(rid).status is Status.APPROVED
        decided = events(stack, rid, user)[-1]
        assert decided.kind == "decided" and decided.data["by_chair"] is True
        return
    press(stack, ROLES["chair"], chair_dm, ids.DECIDE_REJECT)
    view = modal_of(stack, ROLES["chair"], ids.DECIDE_VIEW)
    reason = "Only the council chair can do this"
    with records_nothing(stack):
        refused_ephemerally(stack, user, lambda: press(stack, user, chair_dm, ids.DECIDE_APPROVE), reason)
        refused_ephemerally(stack, user, lambda: press(stack, user, chair_dm, ids.DECIDE_REJECT), reason)
        refused_on_the_form(stack, user, view, {"note": "Not now"}, reason)


def overrule(case: Case) -> None:
    stack, user = case.stack, case.user
    rid = stack.file()
    objector = ROLES["routed_advocate"]
    note = object_(stack, objector, rid, "Too risky")
    if case.allowed:
        press(stack, user, note, ids.OVERRULE)
        modal_of(stack, user, ids.OVERRULE_VIEW)
        submit(stack, user, {"note": "Legal's concern is covered by the FAQ update"})
        objection = stack.all(Vote, Vote.request_id == rid, Vote.user_id == objector)[0]
        assert (objection.resolution, objection.resolved_by) == ("overruled", user)
        assert events(stack, rid, user)[-1].kind == "objection_overruled"
        assert stack.request(rid).status is Status.OPEN     # Support is still outstanding
        return
    press(stack, ROLES["chair"], note, ids.OVERRULE)
    view = modal_of(stack, ROLES["chair"], ids.OVERRULE_VIEW)
    reason = "Only the council chair can do this"
    with records_nothing(stack):
        refused_ephemerally(stack, user, lambda: press(stack, user, note, ids.OVERRULE), reason)
        refused_on_the_form(stack, user, view, {"note": "Overruled by me"}, reason)


def hold(case: Case) -> None:
    stack, user = case.stack, case.user
    rid = stack.file()
    if case.allowed:
        choose_hold(stack, user, rid)
        modal_of(stack, user, ids.HOLD_VIEW)
        submit(stack, user, {"note": "Waiting for the refund numbers", "days": "2"})
        holds = stack.all(Hold, Hold.request_id == rid)
        assert [h.user_id for h in holds] == [user]
        with stack.session() as s:
            department = s.scalar(select(Department.key).where(Department.id == holds[0].department_id))
        assert department == {"routed_advocate": "legal"}.get(case.role, "support")
        assert stack.request(rid).status is Status.ON_HOLD
        assert events(stack, rid, user)[-1].kind == "hold_placed"
        return
    advocate = ROLES["routed_advocate"]
    choose_hold(stack, advocate, rid)
    view = modal_of(stack, advocate, ids.HOLD_VIEW)
    reason = VOTE_REFUSAL.get(case.role, VOTE_REFUSAL_OTHERS)
    with records_nothing(stack):
        refused_ephemerally(stack, user, lambda: choose_hold(stack, user, rid), reason)
        refused_on_the_form(stack, user, view, {"note": "Stalling", "days": "3"}, reason)


def council_load(case: Case) -> None:
    stack = case.stack
    if case.role != OPERATOR:
        no_slack_command(case, "council load tests/council.toml")
        return
    path = case.tmp_path / "council.toml"
    path.write_text(COUNCIL.replace('advocates = ["U0LEGAL1", "U0LEGAL2"]',
                                    'advocates = ["U0LEGAL1", "U0LEGAL2", "U0LEGAL3"]', 1))
    result = cli(case, "council", "load", str(path))
    assert result.returncode == 0, result.stderr
    assert "advocate U0LEGAL3 of legal added" in result.stdout, result.stdout
    assert [m.active for m in stack.all(Membership, Membership.user_id == "U0LEGAL3")] == [True]
    assert stack.all(AuditEvent, order_by=AuditEvent.id)[-1].kind == "council_loaded"


def digest_send(case: Case) -> None:
    stack = case.stack
    if case.role != OPERATOR:
        no_slack_command(case, "digest send")
        return
    stack.file(title="Dunning letters")
    week = iso_week()
    first = cli(case, "digest", "send", "--week", week)
    assert (first.returncode, first.stdout.strip()) == (0, f"sent the digest of {week}"), first
    stack.settle()
    assert len(dms_to(stack, ROLES["chair"], week)) == 1
    with records_nothing(stack):
        again = cli(case, "digest", "send", "--week", week)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == f"the digest of {week} was already sent; --force sends it again"
    assert len(dms_to(stack, ROLES["chair"], week)) == 1
    forced = cli(case, "digest", "send", "--week", week, "--force")
    assert (forced.returncode, forced.stdout.strip()) == (0, f"sent the digest of {week}"), forced
    stack.settle()
    assert len(dms_to(stack, ROLES["chair"], week)) == 2
    assert [d.forced for d in stack.all(DigestSend)] == [True]


ACTIONS: dict[str, Callable[[Case], None]] = {
    "file": file_, "vote": vote, "change_vote": change_vote, "resolve": resolve, "amend": amend,
    "withdraw": withdraw, "reopen": reopen, "chair_decision": chair_decision, "overrule": overrule,
    "hold": hold, "council_load": council_load, "digest_send": digest_send,
}
assert set(ACTIONS) == set(MATRIX_ROWS)


def _cells() -> list[Any]:
    return [
        pytest.param(action, role, id=f"{action}-{role}-{'allowed' if allowed else 'refused'}",
                     marks=[pytest.mark.xfail(strict=True, reason=HOLES[(action, role)])]
                     if (action, role) in HOLES else [])
        for (action, role), allowed in MATRIX.items()
    ]


@pytest.mark.parametrize("action, role", _cells())
@pytest.mark.parametrize("backend", BACKENDS)
def test_authorization(rows: RowStacks, backend: str, tmp_path: Path, action: str, role: str) -> None:
    stack = rows.get(backend, action)
    stack.clock.set(START)
    close_forms(stack)
    ACTIONS[action](Case(stack, rows.url, tmp_path, action, role, MATRIX[(action, role)]))


# --- beyond the matrix: a role that has lapsed -----------------------------------------------
#
# Resolving an objection turns it into its department's approval, so it needs the same standing
# as a vote: the objection's author, while they may still answer for that department. And the
# chair decides a request escalated to the chair, not one a reopen put back under review.

def refused_anyhow(stack: Stack, user: str, act: Callable[[], Any]) -> None:
    """`act` is refused with a message for `user` (the wording is the fix's to choose)."""
    seen = len(stack.slack.ephemerals(user))
    with records_nothing(stack):
        act()
        stack.settle()
    assert stack.slack.ephemerals(user)[seen:], f"{user} was not told why nothing happened"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_former_substitute_cannot_resolve_the_objection_they_raised(stack: Stack) -> None:
    substitute = ROLES["substitute"]
    rid = stack.file()
    note = object_(stack, substitute, rid, "Refunds are not covered")
    back = stack.people.slash_command(AWAY, "/cx-review", "back")
    assert "Welcome back" in back.json()["text"]
    refused_anyhow(stack, substitute, lambda: press(stack, substitute, note, ids.RESOLVE))


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_advocate_removed_from_the_council_cannot_resolve(stack: Stack) -> None:
    advocate = ROLES["routed_advocate"]
    rid = stack.file()
    note = object_(stack, advocate, rid, "Refunds are not covered")
    stack.load_council(COUNCIL.replace('advocates = ["U0LEGAL1", "U0LEGAL2"]', 'advocates = ["U0LEGAL2"]', 1))
    refused_anyhow(stack, advocate, lambda: press(stack, advocate, note, ids.RESOLVE))


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_away_advocate_cannot_resolve_while_their_substitute_answers(stack: Stack) -> None:
    stack.people.slash_command(AWAY, "/cx-review", "back")
    rid = stack.file()
    note = object_(stack, AWAY, rid, "Refunds are not covered")
    stack.people.slash_command(AWAY, "/cx-review", f"away {stack.people.at(ROLES['substitute'])} until {day(31)}")
    refused_anyhow(stack, AWAY, lambda: press(stack, AWAY, note, ids.RESOLVE))


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_chair_cannot_decide_a_request_no_longer_escalated(stack: Stack) -> None:
    chair = ROLES["chair"]
    rid = stack.file()
    stack.sweep(local(10, 9))
    stack.sweep(local(14, 9))
    press(stack, chair, dms_to(stack, chair, "escalated to you")[-1], ids.DECIDE_REJECT)
    view = modal_of(stack, chair, ids.DECIDE_VIEW)
    press(stack, FILER, withdrawn(stack, rid), ids.REOPEN)
    request = stack.request(rid)
    assert (request.status, request.escalation_step) == (Status.OPEN, 0)
    with records_nothing(stack):
        result = stack.people.submit_view_raw(chair, view, view_state_values(view, {"note": "Not now"}))
    assert (result.json() or {}).get("response_action") == "errors", result.body
