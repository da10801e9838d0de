"""`/cx-review`: opens the filing modal; `help` (and anything unknown) answers with the usage."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App

from cxbot.domain.identifiers import parse_id
from cxbot.services import filing, requests, substitutes
from cxbot.services.context import Services
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.modals import away_modal, away_saved_text, council_choice, new_filing_view
from cxbot.slack.blocks.request import status_message
from cxbot.slack.replies import AfterAck, Respond, answers_errors
from cxbot.slack.text import escape, unescape

COMMAND = "/cx-review"

HELP = f"""*cxbot — the Customer-Experience council*
• `{COMMAND}` — file a proposed change for review by the other departments (opens a form).
• `{COMMAND} status 12` — where request #12 stands.
• `{COMMAND} away` — a colleague from your department answers for you while you are away (opens a form; \
or `{COMMAND} away @colleague until 2026-12-24`); `{COMMAND} back` ends it.
• `{COMMAND} help` — this message.
Advocates vote with the buttons in the request's thread in the council channel: *Approve*, \
*Object…* (with a reason) or *Abstain*; the ⋯ menu adds a condition or note, or retracts a vote. \
Replies in the thread are recorded as comments."""


def register(app: App, cx: Services, after: AfterAck) -> None:
    @app.action(re.compile(f"^{ids.FILE_IN_COUNCIL}\\d+$"))
    @answers_errors(after)
    def file_in_council(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A council picked from the question: its filing form, opened with this press's trigger."""
        ack()
        user, council = body["user"]["id"], str(action.get("value") or "")
        after.open_form(trigger_id=body["trigger_id"], build=lambda: filing_view(cx, user, council),
                        response_url=body["response_url"])

    @app.command(COMMAND)
    @answers_errors(after)
    def cx_review(ack: Ack, body: dict[str, Any], command: dict[str, Any]) -> None:
        words = (command.get("text") or "").split()
        if not words:
            open_filing_modal(cx, after, ack, command)
        elif words[0].lower() == "help":
            ack(response_type="ephemeral", text=HELP)
        elif words[0].lower() == "status":
            ack(response_type="ephemeral", **status_reply(cx, command["user_id"], words[1:]))
        elif words[0].lower() == "away" and len(words) == 1:
            open_away_modal(cx, after, ack, command)
        elif words[0].lower() == "away":
            ack(response_type="ephemeral", text=away_reply(cx, command["user_id"], command.get("text") or ""))
        elif words[0].lower() == "back":
            ended = substitutes.set_back(cx.uow(), actor=command["user_id"], clock=cx.clock)
            ack(response_type="ephemeral", text="Welcome back: you answer for yourself again." if ended
                else "You had no substitute standing in for you.")
        else:
            ack(response_type="ephemeral", text=f"I don't know `{escape(unescape(words[0]))}`.\n\n{HELP}")


AWAY_USAGE = (f"Usage: `{COMMAND} away @colleague until 2026-12-24` (pick the colleague from the list Slack "
              f"offers as you type @), or `{COMMAND} away` alone to choose them in a form.")
# Slack escapes a person picked from its list as `<@U123|name>` (or `<@U123>`; `W…` on Enterprise Grid).
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
AWAY = re.compile(r"^away\s+(?P<who>.+?)\s+until\s+(?P<until>\S+)$", re.IGNORECASE | re.DOTALL)


def away_reply(cx: Services, user: str, text: str) -> str:
    """`away @user until YYYY-MM-DD`: name a substitute from your department."""
    parsed = AWAY.match(text.strip())
    if parsed is None:
        return AWAY_USAGE
    who, raw_until = parsed["who"].strip(), parsed["until"]
    picked = MENTION.match(who)
    if picked is None:
        return (f"I can't tell who `{escape(unescape(who))}` is: Slack sent the name as typed, not the person. "
                f"Type @ and pick your colleague from the list Slack offers, or type `{COMMAND} away` alone to "
                f"choose them in a form.")
    try:
        until = date.fromisoformat(raw_until)
    except ValueError:
        return f"`{escape(unescape(raw_until))}` is not a date like 2026-12-24. {AWAY_USAGE}"
    row = substitutes.set_away(cx.uow(), actor=user, substitute=picked[1], until=until, clock=cx.clock)
    return away_saved_text(substitute=row.substitute, until=row.until, command=COMMAND)


def open_away_modal(cx: Services, after: AfterAck, ack: Ack, command: dict[str, Any]) -> None:
    """`away` alone: the form with Slack's user picker, so nobody has to type a mention."""
    ack()

    def build() -> dict[str, Any]:
        form = substitutes.away_form(cx.reader(), actor=command["user_id"], clock=cx.clock)
        return away_modal(department=form.department, default_until=form.today + timedelta(days=7)).to_dict()

    after.open_form(trigger_id=command["trigger_id"], build=build, response_url=command["response_url"])


def status_reply(cx: Services, user: str, words: list[str]) -> dict[str, Any]:
    """`status <id>`: where a request stands, only for the person asking. A number that cannot
    be a request's is answered with the usage, before any query."""
    request_id = parse_id(words[0].removeprefix("#")) if len(words) == 1 else None
    if request_id is None:
        return {"text": f"Usage: `{COMMAND} status 12` (the number in the request's title)."}
    view = requests.status(cx.reader(), actor=user, request_id=request_id, clock=cx.clock)
    text, blocks = status_message(view)
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


def open_filing_modal(cx: Services, after: AfterAck, ack: Ack, command: dict[str, Any]) -> None:
    """Acknowledge at once, then read what the person may file for and open the modal while
    the trigger is fresh (or tell them, ephemerally, why they may not file). Nothing is
    recorded, so nothing needs to be read before Slack is answered. Someone who files in
    several councils is asked which first, with a button per council (`open_council_form`)."""
    ack()
    after.open_form(trigger_id=command["trigger_id"], build=lambda: filing_view(cx, command["user_id"]),
                    response_url=command["response_url"])


def filing_view(cx: Services, user: str, council: str | None = None) -> dict[str, Any] | Respond:
    """The filing modal of `council` (or of the only council the person files in), or the
    question which council, as an ephemeral message with a button each."""
    form = filing.filing_form(cx.glance, user, council)
    if isinstance(form, filing.CouncilChoice):
        return Respond(*council_choice(form.councils))
    today = cx.clock.now().astimezone(ZoneInfo(form.timezone)).date()
    return new_filing_view(tuple(form.departments), tuple(form.stages), today + timedelta(days=7), form.council)
