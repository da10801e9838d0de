"""How requests reach the emulator and answers leave it.

The loopback HTTP server, the decoding of parameters the way Slack reads them, and the two
shapes of an answer: a `Reply` to write back, and an `ApiError` raised wherever a call is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from cxbot.sandbox.state import JsonDict

# Fields slack_sdk sends JSON-encoded inside form bodies.
_JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata")


@dataclass(frozen=True)
class Reply:
    status: int
    body: JsonDict
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An `ok: false` answer, raised from deep inside a handler.

    `messages` go under `response_metadata.messages` as `[ERROR] …`, as Slack lists what it
    found wrong; `invalid_blocks` also lists them bare under `errors`, as chat.postMessage does.
    `fields` are further top-level keys (`needed` and `provided` of `missing_scope`).
    """

    def __init__(self, error: str, *messages: str, status: int = 200, **fields: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)
        self.status = status
        self.fields = fields

    def body(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error": self.error, **self.fields}
        if self.messages:
            if self.error == "invalid_blocks":
                body["errors"] = self.messages
            body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return body


def decode_params(query: str, content_type: str, body: bytes) -> JsonDict:
    """Parameters as Slack reads them, whether slack_sdk sent a query, a form or JSON."""
    params: JsonDict = dict(parse_qsl(query, keep_blank_values=True))
    if body and content_type.startswith("application/json"):
        decoded = json.loads(body)
        if isinstance(decoded, dict):
            params.update(decoded)
    elif body:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for name in _JSON_FIELDS:
        value = params.get(name)
        if isinstance(value, str) and value.strip()[:1] in {"[", "{"}:
            try:
                params[name] = json.loads(value)
            except json.JSONDecodeError:
                pass  # left as a string: the method answers invalid_blocks_format / invalid_arguments
    return {key: value for key, value in params.items() if value is not None}


def multipart_file(content_type: str, body: bytes) -> bytes:
    """The first file part of a multipart body (an upload may come as a form)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    for part in BytesParser(policy=HTTP).parsebytes(head + body).iter_parts():
        if part.get_filename() is not None:
            return part.get_payload(decode=True) or b""
    return b""


Route = Callable[[str, str, dict[str, str], bytes], Reply]
"""Answers one request, given its verb, path with query, lower-cased headers and body."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops connections when a benchmark's bot bursts

    def __init__(self, address: tuple[str, int], route: Route) -> None:
        self.route = route
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads one request, hands it to the emulator, writes the JSON answer (HTTP/1.0: one per connection)."""

    server: Server

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = self.server.route(self.command, self.path, headers, body)
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        try:
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up waiting (a delay fault did its job); the call still happened

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the demo print what matters themselves."""
