"""Slack calls that answer a person right after the acknowledgement, and the one place
where errors become messages.

These calls are not part of the record (an ephemeral refusal, opening a modal), so they
are not queued in the outbox; they run on a small thread pool so the acknowledgement is
never kept waiting, and their failures are logged, never raised into Bolt.

A modal that only needs reading to build (`open_form`) is built there too, after the
acknowledgement: a person who may not have it is answered through the command's
`response_url`, as ephemeral as an answer in the acknowledgement would have been.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.webhook import WebhookClient

from cxbot.domain.errors import CxError, InvalidInput
from cxbot.i18n import N_, Msg, Translator, translator

log = logging.getLogger(__name__)

SORRY = N_("Something went wrong on cxbot's side and nothing was recorded. Please try again in a minute.")


B = TypeVar("B")


def _english(user: str) -> Translator:
    return translator("en")


@dataclass(frozen=True)
class Respond:
    """What `open_form` answers through the response_url instead of a modal (a question first)."""

    text: str
    blocks: list[dict[str, Any]]


class AfterAck:
    def __init__(self, client: WebClient, workers: int = 4,
                 translate_for: Callable[[str], Translator] = _english) -> None:
        self._client = client
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cxbot-reply")
        # The language a person reads (cxbot.slack.languages), for errors said to them.
        self.translate_for = translate_for

    def _run(self, what: str, call: Callable[[], Any]) -> None:
        def job() -> None:
            try:
                call()
            except Exception:
                log.exception("Slack call after ack failed: %s", what)
        self._pool.submit(job)

    def ephemeral(self, *, channel: str, user: str, text: str, thread_ts: str | None = None) -> None:
        self._run("chat.postEphemeral", lambda: self._client.chat_postEphemeral(
            channel=channel, user=user, text=text, thread_ts=thread_ts))

    def direct(self, *, user: str, text: str) -> None:
        """A message in the app's DM with `user`: the one call where Slack takes a user id as
        the channel (chat.postEphemeral needs a conversation the person is in)."""
        self._run("chat.postMessage", lambda: self._client.chat_postMessage(channel=user, text=text))

    def permalink(self, channel: str, ts: str) -> str:
        """The link to message `ts` (chat.getPermalink), or "" when Slack gives none (a
        conversation the bot cannot see): the person can still paste one. Called from work that
        already runs after the acknowledgement."""
        try:
            return str(self._client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink") or "")
        except SlackApiError as exc:
            log.warning("no permalink for %s in %s: %s", ts, channel, exc.response.get("error"))
            return ""

    def open_view(self, *, trigger_id: str, view: View | dict[str, Any]) -> None:
        self._run("views.open", lambda: self._client.views_open(trigger_id=trigger_id, view=view))

    def open_for(self, *, trigger_id: str, user: str, build: Callable[[Translator], View | dict[str, Any]]) -> None:
        """Open a modal built in `user`'s language: the language is read here, after the
        acknowledgement, so it costs the acknowledgement nothing."""
        self._run("views.open", lambda: self._client.views_open(
            trigger_id=trigger_id, view=build(self.translate_for(user))))

    def update_view(self, *, view_id: str, view_hash: str | None, user: str,
                    build: Callable[[Translator], dict[str, Any]]) -> None:
        """Replace an open modal with one built in `user`'s language (`views.update`, with the
        view's hash: if the person changed it again meanwhile, Slack refuses this one and the
        newer change brings its own update)."""
        def call() -> None:
            try:
                self._client.views_update(view_id=view_id, hash=view_hash, view=build(self.translate_for(user)))
            except SlackApiError as exc:
                if exc.response.get("error") != "hash_conflict":
                    raise
        self._run("views.update", call)

    def open_form(self, *, trigger_id: str, user: str,
                  build: Callable[[Translator], View | dict[str, Any] | Respond], response_url: str | None) -> None:
        """Build a modal in `user`'s language and open it; if building raises (a CxError: the
        person may not have it), tell them why through `response_url` instead, as for a
        `Respond` it returns (a button on the Home tab has no response_url: by DM)."""
        def call() -> None:
            view = self._build(user, build, response_url)
            if isinstance(view, Respond):
                self._respond(response_url, user, view.text, view.blocks)
            elif view is not None:
                self._client.views_open(trigger_id=trigger_id, view=view)
        self._run("views.open", call)

    def publish_home(self, *, user: str, build: Callable[[Translator], dict[str, Any]]) -> None:
        """Publish `user`'s Home tab, built in their language after the acknowledgement."""
        self._run("views.publish", lambda: self._client.views_publish(
            user_id=user, view=build(self.translate_for(user))))

    def answer(self, *, response_url: str, user: str, build: Callable[[Translator], Respond],
               replace: bool = False) -> None:
        """Build an ephemeral answer in `user`'s language after the acknowledgement and send it
        through `response_url` (in place of the message a button was pressed on, with
        `replace`); if building raises a CxError, its message is the answer."""
        def call() -> None:
            found = self._build(user, build, response_url, replace=replace)
            if found is not None:
                self._respond(response_url, user, found.text, found.blocks, replace=replace)
        self._run("response_url", call)

    def _build(self, user: str, build: Callable[[Translator], B], response_url: str | None, *,
               replace: bool = False) -> B | None:
        """`build` in `user`'s language; None once a refusal (a CxError) or an apology for a bug
        raised while building has been answered through `response_url` (by DM without one) instead."""
        tr = translator("en")
        try:
            tr = self.translate_for(user)
            return build(tr)
        except CxError as exc:
            self._respond(response_url, user, said(exc, tr), replace=replace)
        except Exception:
            log.exception("building a modal or an answer failed")
            self._respond(response_url, user, tr.text(SORRY))
        return None

    def _respond(self, response_url: str | None, user: str, text: str, blocks: list[dict[str, Any]] | None = None,
                 *, replace: bool = False) -> None:
        if response_url is None:
            self._client.chat_postMessage(channel=user, text=text, blocks=blocks)
            return
        answer = WebhookClient(response_url, timeout=self._client.timeout).send(
            response_type="ephemeral", text=text, blocks=blocks, replace_original=replace or None)
        if answer.status_code != 200:
            log.warning("response_url answered %s: %s", answer.status_code, answer.body)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def _where(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(channel, user, thread_ts) of the person who acted."""
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    container = body.get("container") or {}
    return channel, user, container.get("thread_ts")


F = TypeVar("F", bound=Callable[..., None])


def answers_errors(after: AfterAck) -> Callable[[F], F]:
    """Turn a CxError (or a bug) raised by a listener into a message where the person is.

    Slash command: the acknowledgement's ephemeral text. Button: an ephemeral message in
    the channel. Modal: field errors (`response_action: errors`). The wrapped listener must
    take `ack` and `body`.
    """
    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> None:
            ack, body = kwargs["ack"], kwargs["body"]
            try:
                fn(**kwargs)
            except CxError as exc:
                _tell(after, ack, body, exc)
            except Exception:
                log.exception("listener %s failed", fn.__name__)
                _tell(after, ack, body, CxError(SORRY))
        return wrapper  # type: ignore[return-value]
    return decorate


def said(exc: CxError, tr: Translator) -> str:
    """An error's message in the reader's language (the parts marked for translation)."""
    if isinstance(exc, InvalidInput):
        return " ".join(tr.text(v) for v in exc.errors.values())
    return tr.text(exc.message)


def _reader(after: AfterAck, body: dict[str, Any], exc: CxError) -> Translator:
    """The language of the person told about `exc`; looked up only when the message has a translation."""
    texts = exc.errors.values() if isinstance(exc, InvalidInput) else [exc.message]
    _, user, _ = _where(body)
    if user and any(isinstance(t, Msg) for t in texts):
        try:
            return after.translate_for(user)
        except Exception:
            log.exception("reading the language of %s failed", user)
    return translator("en")


def _tell(after: AfterAck, ack: Any, body: dict[str, Any], exc: CxError) -> None:
    acked = ack.response is not None
    tr = _reader(after, body, exc)
    if body.get("type") == "view_submission":
        if not acked:
            inputs = [b.get("block_id") for b in (body.get("view") or {}).get("blocks") or []
                      if isinstance(b, dict) and b.get("type") == "input" and isinstance(b.get("block_id"), str)]
            if isinstance(exc, InvalidInput):
                errors = {k: tr.text(v) for k, v in exc.errors.items() if k in inputs}
                leftover = [tr.text(v) for k, v in exc.errors.items() if k not in inputs]
                if leftover and inputs:
                    errors.setdefault(inputs[0], " ".join(leftover))
            else:
                errors = {inputs[0]: tr.text(exc.message)} if inputs else {}
            if errors:
                ack(response_action="errors", errors=errors)
                return
            ack()
        channel, user, _ = _where(body)
        if user:
            after.direct(user=user, text=said(exc, tr))
        return
    if body.get("command") and not acked:
        ack(response_type="ephemeral", text=said(exc, tr))
        return
    if not acked:
        ack()
    channel, user, thread_ts = _where(body)
    if channel and user:
        after.ephemeral(channel=channel, user=user, text=said(exc, tr), thread_ts=thread_ts)
    elif user:   # a button on the Home tab: no channel to answer in, so a DM
        after.direct(user=user, text=said(exc, tr))
