"""A Slack Web API on loopback, for tests, the benchmark and the offline demo.

Slack cannot be reached from where cxbot is built, yet much of the bot's behaviour is about what
Slack accepts and refuses. So this emulator speaks real HTTP (the bot's own `slack_sdk.WebClient`
talks to it through `base_url`) and enforces the limits of `shared/SLACK-FACTS.md`: Block Kit
validated by slack_sdk's own models, 50 blocks per message, one-shot 3-second trigger ids, a modal
stack of three. It keeps everything the bot did so tests can look, and it can be told to fail
(429, 5xx, `ok: false`, slowness) or to go down, to exercise the bot's retries.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from cxbot.sandbox import render

T = TypeVar("T")
JsonDict = dict[str, Any]

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
TEXT_LIMIT = 40_000
VIEW_SIZE_LIMIT = 250_000
VIEW_STACK_LIMIT = 3
TRIGGER_TTL = 3.0
RESPONSE_URL_USES = 5
WORKSPACE_URL = "https://cxbot-sandbox.slack.com/"

# Fields slack_sdk sends JSON-encoded inside form bodies.
_JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata")


@dataclass(frozen=True)
class User:
    id: str
    name: str
    real_name: str
    tz: str
    is_bot: bool


@dataclass(frozen=True)
class MessageVersion:
    """A message as it was before a `chat.update` changed it."""

    text: str
    blocks: list[JsonDict]


@dataclass
class Message:
    """A message as Slack keeps it, plus what Slack would act on in it.

    `mentions` and `links` hold the markup as written (`<@U1>`, `<!here>`, `<https://x|label>`);
    escaped text such as `&lt;!here&gt;` does not appear, which is how tests prove user text was
    escaped. `visible_to` is set on ephemeral messages only.
    """

    channel: str
    ts: str
    user: str
    text: str
    blocks: list[JsonDict] = field(default_factory=list)
    thread_ts: str | None = None
    bot_id: str | None = None
    edits: list[MessageVersion] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    visible_to: str | None = None

    def to_slack(self) -> JsonDict:
        """The message as Slack shows it in API answers and interaction payloads."""
        wire: JsonDict = {"type": "message", "user": self.user, "ts": self.ts, "text": self.text}
        if self.blocks:
            wire["blocks"] = copy.deepcopy(self.blocks)
        if self.bot_id:
            wire["bot_id"] = self.bot_id
        if self.thread_ts:
            wire["thread_ts"] = self.thread_ts
        if self.files:
            wire["files"] = [{"id": file_id} for file_id in self.files]
        return wire


@dataclass(frozen=True)
class Call:
    """One request the emulator answered, failed or not."""

    method: str
    params: JsonDict
    ok: bool
    error: str | None
    status: int
    at: float


@dataclass(frozen=True)
class File:
    id: str
    name: str
    title: str
    content: bytes
    channel: str | None
    initial_comment: str | None
    thread_ts: str | None


@dataclass(frozen=True)
class TranscriptEntry:
    """One thing people saw: who could see it, what kind of thing it was, and how it read."""

    audience: str
    where: str
    text: str
    author: str = "cxbot"

    def __str__(self) -> str:
        body = "\n".join("    " + line for line in self.text.splitlines() or [""])
        return f"[{self.audience}] {self.author} ({self.where}):\n{body}"


@dataclass
class _Fault:
    method: str
    status: int | None
    error: str | None
    retry_after: int | None
    delay: float | None
    times: int

    def reply(self) -> _Reply | None:
        """The failure to answer with, or None when the fault only slows the call down."""
        if self.status == 429:
            retry_after = 1 if self.retry_after is None else self.retry_after
            body = {"ok": False, "error": self.error or "ratelimited"}
            return _Reply(429, body, {"Retry-After": str(retry_after)})
        if self.status is not None:
            return _Reply(self.status, {"ok": False, "error": self.error or "internal_error"})
        if self.error is not None:
            return _Reply(200, {"ok": False, "error": self.error})
        return None


@dataclass
class _Trigger:
    user: str
    issued: float
    used: bool = False


@dataclass
class _ResponseUrl:
    user: str
    channel: str
    message_ts: str | None
    thread_ts: str | None
    uses: int = 0


@dataclass
class _Upload:
    filename: str
    content: bytes | None = None


@dataclass(frozen=True)
class _Reply:
    status: int
    body: JsonDict
    headers: dict[str, str] = field(default_factory=dict)


class _ApiError(Exception):
    """An `ok: false` answer, raised from deep inside a handler."""

    def __init__(self, error: str, *messages: str, status: int = 200) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)
        self.status = status

    def body(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error": self.error}
        if self.messages:
            body["errors"] = self.messages
            body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return body


# ---------------------------------------------------------------- Block Kit validation


def block_errors(blocks: Any, *, in_view: bool) -> list[str]:
    """Why Slack would refuse these blocks; empty when it would accept them.

    slack_sdk's models check most limits in `to_dict()`, but they silently drop unknown element
    types and accept empty texts, so those are checked here too, with the per-surface limits the
    models do not know (50 blocks per message, no inputs in messages, unique block ids).
    """
    if not isinstance(blocks, list):
        return ["blocks must be a JSON array of block objects"]
    limit = VIEW_BLOCK_LIMIT if in_view else MESSAGE_BLOCK_LIMIT
    errors = [f"no more than {limit} items allowed [json-pointer:/blocks]"] if len(blocks) > limit else []
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        if not isinstance(block, dict):
            errors.append(f"a block must be an object [json-pointer:{where}]")
            continue
        if block.get("type") == "input" and not in_view:
            errors.append(f"input blocks are only allowed in modals and Home tabs [json-pointer:{where}]")
        block_id = block.get("block_id")
        if block_id in seen:
            errors.append(f"duplicate block_id {block_id!r} [json-pointer:{where}]")
        elif isinstance(block_id, str):
            seen.add(block_id)
        errors.extend(_one_block_errors(block, where))
    return errors


def _one_block_errors(block: JsonDict, where: str) -> list[str]:
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"unknown block type {block.get('type')!r} [json-pointer:{where}]"]
        rendered = parsed.to_dict()
    except SlackObjectFormationError as exc:
        return [f"{exc} [json-pointer:{where}]"]
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        return [f"malformed {block.get('type')} block: {exc} [json-pointer:{where}]"]
    errors = [f"unknown element type [json-pointer:{where}{path}]" for path in _dropped(rendered)]
    kind = block.get("type")
    if kind in {"actions", "context"} and not block.get("elements"):
        errors.append(f"{kind} needs at least one element [json-pointer:{where}/elements]")
    if kind == "input" and not isinstance(block.get("element"), dict):
        errors.append(f"input needs an element [json-pointer:{where}/element]")
    for path, obj in _text_objects(block, where):
        if not isinstance(obj.get("text"), str) or not obj["text"]:
            errors.append(f"must be more than 0 characters [json-pointer:{path}/text]")
    return errors


def _dropped(node: Any, path: str = "") -> Iterator[str]:
    """Where slack_sdk left a `None`: it does that for element types it does not know."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            if item is None:
                yield f"{path}/{index}"
            else:
                yield from _dropped(item, f"{path}/{index}")
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _dropped(value, f"{path}/{key}")


