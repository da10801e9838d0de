"""SlackPeople sends the app well-formed, signed requests, and acts only on what people can see."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from cxbot.sandbox.client import SlackPeople, view_state_values
from cxbot.sandbox.emulator import SlackEmulator
from tests.sandbox.conftest import COUNCIL, KARI, OLE, SIGNING_SECRET, FakeApp

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def people(app: FakeApp, emulator: SlackEmulator) -> Iterator[SlackPeople]:
    with SlackPeople(app.url, SIGNING_SECRET, emulator) as client:
        yield client


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def option(value: str) -> dict:
    return {"text": plain(value.title()), "value": value}


def card(slack: WebClient, channel: str = COUNCIL, **extra: object) -> str:
    """Post a request card with an overflow menu and two buttons; return its ts."""
    menu = {"type": "overflow", "action_id": "more", "options": [option("edit"), option("withdraw")]}
    approve = {"type": "button", "text": plain("Approve"), "action_id": "approve", "value": "req-7",
               "style": "primary"}
    reject = {"type": "button", "text": plain("Reject"), "action_id": "reject", "value": "req-7"}
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Refund*"}, "accessory": menu},
        {"type": "actions", "block_id": "vote", "elements": [approve, reject]},
    ]
    return slack.chat_postMessage(channel=channel, text="Refund", blocks=blocks, **extra)["ts"]


def field(block_id: str, label: str, element: dict, optional: bool = False) -> dict:
    return {"type": "input", "block_id": block_id, "label": plain(label), "element": element, "optional": optional}


REVIEW_MODAL = {
    "type": "modal",
    "callback_id": "review",
    "private_metadata": "req-7",
    "title": plain("Review"),
    "submit": plain("Send"),
    "notify_on_close": True,
    "blocks": [
        field("reason", "Why", {"type": "plain_text_input", "action_id": "why", "max_length": 20}),
        field("team", "Team", {"type": "static_select", "action_id": "pick", "initial_option": option("billing"),
                               "options": [option("billing"), option("support")]}),
        field("due", "Due", {"type": "datepicker", "action_id": "date", "initial_date": "2025-01-31"}, True),
        field("tags", "Tags", {"type": "checkboxes", "action_id": "tags",
                               "options": [option("urgent"), option("vip")]}, True),
        field("owner", "Owner", {"type": "users_select", "action_id": "owner"}, True),
    ],
}


def open_review(emulator: SlackEmulator, slack: WebClient, user: str = KARI) -> dict:
    return slack.views_open(trigger_id=emulator.new_trigger(user), view=REVIEW_MODAL)["view"]


# ---------------------------------------------------------------- slash commands and transport


def test_slash_command_is_signed_and_usable(
    app: FakeApp, people: SlackPeople, emulator: SlackEmulator, slack: WebClient
) -> None:
    app.answer_json({"response_type": "ephemeral", "text": "Opening…"})
    result = people.slash_command(KARI, text=f"refund 42 & <b> for {people.at(OLE)} in #council, @nobody")
    assert result.status == 200 and result.json()["text"] == "Opening…"
    [request] = app.received
    assert request.signed and request.headers["content-type"] == FORM
    form = request.form
    assert form | {"response_url": "", "trigger_id": ""} == {
        "token": people.verification_token, "team_id": "TCXBOT", "team_domain": "cxbot-sandbox",
        "channel_id": COUNCIL, "channel_name": "council", "user_id": KARI, "user_name": "kari",
        "command": "/cx-review", "api_app_id": "ACXBOT",
        # should_escape: true in manifest.yml, so Slack escapes and links what was picked.
        "text": f"refund 42 &amp; &lt;b&gt; for <@{OLE}|ole> in <#{COUNCIL}|council>, @nobody",
        "is_enterprise_install": "false", "response_url": "", "trigger_id": "",
    }
    assert slack.views_open(trigger_id=form["trigger_id"], view=REVIEW_MODAL)["ok"]
    answer = urllib.request.Request(form["response_url"], json.dumps({"text": "Sent"}).encode(),
                                    {"Content-Type": "application/json"})
    urllib.request.urlopen(answer, timeout=5).close()
    assert [m.text for m in emulator.ephemerals(KARI)] == ["Sent"]


def test_slash_command_text_is_sent_as_typed_without_should_escape(
    app: FakeApp, emulator: SlackEmulator, people: SlackPeople
) -> None:
    unescaped = SlackEmulator(manifest=emulator.manifest.with_commands([]))
    unescaped.add_user(KARI, "kari")
    unescaped.add_user(OLE, "ole")
    with unescaped:
        plain_people = SlackPeople(app.url, SIGNING_SECRET, unescaped)
        plain_people.slash_command(KARI, text=f"away {plain_people.at(OLE)} & <b>")
    assert app.received[0].form["text"] == "away @ole & <b>"


def test_requests_share_one_kept_alive_connection(app: FakeApp, people: SlackPeople) -> None:
    people.slash_command(KARI)
    people.slash_command(OLE)
    assert app.received[0].peer == app.received[1].peer


def test_forged_stale_and_unsigned_requests(app: FakeApp, people: SlackPeople) -> None:
    body = b"command=%2Fcx-review"
    stale = str(int(time.time()) - 600)
    assert people.post_raw(body, content_type=FORM).status == 200
    assert people.post_raw(body, content_type=FORM, sign=False).status == 401
    assert people.post_raw(body, content_type=FORM, timestamp=stale).status == 401
    assert people.post_raw(body, content_type=FORM, signature="v0=forged").status == 401
    assert "x-slack-signature" not in app.received[1].headers


def test_url_verification(app: FakeApp, people: SlackPeople) -> None:
    app.answer = lambda request: (200, json.dumps({"challenge": request.json["challenge"]}).encode())
    assert people.url_verification("abc123").json() == {"challenge": "abc123"}
    assert app.received[0].json["type"] == "url_verification"


# ---------------------------------------------------------------- buttons


def test_press_button_sends_block_actions_like_slack(
    app: FakeApp, people: SlackPeople, emulator: SlackEmulator, slack: WebClient
) -> None:
    parent = slack.chat_postMessage(channel=COUNCIL, text="thread")["ts"]
    ts = card(slack, thread_ts=parent)
    assert people.press_button(OLE, channel=COUNCIL, ts=ts, action_id="approve").status == 200
    payload = app.received[0].payload
    assert payload["type"] == "block_actions"
    assert payload["user"] == {"id": OLE, "username": "ole", "name": "ole", "team_id": "TCXBOT"}
    assert payload["container"] == {
        "type": "message", "message_ts": ts, "channel_id": COUNCIL, "is_ephemeral": False, "thread_ts": parent,
    }
    assert payload["channel"] == {"id": COUNCIL, "name": "council"}
    assert payload["message"]["ts"] == ts and payload["message"]["bot_id"] == emulator.bot_id
    assert payload["message"]["blocks"] == emulator.message(COUNCIL, ts).blocks
    [action] = payload["actions"]
    assert {k: action[k] for k in ("type", "action_id", "block_id", "value", "text")} == {
        "type": "button", "action_id": "approve", "block_id": "vote", "value": "req-7", "text": plain("Approve"),
    }
    assert float(action["action_ts"]) > 0
    assert slack.views_open(trigger_id=payload["trigger_id"], view=REVIEW_MODAL)["ok"]

    people.press_button(OLE, channel=COUNCIL, ts=ts, action_id="reject", value="forged")
    assert app.received[1].payload["actions"][0]["value"] == "forged"


def test_a_person_cannot_press_what_is_not_there(people: SlackPeople, slack: WebClient, app: FakeApp) -> None:
    ts = card(slack)
    with pytest.raises(LookupError, match="no button 'delete'"):
        people.press_button(KARI, channel=COUNCIL, ts=ts, action_id="delete")
    with pytest.raises(LookupError, match="overflow, not a button"):
        people.press_button(KARI, channel=COUNCIL, ts=ts, action_id="more")
    with pytest.raises(LookupError):
        people.press_button(KARI, channel=COUNCIL, ts="1.000001", action_id="approve")
    with pytest.raises(LookupError, match="not an option"):
        people.choose_overflow(KARI, channel=COUNCIL, ts=ts, action_id="more", option_value="destroy")
    assert app.received == []


def test_choose_overflow_and_ephemeral_buttons(
    app: FakeApp, people: SlackPeople, emulator: SlackEmulator, slack: WebClient
) -> None:
    dm = emulator.dm_channel(KARI)
    ts = card(slack, channel=KARI)
    people.choose_overflow(KARI, channel=dm, ts=ts, action_id="more", option_value="withdraw")
    payload = app.received[0].payload
    assert payload["actions"][0]["selected_option"] == option("withdraw")
    assert payload["channel"]["name"] == "directmessage"

    undo = {"type": "actions", "elements": [{"type": "button", "text": plain("Undo"), "action_id": "undo"}]}
    ephemeral = slack.chat_postEphemeral(channel=COUNCIL, user=KARI, text="Voted", blocks=[undo])["message_ts"]
    with pytest.raises(LookupError):
        people.press_button(OLE, channel=COUNCIL, ts=ephemeral, action_id="undo")
    people.press_button(KARI, channel=COUNCIL, ts=ephemeral, action_id="undo")
    payload = app.received[1].payload
    assert payload["container"]["is_ephemeral"] is True and "message" not in payload
    assert "value" not in payload["actions"][0]


# ---------------------------------------------------------------- modals


def test_view_submission_state_from_every_input(
    app: FakeApp, people: SlackPeople, emulator: SlackEmulator, slack: WebClient
) -> None:
    view = open_review(emulator, slack)
    result = people.submit_view(KARI, {"why": "too slow", "tags": ["vip"]})
    assert result.status == 200 and result.body == b""
    payload = app.received[0].payload
    assert payload["type"] == "view_submission" and payload["response_urls"] == []
    sent = payload["view"]
    assert {k: sent[k] for k in ("id", "callback_id", "private_metadata", "hash")} == {
        "id": view["id"], "callback_id": "review", "private_metadata": "req-7", "hash": view["hash"],
    }
    assert sent["state"]["values"] == {
        "reason": {"why": {"type": "plain_text_input", "value": "too slow"}},
        "team": {"pick": {"type": "static_select", "selected_option": option("billing")}},
        "due": {"date": {"type": "datepicker", "selected_date": "2025-01-31"}},
        "tags": {"tags": {"type": "checkboxes", "selected_options": [option("vip")]}},
        "owner": {"owner": {"type": "users_select", "selected_user": None}},
    }
    assert emulator.open_views(KARI) == [], "an empty ack closes the modal"


def test_submission_errors_keep_the_modal_open(
    app: FakeApp, people: SlackPeople, emulator: SlackEmulator, slack: WebClient
) -> None:
    open_review(emulator, slack)
    app.answer_json({"response_action": "errors", "errors": {"reason": "Say more"}})
    result = people.submit_view(KARI, {"reason": "meh", "team": "support", "owner": OLE})
    assert result.json()["errors"] == {"reason": "Say more"}
    assert len(emulator.open_views(KARI)) == 1
    state = app.received[0].payload["view"]["state"]["values"]
    assert state["team"]["pick"]["selected_option"] == option("support")
    assert state["owner"]["owner"]["selected_user"] == OLE


def test_a_person_can_only_submit_what_slack_lets_them(
    people: SlackPeople, emulator: SlackEmulator, slack: WebClient, app: FakeApp
) -> None:
    with pytest.raises(LookupError, match="no open modal"):
        people.submit_view(KARI, {})
    open_review(emulator, slack)
    with pytest.raises(LookupError, match="no input"):
        people.submit_view(KARI, {"why": "x", "colour": "red"})
    with pytest.raises(ValueError, match="required"):
        people.submit_view(KARI, {})
    with pytest.raises(ValueError, match="longer than 20"):
        people.submit_view(KARI, {"why": "x" * 21})
    with pytest.raises(LookupError, match="not an option"):
        people.submit_view(KARI, {"why": "x", "pick": "finance"})
    assert app.received == []


def test_update_push_and_clear_answers(
    app: FakeApp, people: SlackPeople, emulator: SlackEmulator, slack: WebClient
) -> None:
    root = open_review(emulator, slack)
    thanks = {"type": "modal", "title": plain("Thanks"), "blocks": [{"type": "section", "text": plain("Noted")}]}
    app.answer_json({"response_action": "push", "view": thanks})
    people.submit_view(KARI, {"why": "x"})
    assert [v["title"]["text"] for v in emulator.open_views(KARI)] == ["Review", "Thanks"]
    assert emulator.open_views(KARI)[1]["previous_view_id"] == root["id"]

    app.answer_json({"response_action": "update", "view": dict(thanks, title=plain("Updated"))})
    people.submit_view(KARI, {"why": "x"}, view_id=root["id"])
    assert [v["title"]["text"] for v in emulator.open_views(KARI)] == ["Updated", "Thanks"]

    app.answer_json({"response_action": "update", "view": dict(thanks, title=plain("t" * 30))})
    people.submit_view(KARI, {}, view_id=emulator.open_views(KARI)[1]["id"])
    assert any("refused" in problem for problem in emulator.problems)

    app.answer_json({"response_action": "clear"})
    people.submit_view(KARI, {})
    assert emulator.open_views(KARI) == []


def test_raw_submission_and_cancel(
    app: FakeApp, people: SlackPeople, emulator: SlackEmulator, slack: WebClient
) -> None:
    view = open_review(emulator, slack)
    people.submit_view_raw(KARI, view, {"reason": {"why": {"type": "plain_text_input", "value": "x" * 5000}}})
    assert app.received[0].payload["view"]["state"]["values"]["reason"]["why"]["value"] == "x" * 5000
    assert len(emulator.open_views(KARI)) == 1, "a crafted submission does not touch the stack"
    closing = people.cancel_view(KARI)
    assert closing is not None and closing.status == 200
    closed = app.received[1].payload
    assert (closed["type"], closed["view"]["id"], closed["is_cleared"]) == ("view_closed", view["id"], False)
    assert emulator.open_views(KARI) == []


def test_view_state_values_for_an_unfilled_multi_select() -> None:
    element = {"type": "multi_users_select", "action_id": "a"}
    view = {"id": "V1", "blocks": [field("b", "People", element, optional=True)]}
    assert view_state_values(view, {}) == {"b": {"a": {"type": "multi_users_select", "selected_users": []}}}


# ---------------------------------------------------------------- events


def test_thread_reply_event_and_its_retry(
    app: FakeApp, people: SlackPeople, emulator: SlackEmulator, slack: WebClient
) -> None:
    parent = slack.chat_postMessage(channel=COUNCIL, text="Request")["ts"]
    assert people.post_in_thread(OLE, channel=COUNCIL, thread_ts=parent, text="@channel look").status == 200
    envelope = people.last_event
    assert envelope is not None
    [reply] = emulator.thread(COUNCIL, parent)
    assert reply.user == OLE and reply.mentions == ["<!channel>"]
    delivered = app.received[0]
    assert delivered.signed and delivered.headers["content-type"] == "application/json"
    assert "x-slack-retry-num" not in delivered.headers
    body = delivered.json
    assert body["type"] == "event_callback" and body["event_id"].startswith("Ev")
    assert body["authorizations"] == [{
        "enterprise_id": None, "team_id": "TCXBOT", "user_id": emulator.bot_user_id,
        "is_bot": True, "is_enterprise_install": False,
    }]
    event = body["event"]
    assert {k: event[k] for k in ("type", "user", "ts", "thread_ts", "channel_type")} == {
        "type": "message", "user": OLE, "ts": reply.ts, "thread_ts": parent, "channel_type": "channel",
    }

    people.send_event(envelope, retry_num=1)
    retried = app.received[1]
    assert retried.json["event_id"] == body["event_id"]
    assert retried.headers["x-slack-retry-num"] == "1"
    assert retried.headers["x-slack-retry-reason"] == "http_timeout"
    with pytest.raises(LookupError):
        people.post_in_thread(OLE, channel=COUNCIL, thread_ts="1.000001", text="lost")


def test_app_home_opened(app: FakeApp, people: SlackPeople, emulator: SlackEmulator, slack: WebClient) -> None:
    subscribed = emulator.manifest
    emulator.manifest = subscribed.with_events(set(subscribed.bot_events) - {"app_home_opened"})
    assert people.open_app_home(KARI) is None, "no event without the subscription"
    assert app.received == []
    emulator.manifest = subscribed
    people.open_app_home(KARI)
    assert "view" not in app.received[0].json["event"]
    slack.views_publish(user_id=KARI, view={"type": "home", "blocks": [{"type": "section", "text": plain("Hi")}]})
    people.open_app_home(KARI)
    event = app.received[1].json["event"]
    assert (event["type"], event["tab"], event["channel"]) == ("app_home_opened", "home", emulator.dm_channel(KARI))
    assert event["view"]["type"] == "home"


def test_message_events_carry_the_channel_type_and_come_only_from_subscribed_conversations(
    app: FakeApp, people: SlackPeople, emulator: SlackEmulator
) -> None:
    emulator.add_channel("G0SECRET", "secret", members=[KARI, OLE])
    emulator.add_channel("C0RANDOM", "random", members=[KARI, OLE])
    assert people.post_message(KARI, channel="G0SECRET", text="not invited yet") is None
    assert people.post_message(KARI, channel="C0RANDOM", text="not invited") is None
    emulator.invite_bot("G0SECRET")
    assert people.post_message(KARI, channel="G0SECRET", text="now it hears").status == 200
    people.post_message(OLE, channel=COUNCIL, text="public")
    assert [(r.json["event"]["text"], r.json["event"]["channel_type"]) for r in app.received] == [
        ("now it hears", "group"), ("public", "channel"),
    ]
    emulator.manifest = emulator.manifest.with_events({"message.channels"})
    assert people.post_message(KARI, channel="G0SECRET", text="unsubscribed") is None
    emulator.manifest = emulator.manifest.with_events({"message.im"})
    people.post_message(KARI, channel=KARI, text="in the app's DM")
    assert app.received[-1].json["event"]["channel_type"] == "im"
    with pytest.raises(LookupError):
        emulator.add_channel("G0OTHER", "other", members=[OLE])
        people.post_message(KARI, channel="G0OTHER", text="not a member of a private channel")
