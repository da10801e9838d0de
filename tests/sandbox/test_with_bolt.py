"""A real Bolt app, served over WSGI, accepts what SlackPeople sends and talks to the emulator."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from cxbot.sandbox.client import SlackPeople
from cxbot.sandbox.emulator import SlackEmulator
from tests.sandbox.conftest import COUNCIL, KARI, OLE, SIGNING_SECRET

MODAL = {
    "type": "modal",
    "callback_id": "review",
    "title": {"type": "plain_text", "text": "Review"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [{"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "Why"},
                "element": {"type": "plain_text_input", "action_id": "why"}}],
}


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def build_app(emulator: SlackEmulator) -> App:
    app = App(
        client=WebClient(token=emulator.bot_token, base_url=emulator.url),
        signing_secret=SIGNING_SECRET,
        process_before_response=True,
    )

    @app.command("/cx-review")
    def open_review(ack: Any, body: dict, client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @app.view("review")
    def submitted(ack: Any, view: dict, body: dict, client: WebClient) -> None:
        why = view["state"]["values"]["reason"]["why"]["value"]
        if len(why) < 5:
            ack(response_action="errors", errors={"reason": "Say a bit more"})
            return
        ack()
        client.chat_postMessage(channel=COUNCIL, text=f"Review by <@{body['user']['id']}>: {why}",
                                blocks=[{"type": "actions", "elements": [
                                    {"type": "button", "text": {"type": "plain_text", "text": "Approve"},
                                     "action_id": "approve", "value": "r1"}]}])

    @app.action("approve")
    def approve(ack: Any, body: dict, respond: Any) -> None:
        ack()
        respond(text=f"Approved by <@{body['user']['id']}>", replace_original=True)

    @app.event("message")
    def on_message(event: dict, say: Any) -> None:
        if event.get("thread_ts"):
            say(text="Noted", thread_ts=event["thread_ts"])

    return app


@pytest.fixture
def people(emulator: SlackEmulator) -> Iterator[SlackPeople]:
    server = make_server("127.0.0.1", 0, SlackRequestHandler(build_app(emulator)),
                         server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    app_url = f"http://127.0.0.1:{server.server_port}/slack/events"
    with SlackPeople(app_url, SIGNING_SECRET, emulator) as client:
        yield client
    server.shutdown()
    server.server_close()


def test_a_whole_flow_through_bolt(people: SlackPeople, emulator: SlackEmulator) -> None:
    assert people.slash_command(KARI).status == 200
    assert len(emulator.open_views(KARI)) == 1

    kept = people.submit_view(KARI, {"why": "meh"})
    assert kept.json() == {"response_action": "errors", "errors": {"reason": "Say a bit more"}}
    assert len(emulator.open_views(KARI)) == 1

    assert people.submit_view(KARI, {"why": "Too slow to refund"}).status == 200
    assert emulator.open_views(KARI) == []
    [card] = emulator.messages(COUNCIL)
    assert card.mentions == [f"<@{KARI}>"]

    assert people.press_button(OLE, channel=COUNCIL, ts=card.ts, action_id="approve").status == 200
    assert emulator.message(COUNCIL, card.ts).text == f"Approved by <@{OLE}>"

    assert people.post_in_thread(OLE, channel=COUNCIL, thread_ts=card.ts, text="why?").status == 200
    assert [m.text for m in emulator.thread(COUNCIL, card.ts)] == ["why?", "Noted"]
    assert emulator.problems == []


def test_bolt_refuses_what_slack_did_not_sign(people: SlackPeople) -> None:
    assert people.post_raw(b"command=%2Fcx-review", content_type="application/x-www-form-urlencoded",
                           sign=False).status == 401
    assert people.url_verification("xyz").json() == {"challenge": "xyz"}
