"""The message shortcut *Review with CX council*: a change discussed anywhere in Slack is filed
from where it was discussed. It opens the filing form with the message's text as the start of
the description and its permalink as the request's link; who may file is the same as for
`/cx-review` (leads and advocates, for their own department), and a refusal reaches the person the
same way, ephemerally where they used the shortcut.

The name in the ⋯ menu is "Review with CX council": Slack allows a shortcut's name 24 characters.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App

from cxbot.domain.model import SUMMARY_MAX
from cxbot.i18n import Translator
from cxbot.services import people
from cxbot.services.context import Services
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.modals import Source
from cxbot.slack.listeners.commands import filing_view
from cxbot.slack.replies import AfterAck, Respond, answers_errors
from cxbot.slack.text import clip_plain, plain_text

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def register(app: App, cx: Services, after: AfterAck) -> None:
    @app.shortcut(ids.REVIEW_MESSAGE)
    @answers_errors(after)
    def review_message(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user, channel = body["user"]["id"], (body.get("channel") or {}).get("id", "")
        message = body.get("message") or {}
        ts, text = str(message.get("ts") or body.get("message_ts") or ""), str(message.get("text") or "")

        def build(tr: Translator) -> dict[str, Any] | Respond:
            names = {u: k.name for u, k in people.known(cx.sessions, set(_MENTION.findall(text))).items() if k.name}
            source = Source(summary=clip_plain(plain_text(text, names), SUMMARY_MAX),
                            link=after.permalink(channel, ts) if channel and ts else "")
            return filing_view(cx, user, tr, source=source)

        after.open_form(trigger_id=body["trigger_id"], user=user, build=build, response_url=body["response_url"])
