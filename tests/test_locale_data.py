"""People's Slack locales, stored with the rest of their data, and the emulator's `include_locale`.

Slack adds `locale` to a user (users.info, users.list) or a channel (conversations.info) only
when asked with `include_locale=true`; cxbot's people refresh asks, and stores it beside the
time zone and name, and a `user_change` event updates it.
"""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from cxbot.sandbox.emulator import SlackEmulator
from cxbot.store.models import Person
from tests.harness import BOT_TOKEN, Stack, local


def locales(stack: Stack) -> dict[str, str]:
    return {p.user_id: p.locale for p in stack.all(Person)}


def test_the_people_refresh_asks_for_and_stores_each_persons_locale(stack: Stack) -> None:
    stack.slack.change_user("U0LEGAL1", locale="de-DE")
    stack.slack.change_user("U0SUP1", locale="nb-NO")
    stack.file("U0BILLLEAD")
    stack.sweep(local(0, 11))
    calls = stack.slack.calls("users.info")
    assert calls and all(c.params["include_locale"] == "true" for c in calls)
    assert locales(stack) == {"U0BILLLEAD": "en-US", "U0BILL1": "en-US", "U0LEGAL1": "de-DE",
                              "U0LEGAL2": "en-US", "U0SUP1": "nb-NO"}

    stack.people.change_profile("U0LEGAL2", locale="de-AT")      # user_change carries the whole user
    assert stack.slack.wait_for(lambda: locales(stack)["U0LEGAL2"] == "de-AT")


def test_the_emulator_sends_a_locale_only_when_asked() -> None:
    with SlackEmulator(bot_token=BOT_TOKEN) as emulator:
        emulator.add_user("U1", "una", locale="de-DE")
        emulator.add_channel("C1", "general", members=["U1"])
        client = WebClient(token=BOT_TOKEN, base_url=emulator.url)
        assert "locale" not in client.users_info(user="U1")["user"]
        assert client.users_info(user="U1", include_locale=True)["user"]["locale"] == "de-DE"
        assert [m.get("locale") for m in client.users_list(include_locale=True)["members"] if m["id"] == "U1"] == [
            "de-DE"]
        assert all("locale" not in m for m in client.users_list()["members"])
        assert client.conversations_info(channel="C1", include_locale=True)["channel"]["locale"] == "en-US"


def test_the_emulator_refuses_a_channels_locale_without_the_scope_for_it() -> None:
    """conversations.info needs channels:read for a public channel, groups:read for a private one."""
    with SlackEmulator(bot_token=BOT_TOKEN, scopes={"groups:read"}) as emulator:
        emulator.add_channel("C1", "general")
        client = WebClient(token=BOT_TOKEN, base_url=emulator.url)
        with pytest.raises(SlackApiError) as refused:
            client.conversations_info(channel="C1", include_locale=True)
        assert refused.value.response["error"] == "missing_scope"
    with SlackEmulator(bot_token=BOT_TOKEN, scopes={"channels:read"}) as emulator:
        emulator.add_channel("G1", "secret", private=True)
        emulator.invite_bot("G1")
        client = WebClient(token=BOT_TOKEN, base_url=emulator.url)
        with pytest.raises(SlackApiError) as refused:
            client.conversations_info(channel="G1", include_locale=True)
        assert refused.value.response["error"] == "missing_scope"


def test_the_emulator_tells_a_channels_locale_to_an_app_that_may_read_it() -> None:
    with SlackEmulator(bot_token=BOT_TOKEN, scopes={"channels:read", "groups:read"}) as emulator:
        emulator.add_channel("C1", "general")
        emulator.add_channel("G1", "secret")
        emulator.set_channel_locale("C1", "de-DE")
        client = WebClient(token=BOT_TOKEN, base_url=emulator.url)
        assert "locale" not in client.conversations_info(channel="C1")["channel"]
        assert client.conversations_info(channel="C1", include_locale=True)["channel"]["locale"] == "de-DE"
        with pytest.raises(SlackApiError) as hidden:      # a private channel the bot is not in
            client.conversations_info(channel="G1")
        assert hidden.value.response["error"] == "channel_not_found"
        emulator.invite_bot("G1")
        assert client.conversations_info(channel="G1", include_locale=True)["channel"]["locale"] == "en-US"
