"""Fixtures for the sandbox's own tests: a running emulator, a WebClient on it, and a fake app."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from cxbot.sandbox.emulator import SlackEmulator

SIGNING_SECRET = "sandbox-test-signing-secret"
KARI, OLE = "U0KARI", "U0OLE"
COUNCIL = "C0COUNCIL"


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator()
    emu.add_user(KARI, "kari", real_name="Kari (Billing)")
    emu.add_user(OLE, "ole", real_name="Ole (Support)", tz="America/New_York")
    emu.add_channel(COUNCIL, "council", members=[KARI, OLE])
    emu.invite_bot(COUNCIL)
    with emu:
        yield emu


@pytest.fixture
def slack(emulator: SlackEmulator) -> WebClient:
    return WebClient(token=emulator.bot_token, base_url=emulator.url, timeout=5)


@dataclass
class Received:
    """One request the fake app got: headers (lower-case names), raw body, and its decoding."""

    headers: dict[str, str]
    body: bytes
    signed: bool
    peer: tuple[str, int]

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.form["payload"])

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class FakeApp:
    """An HTTP/1.1 receiver that checks Slack's signature like Bolt and answers what the test says."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answer: Callable[[Received], tuple[int, bytes]] = lambda request: (200, b"")
        verifier = SignatureVerifier(SIGNING_SECRET)
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                signed = verifier.is_valid_request(body, headers)
                request = Received(headers, body, signed, self.client_address)
                app.received.append(request)
                status, answer = app.answer(request) if request.signed else (401, b"")
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def answer_json(self, body: dict[str, Any]) -> None:
        self.answer = lambda request: (200, json.dumps(body).encode())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def app() -> Iterator[FakeApp]:
    fake = FakeApp()
    yield fake
    fake.close()
