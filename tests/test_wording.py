"""What people read: a request's header shows the whole title, and refusals are sentences
without the internal keys that place an error on a modal's field."""

from __future__ import annotations

import re
from datetime import timedelta

from cxbot.slack.blocks import ids
from tests.harness import Stack, today

# "action: …", "until: …": a field key in front of a sentence.
INTERNAL_KEY = re.compile(r"^\s*[a-z_]+: ", re.MULTILINE)


def test_a_full_length_title_with_ampersands_and_angle_brackets_shows_whole_in_the_header(stack: Stack) -> None:
    title = ("Fees & refunds <annual> " * 7)[:150]
    assert len(title) == 150 and "&" in title and "<" in title
    rid = stack.file("U0BILLLEAD", title=title)
    header = next(b for b in stack.parent(rid).blocks if b["type"] == "header")
    assert header["text"] == {"type": "plain_text", "text": title, "emoji": False}
    # The number people quote in `/cx-review status 12` is still on the message.
    assert any(f"CX review #{rid}" in e.get("text", "") for b in stack.parent(rid).blocks if b["type"] == "context"
               for e in b["elements"])


def test_refusals_read_as_sentences_without_internal_keys(stack: Stack) -> None:
    rid = stack.file("U0BILLLEAD")
    prompt = stack.prompt(rid)

    stack.press("U0OUTSIDER", rid, ids.APPROVE)
    stack.settle()
    refusal = stack.slack.wait_for(lambda: stack.slack.ephemerals("U0OUTSIDER"))[-1].text
    assert refusal.startswith("Only council advocates") and refusal.endswith(".")
    assert not INTERNAL_KEY.search(refusal)

    # A button whose value names no request (an old or tampered message).
    stack.people.press_button("U0LEGAL1", channel=prompt.channel, ts=prompt.ts, action_id=ids.APPROVE,
                              value="not-a-request")
    told = stack.slack.wait_for(lambda: stack.slack.ephemerals("U0LEGAL1"))[-1].text
    assert told == "That button does not belong to a request."

    # A slash command's refusal.
    until = (today() + timedelta(days=7)).isoformat()
    away = stack.people.slash_command("U0SUP1", "/cx-review", f"away {stack.people.at('U0LEGAL1')} until {until}")
    assert away.json()["text"] == "Pick a lead or advocate of Support: only they can answer for you."