def _text_objects(node: Any, path: str) -> Iterator[tuple[str, JsonDict]]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _text_objects(item, f"{path}/{index}")
    elif isinstance(node, dict):
        if node.get("type") in {"plain_text", "mrkdwn"}:
            yield path, node
            return
        for key, value in node.items():
            yield from _text_objects(value, f"{path}/{key}")


def _view_error(view: Any, *, kind: str) -> _ApiError | None:
    """Why Slack would refuse this view (`invalid_arguments`, `view_too_large`), or None."""
    if not isinstance(view, dict):
        return _ApiError("invalid_arguments", "view must be a JSON object")
    if len(json.dumps(view)) > VIEW_SIZE_LIMIT:
        return _ApiError("view_too_large", f"views are limited to {VIEW_SIZE_LIMIT} bytes")
    if view.get("type") != kind:
        return _ApiError("invalid_arguments", f"view type must be {kind!r} here [json-pointer:/view/type]")
    errors = block_errors(view.get("blocks", []), in_view=True)
    for key in ("title", "submit", "close"):
        value = view.get(key)
        if value is not None and not (isinstance(value, dict) and value.get("type") == "plain_text"):
            errors.append(f"{key} must be a plain_text object [json-pointer:/view/{key}]")
    if kind == "modal" and "title" not in view:
        errors.append("a modal needs a title [json-pointer:/view/title]")
    has_inputs = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
    if kind == "modal" and has_inputs and "submit" not in view:
        errors.append("a modal with input blocks needs a submit button [json-pointer:/view/submit]")
    if not errors:
        try:
            View(**view).to_dict()
        except SlackObjectFormationError as exc:
            errors.append(str(exc))
        except TypeError as exc:
            errors.append(f"malformed view: {exc}")
    return _ApiError("invalid_arguments", *errors) if errors else None


