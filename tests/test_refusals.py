"""Every refusal and error a person reads is in their language; the CLI keeps English.

Use cases raise `CxError`s whose messages are `Msg`s (`N_`, `nN_`), with their parameters
(a status inside a refusal, a date, the departments to pick from) rendered in the reader's
language too. A guard scans the source for refusals written as plain strings; stories
through the Slack emulator show a person whose Slack is German read German refusals from
each place they are said (the press worker's ephemeral, a command's acknowledgement, the
`response_url` of a form that may not open), and Norwegian once they choose it.
"""

from __future__ import annotations

import ast
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from cxbot.domain.errors import already, no_request
from cxbot.domain.model import STATUS_STATES, Status
from cxbot.domain.permissions import Membership, filing_refusal
from cxbot.i18n import N_, Msg, from_data, nN_, to_data, translator
from cxbot.slack.blocks import ids
from tests.harness import Stack, day

ROOT = Path(__file__).resolve().parents[1] / "cxbot"
SCANNED = [ROOT / "services", ROOT / "domain", ROOT / "slack", ROOT / "reports", ROOT / "jobs"]
ERRORS = {"CxError", "NotAllowed", "NotFound", "Closed"}
MARKED = {"N_", "nN_"}
# A refusal stored in English on purpose: the reason a substitution ended, kept in an outbox
# payload and matched to its translation when the DM is rendered (cxbot.slack.blocks.direct).
STORED_REASONS = {"substitution_refusal"}

GERMAN = "U0LEGAL1"      # a Legal advocate whose Slack is in German
CHAIR = "U0CHAIR"        # the chair: neither lead nor advocate, so not one to file


# --- the guard -----------------------------------------------------------------------------

def _plain(node: ast.AST | None, constants: dict[str, ast.AST]) -> bool:
    """A text written for a person but not marked for translation: a string literal with
    words, an f-string or concatenation with words of its own, `"…".format(…)`, or a module
    constant that is one of those."""
    if node is None:
        return False
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and any(c.isalpha() for c in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(_plain(v, constants) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _plain(node.left, constants) or _plain(node.right, constants)
    if isinstance(node, ast.IfExp):
        return _plain(node.body, constants) or _plain(node.orelse, constants)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _plain(node.func.value, constants)
    if isinstance(node, ast.Name) and node.id in constants:
        return _plain(constants[node.id], constants)
    return False


def _name(func: ast.AST) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def unmarked(source: str, *, listener: bool = False) -> list[int]:
    """Line numbers of person-facing texts in `source` that are not `N_`/`nN_`: messages of
    the errors use cases raise, values of an InvalidInput's fields (and of the `errors` dicts
    built for one), what a `*_refusal` check returns, the `text=` of an ephemeral answer
    (a refused press's, queued), and (in a listener) the `text=` of any acknowledgement or answer."""
    tree = ast.parse(source)
    constants = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name)}
    found: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if name in ERRORS and node.args and _plain(node.args[0], constants):
                found.append(node.lineno)
            if name == "InvalidInput" and node.args and isinstance(node.args[0], ast.Dict):
                found += [v.lineno for v in node.args[0].values if _plain(v, constants)]
            if name == "ephemeral" or listener and name in ("ack", "direct", "_respond", "send"):
                found += [k.value.lineno for k in node.keywords if k.arg == "text" and _plain(k.value, constants)]
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if (isinstance(target, ast.Subscript) and _name(target.value) == "errors"
                        and _plain(node.value, constants)):
                    found.append(node.lineno)
                if isinstance(target, ast.Name) and target.id == "errors" and isinstance(node.value, ast.Dict):
                    found += [v.lineno for v in node.value.values if _plain(v, constants)]
        elif (isinstance(node, ast.FunctionDef) and node.name.endswith("_refusal")
              and node.name not in STORED_REASONS):
            found += [r.lineno for r in ast.walk(node) if isinstance(r, ast.Return) and _plain(r.value, constants)]
    return sorted(found)


