"""The Web API methods the bot calls, and the two endpoints Slack hands out URLs for.

Each method is a `WebApi` method registered in `API` under its Slack name; it runs with the
workspace lock held and either returns the `ok: true` answer or raises `ApiError`. The
response_url and file-upload endpoints (`_respond`, `_receive_upload`) live here too, as they
change the workspace in the same ways.
"""

from __future__ import annotations

import base64
import bisect
import functools
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cxbot.sandbox.blockkit import Refusal, view_refusal
from cxbot.sandbox.manifest import AppManifest
from cxbot.sandbox.state import File, JsonDict, Message, Trigger, Upload
from cxbot.sandbox.wire import ApiError
from cxbot.sandbox.workspace import VIEW_STACK_LIMIT, Workspace

TRIGGER_TTL = 3.0
RESPONSE_URL_USES = 5
WORKSPACE_URL = "https://cxbot-sandbox.slack.com/"

Handler = Callable[["WebApi", JsonDict], JsonDict]
API: dict[str, Handler] = {}
SCOPES: dict[str, tuple[str, ...]] = {}
"""The bot scopes each method needs, any one of them, from the "Required scopes" of its page
in Slack's method reference. conversations.replies needs the one of its conversation's type."""

HISTORY_SCOPES = {"channel": "channels:history", "group": "groups:history", "im": "im:history"}


def _api(name: str, *scopes: str) -> Callable[[Handler], Handler]:
    """Register a method of `WebApi` as the Web API method `name`, needing one of `scopes`."""

    def register(handler: Handler) -> Handler:
        API[name] = handler
        SCOPES[name] = scopes
        return handler

    return register


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in {"true", "1"})


@functools.lru_cache(maxsize=256)
def _view_refusal_of(text: str, kind: str) -> Refusal | None:
    return view_refusal(json.loads(text), kind=kind)


def _checked_view(view: Any, kind: str) -> JsonDict:
    """Slack's checks of a view. A bot sends the same view many times (every `/cx-review`
    opens the same form), so each distinct view is checked once: under load the emulator
    shares the machine with the app it serves, and real Slack's work costs the app nothing."""
    try:
        refusal = _view_refusal_of(json.dumps(view, sort_keys=True), kind)
    except (TypeError, ValueError):
        refusal = view_refusal(view, kind=kind)
    if refusal is not None:
        raise ApiError(refusal.error, *refusal.messages)
    return view