def _with_ids(blocks: list[JsonDict]) -> list[JsonDict]:
    """Copy of `blocks` with the block_id / action_id Slack makes up when the app gives none.

    The made-up ids derive from content and position, so runs are reproducible.
    """
    filled = copy.deepcopy(blocks)
    for index, block in enumerate(filled):
        digest = hashlib.sha1(f"{index}:{json.dumps(block, sort_keys=True)}".encode()).hexdigest()
        block.setdefault("block_id", digest[:5])
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        elements.extend(block[key] for key in ("accessory", "element") if isinstance(block.get(key), dict))
        for position, element in enumerate(elements):
            if element.get("type") != "image":
                element.setdefault("action_id", f"{digest[5:10]}{position}")
    return filled


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in {"true", "1"})


def _decode_params(query: str, content_type: str, body: bytes) -> JsonDict:
    """Parameters as Slack reads them, whether slack_sdk sent a query, a form or JSON."""
    params: JsonDict = dict(parse_qsl(query, keep_blank_values=True))
    if body and content_type.startswith("application/json"):
        decoded = json.loads(body)
        if isinstance(decoded, dict):
            params.update(decoded)
    elif body:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for name in _JSON_FIELDS:
        value = params.get(name)
        if isinstance(value, str) and value.strip()[:1] in {"[", "{"}:
            try:
                params[name] = json.loads(value)
            except json.JSONDecodeError:
                pass  # left as a string: the method answers invalid_blocks_format / invalid_arguments
    return {key: value for key, value in params.items() if value is not None}


