"""Replies typed in a request's thread, recorded as comments on the request."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cxbot.clock import Clock
from cxbot.services import audit
from cxbot.services.council import get_council, membership
from cxbot.services.readmodel import load_request
from cxbot.store.models import Comment, ProcessedEvent, SlackMessage
from cxbot.store.uow import UnitOfWork


@dataclass(frozen=True)
class ThreadReply:
    event_id: str
    user: str
    channel: str
    thread_ts: str
    ts: str
    text: str


def record_reply(uow: UnitOfWork, reply: ThreadReply, *, clock: Clock) -> int | None:
    """Store a thread reply as a comment; returns the comment id, or None when it is not one.

    Only replies in the thread of a request's parent message in the council channel count,
    from council members (advocates, leads, the chair, admins) and the filer. Each Events
    API delivery is handled once: Slack's retries of the same `event_id` add nothing.
    """
    now = clock.now()
    with uow:
        s = uow.session
        if s.get(ProcessedEvent, reply.event_id) is not None:
            return None
        if get_council(s).channel != reply.channel:
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
        if not (membership(s, reply.user).is_member or reply.user == request.filer):
            return None
        s.add(ProcessedEvent(event_id=reply.event_id, received_at=now))
        comment = Comment(request_id=request_id, user_id=reply.user, text=reply.text, slack_ts=reply.ts,
                          created_at=now)
        s.add(comment)
        try:
            s.flush()
        except IntegrityError:
            return None  # a concurrent delivery of the same event won
        audit.record(s, kind="commented", actor=reply.user, at=now, request_id=request_id,
                     comment_id=comment.id, text=reply.text)
        uow.commit()
        return comment.id
