"""Turns outbox items into Slack Web API calls, and sorts Slack's answers by what they mean.

This adapter only talks to Slack: what it renders and where the bot's messages are come from
`cxbot.services.delivery` as plain values (read sessions, never a transaction held across a
Slack call), and what Slack answered (a message's ts) goes back through it.

Slack documents which failures pass: HTTP 429 (with `Retry-After`, honoured), 5xx, a
connection error or timeout, and the errors `ratelimited`, `internal_error`, `fatal_error`,
`service_unavailable` and `request_timeout`. Those are retried (`RetryLater`). A token Slack
refuses (`token_revoked`, `invalid_auth`, `account_inactive`, `token_expired`, `not_authed`)
fails every call alike, so delivery stops as a whole (`CredentialsRefused`) until
`auth.test` passes again. Every other `ok: false` is permanent (`PermanentFailure`): the
item is tried once, its lane goes on, and the admins hear of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from cxbot.council_file import DEFAULT_COUNCIL
from cxbot.i18n import Translator, from_data, translator
from cxbot.reports.render import cut_lists, file_stem, render_csv, render_html, render_slack
from cxbot.services import digests, home, notices
from cxbot.services.delivery import DeliveryRecords, Event, Posted
from cxbot.services.outbox import CredentialsRefused, Item, PermanentFailure, RetryLater
from cxbot.services.readmodel import RequestView
from cxbot.slack.blocks import direct, notes
from cxbot.slack.blocks import request as render
from cxbot.slack.blocks.home import home_tab

log = logging.getLogger(__name__)

# Slack's transient errors (docs: the "errors" of each Web API method, and rate limits).
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout"})
# The token is no good for any call: revoked (app uninstalled), invalid, expired (token
# rotation), its user or workspace deactivated, or none configured.
TOKEN_ERRORS = frozenset({"token_revoked", "invalid_auth", "account_inactive", "token_expired", "not_authed"})

PARENT, PROMPT = "parent", "prompt"
NOTE, CHAIR = "note", "chair"   # roles `note:<event id>` (objections), `chair:<event id>` (escalation to the chair)
Rendered = tuple[str, list[Block]]


def filer_dm_role(user: str) -> str:
    return f"dm:{user}"


def _header(headers: Mapping[str, Any], name: str) -> str:
    return next((str(v) for k, v in (headers or {}).items() if k.lower() == name), "")


def _seconds(value: str) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def classify(method: str, status: int, error: str, headers: Mapping[str, Any]) -> Exception:
    """What a refused call means for its item: retry it, stop all delivery, or give it up."""
    if status == 429 or error == "ratelimited":
        return RetryLater(f"{method}: rate limited", _seconds(_header(headers, "retry-after")))
    if status >= 500 or error in TRANSIENT_ERRORS:
        return RetryLater(f"{method}: {error or f'HTTP {status}'}")
    if error in TOKEN_ERRORS:
        return CredentialsRefused(f"{method}: {error}")
    return PermanentFailure(f"{method}: {error or f'HTTP {status}'}", _header(headers, "x-slack-req-id"))


class SlackDelivery:
    def __init__(self, client: WebClient, records: DeliveryRecords) -> None:
        self._client = client
        self._records = records
        self._handlers: dict[str, Callable[[Item], None]] = {
            notices.POST_REQUEST: self._post_request,
            notices.POST_PROMPT: self._post_prompt,
            notices.REFRESH: self._refresh,
            notices.THREAD_NOTE: self._thread_note,
            notices.DIRECT: self._direct,
            notices.REMINDER: self._reminder,
            notices.DAILY_REMINDER: self._daily_reminder,
            notices.ADMIN_ALERT: self._admin_alert,
            notices.EPHEMERAL: self._ephemeral,
            notices.SUBSTITUTE_ENDED: self._substitute_ended,
            notices.ASKED: self._asked,
            home.HOME: self._home,
            home.DIGEST_NOW: self._digest_now,
            home.EXPORT_NOW: self._export_now,
            digests.DIGEST_DM: self._digest_dm,
            digests.DIGEST_REPORT: self._digest_report,
            digests.DIGEST_CHANNEL: self._digest_channel,
        }

    def __call__(self, item: Item) -> None:
        handler = self._handlers.get(item.kind)
        if handler is None:
            raise PermanentFailure(f"unknown outbox kind {item.kind!r}")
        handler(item)

    def probe(self) -> None:
        """Ask Slack whether the token works (`auth.test`); raises as a delivery would."""
        self._call("auth.test")

    # --- the Slack call -----------------------------------------------------------------

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = getattr(self._client, method.replace(".", "_"))(**kwargs)
        except SlackApiError as exc:
            data = exc.response.data
            error = str(data.get("error", "")) if isinstance(data, dict) else ""
            raise classify(method, exc.response.status_code, error, exc.response.headers) from exc
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
        self._records.posted(request_id, role, data["channel"], data["ts"], self._hash(text, payload))

    def _channel_view(self, request_id: int) -> tuple[RequestView, Translator]:
        """The request as the council channel shows it, with the channel's translator. When the
        council sets no language and the channel's stored locale is a day old (or was never
        read), Slack is asked first (`conversations.info` with `include_locale`); a refusal for
        good (a missing scope, a channel the bot cannot see) leaves the last known locale, and
        is not asked again for a day."""
        view = self._records.view(request_id)
        if view.locale_due:
            locale: str | None = None
            try:
                found = self._call("conversations.info", channel=view.channel, include_locale=True)
                locale = str((found.get("channel") or {}).get("locale") or "") or None
            except PermanentFailure as exc:   # passing failures and a refused token propagate
                log.warning("could not read the locale of channel %s: %s", view.channel, exc)
            self._records.channel_locale(view.channel, locale)
            view = self._records.view(request_id)
        return view, translator(view.language)

    def _post_request(self, item: Item) -> None:
        request_id = item.payload["request_id"]
        if self._records.message(request_id, PARENT) is None:
            view, tr = self._channel_view(request_id)
            self._post(request_id, PARENT, view.channel, render.parent_message(view, tr))

    def _parent(self, request_id: int) -> Posted | None:
        """The request's parent message; None when it can never be posted (Slack refused it for
        good: what goes in its thread is given up too, without another alert)."""
        parent = self._records.message(request_id, PARENT)
        if parent is None:
            if self._records.parent_failed(request_id):
                return None
            raise RetryLater("the request's parent message is not posted yet")
        return parent

    def _thread_parent(self, request_id: int) -> Posted:
        parent = self._parent(request_id)
        if parent is None:
            raise PermanentFailure("the request's parent message could not be posted", tell=False)
        return parent

    def _post_prompt(self, item: Item) -> None:
        request_id = item.payload["request_id"]
        if self._records.message(request_id, PROMPT) is None:
            parent = self._thread_parent(request_id)
            view, tr = self._channel_view(request_id)
            self._post(request_id, PROMPT, parent.channel, render.vote_prompt(view, tr), parent.ts)

    def _reader(self, user: str) -> Translator:
        """The translator for a DM to `user`, in their language as stored (no Slack call)."""
        return translator(self._records.language(user))

    def _render_kept(self, view: RequestView, tr: Translator, message: Posted,
                     events: dict[int, Event]) -> Rendered | None:
        """The current rendering of a message the bot keeps up to date, by its role: in the
        channel in the channel's language (`tr`), a DM in its reader's language (which may
        have changed since it was posted)."""
        role = message.role
        if role == PARENT:
            return render.parent_message(view, tr)
        if role == PROMPT:
            return render.vote_prompt(view, tr)
        if role == filer_dm_role(view.filer):
            return direct.filed(view, self._reader(view.filer))
        kind, _, event_id = role.partition(":")
        event = events.get(int(event_id)) if event_id.isdigit() else None
        if event is None:
            return None
        if kind == NOTE:
            note = notes.thread_note(view, event.kind, event.actor, event.data, tr)
            return (note[0], note[1]) if note and note[1] is not None else None
        if kind == CHAIR:
            return direct.escalation(view, event.data, for_chair=True,
                                     tr=translator(self._records.dm_language(message.channel)))
        return None

    def _refresh(self, item: Item) -> None:
        request_id = item.payload["request_id"]
        view, tr = self._channel_view(request_id)
        messages, events = self._records.kept(request_id, (NOTE, CHAIR))
        for message in messages:
            rendered = self._render_kept(view, tr, message, events)
            if rendered is None:
                continue
            text, blocks = rendered
            payload = self._blocks(blocks)
            digest = self._hash(text, payload)
            if message.content_hash != digest:
                self._call("chat.update", channel=message.channel, ts=message.ts, text=text, blocks=payload)
                self._records.updated(message.id, digest)

    def _thread_note(self, item: Item) -> None:
        request_id = item.payload["request_id"]
        event = self._records.event(item.payload["event_id"])
        parent = self._thread_parent(request_id)
        view, tr = self._channel_view(request_id)
        note = notes.thread_note(view, event.kind, event.actor, event.data, tr)
        if note is None:
            return
        text, blocks = note
        if blocks is None:
            self._call("chat.postMessage", channel=parent.channel, thread_ts=parent.ts, text=text)
        elif event.kind not in notes.KEPT:
            self._call("chat.postMessage", channel=parent.channel, thread_ts=parent.ts, text=text,
                       blocks=self._blocks(blocks))
        elif self._records.message(request_id, f"{NOTE}:{event.id}") is None:
            self._post(request_id, f"{NOTE}:{event.id}", parent.channel, (text, blocks), parent.ts)

    def _permalink(self, request_id: int) -> None:
        """Look up the parent's permalink once, for DMs that link to it (none without a parent)."""
        parent = self._parent(request_id)
        if parent is None or parent.permalink:
            return
        data = self._call("chat.getPermalink", channel=parent.channel, message_ts=parent.ts)
        self._records.permalink(parent.id, data.get("permalink", ""))

    def _dm_channel(self, user: str) -> str:
        """The DM channel with a person, opened once and remembered (conversations.open is Tier 3)."""
        known = self._records.known_dm_channel(user)
        if known:
            return known
        channel = str(self._call("conversations.open", users=user)["channel"]["id"])
        self._records.dm_opened(user, channel)
        return channel

    def _direct(self, item: Item) -> None:
        """A DM about an audit event: the filer's receipt and outcomes, escalations to leads and the chair."""
        request_id, user = item.payload["request_id"], item.payload["user"]
        event = self._records.event(item.payload["event_id"])
        self._permalink(request_id)
        view = self._records.view(request_id)
        tr = self._reader(user)
        if event.kind == "filed":
            if self._records.message(request_id, filer_dm_role(user)) is None:
                self._post(request_id, filer_dm_role(user), self._dm_channel(user), direct.filed(view, tr))
            return
        if event.kind == "follow_up":
            text, blocks = direct.follow_up(view, event.data, self._records.objection_of(request_id, user), tr)
            self._call("chat.postMessage", channel=self._dm_channel(user), text=text, blocks=self._blocks(blocks))
            return
        if event.kind == "approvals_set_aside":
            text, blocks = direct.still_approve(view, event.data, user, tr)
            self._call("chat.postMessage", channel=self._dm_channel(user), text=text, blocks=self._blocks(blocks))
            return
        if event.kind == "escalated":
            for_chair = bool(item.payload.get("chair"))
            rendered = direct.escalation(view, event.data, for_chair=for_chair, user=user, tr=tr)
            if for_chair:
                role = f"{CHAIR}:{event.id}"
                if self._records.message(request_id, role) is None:
                    self._post(request_id, role, self._dm_channel(user), rendered)
                return
        else:
            outcome = direct.outcome(view, event.data, tr) if event.kind in ("decided", "status_changed") else None
            if outcome is None:
                return
            rendered = outcome
        text, blocks = rendered
        self._call("chat.postMessage", channel=self._dm_channel(user), text=text, blocks=self._blocks(blocks))

    def _reminder(self, item: Item) -> None:
        request_id, user = item.payload["request_id"], item.payload["user"]
        self._permalink(request_id)
        view = self._records.view(request_id)
        if view.status.is_final:
            return  # decided between the sweep and now: nothing to remind of
        text, blocks = direct.reminder(view, item.payload.get("kind", "daily"), item.payload.get("on_behalf_of"),
                                       self._reader(user))
        self._call("chat.postMessage", channel=self._dm_channel(user), text=text, blocks=self._blocks(blocks))

    def _daily_reminder(self, item: Item) -> None:
        """A person's one reminder DM of the day: posted once, then updated in place (the same
        message) as its requests change, when the rendering differs from what Slack shows."""
        user, day = item.payload["user"], date.fromisoformat(item.payload["day"])
        view = self._records.daily_reminder(user, day)
        if view is None:
            return
        if any(not i.view.permalink for i in view.items):
            for i in view.items:
                self._permalink(i.view.id)
            view = self._records.daily_reminder(user, day) or view
        text, blocks = direct.daily_reminder(view, self._reader(user))
        payload = self._blocks(blocks)
        digest = self._hash(text, payload)
        if view.ts:
            if digest != view.content_hash:
                self._call("chat.update", channel=view.channel, ts=view.ts, text=text, blocks=payload)
                self._records.daily_reminder_posted(user, day, view.channel, view.ts, digest)
            return
        if view.owing == 0:
            return  # everything answered or decided before the DM went out: nothing to remind of
        data = self._call("chat.postMessage", channel=self._dm_channel(user), text=text, blocks=payload)
        self._records.daily_reminder_posted(user, day, data["channel"], data["ts"], digest)

    def _asked(self, item: Item) -> None:
        """Someone asked to review whom the vote prompt had no room to mention."""
        request_id, user = item.payload["request_id"], item.payload["user"]
        self._permalink(request_id)
        view = self._records.view(request_id)
        if view.status.is_final:
            return  # decided before the DM went out: nothing to ask any more
        text, blocks = direct.asked(view, self._reader(user))
        self._call("chat.postMessage", channel=self._dm_channel(user), text=text, blocks=self._blocks(blocks))

    def _substitute_ended(self, item: Item) -> None:
        p = item.payload
        text, blocks = direct.substitute_ended(p["substitute"], p.get("reason", ""), self._reader(p["user"]))
        self._call("chat.postMessage", channel=self._dm_channel(p["user"]), text=text, blocks=self._blocks(blocks))

    def _ephemeral(self, item: Item) -> None:
        """A refusal of a press, in the presser's language (an item queued before refusals
        were kept translatable has its English text only), where they pressed; a press from the
        Home tab has no channel (its item names the person instead), so the answer goes to their DM."""
        p = item.payload
        text = self._reader(p["user"]).text(from_data(p["msg"])) if "msg" in p else p["text"]
        if p["channel"] == p["user"]:
            self._call("chat.postMessage", channel=self._dm_channel(p["user"]), text=text)
            return
        self._call("chat.postEphemeral", channel=p["channel"], user=p["user"], text=text,
                   thread_ts=p.get("thread_ts"))

    def _home(self, item: Item) -> None:
        """A person's Home tab, published again from the state as it is now."""
        user = item.payload["user"]
        self._call("views.publish", user_id=user, view=home_tab(self._records.home(user), self._reader(user)))

    def _admin_alert(self, item: Item) -> None:
        """A message Slack refused for good: the admins (or the chair, when there are none) hear of it once."""
        p = item.payload
        for admin in self._records.admins(p.get("lane", "")):
            text = direct.delivery_failed(str(p.get("kind")), p.get("lane", ""), p.get("error", ""),
                                          self._reader(admin))
            self._call("chat.postMessage", channel=self._dm_channel(admin), text=text)

    # --- the weekly digest ------------------------------------------------------------------

    def _digest_dm(self, item: Item) -> None:
        """To the chair of the digest's council (its key in the payload; a digest queued
        before there were several councils has none, and is the default council's)."""
        week, council = item.payload["week"], item.payload.get("council", DEFAULT_COUNCIL)
        if self._records.digest_claim(week, council).dm_ts:
            return  # posted before a crash: the report step follows
        digest = self._records.digest(week, council)
        tr = translator(digest.language)
        note = (tr.gettext("The report, with charts, and the full lists as CSV are attached in this thread.")
                if cut_lists(digest) else tr.gettext("The full report, with charts, is attached in this thread."))
        text, blocks = render_slack(digest, report_note=note)
        channel = self._dm_channel(self._records.chair(council))
        data = self._call("chat.postMessage", channel=channel, text=text, blocks=blocks)
        self._records.digest_posted(week, data["channel"], data["ts"], council)

    def _digest_report(self, item: Item) -> None:
        week, council = item.payload["week"], item.payload.get("council", DEFAULT_COUNCIL)
        claim = self._records.digest_claim(week, council)
        if claim.sent:
            return
        digest = self._records.digest(week, council)
        # The report and the full lists it cuts, shared together in one message of the thread.
        uploads = [{"content": render_html(digest).encode(), "filename": f"{file_stem(digest)}.html",
                    "title": translator(digest.language).gettext("CX council digest {week}").format(week=week)}]
        uploads += [{"content": content, "filename": name, "title": name}
                    for name, content in render_csv(digest).items()]
        self._call("files.upload_v2", file_uploads=uploads, channel=claim.dm_channel, thread_ts=claim.dm_ts)
        self._records.digest_sent(week, council)

    def _digest_now(self, item: Item) -> None:
        """This week's digest so far, to the chair or admin who asked for it from Home."""
        p = item.payload
        digest = self._records.digest(p["week"], p["council"])
        text, blocks = render_slack(digest, report_note=translator(digest.language).gettext(
            "This week so far: the weekly digest follows as usual."))
        self._call("chat.postMessage", channel=self._dm_channel(p["user"]), text=text, blocks=blocks)

    def _export_now(self, item: Item) -> None:
        """The council's record, zipped, to the chair or admin who asked for it from Home."""
        p = item.payload
        tr = self._reader(p["user"])
        with tempfile.TemporaryDirectory(prefix="cxbot-export-") as directory:
            path = self._records.export_zip(p["council"], directory)
            name = os.path.basename(path)
            self._call("files.upload_v2", file=path, filename=name, title=name,
                       channel=self._dm_channel(p["user"]),
                       initial_comment=tr.gettext("The council's record: requests, routings, votes, objections, "
                                                  "comments, decisions and the audit trail, one CSV file each "
                                                  "(the columns are in the README)."))

    def _digest_channel(self, item: Item) -> None:
        council = item.payload.get("council", DEFAULT_COUNCIL)
        digest = self._records.digest(item.payload["week"], council)
        text, blocks = render_slack(digest, report_note=translator(digest.language).gettext(
            "The chair has the full report."))
        self._call("chat.postMessage", channel=self._records.council_channel(council), text=text, blocks=blocks,
                   unfurl_links=False)
