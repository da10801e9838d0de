"""Events API: replies in a request's thread become comments."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from cxbot.services.comments import ThreadReply, record_reply
from cxbot.services.context import Services
from cxbot.slack.replies import AfterAck, answers_errors

# Edits, deletions, joins and bot posts are not comments.
IGNORED_SUBTYPES = {"message_changed", "message_deleted", "bot_message", "channel_join", "channel_leave",
                    "thread_broadcast_deleted", "message_replied"}


def register(app: App, cx: Services, after: AfterAck) -> None:
    @app.event("message")
    @answers_errors(after)
    def on_message(ack: Ack, body: dict[str, Any], event: dict[str, Any]) -> None:
        """Recorded before the acknowledgement, so a lost comment is retried by Slack."""
        if (event.get("subtype") in IGNORED_SUBTYPES or event.get("bot_id") or not event.get("thread_ts")
                or not event.get("user") or event.get("thread_ts") == event.get("ts")):
            ack()
            return
        record_reply(cx.uow(), ThreadReply(
            event_id=body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}",
            user=event["user"], channel=event.get("channel", ""), thread_ts=event["thread_ts"],
            ts=event.get("ts", ""), text=event.get("text") or "",
        ), clock=cx.clock)
        ack()
