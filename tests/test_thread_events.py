"""Thread replies as Slack sends them: edits, deletions, files, `/me`, and what is no comment.

The events are built as Slack's Events API documents them (message subtypes
`message_changed`, `message_deleted`, `file_share`, `me_message`, `channel_join`,
`bot_message`), signed and posted to the served app.
"""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from cxbot.store.models import AuditEvent, Comment
from tests.harness import CHANNEL, Stack

_numbers = itertools.count(1)


def envelope(stack: Stack, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "token": stack.people.verification_token, "team_id": stack.people.team_id,
        "api_app_id": stack.people.api_app_id, "type": "event_callback",
        "event_id": f"EvTHREAD{next(_numbers):04d}{uuid.uuid4().hex[:4].upper()}",
        "event_time": int(time.time()), "event": event,
        "authorizations": [{"enterprise_id": None, "team_id": stack.people.team_id,
                            "user_id": stack.slack.bot_user_id, "is_bot": True, "is_enterprise_install": False}],
    }


def send(stack: Stack, event: dict[str, Any]) -> dict[str, Any]:
    sent = envelope(stack, dict(event, channel_type="channel", event_ts=event.get("event_ts") or event["ts"]))
    result = stack.people.send_event(sent)
    assert result.status == 200, result.body
    return sent


def reply(stack: Stack, user: str, thread_ts: str, text: str, *, channel: str = CHANNEL,
          **extra: Any) -> dict[str, Any]:
    """A reply in a thread, as its `message` event carries it."""
    message = stack.slack.record_user_message(user, channel, text, thread_ts)
    event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": message.ts,
             "thread_ts": thread_ts, **extra}
    send(stack, event)
    return event


def edited(stack: Stack, original: dict[str, Any], text: str, *, editor: str | None = None,
           **changes: Any) -> dict[str, Any]:
    """`message_changed`: the new message under `message`, the old one under `previous_message`."""
    edit_ts = f"{time.time():.6f}"
    message = dict(original, text=text, edited={"user": editor or original["user"], "ts": edit_ts}, **changes)
    return send(stack, {"type": "message", "subtype": "message_changed", "hidden": True,
                        "channel": original["channel"], "ts": edit_ts, "message": message,
                        "previous_message": original})


def deleted(stack: Stack, original: dict[str, Any], *, channel: str | None = None) -> dict[str, Any]:
    """`message_deleted`: the message's ts as `deleted_ts`."""
    return send(stack, {"type": "message", "subtype": "message_deleted", "hidden": True,
                        "channel": channel or original["channel"], "ts": f"{time.time():.6f}",
                        "deleted_ts": original["ts"], "previous_message": original})


def audit(stack: Stack, kind: str) -> list[dict[str, Any]]:
    with stack.session() as s:
        return [dict(e.data, actor=e.actor) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id))]


