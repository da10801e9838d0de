"""Events API: replies in a request's thread become comments; their edits and deletions
follow them. A person's new name, time zone or locale (`user_change`) is stored at once."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from cxbot.services.comments import (
    ReplyDeletion,
    ReplyEdit,
    SharedFile,
    ThreadReply,
    delete_reply,
    edit_reply,
    record_reply,
)
from cxbot.services.context import Services
from cxbot.services.people import user_changed
from cxbot.slack.people import locale_of, zone_and_name
from cxbot.slack.replies import AfterAck, answers_errors
from cxbot.slack.text import unescape

# What a person writes: plain replies, `/me` replies, replies with files, and replies also
# sent to the channel. Joins, bot posts and Slack's own notices are not comments.
COMMENT_SUBTYPES = {None, "me_message", "file_share", "thread_broadcast"}


def shared_files(message: dict[str, Any]) -> tuple[SharedFile, ...]:
    """The files of a message by name and permalink. Files Slack shows only through
    `files.info` (Slack Connect's `file_access: check_file_info`) carry neither; they are left out."""
    found = []
    for f in message.get("files") or []:
        if not isinstance(f, dict):
            continue
        name, permalink = str(f.get("name") or f.get("title") or ""), str(f.get("permalink") or "")
        if name or permalink:
            found.append(SharedFile(name=name, permalink=permalink))
    return tuple(found)


def _event_id(body: dict[str, Any], event: dict[str, Any]) -> str:
    return body.get("event_id") or f"{event.get('channel')}:{event.get('event_ts') or event.get('ts')}"


def _is_reply(message: dict[str, Any]) -> bool:
    """A person's message in a thread, not the thread's parent."""
    return (message.get("subtype") in COMMENT_SUBTYPES and not message.get("bot_id") and bool(message.get("user"))
            and bool(message.get("thread_ts")) and message.get("thread_ts") != message.get("ts"))


def register(app: App, cx: Services, after: AfterAck) -> None:
    @app.event("message")
    @answers_errors(after)
    def on_message(ack: Ack, body: dict[str, Any], event: dict[str, Any]) -> None:
        """Recorded before the acknowledgement, so a lost comment (or edit) is retried by Slack."""
        subtype, channel = event.get("subtype"), event.get("channel", "")
        if subtype == "message_changed":
            message = event.get("message") or {}
            if _is_reply(message):
                editor = (message.get("edited") or {}).get("user") or message["user"]
                edit_reply(cx.uow(), ReplyEdit(
                    event_id=_event_id(body, event), editor=editor, channel=channel, ts=message.get("ts", ""),
                    text=unescape(message.get("text") or ""), files=shared_files(message),
                ), clock=cx.clock)
        elif subtype == "message_deleted":
            if event.get("deleted_ts"):
                delete_reply(cx.uow(), ReplyDeletion(
                    event_id=_event_id(body, event), channel=channel, ts=event["deleted_ts"]), clock=cx.clock)
        elif _is_reply(event):
            record_reply(cx.uow(), ThreadReply(
                event_id=_event_id(body, event), user=event["user"], channel=channel,
                thread_ts=event["thread_ts"], ts=event.get("ts", ""), text=unescape(event.get("text") or ""),
                files=shared_files(event),
            ), clock=cx.clock)
        ack()

    @app.event("user_change")
    def on_user_change(ack: Ack, event: dict[str, Any]) -> None:
        """Stored before the acknowledgement, so a failure leaves it unacknowledged and Slack
        retries it; the event carries the whole user object, so nobody is looked up for it."""
        user = event.get("user")
        if isinstance(user, dict) and user.get("id"):
            timezone, name = zone_and_name(user)
            user_changed(cx.uow(), str(user["id"]), timezone=timezone, name=name, clock=cx.clock,
                         locale=locale_of(user))
        ack()