class WebApi(Workspace):
    """A workspace that answers the Web API methods in `API`, for a bot token with `bot_scopes`."""

    manifest: AppManifest

    @property
    def bot_scopes(self) -> frozenset[str]:
        """The bot token's scopes: those its app's manifest asks for."""
        return self.manifest.bot_scopes

    def _require_scope(self, method: str, scopes: tuple[str, ...] | None = None) -> None:
        """Slack's `missing_scope` answer when the token has none of the scopes the method needs."""
        needed = SCOPES.get(method, ()) if scopes is None else scopes
        if needed and not self.bot_scopes & set(needed):
            raise ApiError("missing_scope", needed=",".join(needed), provided=",".join(sorted(self.bot_scopes)))

    def _message_of_bot(self, params: JsonDict, refusal: str) -> Message:
        channel = self._conversation(params.get("channel"))
        message = self._find(channel, str(params.get("ts", "")))
        if message is None:
            raise ApiError("message_not_found")
        if message.user != self.bot_user_id:
            raise ApiError(refusal)
        return message

    def _take_trigger(self, trigger_id: Any) -> tuple[str, Trigger]:
        """The user behind a still-usable trigger id; the caller marks it used once the call succeeds."""
        trigger = self._triggers.get(str(trigger_id))
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued > TRIGGER_TTL:
            raise ApiError("expired_trigger_id")
        return trigger.user, trigger

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

    @_api("chat.postMessage", "chat:write")
    def _chat_post_message(self, params: JsonDict) -> JsonDict:
        channel = self._conversation(params.get("channel"), user_id_means_dm=True, by_name=True)
        self._postable(channel)
        text, blocks = self._content(params, "chat.postMessage", self._audience(channel))
        thread_ts = self._thread_root(channel, params.get("thread_ts"))
        message = self._store(channel, self.bot_user_id, text, blocks, thread_ts=thread_ts)
        return {"ok": True, "channel": channel, "ts": message.ts, "message": message.to_slack()}

    @_api("chat.update", "chat:write")
    def _chat_update(self, params: JsonDict) -> JsonDict:
        message = self._message_of_bot(params, "cant_update_message")
        text, blocks = self._content(params, "chat.update", self._audience(message.channel), old=message)
        self._edit(message, text, blocks)
        answer = {"ok": True, "channel": message.channel, "ts": message.ts, "text": text}
        return dict(answer, message=message.to_slack())

    @_api("chat.delete", "chat:write")
    def _chat_delete(self, params: JsonDict) -> JsonDict:
        message = self._message_of_bot(params, "cant_delete_message")
        del self._messages[message.channel, message.ts]
        self._note(self._audience(message.channel), f"deleted {message.ts}", "", message.user)
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    @_api("chat.postEphemeral", "chat:write")
    def _chat_post_ephemeral(self, params: JsonDict) -> JsonDict:
        channel = self._conversation(params.get("channel"), by_name=True)
        self._postable(channel)
        user = str(params.get("user", ""))
        if user not in self._users:
            raise ApiError("user_not_found")
        if not self.is_member(channel, user):
            raise ApiError("user_not_in_channel")
        text, blocks = self._content(params, "chat.postEphemeral", f"only visible to {self.user_name(user)}")
        message = self._post_ephemeral(channel, user, text, blocks, params.get("thread_ts"))
        return {"ok": True, "message_ts": message.ts}

    @_api("chat.getPermalink")
    def _chat_get_permalink(self, params: JsonDict) -> JsonDict:
        channel = self._conversation(params.get("channel"))
        message = self._find(channel, str(params.get("message_ts", "")))
        if message is None:
            raise ApiError("message_not_found")
        link = f"{WORKSPACE_URL}archives/{channel}/p{message.ts.replace('.', '')}"
        if message.thread_ts:
            link += f"?thread_ts={message.thread_ts}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

    @_api("conversations.open", "channels:manage", "groups:write", "im:write", "mpim:write")
    def _conversations_open(self, params: JsonDict) -> JsonDict:
        users = [u for u in str(params.get("users", "")).split(",") if u]
        if len(users) != 1:
            raise ApiError("invalid_arguments", "the sandbox opens DMs with exactly one user")
        if users[0] not in self._users:
            raise ApiError("user_not_found")
        dm = self.dm_channel(users[0])
        already_open = dm in self._dm_users
        self._dm_users[dm] = users[0]
        answer: JsonDict = {"ok": True, "channel": {"id": dm}}
        if already_open:
            answer.update(no_op=True, already_open=True)
        return answer

    def user_object(self, user_id: str, *, include_locale: bool = False) -> JsonDict:
        """A person as Slack's user object shows them (users.info, users.list, user_change);
        `locale` only when asked for (`include_locale`), as Slack does."""
        user = self._users[user_id]
        offset = datetime.now(ZoneInfo(user.tz)).utcoffset()
        found: JsonDict = {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "real_name": user.real_name,
            "deleted": False,
            "tz": user.tz,
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "is_bot": user.is_bot,
            "profile": {"real_name": user.real_name, "display_name": user.name},
        }
        if include_locale:
            found["locale"] = user.locale
        return found

    @_api("users.info", "users:read")
    def _users_info(self, params: JsonDict) -> JsonDict:
        user = self._users.get(str(params.get("user", "")))
        if user is None:
            raise ApiError("user_not_found")
        return {"ok": True, "user": self.user_object(user.id, include_locale=_flag(params.get("include_locale")))}

    @_api("users.list", "users:read")
    def _users_list(self, params: JsonDict) -> JsonDict:
        """Everyone in the workspace, bots included, a page at a time: `limit` people (all
        without one) after the opaque `cursor`; `response_metadata.next_cursor` leads to the
        next page and is "" after the last (Slack's cursor-based pagination)."""
        ids = sorted(self._users)
        start = 0
        if params.get("cursor"):
            try:
                after = base64.b64decode(str(params["cursor"]), validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                raise ApiError("invalid_cursor") from None
            if not after.startswith("user:"):
                raise ApiError("invalid_cursor")
            start = bisect.bisect_right(ids, after[len("user:"):])
        try:
            limit = int(params.get("limit") or 0)
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments") from None
        page = ids[start:start + limit] if limit > 0 else ids[start:]
        more = start + len(page) < len(ids)
        cursor = base64.b64encode(f"user:{page[-1]}".encode()).decode() if more and page else ""
        include_locale = _flag(params.get("include_locale"))
        return {"ok": True, "members": [self.user_object(u, include_locale=include_locale) for u in page],
                "cache_ts": int(time.time()),
                "response_metadata": {"next_cursor": cursor}}

    @_api("conversations.info", "channels:read", "groups:read", "im:read", "mpim:read")
    def _conversations_info(self, params: JsonDict) -> JsonDict:
        """A channel's details, with its `locale` only when asked for (`include_locale`). A private
        channel is found only by its members (the bot once invited), as in Slack."""
        channel_id = str(params.get("channel", ""))
        channel = self._channels.get(channel_id)
        if channel is None or (channel.is_private and self.bot_user_id not in channel.members):
            raise ApiError("channel_not_found")
        self._require_scope("conversations.info", ("groups:read",) if channel.is_private else ("channels:read",))
        found: JsonDict = {"id": channel.id, "name": channel.name, "is_channel": not channel.is_private,
                           "is_group": channel.is_private, "is_private": channel.is_private,
                           "is_archived": channel.is_archived, "is_member": self.bot_user_id in channel.members}
        if _flag(params.get("include_locale")):
            found["locale"] = channel.locale
        return {"ok": True, "channel": found}

    @_api("views.open")
    def _views_open(self, params: JsonDict) -> JsonDict:
        user, trigger = self._take_trigger(params.get("trigger_id"))
        view = self._full_view(_checked_view(params.get("view"), "modal"))
        trigger.used = True
        self._stacks[user] = [view["id"]]
        self._note_view(user, view, "modal opened")
        return {"ok": True, "view": view}

    @_api("views.push")
    def _views_push(self, params: JsonDict) -> JsonDict:
        user, trigger = self._take_trigger(params.get("trigger_id"))
        checked = _checked_view(params.get("view"), "modal")
        stack = self._stacks.get(user) or []
        if not stack:
            raise ApiError("not_found", "views.push needs an open modal to push onto")
        if len(stack) >= VIEW_STACK_LIMIT:
            raise ApiError("push_limit_reached")
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
            raise ApiError("not_found")
        if params.get("hash") and params["hash"] != self._views[view_id]["hash"]:
            raise ApiError("hash_conflict")
        view = self._replace_view(view_id, _checked_view(params.get("view"), "modal"))
        self._note_view(owner, view, "modal updated")
        return {"ok": True, "view": view}

    @_api("views.publish")
    def _views_publish(self, params: JsonDict) -> JsonDict:
        """Slack's method reference: no scope needed; `not_enabled` while the app's Home tab is
        off; an unknown user is `invalid_arguments` ("invalid `user_id`"); the view is checked as
        any other (100 blocks, `view_too_large`)."""
        if not self.manifest.home_tab:
            raise ApiError("not_enabled")
        user = str(params.get("user_id", ""))
        if user not in self._users:
            raise ApiError("invalid_arguments", "invalid `user_id`")
        current = self._views.get(self._homes.get(user, ""))
        if current is not None and params.get("hash") and params["hash"] != current["hash"]:
            raise ApiError("hash_conflict")
        checked = _checked_view(params.get("view"), "home")
        view = self._full_view(checked, view_id=current["id"] if current else None)
        self._homes[user] = view["id"]
        self._note_view(user, view, "home published")
        return {"ok": True, "view": view}

    @_api("reactions.add", "reactions:write")
    def _reactions_add(self, params: JsonDict) -> JsonDict:
        channel = self._conversation(params.get("channel"))
        message = self._find(channel, str(params.get("timestamp", "")))
        if message is None:
            raise ApiError("message_not_found")
        name = str(params.get("name", "")).strip(":")
        if not name:
            raise ApiError("invalid_name")
        if self._channels.get(channel) is not None and self._channels[channel].is_archived:
            raise ApiError("is_archived")
        if self.bot_user_id in message.reactions.get(name, []):
            raise ApiError("already_reacted")
        message.reactions.setdefault(name, []).append(self.bot_user_id)
        return {"ok": True}

    @_api("conversations.replies", "channels:history", "groups:history", "im:history", "mpim:history")
    def _conversations_replies(self, params: JsonDict) -> JsonDict:
        channel = self._conversation(params.get("channel"))
        self._require_scope("conversations.replies", (HISTORY_SCOPES[self.channel_type(channel)],))
        if not self.is_member(channel, self.bot_user_id):
            raise ApiError("not_in_channel")
        parent = self._find(channel, str(params.get("ts", "")))
        if parent is None:
            raise ApiError("thread_not_found")
        root = parent.thread_ts or parent.ts
        thread = [m for m in self._messages.values() if m.channel == channel and root in {m.ts, m.thread_ts}]
        return {"ok": True, "messages": [m.to_slack() for m in thread], "has_more": False}

    @_api("files.getUploadURLExternal", "files:write")
    def _files_get_upload_url(self, params: JsonDict) -> JsonDict:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            raise ApiError("invalid_arguments", "filename and length are required")
        file_id = self._next_id("F")
        self._uploads[file_id] = Upload(str(params["filename"]))
        return {"ok": True, "upload_url": f"{self._origin}/upload/{file_id}", "file_id": file_id}

    @_api("files.completeUploadExternal", "files:write")
    def _files_complete_upload(self, params: JsonDict) -> JsonDict:
        wanted = params.get("files")
        if not isinstance(wanted, list) or not wanted or not all(isinstance(f, dict) for f in wanted):
            raise ApiError("invalid_arguments", "files must be a non-empty JSON array of objects")
        uploads = [self._uploads.get(str(spec.get("id"))) for spec in wanted]
        channel = self._conversation(params["channel_id"]) if params.get("channel_id") else None
        if channel is not None:
            self._postable(channel)
        thread_ts = self._thread_root(channel, params.get("thread_ts")) if channel else None
        comment = params.get("initial_comment")
        stored = []
        for spec, upload in zip(wanted, uploads, strict=True):
            if upload is None or upload.content is None:
                raise ApiError("file_not_found")
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
            raise ApiError("file_not_found", status=404)
        upload.content = content
        return {"ok": True}

    def _respond(self, key: str, body: JsonDict) -> JsonDict:
        """A message sent to a response_url: an ephemeral reply, a channel post, or an edit/delete."""
        hook = self._response_urls.get(key)
        if hook is None:
            raise ApiError("expired_url", status=404)
        if hook.uses >= RESPONSE_URL_USES:
            raise ApiError("used_url", status=404)
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
            except ApiError as exc:
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
