"""`/cx-review`: opens the filing modal; `help` (and anything unknown) answers with the usage;
`list`, `mine` and `search` are answered by cxbot.slack.listeners.finding.

Every answer is in the language of the person who typed the command (cxbot.slack.languages),
read from the database: a modal after the acknowledgement, an ephemeral answer before it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App

from cxbot.domain.identifiers import parse_id
from cxbot.i18n import LANGUAGES, Translator
from cxbot.services import filing, people, requests, substitutes
from cxbot.services.context import Services
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.modals import (
    Source,
    away_modal,
    away_saved_text,
    chosen,
    council_choice,
    new_filing_view,
    prefilled,
)
from cxbot.slack.blocks.request import VOTE_BUTTONS, status_message
from cxbot.slack.languages import translator_for, translators_for
from cxbot.slack.listeners import finding
from cxbot.slack.replies import AfterAck, Respond, answers_errors
from cxbot.slack.text import escape, unescape

COMMAND = "/cx-review"
AUTO = "auto"


def help_text(tr: Translator, channel: Translator | None = None) -> str:
    """The usage, in the reader's language; the vote buttons are named as the council channel
    shows them, in the channel's language (`channel`), not necessarily the reader's."""
    buttons = {name: (channel or tr).text(label) for name, label in VOTE_BUTTONS.items()}
    return tr.gettext("""*cxbot — the Customer-Experience council*
• `{command}` — file a proposed change for review by the other departments (opens a form).
• `{command} status 12` — where request #12 stands.
• `{command} list` — the open requests of your council, newest first (`{command} list 2`: the next page).
• `{command} mine` — what waits on your answer, and the requests you filed.
• `{command} search invoice fee` — requests whose title, description, objections or comments hold these words.
• `{command} away` — a colleague from your department answers for you while you are away (opens a form; \
or `{command} away @colleague until 2026-12-24`); `{command} back` ends it.
• `{command} language nb` — the language cxbot speaks with you: `en`, `nb` or `de`; `auto` follows \
the council's language, else your Slack language.
• `{command} help` — this message.
Advocates vote with the buttons in the request's thread in the council channel: *{approve}*, \
*{object}* (with a reason) or *{abstain}*; the ⋯ menu adds a condition or note, or retracts a vote. \
Replies in the thread are recorded as comments.""").format(command=COMMAND, **buttons)


