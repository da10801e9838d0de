"""The door Slack's HTTP requests come through, in front of Bolt.

Verifies the signature before anything reads the body, rejects malformed payloads with a
400 (Bolt's own parsing answers some signed but broken bodies with a 500), acknowledges
event types cxbot does not handle (so Slack does not retry them), and never lets an
exception become a 500 with a traceback: a failure while handling turns into a 503, which
Slack retries for events.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App, BoltRequest

log = logging.getLogger(__name__)

MAX_AGE = 300  # seconds: Slack's own limit for a request's timestamp
HANDLED_EVENTS = {"message", "user_change", "app_home_opened"}
MESSAGE_FIELDS = ("user", "channel", "text", "ts", "thread_ts", "subtype", "bot_id", "channel_type")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    kind: str
    user: str | None = None


class Malformed(Exception):
    pass


def _json_reply(status: int, kind: str, message: str) -> Reply:
    return Reply(status, {"Content-Type": "application/json"}, json.dumps({"error": message}).encode(), kind)


def _str(value: Any, what: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise Malformed(f"{what} must be a string")


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature, over the raw bytes (slack_sdk's helper decodes them as
    UTF-8 first, which fails on a body that is not)."""
    return "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()


_FORM_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~*+-%"


def decode_payload_form(text: str) -> str | None:
    """The value of a form whose only field is `payload` (every interaction Slack sends),
    percent-decoded in C; None for any other form, or one not encoded as Slack encodes (then
    `parse_qs` reads it). The same result as `parse_qs`, several times faster on the ~6 kB
    payload of a button press (it carries the whole message): `binascii.a2b_qp` decodes
    `=XX` escapes, so `%` becomes `=` (a well-formed form has no `=` in a value) and `+` a
    space. Well-formed means only unreserved characters and escapes; each of the n escapes
    must have shortened the value by two, or one was not `%XX` and the form is left to
    `parse_qs`."""
    if not text.startswith("payload=") or "&" in text:
        return None
    try:
        raw = text[len("payload="):].encode("ascii")
    except UnicodeEncodeError:
        return None
    if raw.translate(None, _FORM_SAFE):
        return None
    decoded = binascii.a2b_qp(raw.replace(b"+", b" ").replace(b"%", b"="))
    if len(decoded) != len(raw) - 2 * raw.count(b"%"):
        return None
    return decoded.decode("utf-8", "replace")


