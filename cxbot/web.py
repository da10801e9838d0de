"""The WSGI application served by gunicorn: Slack at POST /slack/events, GET /healthz for load
balancers, GET /metrics for Prometheus.

The Slack port faces the internet, so /metrics is not served there to anyone: it answers on
its own address (`CXBOT_METRICS_ADDRESS`, a second listener of the same server, where
nothing else is served), or on the Slack port to a scraper that sends the bearer token
(`CXBOT_METRICS_TOKEN`); with neither set, /metrics answers 404.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text

from cxbot.logs import request_context
from cxbot.metrics import Metrics
from cxbot.services.delivery import Halt
from cxbot.slack.gateway import SlackGateway
from cxbot.store.migrate import is_at_head

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]

MAX_BODY = 1024 * 1024  # Slack payloads are far smaller; anything bigger is not from Slack
STATUS = {200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized", 404: "404 Not Found",
          408: "408 Request Timeout",
          405: "405 Method Not Allowed", 413: "413 Content Too Large", 503: "503 Service Unavailable"}


def _send(start_response: StartResponse, status: int, body: bytes, content_type: str = "application/json",
          headers: dict[str, str] | None = None) -> list[bytes]:
    out = {k.title(): v for k, v in (headers or {}).items() if k.lower() != "content-length"}
    out.setdefault("Content-Type", content_type)
    start_response(STATUS.get(status, f"{status} Status"), [*out.items(), ("Content-Length", str(len(body)))])
    return [body]


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    return _send(start_response, status, json.dumps(body).encode())


def _local_port(environ: dict[str, Any]) -> str:
    """The port the connection arrived on: the socket's own address under gunicorn (a client
    cannot choose it, as it can the Host header), else SERVER_PORT."""
    sock = environ.get("gunicorn.socket")
    try:
        address = sock.getsockname() if sock is not None else None
    except OSError:
        address = None
    if isinstance(address, tuple):
        return str(address[1])
    return str(environ.get("SERVER_PORT", ""))


class WebApp:
    def __init__(self, gateway: SlackGateway, engine: Engine, metrics: Metrics,
                 halted: Callable[[], Halt | None] | None = None, *, metrics_token: str | None = None,
                 metrics_port: int | None = None) -> None:
        """`halted` says whether Slack refused the bot's token, which stops all delivery.
        `metrics_port`: the port of the server's metrics listener."""
        self._gateway = gateway
        self._metrics_token = metrics_token.encode() if metrics_token else None
        self._metrics_port = str(metrics_port) if metrics_port is not None else None
        self._engine = engine
        self._metrics = metrics
        self._halted = halted

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if self._metrics_port is not None and _local_port(environ) == self._metrics_port:
            if path == "/metrics":
                return _send(start_response, 200, self._metrics.exposition(), CONTENT_TYPE_LATEST)
            if path == "/healthz":
                return self._health(start_response)
            return _json(start_response, 404, {"error": "not found"})
        if path == "/slack/events":
            if method != "POST":
                return _json(start_response, 405, {"error": "POST only"})
            return self._slack(environ, start_response)
        if path == "/healthz":
            return self._health(start_response)
        if path == "/metrics" and self._metrics_token is not None:
            return self._scrape(environ, start_response)
        return _json(start_response, 404, {"error": "not found"})

    def _scrape(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        """/metrics on the Slack port, for a scraper sending `Authorization: Bearer <token>`."""
        scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        assert self._metrics_token is not None
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self._metrics_token):
            return _send(start_response, 401, json.dumps({"error": "metrics need the bearer token"}).encode(),
                         headers={"WWW-Authenticate": 'Bearer realm="cxbot metrics"'})
        return _send(start_response, 200, self._metrics.exposition(), CONTENT_TYPE_LATEST)

    def _slack(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        started = time.perf_counter()
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._metrics.requests.labels("oversized", "413").inc()
            return _json(start_response, 413, {"error": "body too large"})
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        with request_context() as context:
            reply = self._gateway.handle(body, headers)
            context.user = reply.user
            self._metrics.requests.labels(reply.kind, str(reply.status)).inc()
            self._metrics.ack_seconds.labels(reply.kind).observe(time.perf_counter() - started)
            if reply.status >= 400:
                log.info("answered %s to a %s request", reply.status, reply.kind)
        return _send(start_response, reply.status, reply.body, headers=reply.headers)

    def _health(self, start_response: StartResponse) -> list[bytes]:
        """200 when the database is reachable and migrated and Slack takes the bot's token;
        503 with the reason otherwise."""
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            at_head = is_at_head(self._engine)
            halt = self._halted() if self._halted is not None and at_head else None
        except Exception as exc:
            log.warning("health check: database unreachable: %s", exc)
            return _json(start_response, 503, {"ok": False, "database": "unreachable"})
        if not at_head:
            return _json(start_response, 503, {"ok": False, "database": "reachable",
                                               "migrations": "behind: run `cxbot db upgrade`"})
        if halt is not None:
            return _json(start_response, 503, {
                "ok": False, "database": "reachable", "migrations": "at head",
                "slack": f"token refused ({halt.reason}) since {halt.since.isoformat()}: nothing is delivered. "
                         "cxbot tries the token every minute and resumes once Slack takes it; a revoked "
                         "token must be replaced: set the new SLACK_BOT_TOKEN and restart",
                "delivery": "stopped"})
        return _json(start_response, 200, {"ok": True, "database": "reachable", "migrations": "at head"})
