"""The people's side of the sandbox: what Slack sends the app when someone acts.

Each method builds the request Slack would send (slash command form, `block_actions` or
`view_submission` payload, Events API envelope), signs it with the app's signing secret and
posts it over real HTTP, so the app's own verification, parsing and acknowledgement run. It
reads the emulator to act only on what a person could see: a button that is not in the message
cannot be pressed, a modal that is not open cannot be submitted, a required field cannot be left
empty.
"""

from __future__ import annotations

import http.client
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from cxbot.sandbox.emulator import JsonDict, Message, SlackEmulator
from cxbot.sandbox.modal_state import find_option, view_state_values
from cxbot.slack.gateway import sign

TEAM_DOMAIN = "cxbot-sandbox"
FALLBACK_CHANNEL = "C0GENERAL"
_NAME_CHAR = re.compile(r"[\w.\-]")  # a longer name goes on: "@sam" is not "@samuel"
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"

@dataclass(frozen=True)
class HttpResult:
    """The app's answer; header names are lower-case."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def _element_in(blocks: list[JsonDict], action_id: str, kind: str, where: str,
                value: str | None = None) -> tuple[str, JsonDict]:
    """(block id, element) of the `kind` element `action_id` in these blocks (with `value`, if given)."""
    for block in blocks:
        candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if element.get("action_id") == action_id and (value is None or element.get("value") == value):
                if element.get("type") != kind:
                    raise LookupError(f"{action_id} in {where} is a {element.get('type')}, not a {kind}")
                return block["block_id"], element
    raise LookupError(f"{where} has no {kind} {action_id!r}" + (f" with value {value!r}" if value else ""))


class SlackPeople:
    """Acts as the workspace's people, sending the app what Slack would send."""

    def __init__(
        self,
        app_url: str,
        signing_secret: str,
        emulator: SlackEmulator,
        *,
        team_id: str = "TCXBOT",
        api_app_id: str = "ACXBOT",
        verification_token: str = "cxbot-sandbox-verification-token",
        timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(app_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the app must listen on plain http: {app_url}")
        self._host, self._port = parts.hostname, parts.port or 80
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._secret = signing_secret.encode()
        self._emulator = emulator
        self.team_id = team_id
        self.api_app_id = api_app_id
        self.verification_token = verification_token
        self._timeout = timeout
        self.last_event: JsonDict | None = None
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._event_numbers = itertools.count(1)

    # ------------------------------------------------------------ transport

    def close(self) -> None:
        """Close every kept-alive connection, whichever thread opened it (a later request reopens)."""
        with self._lock:
            for connection in self._connections:
                connection.close()

    def __enter__(self) -> SlackPeople:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _send(self, body: bytes, headers: dict[str, str]) -> HttpResult:
        """POST over this thread's kept-alive connection, reconnecting once if the app had closed it."""
        connection = self._connection()
        reused = connection.sock is not None
        try:
            return self._exchange(connection, body, headers)
        except (ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
        return self._exchange(connection, body, headers)

    def _exchange(
        self, connection: http.client.HTTPConnection, body: bytes, headers: dict[str, str]
    ) -> HttpResult:
        try:
            connection.request("POST", self._path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            raise
        if response.will_close:
            connection.close()
        return HttpResult(response.status, {k.lower(): v for k, v in response.getheaders()}, payload)

    def _signature_headers(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        signature = sign(self._secret, timestamp, body)
        return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}

    def post_raw(
        self,
        body: bytes,
        *,
        content_type: str,
        timestamp: str | None = None,
        signature: str | None = None,
        sign: bool = True,
        headers: dict[str, str] | None = None,
    ) -> HttpResult:
        """Send any body: signed unless `sign=False`; a given timestamp/signature is used as is."""
        sent = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        if sign:
            sent.update(self._signature_headers(body, timestamp))
        elif timestamp is not None:
            sent["X-Slack-Request-Timestamp"] = timestamp
        if signature is not None:
            sent["X-Slack-Signature"] = signature
        sent.update(headers or {})
        return self._send(body, sent)

    def _post_form(self, form: dict[str, str]) -> HttpResult:
        return self.post_raw(urlencode(form).encode(), content_type=_FORM)

    def _post_payload(self, payload: JsonDict) -> HttpResult:
        return self._post_form({"payload": json.dumps(payload)})

    # ------------------------------------------------------------ who and where

    def _person(self, user_id: str) -> JsonDict:
        user = self._emulator.user(user_id)
        if user is None:
            raise LookupError(f"no user {user_id} in the workspace")
        return {"id": user.id, "username": user.name, "name": user.name, "team_id": self.team_id}

    def _team(self) -> JsonDict:
        return {"id": self.team_id, "domain": TEAM_DOMAIN}

    def _common(self, kind: str, user_id: str) -> JsonDict:
        return {
            "type": kind,
            "team": self._team(),
            "user": self._person(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "enterprise": None,
            "is_enterprise_install": False,
        }

    # ------------------------------------------------------------ slash commands and buttons

    def slash_command(
        self, user_id: str, command: str = "/cx-review", text: str = "", channel_id: str | None = None
    ) -> HttpResult:
        """`user_id` types `command text` in `channel_id` (default: #council if it exists).

        `text` is what the person typed; `@name` and `#channel` stand for a person or channel
        picked from Slack's autocomplete (`at()` writes one). When the manifest sets the command's
        `should_escape`, Slack sends them as `<@U123|name>` and `<#C123|name>` and escapes `&`,
        `<` and `>`; otherwise it sends the text as typed.
        """
        channel = channel_id or self._emulator.channel_id("council") or FALLBACK_CHANNEL
        if command in self._emulator.manifest.escaped_commands:
            text = self.escaped(text)
        return self._post_form({
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel,
            "channel_name": self._emulator.channel_name(channel),
            "user_id": user_id,
            "user_name": self._person(user_id)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self._emulator.new_response_url(user_id, channel),
            "trigger_id": self._emulator.new_trigger(user_id),
        })

    def at(self, user_id: str) -> str:
        """What a person types when they pick `user_id` from the `@` autocomplete."""
        return "@" + self._person(user_id)["name"]

    def escaped(self, typed: str, *, names: bool = True) -> str:
        """Text as Slack sends it: a slash command's with `should_escape: true` (a person as
        `<@U123|name>`), or a message's (`names=False`: a person as `<@U123>`)."""
        text = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        people = {f"@{name}": f"<@{user_id}|{name}>" if names else f"<@{user_id}>"
                  for user_id, name in self._emulator.user_names().items()}
        people.update({f"@{word}": f"<!{word}>" for word in ("here", "channel", "everyone")})
        rooms = {f"#{name}": f"<#{channel_id}|{name}>" for channel_id, name in self._emulator.channel_names().items()}
        picks = sorted({**people, **rooms}.items(), key=lambda pair: -len(pair[0]))
        out, i = [], 0
        while i < len(text):
            at_start = i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_&")
            if at_start and text[i] in "@#":
                for typed_name, markup in picks:
                    end = i + len(typed_name)
                    if text.startswith(typed_name, i) and not (end < len(text) and _NAME_CHAR.match(text[end])):
                        out.append(markup)
                        i = end
                        break
                else:
                    out.append(text[i])
                    i += 1
                continue
            out.append(text[i])
            i += 1
        return "".join(out)

    def press_button(
        self, user_id: str, *, channel: str, ts: str, action_id: str, value: str | None = None
    ) -> HttpResult:
        """`user_id` presses the button `action_id` of message `ts` (ephemeral ones included)."""
        message, block_id, button = self._element(user_id, channel, ts, action_id, "button")
        action = {"type": "button", "action_id": action_id, "block_id": block_id, "text": button.get("text")}
        chosen = value if value is not None else button.get("value")
        if chosen is not None:
            action["value"] = chosen
        if "style" in button:
            action["style"] = button["style"]
        return self._block_action(user_id, message, action)

    def choose_overflow(
        self, user_id: str, *, channel: str, ts: str, action_id: str, option_value: str
    ) -> HttpResult:
        """`user_id` opens the overflow menu `action_id` of message `ts` and picks `option_value`."""
        message, block_id, menu = self._element(user_id, channel, ts, action_id, "overflow")
        chosen = find_option(menu, option_value)
        action = {"type": "overflow", "action_id": action_id, "block_id": block_id, "selected_option": chosen}
        return self._block_action(user_id, message, action)

    def _element(
        self, user_id: str, channel: str, ts: str, action_id: str, kind: str
    ) -> tuple[Message, str, JsonDict]:
        """The message as `user_id` sees it, and the element `action_id` in it."""
        message = self._emulator.message(channel, ts) or next(
            (m for m in self._emulator.ephemerals(user_id) if m.channel == channel and m.ts == ts), None
        )
        if message is None:
            raise LookupError(f"{user_id} sees no message {ts} in {channel}")
        return (message, *_element_in(message.blocks, action_id, kind, f"message {ts} in {channel}"))

    def press_home_button(self, user_id: str, *, action_id: str, value: str | None = None,
                          home: JsonDict | None = None) -> HttpResult:
        """`user_id` presses the button `action_id` (the first with `value`, when given) on the Home
        tab last published for them (or on `home`, an older one still on their screen): a block
        action from a view, with no channel and no response_url."""
        home = home or self._emulator.home(user_id)
        if home is None:
            raise LookupError(f"no Home tab is published for {user_id}")
        block_id, button = _element_in(home["blocks"], action_id, "button", f"the Home tab of {user_id}", value)
        action = {"type": "button", "action_id": action_id, "block_id": block_id, "text": button.get("text"),
                  "value": button.get("value"), "action_ts": f"{time.time():.6f}"}
        payload = self._common("block_actions", user_id)
        payload.update(container={"type": "view", "view_id": home["id"]}, view=home, state={"values": {}},
                       trigger_id=self._emulator.new_trigger(user_id), actions=[action])
        return self._post_payload(payload)

    def _block_action(self, user_id: str, message: Message, action: JsonDict) -> HttpResult:
        container: JsonDict = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": message.visible_to is not None,
        }
        if message.thread_ts:
            container["thread_ts"] = message.thread_ts
        payload = self._common("block_actions", user_id)
        payload.update(
            container=container,
            trigger_id=self._emulator.new_trigger(user_id),
            channel={"id": message.channel, "name": self._emulator.channel_name(message.channel)},
            state={"values": {}},
            response_url=self._emulator.new_response_url(
                user_id, message.channel, message_ts=message.ts, thread_ts=message.thread_ts
            ),
            actions=[dict(action, action_ts=f"{time.time():.6f}")],
        )
        if message.visible_to is None:
            payload["message"] = message.to_slack()
        return self._post_payload(payload)

    # ------------------------------------------------------------ modals

    def submit_view(self, user_id: str, values: dict[str, Any], *, view_id: str | None = None) -> HttpResult:
        """`user_id` fills in their top modal (or `view_id`) with `values` and presses Submit.

        The emulator then does what Slack does with the app's answer: close the view (no
        `response_action`), close them all (`clear`), keep it open (`errors`), replace it
        (`update`) or push another (`push`).
        """
        stack = self._emulator.open_views(user_id)
        view = next((v for v in reversed(stack) if view_id in {None, v["id"]}), None)
        if view is None:
            raise LookupError(f"{user_id} has no open modal {view_id or ''}".rstrip())
        result = self.submit_view_raw(user_id, view, view_state_values(view, values))
        if result.status == 200:
            try:
                answer = result.json()
            except ValueError:
                answer = None
            response = answer if isinstance(answer, dict) else None
            self._emulator.apply_view_response(user_id, view["id"], response)
        return result

    def change_input(self, user_id: str, block_id: str, value: Any, *, view_id: str | None = None) -> HttpResult | None:
        """`user_id` changes the input `block_id` of their top modal (or `view_id`) to `value`.

        As in Slack, the app hears of it only when the input block asks (`dispatch_action`): a
        `block_actions` payload from the view, with the view's state so far (else None)."""
        stack = self._emulator.open_views(user_id)
        view = next((v for v in reversed(stack) if view_id in {None, v["id"]}), None)
        if view is None:
            raise LookupError(f"{user_id} has no open modal {view_id or ''}".rstrip())
        block = next((b for b in view.get("blocks") or [] if b.get("block_id") == block_id), None)
        if block is None or block.get("type") != "input":
            raise LookupError(f"no input {block_id!r} in view {view['id']}")
        if not block.get("dispatch_action"):
            return None
        state = view_state_values(view, {block_id: value}, submitting=False)
        element = block["element"]
        action = dict(state[block_id][element["action_id"]], action_id=element["action_id"], block_id=block_id,
                      action_ts=f"{time.time():.6f}")
        payload = self._common("block_actions", user_id)
        payload.update(
            container={"type": "view", "view_id": view["id"]},
            trigger_id=self._emulator.new_trigger(user_id),
            view=dict(view, state={"values": state}),
            actions=[action],
        )
        return self._post_payload(payload)

    def submit_view_raw(self, user_id: str, view: JsonDict, state_values: JsonDict) -> HttpResult:
        """Send a `view_submission` for any view and state, open or not: for crafted payloads."""
        payload = self._common("view_submission", user_id)
        payload.update(
            trigger_id=self._emulator.new_trigger(user_id),
            view=dict(view, state={"values": state_values}),
            response_urls=[],
        )
        return self._post_payload(payload)

    def cancel_view(self, user_id: str) -> HttpResult | None:
        """`user_id` closes their top modal; the app hears of it only if it asked (`notify_on_close`)."""
        view = self._emulator.close_view(user_id)
        if not view.get("notify_on_close"):
            return None
        payload = self._common("view_closed", user_id)
        payload.update(view=view, is_cleared=view["clear_on_close"])
        return self._post_payload(payload)

    # ------------------------------------------------------------ Events API

    def post_message(
        self, user_id: str, *, channel: str, text: str, thread_ts: str | None = None
    ) -> HttpResult | None:
        """`user_id` writes `text` in `channel` (in a thread if `thread_ts`); the app gets the event.

        `text` is what the person typed, as for `slash_command`: Slack sends (and keeps) a message's
        text with `&`, `<` and `>` escaped and a person picked after `@` as `<@U123>`. As in Slack,
        the message event reaches the app only when the manifest subscribes to messages of the
        conversation's type (`message.channels`, `message.groups`, `message.im`) and the bot is in
        the conversation; otherwise nothing is sent and this returns None.
        """
        text = self.escaped(text, names=False)
        message = self._emulator.record_user_message(user_id, channel, text, thread_ts)
        channel_type = self._emulator.channel_type(message.channel)
        subscription = {"channel": "message.channels", "group": "message.groups", "im": "message.im"}[channel_type]
        if (subscription not in self._emulator.manifest.bot_events
                or not self._emulator.is_member(message.channel, self._emulator.bot_user_id)):
            return None
        event: JsonDict = {
            "type": "message",
            "client_msg_id": str(uuid.uuid4()),
            "channel": message.channel,
            "user": user_id,
            "text": text,
            "ts": message.ts,
            "event_ts": message.ts,
            "channel_type": channel_type,
            "team": self.team_id,
        }
        if message.thread_ts:
            event["thread_ts"] = message.thread_ts
        return self.send_event(self._envelope(event))

    def post_in_thread(self, user_id: str, *, channel: str, thread_ts: str, text: str) -> HttpResult | None:
        """`user_id` replies in the thread under `thread_ts`; the envelope is kept in `last_event`."""
        return self.post_message(user_id, channel=channel, text=text, thread_ts=thread_ts)

    def message_shortcut(self, user_id: str, *, channel: str, ts: str,
                         callback_id: str = "cx_review_message") -> HttpResult | None:
        """`user_id` picks the app's message shortcut `callback_id` from the ⋯ menu of message `ts`:
        a `message_action` payload with the whole message, a trigger and a response_url. Slack
        offers only the shortcuts the manifest declares: else nothing is sent and this returns None."""
        if callback_id not in self._emulator.manifest.message_shortcuts:
            return None
        message = self._emulator.message(channel, ts)
        if message is None:
            raise LookupError(f"no message {ts} in {channel}")
        payload = self._common("message_action", user_id)
        payload.update(
            callback_id=callback_id,
            trigger_id=self._emulator.new_trigger(user_id),
            response_url=self._emulator.new_response_url(user_id, channel),
            message_ts=message.ts,
            action_ts=f"{time.time():.6f}",
            channel={"id": channel, "name": self._emulator.channel_name(channel)},
            message=message.to_slack(),
        )
        return self._post_payload(payload)

    def open_app_home(self, user_id: str, tab: str = "home") -> HttpResult | None:
        """`user_id` opens the app's Home (or Messages) tab: an `app_home_opened` event, sent
        only when the manifest subscribes to it (else None)."""
        if "app_home_opened" not in self._emulator.manifest.bot_events:
            return None
        event: JsonDict = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self._emulator.dm_channel(user_id),
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        home = self._emulator.home(user_id)
        if home is not None and tab == "home":
            event["view"] = home
        return self.send_event(self._envelope(event))

    def change_profile(self, user_id: str, *, real_name: str | None = None, tz: str | None = None,
                       locale: str | None = None) -> HttpResult | None:
        """`user_id` changes their name, time zone or Slack's language: the workspace changes, and
        Slack sends `user_change` with the whole user object, only when the manifest subscribes to it
        (else None)."""
        self._emulator.change_user(user_id, real_name=real_name, tz=tz, locale=locale)
        if "user_change" not in self._emulator.manifest.bot_events:
            return None
        now = time.time()
        event: JsonDict = {"type": "user_change", "user": self._emulator.user_object(user_id, include_locale=True),
                           "cache_ts": int(now), "event_ts": f"{now:.6f}"}
        return self.send_event(self._envelope(event))

    def _envelope(self, event: JsonDict) -> JsonDict:
        number = next(self._event_numbers)
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{number:04d}{uuid.uuid4().hex[:6].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{
                "enterprise_id": None,
                "team_id": self.team_id,
                "user_id": self._emulator.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }],
            "is_ext_shared_channel": False,
        }

    def send_event(
        self, envelope: JsonDict, *, retry_num: int | None = None, retry_reason: str = "http_timeout"
    ) -> HttpResult:
        """Deliver an Events API envelope; with `retry_num`, as Slack's redelivery of it."""
        self.last_event = envelope
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self.post_raw(json.dumps(envelope).encode(), content_type=_JSON, headers=headers)

    def url_verification(self, challenge: str) -> HttpResult:
        """The handshake Slack does when the Request URL is saved."""
        body = {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        return self.post_raw(json.dumps(body).encode(), content_type=_JSON)
