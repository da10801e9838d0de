"""Input that once reached the database unchecked or broke the parser: ids past what any column
holds (from a command, a button, a form's private_metadata), JSON nested past Python's recursion
limit; and secrets in log lines written by exceptions."""

from __future__ import annotations

import json
import logging
import time

import pytest

from cxbot.domain.identifiers import MAX_ID, parse_id
from cxbot.logs import ContextFilter, JsonFormatter, TextFormatter
from cxbot.slack.blocks import ids
from cxbot.slack.replies import SORRY
from cxbot.store.models import AuditEvent, Vote
from tests.harness import Stack

HUGE = "99999999999999999999"
OUTSIDER_REFUSAL = "Only council members can look up requests."


def test_ids_are_ascii_digits_within_an_integer_column() -> None:
    assert [parse_id(v) for v in ("12", 12, str(MAX_ID))] == [12, 12, MAX_ID]
    assert [parse_id(v) for v in (HUGE, str(MAX_ID + 1), "0", "-3", "+3", " 3", "1_000", "١٢", "", None,
                                  True, 12.0, 10**30)] == [None] * 13


def test_status_asks_who_before_it_reads_the_request(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    """An outsider hears the same refusal whether the number names a request or names none; a
    number that could name no row is answered with the usage (as for anyone: it says nothing of
    what exists), and nothing fails on the way."""
    rid = stack.file()
    caplog.set_level(logging.WARNING)
    answers = {text: stack.people.slash_command("U0OUTSIDER", "/cx-review", text).json()["text"]
               for text in (f"status {rid}", "status 4242", f"status #{rid + 1}")}
    assert all(a.startswith(OUTSIDER_REFUSAL) for a in answers.values()), answers
    assert len(set(answers.values())) == 1
    for user in ("U0OUTSIDER", "U0LEGAL2"):
        for text in (f"status {HUGE}", f"status #{HUGE}", f"status {MAX_ID + 1}"):
            told = stack.people.slash_command(user, "/cx-review", text).json()["text"]
            assert told.startswith("Usage: `/cx-review status 12`"), (user, text, told)
    member = stack.people.slash_command("U0LEGAL2", "/cx-review", f"status {HUGE}").json()["text"]
    assert stack.people.slash_command("U0BILLLEAD", "/cx-review", f"status #{rid}").json()["text"] != member
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_buttons_and_forms_naming_no_possible_row_are_refused_before_any_query(
        stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    rid = stack.file()
    prompt = stack.prompt(rid)
    caplog.set_level(logging.WARNING)
    stack.people.press_button("U0LEGAL1", channel=prompt.channel, ts=prompt.ts, action_id=ids.APPROVE, value=HUGE)
    told = stack.slack.wait_for(lambda: stack.slack.ephemerals("U0LEGAL1"))[-1].text
    assert told == "That button does not belong to a request."

    stack.press("U0LEGAL1", rid, ids.OBJECT)                   # opens the objection form for this request
    form = stack.slack.wait_for(lambda: (stack.slack.open_views("U0LEGAL1") or [None])[-1])
    tampered = dict(form, private_metadata=json.dumps({**json.loads(form["private_metadata"]),
                                                       "request_id": int(HUGE)}))
    result = stack.people.submit_view_raw("U0LEGAL1", tampered, {"note": {"note": {
        "type": "plain_text_input", "value": "No."}}})
    errors = (result.json() or {}).get("errors") or {}
    assert result.status == 200 and "out of date" in " ".join(errors.values()), result.body
    assert SORRY.encode() not in result.body
    stack.settle()
    assert stack.count(Vote) == 0 and stack.count(AuditEvent, AuditEvent.kind == "voted") == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


@pytest.mark.parametrize("shape", ["event", "interaction"])
def test_json_nested_deeper_than_the_parser_follows_is_a_400(stack: Stack, shape: str) -> None:
    nested = "[" * 50_000 + "]" * 50_000
    if shape == "event":
        body, content_type = ('{"type": "event_callback", "event": ' + nested + "}").encode(), "application/json"
    else:
        from urllib.parse import quote

        body, content_type = ("payload=" + quote('{"type": "block_actions", "x": ' + nested + "}")).encode(), \
            "application/x-www-form-urlencoded"
    result = stack.people.post_raw(body, content_type=content_type, timestamp=str(int(time.time())))
    assert result.status == 400, result.status
    assert b"nested too deeply" in result.body


def _line(formatter: logging.Formatter, log: logging.Logger, emit: object) -> str:
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(formatter.format(record))  # type: ignore[method-assign]
    handler.addFilter(ContextFilter())
    log.addHandler(handler)
    try:
        emit()  # type: ignore[operator]
    finally:
        log.removeHandler(handler)
    return "\n".join(lines)


class Credentials:
    def __repr__(self) -> str:
        return "Credentials(token='xoxb-1234-5678-abcdef')"


@pytest.mark.parametrize("formatter", [TextFormatter("%(levelname)s %(name)s: %(message)s"), JsonFormatter()],
                         ids=["text", "json"])
def test_tokens_are_masked_in_the_finished_line(formatter: logging.Formatter) -> None:
    """Whatever carries the token — an argument that is not a string, an exception's message,
    the traceback — the line written holds no token, in either format."""
    log = logging.getLogger("cxbot.test.masking")
    log.propagate = False
    log.setLevel(logging.INFO)

    def fail() -> None:
        try:
            raise RuntimeError("Slack refused xoxp-9999-8888-secret", Credentials())
        except RuntimeError as exc:
            log.exception("delivery failed: %s", exc)
            log.warning("settings: %r, %s", Credentials(), {"app": "xapp-1-A0-secret"})

    written = _line(formatter, log, fail)
    assert "delivery failed" in written and "RuntimeError" in written
    for secret in ("xoxb-1234", "xoxp-9999", "xapp-1-A0", "secret"):
        assert secret not in written, written
