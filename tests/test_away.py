"""`/cx-review away`: naming a substitute with the text Slack sends (`should_escape: true`
turns a person picked from Slack's list into `<@U…|name>`), or in a form with a user picker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cxbot.slack.blocks import ids
from cxbot.store.models import Substitute
from tests.harness import START, Stack, today


def away(stack: Stack, user: str, text: str) -> str:
    result = stack.people.slash_command(user, "/cx-review", text)
    assert result.status == 200, result.body
    return result.json()["text"]  # type: ignore[no-any-return]


def test_away_accepts_escaped_mentions_and_explains_plain_names(stack: Stack) -> None:
    until = today() + timedelta(days=7)

    told = away(stack, "U0LEGAL1", f"away @olivia until {until.isoformat()}")  # nobody's handle
    assert "I can't tell who `@olivia` is" in told and "pick your colleague from the list" in told
    assert "`/cx-review away` alone" in told and stack.count(Substitute) == 0

    assert away(stack, "U0LEGAL1", f"away {stack.people.at('U0LEGAL2')} until {until.isoformat()}") == (
        f"Until {until:%a %d %b %Y}, <@U0LEGAL2> answers for you: reviews, reminders and votes go to them. "
        "`/cx-review back` ends it early.")
    assert away(stack, "U0SUP1", f"away {stack.people.at('U0SUPLEAD')} until {until.isoformat()}").startswith("Until ")
    assert {(s.advocate, s.substitute, s.until) for s in stack.all(Substitute)} == {
        ("U0LEGAL1", "U0LEGAL2", until), ("U0SUP1", "U0SUPLEAD", until)}

    # Text that is not a mention is repeated escaped once: Slack has already escaped `&`, `<`, `>`.
    assert "`&lt;!here&gt;`" in away(stack, "U0LEGAL1", f"away @here until {until.isoformat()}")
    told = away(stack, "U0LEGAL1", f"away Liv & Lars until {until.isoformat()}")
    assert "`Liv &amp; Lars`" in told and "&amp;amp;" not in told


def open_away_form(stack: Stack, user: str) -> dict[str, Any]:
    assert stack.people.slash_command(user, "/cx-review", "away").status == 200
    return stack.slack.wait_for(lambda: (stack.slack.open_views(user) or [None])[-1])


def test_away_alone_opens_a_form_that_checks_department_and_date(stack: Stack) -> None:
    view = open_away_form(stack, "U0LEGAL1")
    assert view["callback_id"] == ids.AWAY_VIEW
    elements = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert elements["substitute"]["type"] == "users_select"
    assert elements["until"] == {"type": "datepicker", "action_id": "value",
                                 "initial_date": (today() + timedelta(days=7)).isoformat()}
    assert "*Legal*" in view["blocks"][0]["text"]["text"]

    # Slack's picker offers everyone: a colleague from another department is refused on the field.
    later = (today() + timedelta(days=10)).isoformat()
    refused = stack.people.submit_view("U0LEGAL1", {"substitute": "U0SUP1", "until": later})
    assert refused.json() == {"response_action": "errors", "errors": {
        "substitute": "Pick a lead or advocate of Legal: only they can answer for you."}}

    # 23:30 UTC is already the next day in Oslo: the UTC date is in the past in the council's zone.
    stack.clock.set(START.replace(hour=23, minute=30))
    refused = stack.people.submit_view("U0LEGAL1", {"substitute": "U0LEGAL2", "until": today().isoformat()})
    errors = refused.json()["errors"]
    assert list(errors) == ["until"] and errors["until"].startswith("That date is in the past")
    assert f"{today() + timedelta(days=1):%a %d %b %Y}" in errors["until"]
    assert stack.count(Substitute) == 0 and stack.slack.open_views("U0LEGAL1")

    saved = stack.people.submit_view("U0LEGAL1", {"substitute": "U0LEGAL2", "until": later})
    assert saved.json()["response_action"] == "update"
    [row] = stack.all(Substitute)
    assert (row.advocate, row.substitute, row.until.isoformat()) == ("U0LEGAL1", "U0LEGAL2", later)
    [done] = stack.slack.open_views("U0LEGAL1")
    assert "<@U0LEGAL2> answers for you" in done["blocks"][0]["text"]["text"]


def test_only_advocates_get_the_away_form(stack: Stack) -> None:
    stack.people.slash_command("U0OUTSIDER", "/cx-review", "away")
    told = stack.slack.wait_for(lambda: stack.slack.ephemerals("U0OUTSIDER"))
    assert told[-1].text == "Only council advocates name a substitute."
    assert not stack.slack.open_views("U0OUTSIDER")


def test_a_mention_is_read_with_or_without_the_name_slack_may_add() -> None:
    """Slack sends a picked person as `<@U…|name>`, or `<@U…>` alone (older clients, Grid's `W…`)."""
    from cxbot.slack.listeners.commands import MENTION

    assert [m.group(1) if (m := MENTION.match(t)) else None for t in (
        "<@U0LEGAL2|liv>", "<@U0LEGAL2>", "<@W0LEGAL2|will>", "@liv", "&lt;@U0LEGAL2&gt;", "<!here>")] == [
        "U0LEGAL2", "U0LEGAL2", "W0LEGAL2", None, None, None]
