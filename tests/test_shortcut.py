"""The message shortcut *Review with CX council*: a lead files the change a message discusses,
from the message. The form starts with the message's text (mentions and links as people read
them) and its permalink, which the filed request keeps; who may file is as for `/cx-review`
(leads and advocates, for their own department)."""

from __future__ import annotations

import json
from typing import Any

from cxbot.store.models import Person, ReviewRequest
from tests.harness import Stack, filing_values
from tests.test_councils import BEA, buttons

GENERAL = "C0GENERAL"
SECRET = "G0SECRET"
SAID = "Customers keep asking {sam} & <Billing> why the invoice shows two totals"


def field(view: dict[str, Any], block_id: str) -> Any:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)["element"].get("initial_value")


def discuss(stack: Stack, channel: str, *, private: bool = False) -> str:
    """Lars writes in `channel` (which the bot is not in), mentioning Sam; returns the message's ts."""
    stack.slack.add_channel(channel, channel.lower(), private=private,
                            members=["U0SUP1", BEA, "U0LEGAL1", "U0OUTSIDER"])
    stack.people.post_message("U0LEGAL1", channel=channel, text=SAID.format(sam=stack.people.at("U0SUP1")))
    return stack.slack.messages(channel)[-1].ts


def shortcut(stack: Stack, user: str, channel: str, ts: str) -> None:
    result = stack.people.message_shortcut(user, channel=channel, ts=ts)
    assert result is not None and result.status == 200, result


def test_a_lead_files_a_message_and_the_request_keeps_its_text_and_link(stack: Stack) -> None:
    ts = discuss(stack, GENERAL)
    assert "<@U0SUP1>" in stack.slack.message(GENERAL, ts).text     # Slack keeps a mention as an id
    stack.people.slash_command("U0SUP1", text="help")                 # cxbot learns Sam's name
    stack.slack.wait_for(lambda: stack.count(Person, Person.user_id == "U0SUP1", Person.name != ""))
    shortcut(stack, BEA, GENERAL, ts)
    view = stack.slack.wait_for(lambda: (stack.slack.open_views(BEA) or [None])[-1])
    assert field(view, "summary") == SAID.format(sam="@Sam (Support)")   # as people read it
    permalink = field(view, "link")
    assert permalink.startswith("https://") and f"/archives/{GENERAL}/p{ts.replace('.', '')}" in permalink
    assert field(view, "title") is None            # the lead writes the title

    values = filing_values(summary=field(view, "summary"), link=permalink, title="Invoices show one total")
    result = stack.people.submit_view(BEA, values)
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle()
    [request] = stack.all(ReviewRequest)
    assert (request.link, request.summary) == (permalink, field(view, "summary"))
    assert "&lt;Billing&gt;" in json.dumps(stack.parent(request.id).blocks)   # repeated escaped, as typed


def test_a_private_channel_the_bot_cannot_see_still_opens_the_form_without_a_link(stack: Stack) -> None:
    ts = discuss(stack, SECRET, private=True)
    shortcut(stack, BEA, SECRET, ts)
    view = stack.slack.wait_for(lambda: (stack.slack.open_views(BEA) or [None])[-1])
    assert field(view, "summary").startswith("Customers keep asking") and field(view, "link") is None


def test_someone_outside_the_council_is_told_why_and_no_form_opens(stack: Stack) -> None:
    ts = discuss(stack, GENERAL)
    shortcut(stack, "U0OUTSIDER", GENERAL, ts)
    told = stack.slack.wait_for(lambda: stack.slack.ephemerals("U0OUTSIDER"))
    assert told[-1].text.startswith("Only department leads and council advocates can file a CX review.")
    assert told[-1].channel == GENERAL
    assert stack.slack.open_views("U0OUTSIDER") == [] and stack.count(ReviewRequest) == 0


def test_a_lead_of_two_councils_picks_one_and_the_form_keeps_the_message(stack: Stack) -> None:
    stack.add_nordics()
    ts = discuss(stack, GENERAL)
    shortcut(stack, BEA, GENERAL, ts)
    asked = stack.slack.wait_for(lambda: [m for m in stack.slack.ephemerals(BEA) if m.blocks])[-1]
    assert stack.slack.open_views(BEA) == []
    nordics = next(b for b in buttons(asked) if json.loads(b["value"])["council"] == "nordics")
    assert len(nordics["value"]) <= 2000
    assert stack.people.press_button(BEA, channel=asked.channel, ts=asked.ts,
                                     action_id=nordics["action_id"]).status == 200
    view = stack.slack.wait_for(lambda: (stack.slack.open_views(BEA) or [None])[-1])
    assert json.loads(view["private_metadata"]) == {"council": "nordics"}
    assert field(view, "summary").startswith("Customers keep asking") and GENERAL in field(view, "link")
