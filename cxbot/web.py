"""The WSGI application served by gunicorn: Slack at POST /slack/events, /healthz for load balancers."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine, text

from cxbot.store.migrate import is_at_head

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

MAX_BODY = 1024 * 1024  # Slack payloads are far smaller; anything bigger is not from Slack


def _reply(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class WebApp:
    def __init__(self, slack: SlackRequestHandler, engine: Engine) -> None:
        self._slack = slack
        self._engine = engine

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events":
            if method != "POST":
                return _reply(start_response, "405 Method Not Allowed", {"error": "POST only"})
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                return _reply(start_response, "413 Content Too Large", {"error": "body too large"})
            return self._slack(environ, start_response)
        if path == "/healthz":
            return self._health(start_response)
        return _reply(start_response, "404 Not Found", {"error": "not found"})

    def _health(self, start_response: StartResponse) -> list[bytes]:
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            at_head = is_at_head(self._engine)
        except Exception as exc:
            log.warning("health check: database unreachable: %s", exc)
            return _reply(start_response, "503 Service Unavailable", {"ok": False, "database": "unreachable"})
        if not at_head:
            return _reply(start_response, "503 Service Unavailable",
                          {"ok": False, "database": "reachable", "migrations": "behind: run `cxbot db upgrade`"})
        return _reply(start_response, "200 OK", {"ok": True, "database": "reachable", "migrations": "at head"})
