"""Replies typed in a request's thread, recorded as comments on the request; edited and
deleted in Slack, they are edited and marked deleted here, with the audit trail keeping
what they said before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxbot.clock import Clock
from cxbot.services import audit
from cxbot.services.council import council_of, membership
from cxbot.services.readmodel import load_request
from cxbot.store.models import Comment, Council, ProcessedEvent, SlackMessage
from cxbot.store.uow import UnitOfWork

# Slack tells who edited a message, never who deleted one (an admin may delete anyone's).
DELETED_IN_SLACK = "slack"


@dataclass(frozen=True)
class SharedFile:
    """A file shared with a reply: its name and its link in Slack, as Slack sent them."""

    name: str
    permalink: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "permalink": self.permalink}


@dataclass(frozen=True)
class ThreadReply:
    event_id: str
    user: str
    channel: str
    thread_ts: str
    ts: str
    text: str
    files: tuple[SharedFile, ...] = ()


@dataclass(frozen=True)
class ReplyEdit:
    """The new version of message `ts`, edited by `editor`."""

    event_id: str
    editor: str
    channel: str
    ts: str
    text: str
    files: tuple[SharedFile, ...] = ()


@dataclass(frozen=True)
class ReplyDeletion:
    event_id: str
    channel: str
    ts: str


def _first_delivery(s: Session, event_id: str) -> bool:
    """Whether this Events API delivery is new; Slack retries one it thinks was lost."""
    return s.get(ProcessedEvent, event_id) is None


def _claim(s: Session, event_id: str, now: datetime) -> bool:
    """Mark the delivery handled; False if a concurrent delivery of the same event did first."""
    s.add(ProcessedEvent(event_id=event_id, received_at=now))
    try:
        s.flush()
    except IntegrityError:
        return False
    return True


def _council_channel(s: Session, channel: str) -> bool:
    """True for a council's channel: each council has its own, where its requests' threads are."""
    return s.scalar(select(Council.id).where(Council.channel == channel).limit(1)) is not None


def _comment_at(s: Session, channel: str, ts: str) -> Comment | None:
    """The comment recorded for message `ts`, if it was one: a reply under a request's parent
    message in a council's channel (a message's ts is unique within its channel)."""
    if not _council_channel(s, channel):
        return None
    parents = select(SlackMessage.request_id).where(SlackMessage.role == "parent", SlackMessage.channel == channel)
    return s.scalar(select(Comment).where(Comment.slack_ts == ts, Comment.request_id.in_(parents)))


def record_reply(uow: UnitOfWork, reply: ThreadReply, *, clock: Clock) -> int | None:
    """Store a thread reply as a comment; returns the comment id, or None when it is not one.

    Only replies in the thread of a request's parent message in the council channel count,
    from council members (advocates, leads, the chair, admins) and the filer. Each Events
    API delivery is handled once: Slack's retries of the same `event_id` add nothing.
    """
    now = clock.now()
    with uow:
        s = uow.session
        if not _first_delivery(s, reply.event_id):
            return None
        if not _council_channel(s, reply.channel):
            return None
        request_id = s.scalar(
            select(SlackMessage.request_id).where(
                SlackMessage.role == "parent", SlackMessage.channel == reply.channel,
                SlackMessage.ts == reply.thread_ts,
            )
        )
        if request_id is None:
            return None
        request = load_request(s, request_id)
        if not (membership(s, reply.user, council_of(s, request).id).is_member or reply.user == request.filer):
            return None
        s.add(ProcessedEvent(event_id=reply.event_id, received_at=now))
        files = [f.as_dict() for f in reply.files]
        comment = Comment(request_id=request_id, user_id=reply.user, text=reply.text, slack_ts=reply.ts,
                          created_at=now, files=files)
        s.add(comment)
        try:
            s.flush()
        except IntegrityError:
            return None  # a concurrent delivery of the same event won
        audit.record(s, kind="commented", actor=reply.user, at=now, request_id=request_id,
                     comment_id=comment.id, text=reply.text, files=files)
        uow.commit()
        return comment.id


def edit_reply(uow: UnitOfWork, edit: ReplyEdit, *, clock: Clock) -> int | None:
    """Give a comment its edited text and files; the audit trail keeps what it said before.
    Returns the comment id, or None when the message was no comment, is deleted, or did not
    change in what it says (Slack also reports link previews as changes)."""
    now = clock.now()
    with uow:
        s = uow.session
        if not _first_delivery(s, edit.event_id):
            return None
        comment = _comment_at(s, edit.channel, edit.ts)
        files = [f.as_dict() for f in edit.files]
        if comment is None or comment.deleted_at is not None or (comment.text, comment.files) == (edit.text, files):
            return None
        if not _claim(s, edit.event_id, now):
            return None
        audit.record(s, kind="comment_edited", actor=edit.editor, at=now, request_id=comment.request_id,
                     comment_id=comment.id, before=comment.text, text=edit.text, files_before=comment.files,
                     files=files)
        comment.text, comment.files, comment.edited_at = edit.text, files, now
        uow.commit()
        return comment.id


def delete_reply(uow: UnitOfWork, deletion: ReplyDeletion, *, clock: Clock) -> int | None:
    """Mark a comment deleted in Slack: it leaves every list of comments, and its audit
    entries stay. Returns the comment id, or None when the message was no (live) comment."""
    now = clock.now()
    with uow:
        s = uow.session
        if not _first_delivery(s, deletion.event_id):
            return None
        comment = _comment_at(s, deletion.channel, deletion.ts)
        if comment is None or comment.deleted_at is not None:
            return None
        if not _claim(s, deletion.event_id, now):
            return None
        comment.deleted_at = now
        audit.record(s, kind="comment_deleted", actor=DELETED_IN_SLACK, at=now, request_id=comment.request_id,
                     comment_id=comment.id, author=comment.user_id)
        uow.commit()
        return comment.id