def test_the_guard_finds_refusals_written_as_plain_strings() -> None:
    source = '''
SORRY = "Something broke."
LATER = N_("Try later.")
def f(request, limit):
    raise NotAllowed("Only the chair can do this.")
    raise Closed(f"This request is {request.status}.")
    raise NotFound("There is no " + str(request.id))
    raise CxError(SORRY)
    raise InvalidInput({"note": f"Keep it to {limit} characters.", "title": N_("Give it a title.")})
    errors["link"] = "Bad link."
    raise NotAllowed(N_("Only the chair can do this."))
    raise Closed(LATER)
    raise NotAllowed(refusal)
    raise InvalidInput(errors)
def vote_refusal(who):
    return "You may not vote."
def chair_refusal(who):
    return N_("Only the chair.") if who else None
def listener(ack, tr, unknown):
    ack(response_type="ephemeral", text="Unknown command.")
    ack(response_type="ephemeral", text=f"{unknown}\\n\\n{tr.gettext('Help')}")
def use_case(s, row):
    notices.ephemeral(s, 12, channel=row.channel, user=row.user_id, text="Not recorded.")
'''
    assert unmarked(source, listener=True) == [5, 6, 7, 8, 9, 10, 16, 20, 23]
    assert unmarked(source) == [5, 6, 7, 8, 9, 10, 16, 23]


def test_every_refusal_in_the_source_is_marked_for_translation() -> None:
    found = []
    for folder in SCANNED:
        for path in sorted(folder.rglob("*.py")):
            listener = path.parent.name == "listeners" or path.name == "replies.py"
            found += [f"{path.relative_to(ROOT.parent)}:{line}"
                      for line in unmarked(path.read_text(encoding="utf-8"), listener=listener)]
    assert found == [], "mark these with N_(…, name=value) or nN_ (cxbot/i18n.py)"


# --- Msg: parameters rendered for the reader, and kept through JSON -------------------------

def test_a_refusals_parameters_are_rendered_in_the_readers_language() -> None:
    refusal = already(Status.WITHDRAWN)
    assert str(refusal.message) == "This request is already withdrawn."           # the CLI's
    assert translator("de").text(refusal.message) == "Dieser Antrag ist bereits zurückgezogen."
    assert translator("nb").text(refusal.message) == "Denne saken er allerede trukket tilbake."

    past = N_("That date is in the past: today is {today} in the council's time zone.", today=date(2026, 12, 7))
    assert past == "That date is in the past: today is Mon 07 Dec 2026 in the council's time zone."
    assert translator("de").text(past) == (
        "Dieses Datum liegt in der Vergangenheit: In der Zeitzone des Rats ist heute Mo., 7. Dez. 2026.")
    pick = N_("Pick a lead or advocate of {departments}: only they can answer for you.",
              departments=["Legal", "Support"])
    assert pick == "Pick a lead or advocate of Legal or Support: only they can answer for you."
    assert translator("nb").text(pick) == ("Velg en avdelingsleder eller representant for Legal eller Support: "
                                           "bare de kan svare for deg.")


@pytest.mark.parametrize("text", [
    already(Status.EXPIRED).message, no_request(12).message, "plain text",
    nN_("A hold lasts {n} working day.", "A hold lasts 1 to {n} working days.", 5),
    N_("Pick a lead or advocate of {departments}: only they can answer for you.", departments=["A", "B"]),
    N_("That date is in the past: today is {today} in the council's time zone.", today=date(2026, 12, 7)),
])
def test_a_msg_survives_json_with_its_parameters(text: str) -> None:
    back = from_data(json.loads(json.dumps(to_data(text))))
    assert back == text and isinstance(back, Msg) is isinstance(text, Msg)
    for language in ("de", "nb"):
        assert translator(language).text(back) == translator(language).text(text)


# --- through Slack ------------------------------------------------------------------------

def command(stack: Stack, user: str, text: str) -> str:
    result = stack.people.slash_command(user, "/cx-review", text)
    assert result.status == 200, result.body
    return str((result.json() or {}).get("text", ""))


