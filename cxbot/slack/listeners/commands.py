"""`/cx-review`: opens the filing modal; `help` (and anything unknown) answers with the usage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App

from cxbot.services import requests
from cxbot.services.context import Services
from cxbot.slack.blocks.modals import filing_modal
from cxbot.slack.replies import AfterAck, answers_errors
from cxbot.slack.text import escape

COMMAND = "/cx-review"

HELP = f"""*cxbot — the Customer-Experience council*
• `{COMMAND}` — file a proposed change for review by the other departments (opens a form).
• `{COMMAND} help` — this message.
Advocates vote with the buttons in the request's thread in the council channel: *Approve*, \
*Object…* (with a reason) or *Abstain*; the ⋯ menu adds a condition or note, or retracts a vote. \
Replies in the thread are recorded as comments."""


def register(app: App, cx: Services, after: AfterAck) -> None:
    @app.command(COMMAND)
    @answers_errors(after)
    def cx_review(ack: Ack, body: dict[str, Any], command: dict[str, Any]) -> None:
        words = (command.get("text") or "").split()
        if not words:
            open_filing_modal(cx, after, ack, command)
        elif words[0].lower() == "help":
            ack(response_type="ephemeral", text=HELP)
        else:
            ack(response_type="ephemeral", text=f"I don't know `{escape(words[0])}`.\n\n{HELP}")


def open_filing_modal(cx: Services, after: AfterAck, ack: Ack, command: dict[str, Any]) -> None:
    """Check the person may file, acknowledge, then open the modal while the trigger is fresh."""
    form = requests.filing_form(cx.uow(), command["user_id"])
    today = cx.clock.now().astimezone(ZoneInfo(form.timezone)).date()
    ack()
    after.open_view(trigger_id=command["trigger_id"], view=filing_modal(
        departments=form.departments, stages=form.stages, default_date=today + timedelta(days=7)))