def _multipart_file(content_type: str, body: bytes) -> bytes:
    """The first file part of a multipart body (an upload may come as a form)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    for part in BytesParser(policy=HTTP).parsebytes(head + body).iter_parts():
        if part.get_filename() is not None:
            return part.get_payload(decode=True) or b""
    return b""


_Handler = Callable[["SlackEmulator", JsonDict], JsonDict]
_API: dict[str, _Handler] = {}


def _api(name: str) -> Callable[[_Handler], _Handler]:
    """Register a method of `SlackEmulator` as the Web API method `name`."""

    def register(handler: _Handler) -> _Handler:
        _API[name] = handler
        return handler

    return register


class SlackEmulator:
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
    ) -> None:
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._down = threading.Event()
        self._users: dict[str, User] = {}
        self._channels: dict[str, str] = {}
        self._dm_users: dict[str, str] = {}
        self._counter = itertools.count(1)
        self._last_ts_us = 0
        self.add_user(bot_user_id, "cxbot", is_bot=True)
        self._clear()

    def _clear(self) -> None:
        self._messages: dict[tuple[str, str], Message] = {}  # by (channel, ts), in posting order
        self._ephemerals: list[Message] = []
        self._calls: list[tuple[int, Call]] = []
        self._faults: list[_Fault] = []
        self._triggers: dict[str, _Trigger] = {}
        self._views: dict[str, JsonDict] = {}
        self._stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._uploads: dict[str, _Upload] = {}
        self._files: list[File] = []
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._problems: list[str] = []
        self._transcript: list[TranscriptEntry] = []

    # ------------------------------------------------------------ lifecycle

    def start(self) -> SlackEmulator:
        """Listen (on `port`, or on a free port chosen now and kept for `come_back`)."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError("the emulator is already listening")
            self._down.clear()
            self._server = _Server((self._host, self._port), self)
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

    @property
    def _origin(self) -> str:
        if not self._port:
            raise RuntimeError("the emulator has no port until it is started")
        return f"http://{self._host}:{self._port}"

    # ------------------------------------------------------------ directory

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        tz: str = "Europe/Oslo",
        is_bot: bool = False,
    ) -> None:
        with self._lock:
            self._users[user_id] = User(user_id, name, real_name or name, tz, is_bot)

    def add_channel(self, channel_id: str, name: str) -> None:
        with self._lock:
            self._channels[channel_id] = name.lstrip("#")

    def user(self, user_id: str) -> User | None:
        with self._lock:
            return self._users.get(user_id)

    def user_name(self, user_id: str) -> str:
        """How a person is shown to others: their real name, else the bare id."""
        user = self.user(user_id)
        return user.real_name if user else user_id

    def channel_name(self, channel_id: str) -> str:
        """The name Slack puts in payloads: the channel's name, `directmessage` for a DM."""
        with self._lock:
            if channel_id in self._dm_users:
                return "directmessage"
            return self._channels.get(channel_id, channel_id)

    def channel_id(self, name: str) -> str | None:
        """The id of the channel called `name` (with or without `#`), if there is one."""
        with self._lock:
            return next((cid for cid, n in self._channels.items() if n == name.lstrip("#")), None)

    @staticmethod
    def dm_channel(user_id: str) -> str:
        """The id of the bot's DM with `user_id`, derived from the user id so tests can predict it."""
        return "D" + user_id[1:]

    # ------------------------------------------------------------ what people do (used by the client)

    def new_trigger(self, user_id: str, *, age: float = 0.0) -> str:
        """A trigger id for an interaction by `user_id`; `age` backdates it, to test expiry."""
        with self._lock:
            n = next(self._counter)
            trigger_id = f"{int(time.time())}.{n}.{hashlib.sha1(str(n).encode()).hexdigest()[:16]}"
            self._triggers[trigger_id] = _Trigger(user_id, time.monotonic() - age)
            return trigger_id

    def new_response_url(
        self, user_id: str, channel: str, *, message_ts: str | None = None, thread_ts: str | None = None
    ) -> str:
        """A `response_url` for an interaction by `user_id` in `channel` (on `message_ts`, if any)."""
        with self._lock:
            key = f"{next(self._counter)}{hashlib.sha1(channel.encode()).hexdigest()[:8]}"
            self._response_urls[key] = _ResponseUrl(user_id, channel, message_ts, thread_ts)
        return f"{self._origin}/response/{key}"

    def record_user_message(
        self, user_id: str, channel: str, text: str, thread_ts: str | None = None
    ) -> Message:
        """Put a person's message in Slack, before its Events API delivery goes to the app."""
        with self._lock:
            try:
                channel_id = self._resolve_channel(channel)
                root = self._thread_root(channel_id, thread_ts)
            except _ApiError as exc:
                raise LookupError(f"{user_id} cannot post in {channel}: {exc.error}") from None
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
        error = _view_error(view, kind="modal")
        stack = self._stacks[user_id]
        if error is None and action == "push" and len(stack) >= VIEW_STACK_LIMIT:
            error = _ApiError("push_limit_reached")
        if error is not None:
            refusal = f"{error.error} {error.messages}"
            self._problems.append(f"response_action {action} for {user_id} refused: {refusal}")
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

    def _route(self, verb: str, url: str, headers: dict[str, str], body: bytes) -> _Reply:
        parts = urlsplit(url)
        content_type = headers.get("content-type", "")
        kind, _, key = parts.path.strip("/").partition("/")
        if kind == "api":
            try:
                params = _decode_params(parts.query, content_type, body)
            except ValueError:
                return _Reply(200, {"ok": False, "error": "invalid_json"})
            token = params.pop("token", None)
            auth = headers.get("authorization", "")
            if auth.startswith("Bearer "):
                token = auth[len("Bearer "):]
            return self._serve(key, params, lambda: self._dispatch(key, token, params))
        if kind == "upload" and verb in {"POST", "PUT"}:
            content = _multipart_file(content_type, body) if content_type.startswith("multipart/") else body
            params = {"file_id": key, "bytes": len(content)}
            return self._serve("upload", params, lambda: self._receive_upload(key, content))
        if kind == "response" and verb == "POST":
            try:
                message = json.loads(body or b"{}")
            except ValueError:
                message = None
            if not isinstance(message, dict):
                return _Reply(400, {"ok": False, "error": "invalid_payload"})
            return self._serve("response_url", dict(message, url_id=key), lambda: self._respond(key, message))
        return _Reply(404, {"ok": False, "error": "not_found"})

    def _serve(self, method: str, params: JsonDict, perform: Callable[[], JsonDict]) -> _Reply:
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
                    reply = _Reply(200, perform())
                except _ApiError as exc:
                    reply = _Reply(exc.status, exc.body())
        ok = bool(reply.body.get("ok"))
        call = Call(method, params, ok, None if ok else reply.body.get("error"), reply.status, at)
        with self._lock:
            self._calls.append((seq, call))
        return reply

    def _dispatch(self, method: str, token: str | None, params: JsonDict) -> JsonDict:
        handler = _API.get(method)
        if handler is None:
            raise _ApiError("unknown_method")
        if not token:
            raise _ApiError("not_authed")
        if token != self.bot_token:
            raise _ApiError("invalid_auth")
        return handler(self, params)

    # ------------------------------------------------------------ shared helpers

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter):08d}"

    def _next_ts(self) -> str:
        """A fresh, strictly increasing message ts taken from the wall clock, as Slack's are."""
        self._last_ts_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _resolve_channel(self, channel: Any) -> str:
        """A channel id from what Slack accepts: a channel or DM id, a `#name`, or a user id (their DM)."""
        if not isinstance(channel, str) or not channel:
            raise _ApiError("channel_not_found")
        if channel in self._channels or channel in self._dm_users:
            return channel
        if channel in self._users:
            dm = self.dm_channel(channel)
            self._dm_users[dm] = channel
            return dm
        found = self.channel_id(channel)
        if found is None:
            raise _ApiError("channel_not_found")
        return found

    def _find(self, channel: str, ts: str) -> Message | None:
        return self._messages.get((channel, ts))

    def _thread_root(self, channel: str, thread_ts: Any) -> str | None:
        """The ts of the thread's parent; Slack files a reply to a reply under the same parent."""
        if not thread_ts:
            return None
        parent = self._find(channel, str(thread_ts))
        if parent is None:
            raise _ApiError("thread_not_found")
        return parent.thread_ts or parent.ts

    def _audience(self, channel: str) -> str:
        if channel in self._dm_users:
            return f"DM with {self.user_name(self._dm_users[channel])}"
        return "#" + self._channels.get(channel, channel)

    def _readable(self, text: str, blocks: list[JsonDict]) -> str:
        if blocks:
            return render.blocks_to_text(blocks, user_name=self.user_name)
        return render.mrkdwn_to_text(text, user_name=self.user_name)

    def _note(self, audience: str, where: str, text: str, author: str) -> None:
        self._transcript.append(TranscriptEntry(audience, where, text, self.user_name(author)))

    def _note_view(self, user_id: str, view: JsonDict, where: str) -> None:
        audience = ("Home tab of " if view["type"] == "home" else "modal for ") + self.user_name(user_id)
        self._note(audience, where, render.view_to_text(view, user_name=self.user_name), self.bot_user_id)

    def _new_message(
        self, channel: str, user: str, text: str, blocks: list[JsonDict], thread_ts: str | None, **extra: Any
    ) -> Message:
        sources = [text, *render.mrkdwn_texts(blocks)]
        return Message(
            channel,
            self._next_ts(),
            user,
            text,
            blocks,
            thread_ts,
            self.bot_id if user == self.bot_user_id else None,
            mentions=[m for source in sources for m in render.mentions_in(source)],
            links=[link for source in sources for link in render.links_in(source)],
            **extra,
        )

    def _store(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: list[JsonDict],
        *,
        thread_ts: str | None,
        files: Sequence[File] = (),
    ) -> Message:
        """Keep a new message (a file share when `files` is given) and note it in the transcript."""
        message = self._new_message(channel, user, text, blocks, thread_ts, files=[f.id for f in files])
        self._messages[channel, message.ts] = message
        shown = [self._readable(text, blocks)] if text or blocks else []
        shown.extend(f"📎 {f.title} ({f.name}, {len(f.content)} bytes)" for f in files)
        where = "file" if files else "thread reply" if thread_ts else "message"
        self._note(self._audience(channel), where, "\n".join(shown), user)
        return message

    def _post_ephemeral(
        self, channel: str, user: str, text: str, blocks: list[JsonDict], thread_ts: str | None
    ) -> Message:
        message = self._new_message(channel, self.bot_user_id, text, blocks, thread_ts, visible_to=user)
        self._ephemerals.append(message)
        audience = f"only visible to {self.user_name(user)} in {self._audience(channel)}"
        self._note(audience, "ephemeral", self._readable(text, blocks), self.bot_user_id)
        return message

    def _edit(self, message: Message, text: str, blocks: list[JsonDict]) -> None:
        message.edits.append(MessageVersion(message.text, message.blocks))
        edited = self._new_message(message.channel, message.user, text, blocks, message.thread_ts)
        message.text, message.blocks = text, blocks
        message.mentions, message.links = edited.mentions, edited.links
        shown = self._readable(text, blocks)
        self._note(self._audience(message.channel), f"edit of {message.ts}", shown, message.user)

    def _content(
        self, params: JsonDict, method: str, audience: str, *, old: Message | None = None
    ) -> tuple[str, list[JsonDict]]:
        """Validated (text, blocks) of a call carrying a message; for an edit, omitted parts stay."""
        blocks = params.get("blocks", old.blocks if old else [])
        if isinstance(blocks, str):
            raise _ApiError("invalid_blocks_format")
        errors = block_errors(blocks, in_view=False)
        if errors:
            raise _ApiError("invalid_blocks", *errors)
        text = str(params.get("text", old.text if old else ""))[:TEXT_LIMIT]
        if not text and not blocks and not params.get("attachments"):
            raise _ApiError("no_text")
        if blocks and not text:
            self._problems.append(
                f"{method} to {audience}: blocks without a text fallback"
                " (notifications and screen readers get nothing)"
            )
        return text, _with_ids(blocks)

    def _message_of_bot(self, params: JsonDict, refusal: str) -> Message:
        channel = self._resolve_channel(params.get("channel"))
        message = self._find(channel, str(params.get("ts", "")))
        if message is None:
            raise _ApiError("message_not_found")
        if message.user != self.bot_user_id:
            raise _ApiError(refusal)
        return message

    def _full_view(
        self,
        view: JsonDict,
        *,
        view_id: str | None = None,
        root: str | None = None,
        previous: str | None = None,
    ) -> JsonDict:
        """Store a view as Slack does (ids, hash, empty state filled in) and return it."""
        view_id = view_id or self._next_id("V")
        self._views[view_id] = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": _with_ids(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{next(self._counter):08x}",
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": previous,
            "root_view_id": root or view_id,
            "app_id": "ACXBOT",
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        return self._views[view_id]

    def _replace_view(self, view_id: str, view: JsonDict) -> JsonDict:
        """New content for an open view: same id and place in the stack, new hash."""
        old = self._views[view_id]
        root, previous = old["root_view_id"], old["previous_view_id"]
        return self._full_view(view, view_id=view_id, root=root, previous=previous)

    def _take_trigger(self, trigger_id: Any) -> tuple[str, _Trigger]:
        """The user behind a still-usable trigger id; the caller marks it used once the call succeeds."""
        trigger = self._triggers.get(str(trigger_id))
        if trigger is None:
            raise _ApiError("invalid_trigger_id")
        if trigger.used:
            raise _ApiError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued > TRIGGER_TTL:
            raise _ApiError("expired_trigger_id")
        return trigger.user, trigger

    @staticmethod
    def _checked_view(view: Any, kind: str) -> JsonDict:
        error = _view_error(view, kind=kind)
        if error is not None:
            raise error
        return view

    # ------------------------------------------------------------ Web API methods

    @_api("auth.test")
    def _auth_test(self, params: JsonDict) -> JsonDict:
        return {
            "ok": True,
            "url": WORKSPACE_URL,
            "team": "cxbot sandbox",
            "user": self._users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    @_api("chat.postMessage")
    def _chat_post_message(self, params: JsonDict) -> JsonDict:
        channel = self._resolve_channel(params.get("channel"))
        text, blocks = self._content(params, "chat.postMessage", self._audience(channel))
        thread_ts = self._thread_root(channel, params.get("thread_ts"))
        message = self._store(channel, self.bot_user_id, text, blocks, thread_ts=thread_ts)
        return {"ok": True, "channel": channel, "ts": message.ts, "message": message.to_slack()}

    @_api("chat.update")
    def _chat_update(self, params: JsonDict) -> JsonDict:
        message = self._message_of_bot(params, "cant_update_message")
        text, blocks = self._content(params, "chat.update", self._audience(message.channel), old=message)
        self._edit(message, text, blocks)
        answer = {"ok": True, "channel": message.channel, "ts": message.ts, "text": text}
        return dict(answer, message=message.to_slack())

    @_api("chat.delete")
    def _chat_delete(self, params: JsonDict) -> JsonDict:
        message = self._message_of_bot(params, "cant_delete_message")
        del self._messages[message.channel, message.ts]
        self._note(self._audience(message.channel), f"deleted {message.ts}", "", message.user)
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    @_api("chat.postEphemeral")
    def _chat_post_ephemeral(self, params: JsonDict) -> JsonDict:
        channel = self._resolve_channel(params.get("channel"))
        user = str(params.get("user", ""))
        if user not in self._users:
            raise _ApiError("user_not_found")
        text, blocks = self._content(params, "chat.postEphemeral", f"only visible to {self.user_name(user)}")
        message = self._post_ephemeral(channel, user, text, blocks, params.get("thread_ts"))
        return {"ok": True, "message_ts": message.ts}

    @_api("chat.getPermalink")
    def _chat_get_permalink(self, params: JsonDict) -> JsonDict:
        channel = self._resolve_channel(params.get("channel"))
        message = self._find(channel, str(params.get("message_ts", "")))
        if message is None:
            raise _ApiError("message_not_found")
        link = f"{WORKSPACE_URL}archives/{channel}/p{message.ts.replace('.', '')}"
        if message.thread_ts:
            link += f"?thread_ts={message.thread_ts}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

    @_api("conversations.open")
    def _conversations_open(self, params: JsonDict) -> JsonDict:
        users = [u for u in str(params.get("users", "")).split(",") if u]
        if len(users) != 1:
            raise _ApiError("invalid_arguments", "the sandbox opens DMs with exactly one user")
        if users[0] not in self._users:
            raise _ApiError("user_not_found")
        dm = self.dm_channel(users[0])
        already_open = dm in self._dm_users
        self._dm_users[dm] = users[0]
        answer: JsonDict = {"ok": True, "channel": {"id": dm}}
        if already_open:
            answer.update(no_op=True, already_open=True)
        return answer

    @_api("users.info")
    def _users_info(self, params: JsonDict) -> JsonDict:
        user = self._users.get(str(params.get("user", "")))
        if user is None:
            raise _ApiError("user_not_found")
        offset = datetime.now(ZoneInfo(user.tz)).utcoffset()
        return {
            "ok": True,
            "user": {
                "id": user.id,
                "team_id": self.team_id,
                "name": user.name,
                "real_name": user.real_name,
                "deleted": False,
                "tz": user.tz,
                "tz_offset": int(offset.total_seconds()) if offset else 0,
                "is_bot": user.is_bot,
                "profile": {"real_name": user.real_name, "display_name": user.name},
            },
        }

    @_api("views.open")
    def _views_open(self, params: JsonDict) -> JsonDict:
        user, trigger = self._take_trigger(params.get("trigger_id"))
        view = self._full_view(self._checked_view(params.get("view"), "modal"))
        trigger.used = True
        self._stacks[user] = [view["id"]]
        self._note_view(user, view, "modal opened")
        return {"ok": True, "view": view}

    @_api("views.push")
    def _views_push(self, params: JsonDict) -> JsonDict:
        user, trigger = self._take_trigger(params.get("trigger_id"))
        checked = self._checked_view(params.get("view"), "modal")
        stack = self._stacks.get(user) or []
        if not stack:
            raise _ApiError("not_found", "views.push needs an open modal to push onto")
        if len(stack) >= VIEW_STACK_LIMIT:
            raise _ApiError("push_limit_reached")
        view = self._full_view(checked, root=stack[0], previous=stack[-1])
        trigger.used = True
        stack.append(view["id"])
        self._note_view(user, view, "modal pushed")
        return {"ok": True, "view": view}

    @_api("views.update")
    def _views_update(self, params: JsonDict) -> JsonDict:
        external_id = params.get("external_id")
        view_id = params.get("view_id") or next(
            (v["id"] for v in self._views.values() if external_id and v["external_id"] == external_id), None
        )
        owner = next((user for user, stack in self._stacks.items() if view_id in stack), None)
        if view_id is None or owner is None:
            raise _ApiError("not_found")
        if params.get("hash") and params["hash"] != self._views[view_id]["hash"]:
            raise _ApiError("hash_conflict")
        view = self._replace_view(view_id, self._checked_view(params.get("view"), "modal"))
        self._note_view(owner, view, "modal updated")
        return {"ok": True, "view": view}

    @_api("views.publish")
    def _views_publish(self, params: JsonDict) -> JsonDict:
        user = str(params.get("user_id", ""))
        if user not in self._users:
            raise _ApiError("user_not_found")
        current = self._views.get(self._homes.get(user, ""))
        if current is not None and params.get("hash") and params["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        checked = self._checked_view(params.get("view"), "home")
        view = self._full_view(checked, view_id=current["id"] if current else None)
        self._homes[user] = view["id"]
        self._note_view(user, view, "home published")
        return {"ok": True, "view": view}

    @_api("files.getUploadURLExternal")
    def _files_get_upload_url(self, params: JsonDict) -> JsonDict:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            raise _ApiError("invalid_arguments", "filename and length are required")
        file_id = self._next_id("F")
        self._uploads[file_id] = _Upload(str(params["filename"]))
        return {"ok": True, "upload_url": f"{self._origin}/upload/{file_id}", "file_id": file_id}

    @_api("files.completeUploadExternal")
    def _files_complete_upload(self, params: JsonDict) -> JsonDict:
        wanted = params.get("files")
        if not isinstance(wanted, list) or not wanted or not all(isinstance(f, dict) for f in wanted):
            raise _ApiError("invalid_arguments", "files must be a non-empty JSON array of objects")
        uploads = [self._uploads.get(str(spec.get("id"))) for spec in wanted]
        channel = self._resolve_channel(params["channel_id"]) if params.get("channel_id") else None
        thread_ts = self._thread_root(channel, params.get("thread_ts")) if channel else None
        comment = params.get("initial_comment")
        stored = []
        for spec, upload in zip(wanted, uploads):
            if upload is None or upload.content is None:
                raise _ApiError("file_not_found")
            title = str(spec.get("title") or upload.filename)
            stored.append(
                File(str(spec["id"]), upload.filename, title, upload.content, channel, comment, thread_ts)
            )
        for done in stored:
            del self._uploads[done.id]
        self._files.extend(stored)
        if channel is not None:
            self._store(channel, self.bot_user_id, str(comment or ""), [], thread_ts=thread_ts, files=stored)
        shared = [{"id": f.id, "name": f.name, "title": f.title, "size": len(f.content)} for f in stored]
        return {"ok": True, "files": shared}

    # ------------------------------------------------------------ non-API endpoints

    def _receive_upload(self, file_id: str, content: bytes) -> JsonDict:
        upload = self._uploads.get(file_id)
        if upload is None:
            raise _ApiError("file_not_found", status=404)
        upload.content = content
        return {"ok": True}

    def _respond(self, key: str, body: JsonDict) -> JsonDict:
        """A message sent to a response_url: an ephemeral reply, a channel post, or an edit/delete."""
        hook = self._response_urls.get(key)
        if hook is None:
            raise _ApiError("expired_url", status=404)
        if hook.uses >= RESPONSE_URL_USES:
            raise _ApiError("used_url", status=404)
        original = self._find(hook.channel, hook.message_ts or "") or next(
            (m for m in self._ephemerals if (m.channel, m.ts) == (hook.channel, hook.message_ts)), None
        )
        replace = _flag(body.get("replace_original")) and original is not None
        if _flag(body.get("delete_original")) and original is not None:
            if original.visible_to:
                self._ephemerals.remove(original)
            else:
                del self._messages[original.channel, original.ts]
            self._note(self._audience(hook.channel), f"deleted {original.ts}", "", original.user)
        else:
            audience, old = self._audience(hook.channel), original if replace else None
            try:
                text, blocks = self._content(body, "response_url", audience, old=old)
            except _ApiError as exc:
                exc.status = 400  # a response_url answers refusals with an HTTP error
                raise
            thread_ts = body.get("thread_ts") or hook.thread_ts
            if replace and original is not None:
                self._edit(original, text, blocks)
            elif body.get("response_type") == "in_channel":
                root = self._thread_root(hook.channel, thread_ts)
                self._store(hook.channel, self.bot_user_id, text, blocks, thread_ts=root)
            else:
                self._post_ephemeral(hook.channel, hook.user, text, blocks, thread_ts)
        hook.uses += 1
        return {"ok": True}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops connections when a benchmark's bot bursts

    def __init__(self, address: tuple[str, int], emulator: SlackEmulator) -> None:
        self.emulator = emulator
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads one request, hands it to the emulator, writes the JSON answer (HTTP/1.0: one per connection)."""

    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = self.server.emulator._route(self.command, self.path, headers, body)
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        try:
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up waiting (a delay fault did its job); the call still happened

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the demo print what matters themselves."""