def test_an_edited_comment_shows_its_new_text_and_the_audit_trail_keeps_the_old(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    parent = stack.parent(rid)
    original = reply(stack, "U0SUP1", parent.ts, "Refunds take 30 days")

    stack.clock.set(stack.clock.now() + timedelta(minutes=5))
    sent = edited(stack, original, "Refunds take 14 days")
    [comment] = stack.all(Comment)
    assert (comment.request_id, comment.user_id, comment.text) == (rid, "U0SUP1", "Refunds take 14 days")
    assert comment.edited_at == stack.clock.now() and comment.deleted_at is None
    [first] = audit(stack, "commented")
    assert first["text"] == "Refunds take 30 days"
    [edit] = audit(stack, "comment_edited")
    assert (edit["actor"], edit["comment_id"], edit["before"], edit["text"]) == (
        "U0SUP1", comment.id, "Refunds take 30 days", "Refunds take 14 days")

    # Slack's retry of the same delivery, and a change that is only a link preview, add nothing.
    assert stack.people.send_event(sent, retry_num=1).status == 200
    edited(stack, dict(original, text="Refunds take 14 days"), "Refunds take 14 days",
           attachments=[{"title": "Refund policy", "from_url": "https://wiki.example.com/refunds"}])
    assert len(audit(stack, "comment_edited")) == 1
    assert stack.all(Comment)[0].text == "Refunds take 14 days"


def test_a_deleted_comment_is_marked_deleted_and_its_audit_entry_stays(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    parent = stack.parent(rid)
    kept = reply(stack, "U0LEGAL1", parent.ts, "Fine by Legal")
    gone = reply(stack, "U0SUP1", parent.ts, "Oops, wrong thread")

    deleted(stack, gone, channel="C0GENERAL")  # the same ts in another channel is another message
    assert all(c.deleted_at is None for c in stack.all(Comment))

    deleted(stack, gone)
    comments = {c.text: c for c in stack.all(Comment)}
    assert comments["Oops, wrong thread"].deleted_at is not None and comments["Fine by Legal"].deleted_at is None
    assert [e["text"] for e in audit(stack, "commented")] == ["Fine by Legal", "Oops, wrong thread"]
    [gone_entry] = audit(stack, "comment_deleted")
    assert gone_entry["comment_id"] == comments["Oops, wrong thread"].id and gone_entry["author"] == "U0SUP1"

    # A late edit of the deleted reply does not bring it back; deleting it again adds nothing.
    edited(stack, gone, "edited after deletion")
    deleted(stack, gone)
    assert stack.all(Comment, Comment.text == "Oops, wrong thread")[0].deleted_at is not None
    assert len(audit(stack, "comment_deleted")) == 1 and not audit(stack, "comment_edited")
    assert kept["ts"] in {c.slack_ts for c in stack.all(Comment, Comment.deleted_at.is_(None))}


def test_a_reply_with_a_file_is_recorded_with_the_files_name_and_permalink(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    parent = stack.parent(rid)
    permalink = "https://cxbot-sandbox.slack.com/files/U0LEGAL1/F0FILE1/terms_v2.pdf"
    files = [{"id": "F0FILE1", "name": "terms <v2> & notes.pdf", "title": "terms <v2> & notes.pdf",
              "mimetype": "application/pdf", "filetype": "pdf", "user": "U0LEGAL1", "permalink": permalink,
              "url_private": "https://files.slack.com/files-pri/TCXBOT-F0FILE1/terms_v2.pdf"},
             {"id": "F0SHARED", "mode": "file_access", "file_access": "check_file_info", "created": 0}]
    reply(stack, "U0LEGAL1", parent.ts, "", subtype="file_share", files=files, upload=True)

    [comment] = stack.all(Comment)
    assert (comment.request_id, comment.user_id, comment.text) == (rid, "U0LEGAL1", "")
    assert comment.files == [{"name": "terms <v2> & notes.pdf", "permalink": permalink}]
    assert audit(stack, "commented")[0]["files"] == comment.files


def test_me_messages_are_comments_and_joins_bots_and_other_channels_are_not(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    parent = stack.parent(rid)
    reply(stack, "U0SUP1", parent.ts, "is checking with the refunds team", subtype="me_message")

    reply(stack, "U0LEGAL2", parent.ts, "<@U0LEGAL2> has joined the channel", subtype="channel_join")
    reply(stack, "U0LEGAL2", parent.ts, "beep", subtype="bot_message", bot_id="B0OTHERBOT")
    reply(stack, "U0LEGAL2", parent.ts, "posted by an app as a person", bot_id="B0OTHERBOT")
    elsewhere = stack.slack.record_user_message("U0LEGAL1", "C0GENERAL", "lunch?")
    other = reply(stack, "U0SUP1", elsewhere.ts, "elsewhere", channel="C0GENERAL")
    edited(stack, other, "still elsewhere")
    # cxbot's own update of the request's message is a message_changed too: no comment's.
    edited(stack, {"type": "message", "channel": CHANNEL, "user": stack.slack.bot_user_id, "bot_id": "B0CXBOT",
                   "text": parent.text, "ts": parent.ts}, parent.text + " (updated)")

    [comment] = stack.all(Comment)
    assert (comment.user_id, comment.text, comment.request_id) == ("U0SUP1", "is checking with the refunds team", rid)
    assert not audit(stack, "comment_edited")


def test_a_comment_is_recorded_as_the_person_typed_it_not_as_slack_escaped_it(stack: Stack) -> None:
    """Slack sends message text with `&`, `<`, `>` escaped; the record keeps what was written, so
    whatever shows it later escapes it once, for its own format."""
    rid = stack.file("U0BILLLEAD")
    parent = stack.parent(rid)
    assert stack.people.post_in_thread("U0SUP1", channel=CHANNEL, thread_ts=parent.ts,
                                       text="Fees < refunds & <b>more</b>").status == 200
    [comment] = stack.all(Comment)
    assert comment.text == "Fees < refunds & <b>more</b>"
    [reply_message] = stack.slack.thread(CHANNEL, parent.ts)[-1:]
    edited(stack, {"type": "message", "channel": CHANNEL, "user": "U0SUP1", "text": reply_message.text,
                   "ts": reply_message.ts, "thread_ts": parent.ts}, "Fees &gt; refunds &amp;amp; more")
    assert stack.all(Comment)[0].text == "Fees > refunds &amp; more"
