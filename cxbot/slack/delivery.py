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
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxbot.jobs.outbox_worker import Item
from cxbot.services import notices
from cxbot.services.outbox import PermanentFailure, RetryLater
from cxbot.services.readmodel import RequestView, request_view
from cxbot.slack.blocks import request as render
from cxbot.store.models import AuditEvent, SlackMessage

log = logging.getLogger(__name__)

PERMANENT_ERRORS = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "account_inactive", "invalid_blocks",
    "invalid_auth", "not_authed", "token_revoked", "missing_scope", "user_not_found", "msg_too_long",
    "no_text", "invalid_arguments", "cant_update_message", "message_not_found", "restricted_action",
})

PARENT, PROMPT = "parent", "prompt"


def filer_dm_role(user: str) -> str:
    return f"dm:{user}"


class SlackDelivery:
    def __init__(self, client: WebClient, session_factory: sessionmaker[Session]) -> None:
        self._client = client
        self._sessions = session_factory
        self._handlers: dict[str, Callable[[Item], None]] = {
            notices.POST_REQUEST: self._post_request,
            notices.POST_PROMPT: self._post_prompt,
            notices.REFRESH: self._refresh,
            notices.THREAD_NOTE: self._thread_note,
            notices.DIRECT: self._direct,
        }

    def __call__(self, item: Item) -> None:
        handler = self._handlers.get(item.kind)
        if handler is None:
            raise PermanentFailure(f"unknown outbox kind {item.kind!r}")
        handler(item)

    # --- reading and storing, each in its own short transaction -------------------------

    def _view(self, request_id: int) -> RequestView:
        with self._sessions() as s:
            return request_view(s, request_id)

    def _message(self, request_id: int, role: str) -> SlackMessage | None:
        with self._sessions() as s:
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
        with self._sessions() as s:
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

    def _post_request(self, item: Item) -> None:
        request_id = item.payload["request_id"]
        if self._message(request_id, PARENT) is not None:
            return
        view = self._view(request_id)
        text, blocks = render.parent_message(view)
        payload = self._blocks(blocks)
        data = self._call("chat.postMessage", channel=view.channel, text=text, blocks=payload,
                          unfurl_links=False, unfurl_media=False)
        self._store(request_id, PARENT, data["channel"], data["ts"], self._hash(text, payload))

    def _parent(self, request_id: int) -> SlackMessage:
        parent = self._message(request_id, PARENT)
        if parent is None:
            raise RetryLater("the request's parent message is not posted yet")
        return parent

    def _post_prompt(self, item: Item) -> None:
        request_id = item.payload["request_id"]
        if self._message(request_id, PROMPT) is not None:
            return
        parent = self._parent(request_id)
        text, blocks = render.vote_prompt(self._view(request_id))
        payload = self._blocks(blocks)
        data = self._call("chat.postMessage", channel=parent.channel, thread_ts=parent.ts, text=text, blocks=payload)
        self._store(request_id, PROMPT, data["channel"], data["ts"], self._hash(text, payload))

    def _refresh(self, item: Item) -> None:
        request_id = item.payload["request_id"]
        view = self._view(request_id)
        with self._sessions() as s:
            messages = {m.role: m for m in s.scalars(select(SlackMessage).where(SlackMessage.request_id == request_id))}
        renders = {PARENT: render.parent_message(view), PROMPT: render.vote_prompt(view)}
        filer_dm = render.direct_message(view, "filed", {})
        if filer_dm is not None:
            renders[filer_dm_role(view.filer)] = filer_dm
        for role, (text, blocks) in renders.items():
            message = messages.get(role)
            payload = self._blocks(blocks)
            digest = self._hash(text, payload)
            if message is not None and message.content_hash != digest:
                self._call("chat.update", channel=message.channel, ts=message.ts, text=text, blocks=payload)
                self._remember(message.id, digest)

    def _thread_note(self, item: Item) -> None:
        request_id = item.payload["request_id"]
        event = self._event(item.payload["event_id"])
        parent = self._parent(request_id)
        text = render.thread_note(self._view(request_id), event.kind, event.actor, event.data)
        if text is not None:
            self._call("chat.postMessage", channel=parent.channel, thread_ts=parent.ts, text=text)

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

    def _direct(self, item: Item) -> None:
        request_id, user = item.payload["request_id"], item.payload["user"]
        event = self._event(item.payload["event_id"])
        self._permalink(request_id)
        rendered = render.direct_message(self._view(request_id), event.kind, event.data)
        if rendered is None:
            return
        text, blocks = rendered
        payload = self._blocks(blocks)
        channel = self._call("conversations.open", users=user)["channel"]["id"]
        data = self._call("chat.postMessage", channel=channel, text=text, blocks=payload)
        if event.kind == "filed":
            self._store(request_id, filer_dm_role(user), data["channel"], data["ts"], self._hash(text, payload))
