"""The council channel in the council's language, through the emulator.

What the council channel shows (the request's parent message, its vote prompt, every thread
note) is in the council's language (`language` in `[council]`); when the council sets none, in
the channel's locale as Slack reports it (`conversations.info` with `include_locale`, asked by
the delivery worker at most once a day), when cxbot has that language; else English.
"""

from __future__ import annotations

import json
from typing import Any

from cxbot.domain.model import Status
from cxbot.slack.blocks import ids
from cxbot.store.models import AuditEvent, Council
from tests.harness import CHANNEL, COUNCIL_FILE, Stack, local
from tests.test_language_render import english_sources

NORWEGIAN = COUNCIL_FILE.read_text().replace('timezone = "Europe/Oslo"',
                                             'timezone = "Europe/Oslo"\nlanguage = "nb"', 1)


def texts(message: Any) -> str:
    return json.dumps(message.blocks, ensure_ascii=False) + "\n" + message.text


def channel_text(stack: Stack, rid: int) -> str:
    """The parent message and every reply in its thread, as the emulator holds them now."""
    parent = stack.parent(rid)
    return "\n".join(texts(m) for m in [parent, *stack.slack.thread(CHANNEL, parent.ts)])


def english_in(shown: str) -> list[str]:
    """The catalog's English texts (runs of three words or more) that show in `shown`."""
    _, runs = english_sources()
    return sorted({run for run in runs if run in shown})


def object_(stack: Stack, user: str, rid: int, reason: str) -> None:
    stack.press(user, rid, ids.OBJECT)
    stack.slack.wait_for(lambda: stack.slack.open_views(user))
    result = stack.people.submit_view(user, {"note": reason, "severity": "blocking"})
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle()


def hold(stack: Stack, user: str, rid: int, reason: str) -> None:
    result = stack.people.choose_overflow(user, channel=CHANNEL, ts=stack.prompt(rid).ts, action_id=ids.MORE,
                                          option_value=f"{ids.MORE_HOLD}:{rid}")
    assert result.status == 200, result.body
    stack.slack.wait_for(lambda: stack.slack.open_views(user))
    result = stack.people.submit_view(user, {"note": reason, "days": "2"})
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle()


def locale_calls(stack: Stack) -> list[dict[str, Any]]:
    return [c.params for c in stack.slack.calls("conversations.info")]


def test_a_norwegian_council_reads_its_channel_in_norwegian(stack: Stack) -> None:
    stack.load_council(NORWEGIAN)
    rid = stack.file()
    parent, prompt = stack.parent(rid), stack.prompt(rid)
    assert parent.text.startswith(f"CX-sak #{rid}: Annual plans get a cancellation fee — Billing, Åpen")
    assert "sendt inn av <@U0BILLLEAD>" in texts(parent) and english_in(texts(parent)) == []
    assert prompt.text == f"Vurdering ønsket fra Legal, Support: CX-sak #{rid}"
    assert "Vurder denne endringen for avdelingen din og kundene innen" in texts(prompt)
    assert "Hvorfor disse avdelingene: *Legal* og *Support* (alle andre avdelinger vurderer hver endring)" \
        in texts(prompt)

    other = stack.file()
    stack.press("U0LEGAL1", other, ids.APPROVE)
    stack.press("U0SUP1", other, ids.APPROVE)
    stack.settle()
    assert stack.request(other).status is Status.APPROVED
    shown = channel_text(stack, other)
    assert "✅ *Godkjent.* Avdelingene som ble spurt, har svart, og ingen innsigelse står ved lag." in shown
    assert "Avstemningen er avsluttet: Godkjent." in shown
    assert "*Approved.*" not in shown and english_in(shown) == []

    hold(stack, "U0LEGAL1", rid, "Venter på tallene for refusjoner")
    object_(stack, "U0SUP1", rid, "Refusjoner er ikke dekket")
    stack.sweep(local(21, 9))                     # long past the deadline: escalated to the leads
    assert any(e.kind == "escalated" for e in stack.all(AuditEvent, AuditEvent.request_id == rid))
    shown = channel_text(stack, rid)
    assert "satte vurderingen fra Legal på vent til" in shown
    assert "<@U0SUP1> (Support) fremmer en stoppende innsigelse:" in shown
    assert "⏫ Eskalert til avdelingslederne for *Legal*, *Support* (avdelingslederne for Billing har fått kopi): " \
           "fristen gikk ut uten svar fra Legal." in shown
    assert "Meld løst" in shown and "Overprøv…" in shown
    for english in ("raises a blocking objection", "on hold until", "Escalated to", "Please review this change",
                    "filed by", "Why these departments", "Resolve"):
        assert english not in shown
    assert english_in(shown) == []

    assert locale_calls(stack) == [], "a council that sets its language never asks the channel's"
    # `/cx-review help` names the buttons as the channel shows them.
    result = stack.people.slash_command("U0LEGAL1", "/cx-review", "help")
    assert "*Godkjenn*, *Innsigelse…*" in str((result.json() or {}).get("text"))