def parse(text: str, content_type: str) -> tuple[str, dict[str, Any]]:
    """The body as Bolt reads it, and its shape: `json` (Events API), `interaction` (the
    `payload` of a button, menu or form) or `command` (a slash command's form fields)."""
    if content_type.startswith("application/json"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise Malformed("the body must be a JSON object")
        return "json", data
    only_payload = decode_payload_form(text)
    form = {"payload": [only_payload]} if only_payload is not None else parse_qs(
        text, keep_blank_values=True, strict_parsing=False)
    if "payload" in form:
        payload = json.loads(form["payload"][0])
        if not isinstance(payload, dict):
            raise Malformed("payload must be a JSON object")
        return "interaction", payload
    if "command" in form:
        return "command", {key: values[0] for key, values in form.items()}
    raise Malformed("neither a command, an interaction nor an event")


class SlackGateway:
    def __init__(self, app: App, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._app = app
        self._secret = signing_secret.encode()
        self._clock = clock

    def _signed(self, body: bytes, timestamp: str, signature: str) -> bool:
        """Slack's v0 signature over the raw bytes (any body, even one that is not UTF-8),
        and a timestamp within five minutes (replays of old requests are refused)."""
        try:
            age = abs(self._clock() - int(timestamp))
        except ValueError:
            return False
        if age > MAX_AGE:
            return False
        return hmac.compare_digest(sign(self._secret, timestamp, body), signature)

    def handle(self, body: bytes, headers: dict[str, str]) -> Reply:
        """`headers` with lower-case names."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not self._signed(body, timestamp, signature):
            return _json_reply(401, "unsigned", "invalid request signature or stale timestamp")
        try:
            shape, data = parse(body.decode("utf-8"), headers.get("content-type", ""))
            kind, user, early = self._inspect(shape, data)
        except RecursionError:  # JSON nested deeper than Python's parser will follow
            return _json_reply(400, "malformed", "malformed Slack payload: JSON nested too deeply")
        except (UnicodeDecodeError, ValueError, Malformed) as exc:
            return _json_reply(400, "malformed", f"malformed Slack payload: {exc}"[:300])
        if early is not None:
            return Reply(200, {"Content-Type": "text/plain"}, b"", kind, user)
        try:
            # Bolt is handed the body parsed here (verified and checked), not the raw text to
            # parse again: Bolt calls a request whose body arrives parsed a "socket_mode" one,
            # and treats it like any other once its signature is not Bolt's to check.
            response = self._app.dispatch(BoltRequest(body=data, headers={k: [v] for k, v in headers.items()},
                                                      mode="socket_mode"))
        except Exception:
            log.exception("Slack request (%s) failed", kind)
            return _json_reply(503, kind, "temporarily unavailable")
        if response.status >= 500:
            return _json_reply(503, kind, "temporarily unavailable")
        out = {k: v[0] for k, v in response.headers.items() if v}
        return Reply(response.status, out, (response.body or "").encode(), kind, user)

    def _inspect(self, shape: str, data: dict[str, Any]) -> tuple[str, str | None, str | None]:
        """(kind, user, early answer) — raises Malformed for a payload Bolt could not handle."""
        if shape == "json":
            kind = data.get("type")
            _str(kind, "type")
            if kind == "url_verification":
                _str(data.get("challenge"), "challenge")
                return "url_verification", None, None
            if kind != "event_callback":
                return str(kind), None, "not handled"
            event = data.get("event")
            if not isinstance(event, dict):
                raise Malformed("event must be an object")
            _str(event.get("type"), "event.type")
            _str(data.get("event_id"), "event_id", optional=True)
            if event["type"] not in HANDLED_EVENTS:
                return "event", None, "not handled"
            if event["type"] == "user_change":   # carries the whole user object, not an id
                user = event.get("user")
                if not isinstance(user, dict):
                    raise Malformed("event.user must be an object")
                _str(user.get("id"), "event.user.id")
                _str(user.get("tz"), "event.user.tz", optional=True)
                _str(user.get("real_name"), "event.user.real_name", optional=True)
                return "event", user["id"], None
            for field in MESSAGE_FIELDS + ("tab",):
                _str(event.get(field), f"event.{field}", optional=True)
            return "event", event.get("user"), None
        if shape == "interaction":
            kind = data.get("type")
            _str(kind, "payload.type")
            user = data.get("user")
            if not isinstance(user, dict):
                raise Malformed("payload.user must be an object")
            _str(user.get("id"), "payload.user.id")
            if kind == "block_actions":
                self._check_actions(data)
            elif kind in ("view_submission", "view_closed"):
                self._check_view(data)
            elif kind == "message_action":
                self._check_message_action(data)
            else:
                return str(kind), user["id"], "not handled"
            return str(kind), user["id"], None
        for field in ("command", "user_id", "trigger_id", "text", "channel_id"):
            if field not in data:
                raise Malformed(f"{field} is missing")
        return "command", data["user_id"], None

    @staticmethod
    def _check_message_action(payload: dict[str, Any]) -> None:
        """A message shortcut: the message it was used on, and where to answer."""
        for field in ("callback_id", "trigger_id", "response_url"):
            _str(payload.get(field), field)
        channel, message = payload.get("channel"), payload.get("message")
        if not isinstance(channel, dict) or not isinstance(message, dict):
            raise Malformed("channel and message must be objects")
        _str(channel.get("id"), "channel.id")
        _str(message.get("ts"), "message.ts")
        _str(message.get("text"), "message.text", optional=True)

    @staticmethod
    def _check_actions(payload: dict[str, Any]) -> None:
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            raise Malformed("actions must be a non-empty list")
        for action in actions:
            if not isinstance(action, dict):
                raise Malformed("each action must be an object")
            _str(action.get("action_id"), "action_id")
            _str(action.get("value"), "action value", optional=True)
            selected = action.get("selected_option")
            if selected is not None and not (isinstance(selected, dict) and isinstance(selected.get("value"), str)):
                raise Malformed("selected_option must carry a string value")
        _str(payload.get("trigger_id"), "trigger_id", optional=True)
        for part in ("channel", "container"):
            if payload.get(part) is not None and not isinstance(payload[part], dict):
                raise Malformed(f"{part} must be an object")

    @staticmethod
    def _check_view(payload: dict[str, Any]) -> None:
        view = payload.get("view")
        if not isinstance(view, dict):
            raise Malformed("view must be an object")
        _str(view.get("type"), "view.type")
        _str(view.get("callback_id"), "view.callback_id")
        _str(view.get("id"), "view.id", optional=True)
        _str(view.get("private_metadata"), "view.private_metadata", optional=True)
        state = view.get("state", {"values": {}})
        values = state.get("values") if isinstance(state, dict) else None
        if not isinstance(values, dict) or not all(
                isinstance(block, dict) and all(isinstance(v, dict) for v in block.values())
                for block in values.values()):
            raise Malformed("view.state.values must map blocks to actions to objects")
        blocks = view.get("blocks", [])
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            raise Malformed("view.blocks must be a list of objects")
