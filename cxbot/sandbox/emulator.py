"""A Slack Web API on loopback, for tests, the benchmark and the offline demo.

Slack cannot be reached from where cxbot is built, yet much of the bot's behaviour is about what
Slack accepts and refuses. So this emulator speaks real HTTP (the bot's own `slack_sdk.WebClient`
talks to it through `base_url`) and refuses what Slack refuses, with Slack's error codes: the bot
token has only the manifest's scopes (`missing_scope`), posts only where the bot was invited
(`not_in_channel`; a private channel it is not in is `channel_not_found`), takes a user id as a
channel only where Slack does; Block Kit is validated with Slack's limits and slack_sdk's own
models; trigger ids are one-shot and live 3 seconds; a modal stack holds three. People's side
(`client`) gets slash commands escaped and events delivered as the manifest says. It keeps
everything the bot did so tests can look, and it can be told to fail (429, 5xx, `ok: false`,
slowness) or to go down, to exercise the bot's retries.

This module holds `SlackEmulator` itself: listening, fault injection, inspection, and what people
do. It builds on `workspace` (state and Slack's rules) and `webapi` (the methods), with
`blockkit` (validation), `state` (records) and `wire` (HTTP); their public names are re-exported.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cxbot.sandbox.blockkit import (
    MESSAGE_BLOCK_LIMIT,
    VIEW_BLOCK_LIMIT,
    VIEW_SIZE_LIMIT,
    Refusal,
    block_errors,
    view_refusal,
)
from cxbot.sandbox.manifest import AppManifest
from cxbot.sandbox.state import (
    Call,
    Channel,
    File,
    JsonDict,
    Message,
    MessageVersion,
    ResponseUrl,
    TranscriptEntry,
    Trigger,
    User,
)
from cxbot.sandbox.webapi import API, RESPONSE_URL_USES, TRIGGER_TTL, WORKSPACE_URL, WebApi
from cxbot.sandbox.wire import ApiError, Reply, Server, decode_params, multipart_file
from cxbot.sandbox.workspace import TEXT_LIMIT, VIEW_STACK_LIMIT

__all__ = [
    "MESSAGE_BLOCK_LIMIT",
    "RESPONSE_URL_USES",
    "TEXT_LIMIT",
    "TRIGGER_TTL",
    "VIEW_BLOCK_LIMIT",
    "VIEW_SIZE_LIMIT",
    "VIEW_STACK_LIMIT",
    "WORKSPACE_URL",
    "AppManifest",
    "Call",
    "Channel",
    "File",
    "JsonDict",
    "Message",
    "MessageVersion",
    "SlackEmulator",
    "TranscriptEntry",
    "User",
    "block_errors",
]

T = TypeVar("T")


@dataclass
class _Fault:
    method: str
    status: int | None
    error: str | None
    retry_after: int | None
    delay: float | None
    times: int

    def reply(self) -> Reply | None:
        """The failure to answer with, or None when the fault only slows the call down."""
        if self.status == 429:
            retry_after = 1 if self.retry_after is None else self.retry_after
            body = {"ok": False, "error": self.error or "ratelimited"}
            return Reply(429, body, {"Retry-After": str(retry_after)})
        if self.status is not None:
            return Reply(self.status, {"ok": False, "error": self.error or "internal_error"})
        if self.error is not None:
            return Reply(200, {"ok": False, "error": self.error})
        return None


class SlackEmulator(WebApi):
    """Slack's Web API, a response_url endpoint and a file-upload endpoint on one loopback port.

    All state sits behind one lock; every inspection method returns a copy, so tests may read
    while the bot's threads keep calling.
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-cxbot-sandbox",
        bot_user_id: str = "UCXBOT",
        bot_id: str = "BCXBOT",
        team_id: str = "TCXBOT",
        host: str = "127.0.0.1",
        port: int = 0,
        manifest: AppManifest | None = None,
        scopes: Collection[str] | None = None,
    ) -> None:
        """`manifest` (default: cxbot's own, as packaged) gives the bot token its scopes, the events
        Slack delivers and how slash commands are escaped; `scopes` overrides its bot scopes."""
        self.manifest = manifest or AppManifest.packaged()
        if scopes is not None:
            self.manifest = self.manifest.with_scopes(scopes)
        self.bot_token = bot_token
        self._server: Server | None = None
        self._down = threading.Event()
        super().__init__(bot_user_id=bot_user_id, bot_id=bot_id, team_id=team_id, host=host, port=port)

    def _clear(self) -> None:
        super()._clear()
        self._calls: list[tuple[int, Call]] = []
        self._faults: list[_Fault] = []

    # ------------------------------------------------------------ lifecycle

    def start(self) -> SlackEmulator:
        """Listen (on `port`, or on a free port chosen now and kept for `come_back`)."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError("the emulator is already listening")
            self._down.clear()
            self._server = Server((self._host, self._port), self._route)
            self._port = self._server.server_address[1]
            # A short poll interval lets stop() return at once instead of after half a second.
            serving = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
            )
            serving.start()
        return self

    def stop(self) -> None:
        """Stop listening; delayed requests in flight stop waiting. Safe to call twice."""
        with self._lock:
            server, self._server = self._server, None
            self._down.set()
        if server is not None:
            server.shutdown()
            server.server_close()

    def go_down(self) -> None:
        """Stop answering, as during a Slack outage; everything kept is kept."""
        if self._server is None:
            raise RuntimeError("the emulator is not listening")
        self.stop()

    def come_back(self) -> None:
        """Answer again, on the same port, so the URL the bot was configured with works again."""
        self.start()

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The Web API base URL, for `WebClient(base_url=...)`."""
        return f"{self._origin}/api/"

    # ------------------------------------------------------------ what people do (used by the client)

    def new_trigger(self, user_id: str, *, age: float = 0.0) -> str:
        """A trigger id for an interaction by `user_id`; `age` backdates it, to test expiry."""
        with self._lock:
            n = next(self._counter)
            trigger_id = f"{int(time.time())}.{n}.{hashlib.sha1(str(n).encode()).hexdigest()[:16]}"
            self._triggers[trigger_id] = Trigger(user_id, time.monotonic() - age)
            return trigger_id

    def new_response_url(
        self, user_id: str, channel: str, *, message_ts: str | None = None, thread_ts: str | None = None
    ) -> str:
        """A `response_url` for an interaction by `user_id` in `channel` (on `message_ts`, if any)."""
        with self._lock:
            key = f"{next(self._counter)}{hashlib.sha1(channel.encode()).hexdigest()[:8]}"
            self._response_urls[key] = ResponseUrl(user_id, channel, message_ts, thread_ts)
        return f"{self._origin}/response/{key}"

    def record_user_message(
        self, user_id: str, channel: str, text: str, thread_ts: str | None = None
    ) -> Message:
        """Put a person's message in Slack, before its Events API delivery goes to the app."""
        with self._lock:
            try:
                channel_id = self._resolve_channel(channel)
                root = self._thread_root(channel_id, thread_ts)
            except ApiError as exc:
                raise LookupError(f"{user_id} cannot post in {channel}: {exc.error}") from None
            found = self._channels.get(channel_id)
            if found is not None and user_id not in found.members:
                if found.is_private:
                    raise LookupError(f"{user_id} is not in the private channel {channel}")
                found.members.add(user_id)  # posting in a public channel joins it
            if found is not None and found.is_archived:
                raise LookupError(f"{channel} is archived")
            return copy.deepcopy(self._store(channel_id, user_id, text, [], thread_ts=root))

    def apply_view_response(self, user_id: str, view_id: str, response: JsonDict | None) -> None:
        """Do what Slack does with the app's answer to a submission of view `view_id`."""
        answer = response or {}
        action = answer.get("response_action")
        with self._lock:
            stack = self._stacks.get(user_id, [])
            if view_id not in stack:
                raise LookupError(f"view {view_id} is not open for {user_id}")
            if action in {"update", "push"}:
                self._answer_with_view(user_id, view_id, action, answer.get("view"))
            elif action == "clear":
                stack.clear()
            elif action != "errors":
                del stack[stack.index(view_id):]

    def close_view(self, user_id: str) -> JsonDict:
        """A person closes their top modal (the X or Cancel); returns the view that closed.

        A view with `clear_on_close` takes the whole stack with it.
        """
        with self._lock:
            stack = self._stacks.get(user_id) or []
            if not stack:
                raise LookupError(f"{user_id} has no open modal")
            closed = self._views[stack.pop()]
            if closed["clear_on_close"]:
                stack.clear()
            return copy.deepcopy(closed)

    def _answer_with_view(self, user_id: str, view_id: str, action: str, view: Any) -> None:
        """`response_action` update or push; a refused view leaves the modal as it was, as in Slack."""
        refusal = view_refusal(view, kind="modal")
        stack = self._stacks[user_id]
        if refusal is None and action == "push" and len(stack) >= VIEW_STACK_LIMIT:
            refusal = Refusal("push_limit_reached", [])
        if refusal is not None:
            shown = f"{refusal.error} {refusal.messages}"
            self._problems.append(f"response_action {action} for {user_id} refused: {shown}")
        elif action == "update":
            self._note_view(user_id, self._replace_view(view_id, view), "modal updated")
        else:
            pushed = self._full_view(view, root=stack[0], previous=stack[-1])
            stack.append(pushed["id"])
            self._note_view(user_id, pushed, "modal pushed")

    # ------------------------------------------------------------ fault injection

    def fail(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int | None = None,
        delay: float | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` (`"*"`: any) fail or be slow; faults queue up.

        `status=429` answers with `Retry-After` (default 1 s); another status answers as given;
        `error` alone answers 200 `ok: false`. `delay` alone makes the call slow but still
        performed, as when Slack did the work but the answer came too late. A failed call
        changes nothing. `"upload"` and `"response_url"` name the two non-API endpoints.
        """
        if status is None and error is None and delay is None:
            raise ValueError("say how to fail: status, error or delay")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(_Fault(method, status, error, retry_after, delay, times))

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method in {method, "*"}:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    # ------------------------------------------------------------ inspection

    def _snapshot(self, read: Callable[[], T]) -> T:
        with self._lock:
            return copy.deepcopy(read())

    def calls(self, method: str | None = None) -> list[Call]:
        """Answered requests in arrival order, failed ones included."""
        with self._lock:
            ordered = sorted(self._calls, key=lambda pair: pair[0])
            return copy.deepcopy([call for _, call in ordered if method in {None, call.method}])

    def messages(self, channel: str | None = None) -> list[Message]:
        """Messages (top-level and replies) in the order they were posted."""
        return self._snapshot(lambda: [m for m in self._messages.values() if channel in {None, m.channel}])

    def message(self, channel: str, ts: str) -> Message | None:
        return self._snapshot(lambda: self._find(channel, ts))

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The replies under message `ts`, in order."""
        return [m for m in self.messages(channel) if m.thread_ts == ts]

    def dms(self, user_id: str) -> list[Message]:
        """Everything said in the bot's DM with `user_id`, by either side."""
        return self.messages(self.dm_channel(user_id))

    def ephemerals(self, user: str | None = None) -> list[Message]:
        return self._snapshot(lambda: [m for m in self._ephemerals if user in {None, m.visible_to}])

    def open_views(self, user_id: str) -> list[JsonDict]:
        """The user's modal stack, root first."""
        return self._snapshot(lambda: [self._views[v] for v in self._stacks.get(user_id, [])])

    def view(self, view_id: str) -> JsonDict | None:
        return self._snapshot(lambda: self._views.get(view_id))

    def home(self, user_id: str) -> JsonDict | None:
        """The Home tab last published for `user_id`."""
        return self._snapshot(lambda: self._views.get(self._homes.get(user_id, "")))

    @property
    def files(self) -> list[File]:
        return self._snapshot(lambda: self._files)

    @property
    def problems(self) -> list[str]:
        """What Slack accepts but would warn about (e.g. blocks without a `text` fallback)."""
        return self._snapshot(lambda: self._problems)

    def transcript(self) -> list[TranscriptEntry]:
        """What people saw, in order: the demo prints this."""
        return self._snapshot(lambda: self._transcript)

    def reset(self) -> None:
        """Forget messages, calls, views, files and faults; keep users and channels."""
        with self._lock:
            self._clear()

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.02) -> T:
        """Poll `predicate` until it returns something truthy, and return that."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                recent = ", ".join(f"{c.method}={'ok' if c.ok else c.error}" for c in self.calls()[-8:])
                name = getattr(predicate, "__qualname__", repr(predicate))
                raise TimeoutError(
                    f"{name} still false after {timeout}s; last calls: [{recent}]; problems: {self.problems}"
                )
            time.sleep(interval)

    # ------------------------------------------------------------ HTTP entry points

    def _route(self, verb: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(url)
        content_type = headers.get("content-type", "")
        kind, _, key = parts.path.strip("/").partition("/")
        if kind == "api":
            try:
                params = decode_params(parts.query, content_type, body)
            except ValueError:
                return Reply(200, {"ok": False, "error": "invalid_json"})
            token = params.pop("token", None)
            auth = headers.get("authorization", "")
            if auth.startswith("Bearer "):
                token = auth[len("Bearer "):]
            return self._serve(key, params, lambda: self._dispatch(key, token, params))
        if kind == "upload" and verb in {"POST", "PUT"}:
            content = multipart_file(content_type, body) if content_type.startswith("multipart/") else body
            params = {"file_id": key, "bytes": len(content)}
            return self._serve("upload", params, lambda: self._receive_upload(key, content))
        if kind == "response" and verb == "POST":
            try:
                message = json.loads(body or b"{}")
            except ValueError:
                message = None
            if not isinstance(message, dict):
                return Reply(400, {"ok": False, "error": "invalid_payload"})
            return self._serve("response_url", dict(message, url_id=key), lambda: self._respond(key, message))
        return Reply(404, {"ok": False, "error": "not_found"})

    def _serve(self, method: str, params: JsonDict, perform: Callable[[], JsonDict]) -> Reply:
        """Apply a queued fault or perform the call, and record it either way."""
        at = time.time()
        with self._lock:
            seq = next(self._counter)
            fault = self._take_fault(method)
        if fault is not None and fault.delay:
            self._down.wait(fault.delay)
        reply = fault.reply() if fault is not None else None
        if reply is None:
            with self._lock:
                try:
                    reply = Reply(200, perform())
                except ApiError as exc:
                    reply = Reply(exc.status, exc.body())
        ok = bool(reply.body.get("ok"))
        call = Call(method, params, ok, None if ok else reply.body.get("error"), reply.status, at)
        with self._lock:
            self._calls.append((seq, call))
        return reply

    def _dispatch(self, method: str, token: str | None, params: JsonDict) -> JsonDict:
        handler = API.get(method)
        if handler is None:
            raise ApiError("unknown_method")
        if not token:
            raise ApiError("not_authed")
        if token != self.bot_token:
            raise ApiError("invalid_auth")
        self._require_scope(method)
        return handler(self, params)
