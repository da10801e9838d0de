"""The baseline for `bench.load`: a bare Bolt app that only acknowledges, served like cxbot.

    SLACK_BOT_TOKEN=... SLACK_SIGNING_SECRET=... CXBOT_SLACK_API_URL=http://127.0.0.1:PORT/api/ \\
        python -m gunicorn --worker-class gthread --threads 8 'bench.bare_bolt:create_app()'

It has listeners for the same action ids, command and view as cxbot (Approve, Abstain,
`/cx-review`, the filing modal), each calling `ack()` and nothing else: no database, no
outbox, no `views.open`. Request verification, payload parsing and Bolt's dispatch run as
in cxbot, so the difference between the two is what cxbot adds. The ids are written out here
rather than imported, so the baseline does not load any of cxbot; `bench.load` checks that
they match cxbot's.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

APPROVE = "vote_approve"
ABSTAIN = "vote_abstain"
COMMAND = "/cx-review"
FILE_VIEW = "cx_file"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def make_bolt(*, token: str, signing_secret: str, api_url: str) -> App:
    """The acknowledging Bolt app, configured as cxbot configures its own."""
    app = App(
        token=token,
        signing_secret=signing_secret,
        client=WebClient(token=token, base_url=api_url, timeout=10),
        process_before_response=True,
        logger=logging.getLogger("bare_bolt"),
    )

    def just_ack(ack: Ack) -> None:
        ack()

    app.action(APPROVE)(just_ack)
    app.action(ABSTAIN)(just_ack)
    app.command(COMMAND)(just_ack)
    app.view(FILE_VIEW)(just_ack)
    return app


def wsgi(bolt: App) -> WSGIApp:
    """POST /slack/events to Bolt, GET /healthz answered 200, anything else 404."""
    slack = SlackRequestHandler(bolt)

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/slack/events":
            return slack(environ, start_response)
        ok = path == "/healthz"
        data = json.dumps({"ok": True} if ok else {"error": "not found"}).encode()
        start_response("200 OK" if ok else "404 Not Found",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    return application


def create_app() -> WSGIApp:
    """Gunicorn's entry point (`'bench.bare_bolt:create_app()'`), configured from the environment."""
    logging.basicConfig(level=os.environ.get("CXBOT_LOG_LEVEL", "WARNING").upper())
    return wsgi(make_bolt(
        token=os.environ["SLACK_BOT_TOKEN"],
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        api_url=os.environ["CXBOT_SLACK_API_URL"],
    ))
