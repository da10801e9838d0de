"""Turns outbox items into Slack Web API calls.

Rendering reads the database in a short transaction; the Slack call runs with no
transaction open; what Slack answered (a message ts) is stored in another short one.
Slack errors are sorted into passing ones (retried with backoff, honouring Retry-After)
and permanent ones (stop, report).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cxbot.clock import Clock
from cxbot.jobs.outbox_worker import Item
from cxbot.reports.render import render_html, render_slack
from cxbot.services import digests, notices
from cxbot.services.council import get_council
from cxbot.services.outbox import PermanentFailure, RetryLater
from cxbot.services.readmodel import RequestView, request_view
from cxbot.slack.blocks import direct, notes
from cxbot.slack.blocks import request as render
from cxbot.store.models import AuditEvent, DigestSend, Person, SlackMessage
from cxbot.store.uow import UnitOfWork

log = logging.getLogger(__name__)

PERMANENT_ERRORS = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "account_inactive", "invalid_blocks",
    "invalid_auth", "not_authed", "token_revoked", "missing_scope", "user_not_found", "msg_too_long",
    "no_text", "invalid_arguments", "cant_update_message", "message_not_found", "restricted_action",
})

PARENT, PROMPT = "parent", "prompt"
NOTE, CHAIR = "note", "chair"   # roles `note:<event id>` (objections), `chair:<event id>` (escalation to the chair)
Rendered = tuple[str, list[Block]]


def filer_dm_role(user: str) -> str:
    return f"dm:{user}"


class SlackDelivery:
    def __init__(self, client: WebClient, session_factory: sessionmaker[Session], clock: Clock,
                 read_sessions: sessionmaker[Session] | None = None) -> None:
        """`read_sessions` serve the reads (building a message, finding one): on SQLite they
        never take the write lock, which acknowledgements wait for."""
        self._client = client
        self._sessions = session_factory
        self._readers = read_sessions or session_factory
        self._clock = clock
        self._handlers: dict[str, Callable[[Item], None]] = {
            notices.POST_REQUEST: self._post_request,
            notices.POST_PROMPT: self._post_prompt,
            notices.REFRESH: self._refresh,
            notices.THREAD_NOTE: self._thread_note,
            notices.DIRECT: self._direct,
            notices.REMINDER: self._reminder,
            notices.ADMIN_ALERT: self._admin_alert,
            notices.EPHEMERAL: self._ephemeral,
            digests.DIGEST_DM: self._digest_dm,
            digests.DIGEST_REPORT: self._digest_report,
            digests.DIGEST_CHANNEL: self._digest_channel,
        }

    def __call__(self, item: Item) -> None:
        handler = self._handlers.get(item.kind)
        if handler is None:
            raise PermanentFailure(f"unknown outbox kind {item.kind!r}")
        handler(item)

    # --- reading and storing, each in its own short transaction -------------------------

    def _view(self, request_id: int) -> RequestView:
        with self._readers() as s:
            return request_view(s, request_id, now=self._clock.now())

    def _message(self, request_id: int, role: str) -> SlackMessage | None:
        with self._readers() as s:
            return s.scalars(select(SlackMessage).where(
                SlackMessage.request_id == request_id, SlackMessage.role == role)).first()

    def _store(self, request_id: int, role: str, channel: str, ts: str, content_hash: str) -> None:
        with self._sessions() as s:
            s.add(SlackMessage(request_id=request_id, role=role, channel=channel, ts=ts, content_hash=content_hash))
            s.commit()

    def _remember(self, message_id: int, content_hash: str) -> None:
        with self._sessions() as s:
            row = s.get(SlackMessage, message_id)
            if row is not None:
                row.content_hash = content_hash
                s.commit()

    def _event(self, event_id: int) -> AuditEvent:
        with self._readers() as s:
            event = s.get(AuditEvent, event_id)
            if event is None:
                raise PermanentFailure(f"audit event {event_id} is gone")
            return event

    # --- the Slack call -----------------------------------------------------------------

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = getattr(self._client, method.replace(".", "_"))(**kwargs)
        except SlackApiError as exc:
            error = exc.response.get("error", "") if isinstance(exc.response.data, dict) else ""
            status = exc.response.status_code
            if status == 429:
                after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
                raise RetryLater(f"{method}: rate limited", float(after) if after else None) from exc
            if status >= 500:
                raise RetryLater(f"{method}: HTTP {status}") from exc
            if error in PERMANENT_ERRORS:
                raise PermanentFailure(f"{method}: {error}") from exc
            raise RetryLater(f"{method}: {error or status}") from exc
        except (URLError, ConnectionError, TimeoutError) as exc:
            raise RetryLater(f"{method}: {exc}") from exc
        return response.data if isinstance(response.data, dict) else {}

    @staticmethod
    def _blocks(blocks: list[Block]) -> list[dict[str, Any]]:
        return [b.to_dict() for b in blocks]

    @staticmethod
    def _hash(text: str, blocks: list[dict[str, Any]]) -> str:
        return hashlib.sha256(json.dumps([text, blocks], sort_keys=True).encode()).hexdigest()

    # --- one handler per notice ---------------------------------------------------------

    def _post(self, request_id: int, role: str, channel: str, rendered: tuple[str, list[Block]],
              thread_ts: str | None = None) -> None:
        """Post a message the bot will keep up to date, and remember where it is."""
        text, blocks = rendered
        payload = self._blocks(blocks)
        data = self._call("chat.postMessage", channel=channel, thread_ts=thread_ts, text=text, blocks=payload,
                          unfurl_links=False, unfurl_media=False)
        self._store(request_id, role, data["channel"], data["ts"], self._hash(text, payload))

    def _post_request(self, item: Item) -> None:
        request_id = item.payload["request_id"]
        if self._message(request_id, PARENT) is None:
            view = self._view(request_id)
            self._post(request_id, PARENT, view.channel, render.parent_message(view))

    def _parent(self, request_id: int) -> SlackMessage:
        parent = self._message(request_id, PARENT)
        if parent is None:
            raise RetryLater("the request's parent message is not posted yet")
        return parent

    def _post_prompt(self, item: Item) -> None:
        request_id = item.payload["request_id"]
        if self._message(request_id, PROMPT) is None:
            parent = self._parent(request_id)
            self._post(request_id, PROMPT, parent.channel, render.vote_prompt(self._view(request_id)), parent.ts)

    def _render_kept(self, view: RequestView, role: str, events: dict[int, AuditEvent]) -> Rendered | None:
        """The current rendering of a message the bot keeps up to date, by its role."""
        if role == PARENT:
            return render.parent_message(view)
        if role == PROMPT:
            return render.vote_prompt(view)
        if role == filer_dm_role(view.filer):
            return direct.filed(view)
        kind, _, event_id = role.partition(":")
        event = events.get(int(event_id)) if event_id.isdigit() else None
        if event is None:
            return None
        if kind == NOTE:
            note = notes.thread_note(view, event.kind, event.actor, event.data)
            return (note[0], note[1]) if note and note[1] is not None else None
        if kind == CHAIR:
            return direct.escalation(view, event.data, for_chair=True)
        return None

    def _refresh(self, item: Item) -> None:
        request_id = item.payload["request_id"]
        view = self._view(request_id)
        with self._readers() as s:
            messages = list(s.scalars(select(SlackMessage).where(SlackMessage.request_id == request_id)))
            event_ids = [int(m.role.partition(":")[2]) for m in messages
                         if m.role.partition(":")[0] in (NOTE, CHAIR) and m.role.partition(":")[2].isdigit()]
            events = {e.id: e for e in s.scalars(select(AuditEvent).where(AuditEvent.id.in_(event_ids)))}
        for message in messages:
            rendered = self._render_kept(view, message.role, events)
            if rendered is None:
                continue
            text, blocks = rendered
            payload = self._blocks(blocks)
            digest = self._hash(text, payload)
            if message.content_hash != digest:
                self._call("chat.update", channel=message.channel, ts=message.ts, text=text, blocks=payload)
                self._remember(message.id, digest)

    def _thread_note(self, item: Item) -> None:
        request_id = item.payload["request_id"]
        event = self._event(item.payload["event_id"])
        parent = self._parent(request_id)
        note = notes.thread_note(self._view(request_id), event.kind, event.actor, event.data)
        if note is None:
            return
        text, blocks = note
        if blocks is None:
            self._call("chat.postMessage", channel=parent.channel, thread_ts=parent.ts, text=text)
        elif self._message(request_id, f"{NOTE}:{event.id}") is None:
            self._post(request_id, f"{NOTE}:{event.id}", parent.channel, (text, blocks), parent.ts)

    def _permalink(self, request_id: int) -> None:
        parent = self._parent(request_id)
        if parent.permalink:
            return
        data = self._call("chat.getPermalink", channel=parent.channel, message_ts=parent.ts)
        with self._sessions() as s:
            row = s.get(SlackMessage, parent.id)
            if row is not None:
                row.permalink = data.get("permalink", "")
                s.commit()

    def _dm_channel(self, user: str) -> str:
        """The DM channel with a person, opened once and remembered (conversations.open is Tier 3)."""
        with self._readers() as s:
            person = s.get(Person, user)
            if person is not None and person.dm_channel:
                return person.dm_channel
        channel = str(self._call("conversations.open", users=user)["channel"]["id"])
        with self._sessions() as s:
            person = s.get(Person, user)
            if person is None:
                # fetched_at in the distant past: the time zone is still to be looked up.
                s.add(Person(user_id=user, timezone="", fetched_at=datetime.min.replace(tzinfo=UTC),
                             dm_channel=channel))
            else:
                person.dm_channel = channel
            try:
                s.commit()
            except IntegrityError:
                s.rollback()  # another process remembered it first
        return channel

    def _direct(self, item: Item) -> None:
        """A DM about an audit event: the filer's receipt and outcomes, escalations to leads and the chair."""
        request_id, user = item.payload["request_id"], item.payload["user"]
        event = self._event(item.payload["event_id"])
        self._permalink(request_id)
        view = self._view(request_id)
        if event.kind == "filed":
            if self._message(request_id, filer_dm_role(user)) is None:
                self._post(request_id, filer_dm_role(user), self._dm_channel(user), direct.filed(view))
            return
        if event.kind == "escalated":
            for_chair = bool(item.payload.get("chair"))
            rendered = direct.escalation(view, event.data, for_chair=for_chair)
            if for_chair:
                role = f"{CHAIR}:{event.id}"
                if self._message(request_id, role) is None:
                    self._post(request_id, role, self._dm_channel(user), rendered)
                return
        else:
            outcome = direct.outcome(view, event.data) if event.kind in ("decided", "status_changed") else None
            if outcome is None:
                return
            rendered = outcome
        text, blocks = rendered
        self._call("chat.postMessage", channel=self._dm_channel(user), text=text, blocks=self._blocks(blocks))

    def _reminder(self, item: Item) -> None:
        request_id, user = item.payload["request_id"], item.payload["user"]
        self._permalink(request_id)
        view = self._view(request_id)
        if view.status.is_final:
            return  # decided between the sweep and now: nothing to remind of
        text, blocks = direct.reminder(view, item.payload.get("kind", "daily"), item.payload.get("on_behalf_of"))
        self._call("chat.postMessage", channel=self._dm_channel(user), text=text, blocks=self._blocks(blocks))

    def _ephemeral(self, item: Item) -> None:
        p = item.payload
        self._call("chat.postEphemeral", channel=p["channel"], user=p["user"], text=p["text"],
                   thread_ts=p.get("thread_ts"))

    def _admin_alert(self, item: Item) -> None:
        """A message Slack refused for good: the admins (or the chair, when there are none) hear of it once."""
        with self._readers() as s:
            council = get_council(s)
            admins = list(council.admins) or [council.chair]
        p = item.payload
        lane = p.get("lane", "")
        about = f"CX review #{lane.split(':')[1]}" if lane.startswith("request:") else lane
        text = (f"⚠️ cxbot could not deliver a Slack message ({p.get('kind')}, {about}): "
                f"`{p.get('error', '')}`. Nothing will retry it; check the bot's channel membership and scopes.")
        for admin in admins:
            self._call("chat.postMessage", channel=self._dm_channel(admin), text=text)

    # --- the weekly digest ------------------------------------------------------------------

    def _claimed(self, week: str) -> DigestSend:
        with self._readers() as s:
            claim = s.get(DigestSend, week)
        if claim is None:
            raise PermanentFailure(f"the digest of {week} was never claimed")
        return claim

    def _digest_dm(self, item: Item) -> None:
        week = item.payload["week"]
        if self._claimed(week).dm_ts:
            return  # posted before a crash: the report step follows
        digest = digests.digest(UnitOfWork(self._readers), week=week, clock=self._clock)
        text, blocks = render_slack(digest, report_note="The full report, with charts, is attached in this thread.")
        with self._sessions() as s:
            chair = get_council(s).chair
        channel = self._dm_channel(chair)
        data = self._call("chat.postMessage", channel=channel, text=text, blocks=blocks)
        with self._sessions() as s:
            claim = s.get(DigestSend, week)
            if claim is not None:
                claim.dm_channel, claim.dm_ts = data["channel"], data["ts"]
                s.commit()

    def _digest_report(self, item: Item) -> None:
        week = item.payload["week"]
        claim = self._claimed(week)
        if claim.sent_at is not None:
            return
        digest = digests.digest(UnitOfWork(self._readers), week=week, clock=self._clock)
        self._call("files.upload_v2", content=render_html(digest).encode(), filename=f"cx-council-{week}.html",
                   title=f"CX council digest {week}", channel=claim.dm_channel, thread_ts=claim.dm_ts)
        with self._sessions() as s:
            row = s.get(DigestSend, week)
            if row is not None:
                row.sent_at = self._clock.now()
                s.commit()

    def _digest_channel(self, item: Item) -> None:
        digest = digests.digest(UnitOfWork(self._readers), week=item.payload["week"], clock=self._clock)
        text, blocks = render_slack(digest, report_note="The chair has the full report.")
        with self._sessions() as s:
            channel = get_council(s).channel
        self._call("chat.postMessage", channel=channel, text=text, blocks=blocks, unfurl_links=False)