def register(app: App, cx: Services, after: AfterAck) -> None:
    @app.action(re.compile(f"^{ids.FILE_IN_COUNCIL}\\d+$"))
    @answers_errors(after)
    def file_in_council(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A council picked from the question (or *File a request* on the Home tab): its filing
        form, opened with this press's trigger."""
        ack()
        user, (council, source) = body["user"]["id"], chosen(str(action.get("value") or ""))
        after.open_form(trigger_id=body["trigger_id"], user=user,
                        build=lambda tr: filing_view(cx, user, tr, council, source),
                        response_url=body.get("response_url"))

    @app.command(COMMAND)
    @answers_errors(after)
    def cx_review(ack: Ack, body: dict[str, Any], command: dict[str, Any]) -> None:
        words = (command.get("text") or "").split()
        user = command["user_id"]
        if not words:
            open_filing_modal(cx, after, ack, command)
            return
        head = words[0].lower()
        if head == "away" and len(words) == 1:
            open_away_modal(cx, after, ack, command)
            return
        if head == "language":
            ack(response_type="ephemeral", text=language_reply(cx, user, words[1:]))
            return
        tr, channel = translators_for(cx, user)
        if head == "help":
            ack(response_type="ephemeral", text=help_text(tr, channel))
        elif head in finding.WORDS:
            rest = (command.get("text") or "").strip().split(None, 1)[1:]
            finding.answer(cx, after, ack, command, head, rest[0] if rest else "", tr)
        elif head == "status":
            ack(response_type="ephemeral", **status_reply(cx, user, words[1:], tr))
        elif head == "away":
            ack(response_type="ephemeral", text=away_reply(cx, user, command.get("text") or "", tr))
        elif head == "back":
            ended = substitutes.set_back(cx.uow(), actor=user, clock=cx.clock)
            ack(response_type="ephemeral", text=tr.gettext("Welcome back: you answer for yourself again.") if ended
                else tr.gettext("You had no substitute standing in for you."))
        else:
            unknown = tr.gettext("I don't know `{word}`.").format(word=escape(unescape(words[0])))
            ack(response_type="ephemeral", text=f"{unknown}\n\n{help_text(tr, channel)}")


def language_reply(cx: Services, user: str, words: list[str]) -> str:
    """`language nb|en|de|auto`: store the person's own language (auto: none) and answer in
    the language they get now; anything else lists the languages, in their current one."""
    choice = words[0].lower() if len(words) == 1 else None
    if choice is not None and (choice in LANGUAGES or choice == AUTO):
        people.choose_language(cx.uow(), user, None if choice == AUTO else choice, clock=cx.clock)
        tr = translator_for(cx, user)
        name = tr.language_name(tr.language)
        if choice == AUTO:
            return tr.gettext("cxbot now follows the council's language, else your Slack language: {language} "
                              "for now.").format(language=name)
        return tr.gettext("cxbot speaks {language} with you from now on. `{command} language auto` follows the "
                          "council's language, else your Slack language, again.").format(language=name,
                                                                                          command=COMMAND)
    tr = translator_for(cx, user)
    listed = ", ".join(f"`{code}` {tr.language_name(code)}" for code in LANGUAGES)
    languages = tr.gettext("cxbot speaks {languages}. Choose one with `{command} language nb`; `{command} language "
                           "auto` follows the council's language, else your Slack language.").format(
        languages=listed, command=COMMAND)
    if words:
        unknown = tr.gettext("cxbot does not speak `{word}`.").format(word=escape(unescape(" ".join(words))))
        return f"{unknown} {languages}"
    return languages


def away_usage(tr: Translator) -> str:
    return tr.gettext("Usage: `{command} away @colleague until 2026-12-24` (pick the colleague from the list Slack "
                      "offers as you type @), or `{command} away` alone to choose them in a form.").format(
        command=COMMAND)


# Slack escapes a person picked from its list as `<@U123|name>` (or `<@U123>`; `W…` on Enterprise Grid).
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
AWAY = re.compile(r"^away\s+(?P<who>.+?)\s+until\s+(?P<until>\S+)$", re.IGNORECASE | re.DOTALL)


def away_reply(cx: Services, user: str, text: str, tr: Translator) -> str:
    """`away @user until YYYY-MM-DD`: name a substitute from your department."""
    parsed = AWAY.match(text.strip())
    if parsed is None:
        return away_usage(tr)
    who, raw_until = parsed["who"].strip(), parsed["until"]
    picked = MENTION.match(who)
    if picked is None:
        return tr.gettext("I can't tell who `{who}` is: Slack sent the name as typed, not the person. Type @ and "
                          "pick your colleague from the list Slack offers, or type `{command} away` alone to choose "
                          "them in a form.").format(who=escape(unescape(who)), command=COMMAND)
    try:
        until = date.fromisoformat(raw_until)
    except ValueError:
        return tr.gettext("`{text}` is not a date like 2026-12-24. {usage}").format(
            text=escape(unescape(raw_until)), usage=away_usage(tr))
    row = substitutes.set_away(cx.uow(), actor=user, substitute=picked[1], until=until, clock=cx.clock)
    return away_saved_text(substitute=row.substitute, until=row.until, command=COMMAND, tr=tr)


def open_away_modal(cx: Services, after: AfterAck, ack: Ack, command: dict[str, Any]) -> None:
    """`away` alone: the form with Slack's user picker, so nobody has to type a mention."""
    ack()

    def build(tr: Translator) -> dict[str, Any]:
        form = substitutes.away_form(cx.reader(), actor=command["user_id"], clock=cx.clock)
        return away_modal(department=form.department, default_until=form.today + timedelta(days=7),
                          tr=tr).to_dict()

    after.open_form(trigger_id=command["trigger_id"], user=command["user_id"], build=build,
                    response_url=command["response_url"])


def status_reply(cx: Services, user: str, words: list[str], tr: Translator) -> dict[str, Any]:
    """`status <id>`: where a request stands, only for the person asking. A number that cannot
    be a request's is answered with the usage, before any query."""
    request_id = parse_id(words[0].removeprefix("#")) if len(words) == 1 else None
    if request_id is None:
        return {"text": tr.gettext("Usage: `{command} status 12` (the number in the request's title).").format(
            command=COMMAND)}
    view = requests.status(cx.reader(), actor=user, request_id=request_id, clock=cx.clock)
    text, blocks = status_message(view, tr)
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


def open_filing_modal(cx: Services, after: AfterAck, ack: Ack, command: dict[str, Any]) -> None:
    """Acknowledge at once, then read what the person may file for, and their language, and
    open the modal while the trigger is fresh (or tell them, ephemerally, why they may not
    file). Nothing is recorded, so nothing needs to be read before Slack is answered. Someone
    who files in several councils is asked which first, with a button per council."""
    ack()
    user = command["user_id"]
    after.open_form(trigger_id=command["trigger_id"], user=user, build=lambda tr: filing_view(cx, user, tr),
                    response_url=command["response_url"])



def filing_view(cx: Services, user: str, tr: Translator, council: str | None = None,
                source: Source | None = None) -> dict[str, Any] | Respond:
    """The filing modal of `council` (or of the only council the person files in), or the
    question which council, as an ephemeral message with a button each; filled in from the
    message it is filed from (`source`), if any."""
    form = filing.filing_form(cx.glance, user, council)
    if isinstance(form, filing.CouncilChoice):
        return Respond(*council_choice(form.councils, tr, source))
    today = cx.clock.now().astimezone(ZoneInfo(form.timezone)).date()
    view = new_filing_view(tuple(form.departments), tuple(form.stages), today + timedelta(days=7), tr.language,
                           form.council, form.moments)
    return prefilled(view, source) if source is not None else view
