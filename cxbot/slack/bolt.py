"""The Bolt app: request verification, listeners, and the Web API client they share."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from cxbot.services.context import Services
from cxbot.slack import listeners
from cxbot.slack.replies import AfterAck


def make_client(*, token: str, base_url: str, timeout: int = 10) -> WebClient:
    """One configured client: Bolt copies base_url and timeout into each request's client."""
    return WebClient(token=token, base_url=base_url, timeout=timeout)


def make_app(*, client: WebClient, signing_secret: str | None, cx: Services, after: AfterAck) -> App:
    """`process_before_response=True`: a listener records its change before the HTTP answer,
    and slower Slack calls are handed to `AfterAck` or the outbox, never awaited by Slack.

    Bolt's own request verification is off: over HTTP every request comes through
    `cxbot.slack.gateway.SlackGateway`, which checks the signature and timestamp over the raw
    bytes before anything is parsed (and Socket Mode has nothing to sign)."""
    app = App(
        client=client,
        signing_secret=signing_secret,
        process_before_response=True,
        request_verification_enabled=False,
        token_verification_enabled=True,
        logger=logging.getLogger("cxbot.bolt"),
    )
    listeners.register(app, cx, after)
    return app
