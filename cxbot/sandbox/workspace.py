"""The emulated workspace: everything Slack keeps, and the rules it applies when it changes.

`Workspace` owns the state (people, channels, messages, views, files, the transcript) and the
lock guarding it, with the operations the Web API methods share: resolving channels and threads,
validating and storing messages, storing views. The `_`-prefixed methods expect the caller to
hold `_lock`; `webapi.WebApi` and `emulator.SlackEmulator` build on this class.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from typing import Any

from cxbot.sandbox import render
from cxbot.sandbox.blockkit import block_errors, with_ids
from cxbot.sandbox.state import (
    Channel,
    File,
    JsonDict,
    Message,
    MessageVersion,
    ResponseUrl,
    TranscriptEntry,
    Trigger,
    Upload,
    User,
    Usergroup,
)
from cxbot.sandbox.wire import ApiError

TEXT_LIMIT = 40_000
VIEW_STACK_LIMIT = 3


class Workspace:
    """One Slack workspace, as the bot's app sees it; see the module docstring."""

    def __init__(self, *, bot_user_id: str, bot_id: str, team_id: str, host: str, port: int) -> None:
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._users: dict[str, User] = {}
        self._channels: dict[str, Channel] = {}
        self._dm_users: dict[str, str] = {}
        self._usergroups: dict[str, Usergroup] = {}
        self._counter = itertools.count(1)
        self._last_ts_us = 0
        self.add_user(bot_user_id, "cxbot", is_bot=True)
        self._clear()

    def _clear(self) -> None:
        """Forget everything but the directory (people, channels, DMs)."""
        self._messages: dict[tuple[str, str], Message] = {}  # by (channel, ts), in posting order
        self._ephemerals: list[Message] = []
        self._triggers: dict[str, Trigger] = {}
        self._views: dict[str, JsonDict] = {}
        self._stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._uploads: dict[str, Upload] = {}
        self._files: list[File] = []
        self._response_urls: dict[str, ResponseUrl] = {}
        self._problems: list[str] = []
        self._transcript: list[TranscriptEntry] = []

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
        locale: str = "en-US",
    ) -> None:
        with self._lock:
            self._users[user_id] = User(user_id, name, real_name or name, tz, is_bot, locale)

    def change_user(self, user_id: str, *, real_name: str | None = None, tz: str | None = None,
                    locale: str | None = None) -> None:
        """A person edits their profile (name, time zone, or Slack's language); `SlackPeople.change_profile`
        tells the app."""
        with self._lock:
            user = self._users[user_id]
            self._users[user_id] = User(user.id, user.name, user.real_name if real_name is None else real_name,
                                        user.tz if tz is None else tz, user.is_bot,
                                        user.locale if locale is None else locale)

    def set_channel_locale(self, channel_id: str, locale: str) -> None:
        """The channel's language as Slack reports it (`conversations.info` with `include_locale`)."""
        with self._lock:
            self._channels[channel_id].locale = locale

    def add_usergroup(self, usergroup_id: str, handle: str, users: Sequence[str] = ()) -> None:
        """A user group, as a workspace admin makes one: `<!subteam^S…>` notifies `users`.
        cxbot only mentions groups (it calls no `usergroups.*` method), so tests and the demo set them up here."""
        with self._lock:
            self._usergroups[usergroup_id] = Usergroup(usergroup_id, handle.lstrip("@"), frozenset(users))

    def usergroup(self, usergroup_id: str) -> Usergroup | None:
        with self._lock:
            return self._usergroups.get(usergroup_id)

    def notified(self, mentions: Sequence[str]) -> set[str]:
        """Who a message's mentions (`Message.mentions`) reach: the people mentioned, and the
        members of the user groups mentioned (a group the workspace does not have reaches nobody)."""
        with self._lock:
            reached: set[str] = set()
            for m in mentions:
                if m.startswith("<@"):
                    reached.add(m[2:-1])
                elif m.startswith("<!subteam^"):
                    group = self._usergroups.get(m[len("<!subteam^"):-1])
                    reached |= group.users if group else set()
            return reached

    def add_channel(
        self, channel_id: str, name: str, *, private: bool | None = None, members: Sequence[str] = ()
    ) -> None:
        """A channel with these people in it; private when the id starts with `G` unless told.

        The bot is not a member until it is invited (`invite_bot`), as in a real workspace.
        """
        is_private = channel_id.startswith("G") if private is None else private
        with self._lock:
            self._channels[channel_id] = Channel(channel_id, name.lstrip("#"), is_private, set(members))

    def invite(self, channel_id: str, *user_ids: str) -> None:
        """Add people (or the bot) to a channel, as `/invite` does."""
        with self._lock:
            self._channels[channel_id].members.update(user_ids)

    def invite_bot(self, channel_id: str) -> None:
        """Invite the app's bot user, as an admin does after installing the app."""
        self.invite(channel_id, self.bot_user_id)

    def remove(self, channel_id: str, *user_ids: str) -> None:
        with self._lock:
            self._channels[channel_id].members.difference_update(user_ids)

    def archive(self, channel_id: str) -> None:
        with self._lock:
            self._channels[channel_id].is_archived = True

    def channel_type(self, channel_id: str) -> str:
        """The `channel_type` of events from this conversation: `channel`, `group` or `im`."""
        with self._lock:
            if channel_id in self._dm_users or channel_id.startswith("D"):
                return "im"
            found = self._channels.get(channel_id)
            private = found.is_private if found else channel_id.startswith("G")
            return "group" if private else "channel"

    def is_member(self, channel_id: str, user_id: str) -> bool:
        """Whether `user_id` (or the bot) is in the conversation; a DM holds the bot and its person."""
        with self._lock:
            if channel_id in self._dm_users:
                return user_id in {self.bot_user_id, self._dm_users[channel_id]}
            found = self._channels.get(channel_id)
            return found is not None and user_id in found.members

    def user(self, user_id: str) -> User | None:
        with self._lock:
            return self._users.get(user_id)

    def user_name(self, user_id: str) -> str:
        """How a person is shown to others: their real name, else the bare id; a user group
        (`subteam^S…`) by its handle."""
        if user_id.startswith("subteam^"):
            group = self.usergroup(user_id[len("subteam^"):])
            return group.handle if group else user_id
        user = self.user(user_id)
        return user.real_name if user else user_id

    def channel_name(self, channel_id: str) -> str:
        """The name Slack puts in payloads: the channel's name, `directmessage` for a DM."""
        with self._lock:
            if channel_id in self._dm_users:
                return "directmessage"
            found = self._channels.get(channel_id)
            return found.name if found else channel_id

    def user_names(self) -> dict[str, str]:
        """Everyone's `name` (the handle Slack puts in `<@U123|name>`), by user id."""
        with self._lock:
            return {u.id: u.name for u in self._users.values()}

    def channel_names(self) -> dict[str, str]:
        with self._lock:
            return {c.id: c.name for c in self._channels.values()}

    def channel_id(self, name: str) -> str | None:
        """The id of the channel called `name` (with or without `#`), if there is one."""
        with self._lock:
            return next((c.id for c in self._channels.values() if c.name == name.lstrip("#")), None)

    @staticmethod
    def dm_channel(user_id: str) -> str:
        """The id of the bot's DM with `user_id`, derived from the user id so tests can predict it."""
        return "D" + user_id[1:]

    # ------------------------------------------------------------ ids, channels, threads

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter):08d}"

    def _next_ts(self) -> str:
        """A fresh, strictly increasing message ts taken from the wall clock, as Slack's are."""
        self._last_ts_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _resolve_channel(self, channel: Any) -> str:
        """A channel id from what a person can pick: a channel or DM id, a `#name`, or a user id (their DM)."""
        if not isinstance(channel, str) or not channel:
            raise ApiError("channel_not_found")
        if channel in self._channels or channel in self._dm_users:
            return channel
        if channel in self._users:
            dm = self.dm_channel(channel)
            self._dm_users[dm] = channel
            return dm
        found = self.channel_id(channel)
        if found is None:
            raise ApiError("channel_not_found")
        return found

    def _conversation(self, channel: Any, *, user_id_means_dm: bool = False, by_name: bool = False) -> str:
        """The conversation a Web API call names, as the bot may see it.

        Slack takes a user id as `channel` only where its docs say so (chat.postMessage posts to
        the app's DM with that person) and a `#name` only where they say "an encoded ID, or a
        name"; elsewhere, and for a private channel the bot was not invited to, the channel is
        not found.
        """
        if not isinstance(channel, str) or not channel:
            raise ApiError("channel_not_found")
        if channel in self._dm_users:
            return channel
        if channel in self._users:
            if not user_id_means_dm:
                raise ApiError("channel_not_found")
            dm = self.dm_channel(channel)
            self._dm_users[dm] = channel
            return dm
        found = self._channels.get(channel)
        if found is None and by_name:
            found = self._channels.get(self.channel_id(channel) or "")
        if found is None or (found.is_private and self.bot_user_id not in found.members):
            raise ApiError("channel_not_found")
        return found.id

    def _postable(self, channel_id: str) -> None:
        """Refuse to post where Slack refuses: an archived channel, or one the bot is not in."""
        found = self._channels.get(channel_id)
        if found is None:
            return  # a DM: the bot is always in its own DMs
        if found.is_archived:
            raise ApiError("is_archived")
        if self.bot_user_id not in found.members:
            raise ApiError("not_in_channel")

    def _find(self, channel: str, ts: str) -> Message | None:
        return self._messages.get((channel, ts))

    def _thread_root(self, channel: str, thread_ts: Any) -> str | None:
        """The ts of the thread's parent; Slack files a reply to a reply under the same parent."""
        if not thread_ts:
            return None
        parent = self._find(channel, str(thread_ts))
        if parent is None:
            raise ApiError("thread_not_found")
        return parent.thread_ts or parent.ts

    # ------------------------------------------------------------ transcript

    def _audience(self, channel: str) -> str:
        if channel in self._dm_users:
            return f"DM with {self.user_name(self._dm_users[channel])}"
        return "#" + self.channel_name(channel)

    def _readable(self, text: str, blocks: list[JsonDict]) -> str:
        if blocks:
            return render.blocks_to_text(blocks, user_name=self.user_name)
        return render.mrkdwn_to_text(text, user_name=self.user_name)

    def _note(self, audience: str, where: str, text: str, author: str) -> None:
        self._transcript.append(TranscriptEntry(audience, where, text, self.user_name(author)))

    def _note_view(self, user_id: str, view: JsonDict, where: str) -> None:
        audience = ("Home tab of " if view["type"] == "home" else "modal for ") + self.user_name(user_id)
        self._note(audience, where, render.view_to_text(view, user_name=self.user_name), self.bot_user_id)

    # ------------------------------------------------------------ messages

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
            raise ApiError("invalid_blocks_format")
        errors = block_errors(blocks, in_view=False)
        if errors:
            raise ApiError("invalid_blocks", *errors)
        text = str(params.get("text", old.text if old else ""))[:TEXT_LIMIT]
        if not text and not blocks and not params.get("attachments"):
            raise ApiError("no_text")
        if blocks and not text:
            self._problems.append(
                f"{method} to {audience}: blocks without a text fallback"
                " (notifications and screen readers get nothing)"
            )
        return text, with_ids(blocks)

    # ------------------------------------------------------------ views

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
            "blocks": with_ids(view.get("blocks") or []),
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
