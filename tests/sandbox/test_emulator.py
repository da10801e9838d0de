"""The emulator answers the bot's slack_sdk calls over real HTTP the way Slack does."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from cxbot.sandbox.emulator import SlackEmulator
from tests.sandbox.conftest import COUNCIL, KARI, OLE


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def button(label: str, action_id: str, value: str = "v") -> dict:
    return {"type": "button", "text": plain(label), "action_id": action_id, "value": value}


TEXT_INPUT = {"type": "input", "block_id": "reason", "label": plain("Why"),
              "element": {"type": "plain_text_input", "action_id": "why"}}


def modal(title: str = "Review", blocks: list[dict] | None = None, **extra: object) -> dict:
    view = {"type": "modal", "title": plain(title), "submit": plain("Send"), "blocks": blocks or [TEXT_INPUT]}
    view.update(extra)
    return view


def error_of(call: Callable[[], Any]) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value


def error_code(call: Callable[[], Any]) -> str:
    return error_of(call).response["error"]


# ---------------------------------------------------------------- messages


def test_post_update_thread_and_permalink(emulator: SlackEmulator, slack: WebClient) -> None:
    parent = slack.chat_postMessage(channel=COUNCIL, text="New request", blocks=[section("*New request*")])
    reply = slack.chat_postMessage(channel=COUNCIL, text="first", thread_ts=parent["ts"])
    nested = slack.chat_postMessage(channel=COUNCIL, text="second", thread_ts=reply["ts"])
    slack.chat_update(channel=COUNCIL, ts=parent["ts"], text="Decided", blocks=[section("*Decided*")])

    assert float(parent["ts"]) < float(reply["ts"]) < float(nested["ts"])
    assert [m.text for m in emulator.thread(COUNCIL, parent["ts"])] == ["first", "second"]
    stored = emulator.message(COUNCIL, parent["ts"])
    assert stored is not None and stored.text == "Decided" and stored.bot_id == emulator.bot_id
    assert [(v.text, v.blocks[0]["text"]["text"]) for v in stored.edits] == [("New request", "*New request*")]
    assert stored.blocks[0]["block_id"], "Slack fills in a block_id"
    link = slack.chat_getPermalink(channel=COUNCIL, message_ts=reply["ts"])["permalink"]
    archived = f"https://cxbot-sandbox.slack.com/archives/{COUNCIL}/p{reply['ts'].replace('.', '')}"
    assert link.startswith(archived)
    assert emulator.problems == []


def test_unknown_channel_thread_and_message(slack: WebClient) -> None:
    assert error_code(lambda: slack.chat_postMessage(channel="C0NOPE", text="x")) == "channel_not_found"
    assert error_code(
        lambda: slack.chat_postMessage(channel=COUNCIL, text="x", thread_ts="1.1")
    ) == "thread_not_found"
    assert error_code(lambda: slack.chat_update(channel=COUNCIL, ts="1.1", text="x")) == "message_not_found"


def test_people_messages_cannot_be_edited_by_the_bot(emulator: SlackEmulator, slack: WebClient) -> None:
    said = emulator.record_user_message(KARI, COUNCIL, "hello")
    edit = lambda: slack.chat_update(channel=COUNCIL, ts=said.ts, text="x")  # noqa: E731
    assert error_code(edit) == "cant_update_message"
    assert error_code(lambda: slack.chat_delete(channel=COUNCIL, ts=said.ts)) == "cant_delete_message"


def test_dms_by_user_id_and_by_opened_channel(emulator: SlackEmulator, slack: WebClient) -> None:
    opened = slack.conversations_open(users=KARI)["channel"]["id"]
    assert opened == emulator.dm_channel(KARI)
    assert slack.conversations_open(users=KARI)["already_open"] is True
    slack.chat_postMessage(channel=opened, text="one")
    answer = slack.chat_postMessage(channel=OLE, text="two")
    assert answer["channel"] == emulator.dm_channel(OLE)
    assert [m.text for m in emulator.dms(KARI)] == ["one"]
    assert [m.text for m in emulator.dms(OLE)] == ["two"]


def test_ephemeral_delete_and_users_info(emulator: SlackEmulator, slack: WebClient) -> None:
    answer = slack.chat_postEphemeral(channel=COUNCIL, user=KARI, text="only you")
    assert [(m.text, m.ts) for m in emulator.ephemerals(KARI)] == [("only you", answer["message_ts"])]
    assert emulator.ephemerals(OLE) == []
    posted = slack.chat_postMessage(channel=COUNCIL, text="oops")
    slack.chat_delete(channel=COUNCIL, ts=posted["ts"])
    assert emulator.messages(COUNCIL) == []
    ole = slack.users_info(user=OLE)["user"]
    assert (ole["real_name"], ole["tz"], ole["is_bot"]) == ("Ole (Support)", "America/New_York", False)
    assert ole["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert error_code(lambda: slack.users_info(user="U0NOBODY")) == "user_not_found"


def test_auth_and_unknown_method(emulator: SlackEmulator, slack: WebClient) -> None:
    assert slack.auth_test()["user_id"] == emulator.bot_user_id
    wrong = WebClient(token="xoxb-wrong", base_url=emulator.url)
    assert error_code(wrong.auth_test) == "invalid_auth"
    assert error_code(WebClient(base_url=emulator.url).auth_test) == "not_authed"
    assert error_code(lambda: slack.api_call("chat.frobnicate")) == "unknown_method"
    assert [c.method for c in emulator.calls()] == ["auth.test"] * 3 + ["chat.frobnicate"]


def test_form_encoded_blocks_are_decoded(emulator: SlackEmulator, slack: WebClient) -> None:
    blocks = [section("from a form")]
    slack.api_call("chat.postMessage", params={"channel": COUNCIL, "text": "t", "blocks": json.dumps(blocks)})
    assert emulator.messages(COUNCIL)[0].blocks[0]["text"]["text"] == "from a form"
    assert emulator.calls("chat.postMessage")[0].params["blocks"] == blocks


# ---------------------------------------------------------------- Block Kit validation


@pytest.mark.parametrize(
    "blocks, fragment",
    [
        ([section(f"b{i}") for i in range(51)], "no more than 50"),
        ([TEXT_INPUT], "input blocks"),
        ([{"type": "carousel_of_doom"}], "unknown block type"),
        ([{"type": "actions", "elements": [button("x" * 76, "a")]}], "75 characters"),
        ([{"type": "actions", "elements": [{"type": "teleporter"}]}], "unknown element type"),
        ([section("")], "more than 0 characters"),
        ([section("a") | {"block_id": "same"}, section("b") | {"block_id": "same"}], "duplicate block_id"),
    ],
)
def test_invalid_blocks_are_refused(
    emulator: SlackEmulator, slack: WebClient, blocks: list, fragment: str
) -> None:
    refused = error_of(lambda: slack.chat_postMessage(channel=COUNCIL, text="t", blocks=blocks))
    assert refused.response["error"] == "invalid_blocks"
    assert any(fragment in e for e in refused.response["errors"]), refused.response["errors"]
    assert emulator.messages() == []


def test_fifty_blocks_are_fine_and_long_text_is_truncated(emulator: SlackEmulator, slack: WebClient) -> None:
    slack.chat_postMessage(channel=COUNCIL, text="x" * 40_010, blocks=[section(f"b{i}") for i in range(50)])
    assert len(emulator.messages()[0].text) == 40_000


def test_missing_text_fallback_is_a_problem_not_an_error(emulator: SlackEmulator, slack: WebClient) -> None:
    slack.api_call("chat.postMessage", json={"channel": COUNCIL, "blocks": [section("no fallback")]})
    assert len(emulator.problems) == 1 and "text fallback" in emulator.problems[0]
    assert error_code(lambda: slack.api_call("chat.postMessage", json={"channel": COUNCIL})) == "no_text"


def test_mentions_and_links_are_recorded_only_when_unescaped(
    emulator: SlackEmulator, slack: WebClient
) -> None:
    blocks = [
        section("Raised by <@U0KARI> &lt;!channel&gt;"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "<https://evil.example|invoice>"}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "<!here> see <https://x.example>"}]},
        {"type": "section", "text": {"type": "plain_text", "text": "<!everyone> as plain text"}},
    ]
    slack.chat_postMessage(channel=COUNCIL, text="<!subteam^S1|@cx> &lt;@U0OLE&gt;", blocks=blocks)
    message = emulator.messages()[0]
    assert message.mentions == ["<!subteam^S1>", "<@U0KARI>", "<!here>"]
    assert message.links == ["<https://evil.example|invoice>", "<https://x.example>"]


def test_a_user_group_mention_reaches_its_members_and_shows_as_its_handle(
    emulator: SlackEmulator, slack: WebClient
) -> None:
    emulator.add_usergroup("S0LEGAL", "@legal-advocates", ["U0KARI", "U0OLE"])
    slack.chat_postMessage(channel=COUNCIL, text="x", blocks=[section("*Legal*: <!subteam^S0LEGAL> <@U0SIV>"),
                                                                section("<!subteam^S0NOSUCH>")])
    message = emulator.messages()[0]
    assert message.mentions == ["<!subteam^S0LEGAL>", "<@U0SIV>", "<!subteam^S0NOSUCH>"]
    assert emulator.notified(message.mentions) == {"U0KARI", "U0OLE", "U0SIV"}, "an unknown group reaches nobody"
    assert "*Legal*: @legal-advocates @" in emulator.transcript()[-1].text


# ---------------------------------------------------------------- modals


def test_trigger_ids_are_single_use_and_short_lived(emulator: SlackEmulator, slack: WebClient) -> None:
    trigger = emulator.new_trigger(KARI)
    opened = slack.views_open(trigger_id=trigger, view=modal())["view"]
    assert opened["id"].startswith("V") and opened["root_view_id"] == opened["id"]
    assert opened["state"] == {"values": {}} and opened["hash"]
    assert error_code(lambda: slack.views_open(trigger_id=trigger, view=modal())) == "exchanged_trigger_id"
    stale = emulator.new_trigger(KARI, age=3.5)
    assert error_code(lambda: slack.views_open(trigger_id=stale, view=modal())) == "expired_trigger_id"
    assert error_code(lambda: slack.views_open(trigger_id="nope", view=modal())) == "invalid_trigger_id"


def test_view_limits(emulator: SlackEmulator, slack: WebClient) -> None:
    cases = [
        modal(title="t" * 25),
        modal(private_metadata="m" * 3001),
        modal(callback_id="c" * 256),
        modal(blocks=[section(f"s{i}") for i in range(101)]),
        modal(submit={"type": "plain_text", "text": "s" * 25}),
        {key: value for key, value in modal().items() if key != "submit"},
    ]
    for view in cases:
        trigger = emulator.new_trigger(KARI)
        assert error_code(lambda t=trigger, v=view: slack.views_open(trigger_id=t, view=v)) == "invalid_arguments"
        assert slack.views_open(trigger_id=trigger, view=modal())["ok"], "a refusal leaves the trigger usable"


def test_view_stack_push_update_and_limit(emulator: SlackEmulator, slack: WebClient) -> None:
    root = slack.views_open(trigger_id=emulator.new_trigger(KARI), view=modal("One"))["view"]
    second = slack.views_push(trigger_id=emulator.new_trigger(KARI), view=modal("Two"))["view"]
    slack.views_push(trigger_id=emulator.new_trigger(KARI), view=modal("Three"))
    fourth = emulator.new_trigger(KARI)
    assert error_code(lambda: slack.views_push(trigger_id=fourth, view=modal("Four"))) == "push_limit_reached"
    assert (second["root_view_id"], second["previous_view_id"]) == (root["id"], root["id"])

    updated = slack.views_update(view_id=second["id"], hash=second["hash"], view=modal("Two, again"))["view"]
    assert updated["id"] == second["id"] and updated["hash"] != second["hash"]
    assert error_code(
        lambda: slack.views_update(view_id=second["id"], hash=second["hash"], view=modal())
    ) == "hash_conflict"
    titles = [v["title"]["text"] for v in emulator.open_views(KARI)]
    assert titles == ["One", "Two, again", "Three"]
    assert emulator.open_views(OLE) == []


def test_home_tab_publish(emulator: SlackEmulator, slack: WebClient) -> None:
    home = {"type": "home", "blocks": [section("Your open requests: 2")]}
    first = slack.views_publish(user_id=KARI, view=home)["view"]
    again = slack.views_publish(user_id=KARI, view=home)["view"]
    assert first["id"] == again["id"]
    assert emulator.home(KARI)["blocks"][0]["text"]["text"] == "Your open requests: 2"
    # Slack's method reference: an unknown user, a view over 100 blocks, an app without a Home tab.
    assert error_code(lambda: slack.views_publish(user_id="U0NOBODY", view=home)) == "invalid_arguments"
    crowded = {"type": "home", "blocks": [section(f"Line {n}") for n in range(101)]}
    assert error_code(lambda: slack.views_publish(user_id=KARI, view=crowded)) == "invalid_arguments"
    enabled = emulator.manifest
    emulator.manifest = enabled.with_home_tab(False)
    try:
        assert error_code(lambda: slack.views_publish(user_id=KARI, view=home)) == "not_enabled"
    finally:
        emulator.manifest = enabled


# ---------------------------------------------------------------- faults and outages


def test_rate_limit_is_seen_by_slack_sdk_with_retry_after(emulator: SlackEmulator, slack: WebClient) -> None:
    emulator.fail("chat.postMessage", status=429, retry_after=7)
    limited = error_of(lambda: slack.chat_postMessage(channel=COUNCIL, text="x"))
    assert limited.response.status_code == 429
    assert limited.response.headers["Retry-After"] == "7"
    assert limited.response["error"] == "ratelimited"
    assert emulator.messages() == [], "a failed call changes nothing"
    slack.chat_postMessage(channel=COUNCIL, text="x")
    assert [(c.status, c.ok) for c in emulator.calls("chat.postMessage")] == [(429, False), (200, True)]


def test_server_errors_and_ok_false_in_order(emulator: SlackEmulator, slack: WebClient) -> None:
    emulator.fail("*", status=500)
    emulator.fail("chat.postMessage", error="channel_not_found", times=2)
    assert error_of(slack.auth_test).response.status_code == 500
    for _ in range(2):
        refused = error_of(lambda: slack.chat_postMessage(channel=COUNCIL, text="x"))
        assert (refused.response.status_code, refused.response["error"]) == (200, "channel_not_found")
    assert slack.chat_postMessage(channel=COUNCIL, text="x")["ok"]
    with pytest.raises(ValueError):
        emulator.fail("auth.test")


def test_delay_provokes_client_timeout_but_the_work_is_done(emulator: SlackEmulator) -> None:
    impatient = WebClient(token=emulator.bot_token, base_url=emulator.url, timeout=0.1, retry_handlers=[])
    emulator.fail("chat.postMessage", delay=0.3)
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel=COUNCIL, text="late")
    assert emulator.wait_for(lambda: emulator.messages(COUNCIL))[0].text == "late"


def test_go_down_and_come_back_on_the_same_port(emulator: SlackEmulator) -> None:
    slack = WebClient(token=emulator.bot_token, base_url=emulator.url, retry_handlers=[])
    url = emulator.url
    slack.chat_postMessage(channel=COUNCIL, text="before")
    emulator.go_down()
    with pytest.raises(OSError):
        slack.chat_postMessage(channel=COUNCIL, text="during")
    emulator.come_back()
    assert emulator.url == url
    slack.chat_postMessage(channel=COUNCIL, text="after")
    assert [m.text for m in emulator.messages()] == ["before", "after"]


def test_wait_for_times_out_helpfully(emulator: SlackEmulator) -> None:
    with pytest.raises(TimeoutError, match="still false"):
        emulator.wait_for(lambda: emulator.messages(), timeout=0.05)


def test_reset_keeps_the_directory(emulator: SlackEmulator, slack: WebClient) -> None:
    slack.chat_postMessage(channel=COUNCIL, text="x")
    emulator.fail("*", status=503)
    emulator.reset()
    assert emulator.messages() == [] and emulator.calls() == [] and emulator.transcript() == []
    assert slack.chat_postMessage(channel=KARI, text="still here")["ok"]


# ---------------------------------------------------------------- files and response_url


def test_file_upload_flow(emulator: SlackEmulator, slack: WebClient) -> None:
    parent = slack.chat_postMessage(channel=COUNCIL, text="report coming")
    slack.files_upload_v2(
        channel=COUNCIL, content="a,b\n1,2\n", filename="report.csv", title="Report", initial_comment="Here",
        thread_ts=parent["ts"],
    )
    [stored] = emulator.files
    assert (stored.name, stored.title, stored.channel) == ("report.csv", "Report", COUNCIL)
    assert stored.content == b"a,b\n1,2\n"
    [share] = emulator.thread(COUNCIL, parent["ts"])
    assert share.files == [stored.id] and share.text == "Here"
    unuploaded = slack.files_getUploadURLExternal(filename="x.txt", length=3)["file_id"]
    assert error_code(
        lambda: slack.files_completeUploadExternal(files=[{"id": unuploaded}], channel_id=COUNCIL)
    ) == "file_not_found"


def post_json(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_response_url_ephemeral_in_channel_replace_and_delete(
    emulator: SlackEmulator, slack: WebClient
) -> None:
    hook = emulator.new_response_url(KARI, COUNCIL)
    assert post_json(hook, {"text": "Only you see this"}) == (200, {"ok": True})
    assert post_json(hook, {"text": "Everyone sees this", "response_type": "in_channel"})[0] == 200
    assert [m.text for m in emulator.ephemerals(KARI)] == ["Only you see this"]
    assert [m.text for m in emulator.messages(COUNCIL)] == ["Everyone sees this"]

    card = slack.chat_postMessage(channel=COUNCIL, text="Vote")
    on_card = emulator.new_response_url(KARI, COUNCIL, message_ts=card["ts"])
    post_json(on_card, {"text": "Voted", "replace_original": True})
    assert emulator.message(COUNCIL, card["ts"]).text == "Voted"
    post_json(on_card, {"delete_original": True})
    assert emulator.message(COUNCIL, card["ts"]) is None
    status, body = post_json(on_card, {"text": "x", "blocks": [{"type": "nope"}]})
    assert (status, body["error"]) == (400, "invalid_blocks")
    assert post_json(emulator.url.replace("/api/", "/response/unknown"), {"text": "x"})[0] == 404


# ---------------------------------------------------------------- transcript


def test_transcript_says_who_saw_what(emulator: SlackEmulator, slack: WebClient) -> None:
    card = slack.chat_postMessage(
        channel=COUNCIL,
        text="Refund for <@U0KARI>",
        blocks=[
            section("Refund &amp; credit for <@U0KARI>"),
            {"type": "actions", "elements": [button("Approve", "approve")]},
        ],
    )
    emulator.record_user_message(OLE, COUNCIL, "Looks fine", thread_ts=card["ts"])
    slack.chat_postMessage(channel=KARI, text="Your request was approved")
    slack.chat_postEphemeral(channel=COUNCIL, user=OLE, text="Vote recorded")
    slack.views_open(trigger_id=emulator.new_trigger(KARI), view=modal())
    entries = [(e.audience, e.where, e.author, e.text) for e in emulator.transcript()]
    assert entries == [
        ("#council", "message", "cxbot", "Refund & credit for @Kari (Billing)\n[Approve]"),
        ("#council", "thread reply", "Ole (Support)", "Looks fine"),
        ("DM with Kari (Billing)", "message", "cxbot", "Your request was approved"),
        ("only visible to Ole (Support) in #council", "ephemeral", "cxbot", "Vote recorded"),
        ("modal for Kari (Billing)", "modal opened", "cxbot",
         "┌ Review\n│ Why: [plain_text_input]\n└ [Send]"),
    ]
    assert str(emulator.transcript()[1]).startswith("[#council] Ole (Support) (thread reply):")


# ---------------------------------------------------------------- what Slack refuses


def test_scopes_come_from_the_manifest_and_a_missing_one_is_named(emulator: SlackEmulator) -> None:
    assert {"chat:write", "users:read", "im:write", "files:write"} <= emulator.bot_scopes
    narrow = SlackEmulator(scopes={"chat:write", "commands"})
    narrow.add_user(KARI, "kari")
    with narrow:
        slack = WebClient(token=narrow.bot_token, base_url=narrow.url)
        refused = error_of(lambda: slack.users_info(user=KARI)).response.data
        assert refused == {"ok": False, "error": "missing_scope", "needed": "users:read",
                           "provided": "chat:write,commands"}
        opened = error_of(lambda: slack.conversations_open(users=KARI)).response.data
        assert opened["needed"] == "channels:manage,groups:write,im:write,mpim:write"
        assert error_code(lambda: slack.files_getUploadURLExternal(filename="a.html", length=1)) == "missing_scope"
        assert slack.auth_test()["ok"], "auth.test needs no scope"


def test_the_bot_posts_only_where_it_was_invited(emulator: SlackEmulator, slack: WebClient) -> None:
    emulator.add_channel("C0RANDOM", "random", members=[KARI])
    emulator.add_channel("G0SECRET", "secret-council", members=[KARI])
    assert error_code(lambda: slack.chat_postMessage(channel="C0RANDOM", text="x")) == "not_in_channel"
    assert error_code(lambda: slack.chat_postMessage(channel="#random", text="x")) == "not_in_channel"
    for call in (lambda: slack.chat_postMessage(channel="G0SECRET", text="x"),
                 lambda: slack.chat_postMessage(channel="#secret-council", text="x"),
                 lambda: slack.chat_getPermalink(channel="G0SECRET", message_ts="1.1")):
        assert error_code(call) == "channel_not_found", "a private channel the bot is not in does not exist for it"
    emulator.invite_bot("G0SECRET")
    posted = slack.chat_postMessage(channel="G0SECRET", text="now it can")
    assert posted["channel"] == "G0SECRET" and emulator.channel_type("G0SECRET") == "group"
    emulator.archive("G0SECRET")
    assert error_code(lambda: slack.chat_postMessage(channel="G0SECRET", text="x")) == "is_archived"
    assert [m.text for m in emulator.messages("G0SECRET")] == ["now it can"]


def test_a_user_id_is_a_channel_only_for_chat_post_message(emulator: SlackEmulator, slack: WebClient) -> None:
    # Beyond cxbot's manifest, to try these methods too.
    emulator.manifest = emulator.manifest.with_scopes(emulator.bot_scopes | {"reactions:write", "im:history"})
    dm = slack.chat_postMessage(channel=KARI, text="to Kari's app DM")
    assert dm["channel"] == emulator.dm_channel(KARI)
    ts = dm["ts"]
    for call in (lambda: slack.chat_update(channel=KARI, ts=ts, text="edited"),
                 lambda: slack.chat_delete(channel=KARI, ts=ts),
                 lambda: slack.reactions_add(channel=KARI, timestamp=ts, name="eyes"),
                 lambda: slack.conversations_replies(channel=KARI, ts=ts),
                 lambda: slack.chat_postEphemeral(channel=KARI, user=KARI, text="x")):
        assert error_code(call) == "channel_not_found"
    slack.chat_update(channel=dm["channel"], ts=ts, text="edited")
    slack.reactions_add(channel=dm["channel"], timestamp=ts, name="eyes")
    again = lambda: slack.reactions_add(channel=dm["channel"], timestamp=ts, name="eyes")  # noqa: E731
    assert error_code(again) == "already_reacted"
    assert emulator.message(dm["channel"], ts).text == "edited"


def test_an_ephemeral_needs_its_reader_in_the_channel(emulator: SlackEmulator, slack: WebClient) -> None:
    emulator.add_user("U0NEW", "newcomer")
    refused = lambda: slack.chat_postEphemeral(channel=COUNCIL, user="U0NEW", text="x")  # noqa: E731
    assert error_code(refused) == "user_not_in_channel"
    emulator.invite(COUNCIL, "U0NEW")
    assert slack.chat_postEphemeral(channel=COUNCIL, user="U0NEW", text="welcome")["ok"]
    dm = slack.conversations_open(users=KARI)["channel"]["id"]
    assert slack.chat_postEphemeral(channel=dm, user=KARI, text="in the DM")["ok"]
    assert error_code(lambda: slack.chat_postEphemeral(channel=dm, user=OLE, text="x")) == "user_not_in_channel"


def test_thread_replies_need_the_history_scope_of_the_channels_type() -> None:
    public_only = SlackEmulator(scopes={"chat:write", "channels:history"})
    public_only.add_user(KARI, "kari")
    for channel, name in ((COUNCIL, "council"), ("G0SECRET", "secret")):
        public_only.add_channel(channel, name, members=[KARI])
        public_only.invite_bot(channel)
    with public_only:
        slack = WebClient(token=public_only.bot_token, base_url=public_only.url)
        parent = slack.chat_postMessage(channel=COUNCIL, text="parent")["ts"]
        public_only.record_user_message(KARI, COUNCIL, "a reply", thread_ts=parent)
        thread = slack.conversations_replies(channel=COUNCIL, ts=parent)["messages"]
        assert [m["text"] for m in thread] == ["parent", "a reply"]
        secret = slack.chat_postMessage(channel="G0SECRET", text="private parent")["ts"]
        refused = error_of(lambda: slack.conversations_replies(channel="G0SECRET", ts=secret)).response.data
        assert (refused["error"], refused["needed"]) == ("missing_scope", "groups:history")
        assert error_code(lambda: slack.conversations_replies(channel=COUNCIL, ts="1.1")) == "thread_not_found"


@pytest.mark.parametrize(
    "block, message",
    [
        (section("s" * 3001), "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"),
        ({"type": "header", "text": plain("h" * 151)},
         "must be less than 151 characters [json-pointer:/blocks/0/text/text]"),
        ({"type": "section", "fields": [plain(f"f{i}") for i in range(11)]},
         "no more than 10 items allowed [json-pointer:/blocks/0/fields]"),
    ],
)
def test_block_kit_text_limits_answer_as_slack_does(
    emulator: SlackEmulator, slack: WebClient, block: dict, message: str
) -> None:
    refused = error_of(lambda: slack.chat_postMessage(channel=COUNCIL, text="t", blocks=[block])).response.data
    assert refused == {"ok": False, "error": "invalid_blocks", "errors": [message],
                       "response_metadata": {"messages": [f"[ERROR] {message}"]}}
    at_limit = [section("s" * 3000), {"type": "header", "text": plain("h" * 150)}]
    assert slack.chat_postMessage(channel=COUNCIL, text="t", blocks=at_limit)["ok"]


def test_a_view_over_the_limit_is_invalid_arguments_with_slacks_metadata(
    emulator: SlackEmulator, slack: WebClient
) -> None:
    view = modal(blocks=[section(f"s{i}") for i in range(101)])
    refused = error_of(lambda: slack.views_open(trigger_id=emulator.new_trigger(KARI), view=view)).response.data
    assert refused == {"ok": False, "error": "invalid_arguments", "response_metadata": {
        "messages": ["[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"]}}