def test_without_a_council_language_the_channel_follows_its_slack_locale(stack: Stack) -> None:
    stack.slack.set_channel_locale(CHANNEL, "de-DE")
    rid = stack.file()
    assert stack.parent(rid).text.startswith(f"CX-Antrag #{rid}: Annual plans get a cancellation fee — Billing, "
                                             "Offen")
    assert "Bitte prüft diese Änderung" in texts(stack.prompt(rid))
    object_(stack, "U0SUP1", rid, "Erstattungen fehlen")
    assert "<@U0SUP1> (Support) erhebt einen blockierenden Einwand:" in channel_text(stack, rid)
    assert english_in(channel_text(stack, rid)) == []
    # Someone whose Slack is English reads the help in English, with the buttons as the channel names them.
    result = stack.people.slash_command("U0LEGAL2", "/cx-review", "help")
    assert "council channel: *Zustimmen*, *Einwand…*" in str((result.json() or {}).get("text"))
    assert locale_calls(stack) == [{"channel": CHANNEL, "include_locale": "1"}], "asked once, with include_locale"
    (council,) = stack.all(Council)
    assert council.channel_locale == "de-DE" and council.channel_locale_at == stack.clock.now()

    # The same day, everything is rendered from what is stored: Slack is not asked again.
    stack.slack.set_channel_locale(CHANNEL, "en-US")
    stack.clock.set(local(0, 16))
    second = stack.file()
    assert stack.parent(second).text.startswith(f"CX-Antrag #{second}:")
    assert len(locale_calls(stack)) == 1

    # A day later the locale is read again, and the channel turns English with it.
    stack.clock.set(local(1, 10))
    stack.press("U0LEGAL1", second, ids.APPROVE)
    stack.settle()
    assert len(locale_calls(stack)) == 2
    assert stack.parent(second).text.startswith(f"CX review #{second}: Annual plans get a cancellation fee")
    assert "Please review this change" in texts(stack.prompt(second))


def test_an_install_without_the_scope_to_read_the_locale_posts_in_english_and_asks_once_a_day(
        stack: Stack) -> None:
    """An app installed before it asked for channels:read: Slack refuses the look-up
    (missing_scope), the request is posted all the same, in English, and Slack is asked again
    only a day later."""
    scopes = stack.slack.manifest.bot_scopes - {"channels:read", "groups:read"}
    stack.slack.manifest = stack.slack.manifest.with_scopes(scopes)
    stack.slack.set_channel_locale(CHANNEL, "de-DE")
    rid = stack.file()
    assert stack.parent(rid).text.startswith(f"CX review #{rid}: Annual plans get a cancellation fee")
    [refused] = stack.slack.calls("conversations.info")
    assert refused.error == "missing_scope"
    stack.press("U0LEGAL1", rid, ids.APPROVE)
    stack.settle()
    assert len(locale_calls(stack)) == 1
    (council,) = stack.all(Council)
    assert council.channel_locale == "" and council.channel_locale_at == stack.clock.now()


def test_a_locale_cxbot_has_no_language_for_is_english(stack: Stack) -> None:
    stack.slack.set_channel_locale(CHANNEL, "fr-FR")
    rid = stack.file()
    assert stack.parent(rid).text.startswith(f"CX review #{rid}:")
    assert len(locale_calls(stack)) == 1
    (council,) = stack.all(Council)
    assert council.channel_locale == "fr-FR"