def refused_votes(stack: Stack, *users: str) -> dict[str, str]:
    """Each of `users` presses Approve on a request withdrawn a moment ago, on the vote prompt
    as their Slack still shows it (its update waits out a rate limit): the press is stored and
    acknowledged, and the press worker refuses it with an ephemeral message, which waits in
    the request's lane behind the update. What each was told."""
    request_id = stack.file()                 # by Billing's lead
    stack.slack.fail("chat.update", status=429, retry_after=30)
    stack.press("U0BILLLEAD", request_id, ids.WITHDRAW, where="parent")
    stack.settle()
    assert stack.request(request_id).status is Status.WITHDRAWN
    seen = {user: len(stack.slack.ephemerals(user)) for user in users}
    for user in users:
        stack.press(user, request_id, ids.APPROVE)
    stack.clock.set(stack.clock.now() + timedelta(seconds=31))
    stack.settle()
    assert not any(b.get("type") == "actions" for b in stack.prompt(request_id).blocks)
    return {user: str(stack.slack.wait_for(lambda u=user: stack.slack.ephemerals(u)[seen[u]:])[-1].text)
            for user in users}


def refused_filing(stack: Stack, user: str) -> str:
    """`/cx-review` by someone who may not file: told why through the command's response_url."""
    seen = len(stack.slack.ephemerals(user))
    assert command(stack, user, "") == ""
    told = stack.slack.wait_for(lambda: stack.slack.ephemerals(user)[seen:])
    assert stack.slack.open_views(user) == []
    return str(told[-1].text)


def test_a_german_slack_reads_refusals_in_german_then_in_norwegian_once_chosen(stack: Stack) -> None:
    for user in (GERMAN, CHAIR):
        stack.slack.change_user(user, locale="de-DE")
        command(stack, user, "help")          # met for the first time: looked up meanwhile
    stack.settle()

    no_votes = N_("This request is {status}: it takes no more votes.", status=STATUS_STATES[Status.WITHDRAWN])
    may_not_file = filing_refusal(Membership(user=CHAIR, roles=frozenset(), is_chair=True), CHAIR)
    assert may_not_file is not None
    not_legal = N_("Pick a lead or advocate of {departments}: only they can answer for you.", departments=["Legal"])
    past = N_("That date is in the past: today is {today} in the council's time zone.", today=day(0))

    de = translator("de")
    # (a) a vote on a withdrawn request, refused by the press worker after the acknowledgement;
    # someone whose Slack is English reads English, as the CLI does
    assert refused_votes(stack, GERMAN, "U0SUP1") == {
        GERMAN: de.text(no_votes), "U0SUP1": str(no_votes)}
    assert de.text(no_votes) == "Dieser Antrag ist zurückgezogen: Es können keine Stimmen mehr abgegeben werden."
    assert str(no_votes) == "This request is withdrawn: it takes no more votes."
    # (b) someone who is no lead (nor advocate) runs /cx-review to file
    assert refused_filing(stack, CHAIR) == de.text(may_not_file) == (
        "Nur Abteilungsleitungen und Ratsmitglieder können einen CX-Antrag einreichen. "
        "Bitte den Ratsvorsitz <@U0CHAIR>, dich in den Rat aufzunehmen.")
    # (c) an away command the council cannot take: a colleague of another department, a past day
    elsewhere = f"away {stack.people.at('U0BILL1')} until {day(5).isoformat()}"
    in_the_past = f"away {stack.people.at('U0LEGAL2')} until {day(-1).isoformat()}"
    assert command(stack, GERMAN, elsewhere) == de.text(not_legal) == (
        "Wähle eine Abteilungsleitung oder ein Ratsmitglied von Legal: Nur sie können dich vertreten.")
    assert command(stack, GERMAN, in_the_past) == de.text(past)
    assert de.date(day(0)) in de.text(past)

    for user in (GERMAN, CHAIR):
        assert command(stack, user, "language nb").startswith("Fra nå av snakker cxbot norsk bokmål med deg.")
    nb = translator("nb")
    assert refused_votes(stack, GERMAN) == {GERMAN: nb.text(no_votes)}
    assert nb.text(no_votes) == "Denne saken er trukket tilbake: den tar ikke imot flere stemmer."
    assert refused_filing(stack, CHAIR) == nb.text(may_not_file)
    assert command(stack, GERMAN, elsewhere) == nb.text(not_legal)
    assert command(stack, GERMAN, in_the_past) == nb.text(past)
