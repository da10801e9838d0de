"""What the emulated Slack keeps: the records tests read back, and Slack's own bookkeeping.

`Message`, `Call`, `File` and `TranscriptEntry` are what the emulator's inspection methods
return (as copies); `Trigger`, `ResponseUrl` and `Upload` track one-shot trigger ids,
response_urls and two-step file uploads, and never leave the emulator.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class User:
    id: str
    name: str
    real_name: str
    tz: str
    is_bot: bool
    locale: str = "en-US"   # the interface language the person chose in Slack


@dataclass(frozen=True)
class Usergroup:
    """A user group (`S…`): mentioned as `<!subteam^S…>`, it notifies its members; shown as `@handle`."""

    id: str
    handle: str
    users: frozenset[str]


@dataclass
class Channel:
    """A public or private channel: who is in it (the bot only once invited) and whether it is archived."""

    id: str
    name: str
    is_private: bool
    members: set[str] = field(default_factory=set)
    is_archived: bool = False
    locale: str = "en-US"   # the channel's language as Slack reports it (conversations.info)


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
    reactions: dict[str, list[str]] = field(default_factory=dict)

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
        if self.reactions:
            wire["reactions"] = [{"name": n, "users": list(u), "count": len(u)} for n, u in self.reactions.items()]
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
class Trigger:
    user: str
    issued: float
    used: bool = False


@dataclass
class ResponseUrl:
    user: str
    channel: str
    message_ts: str | None
    thread_ts: str | None
    uses: int = 0


@dataclass
class Upload:
    filename: str
    content: bytes | None = None
