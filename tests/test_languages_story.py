"""Stories of language, through the Slack emulator: a German, a Norwegian council, a choice.

What one person reads alone (a modal, an ephemeral answer) is in their own language: their
choice (`/cx-review language`), else the council's, else their Slack locale. The council
channel stays in the council's language (English when it sets none and Slack reports an
English channel). cxbot reads a person's locale from what its people refresh stored: the
very first answer to someone it has never looked up cannot know it yet.
"""

from __future__ import annotations

import json
from typing import Any

from cxbot.slack.blocks import ids
from tests.harness import CHANNEL, COUNCIL_FILE, Stack, filing_values, local

GERMAN = "U0BILLLEAD"      # a Billing lead whose Slack is in German
OBJECTOR = "U0LEGAL1"      # a Legal advocate whose Slack is in German too


def command(stack: Stack, user: str, text: str) -> str:
    result = stack.people.slash_command(user, "/cx-review", text)
    assert result.status == 200, result.body
    return str((result.json() or {}).get("text", ""))


def filing_form(stack: Stack, user: str) -> dict[str, Any]:
    before = len(stack.slack.calls("views.open"))
    result = stack.people.slash_command(user, "/cx-review", "")
    assert result.status == 200, result.body
    stack.slack.wait_for(lambda: len(stack.slack.calls("views.open")) > before)
    return stack.slack.open_views(user)[-1]


def labels(view: dict[str, Any]) -> list[str]:
    return [b["label"]["text"] for b in view["blocks"] if b.get("type") == "input"]


def objection_form(stack: Stack, user: str, request_id: int) -> dict[str, Any]:
    stack.press(user, request_id, ids.OBJECT)
    return stack.slack.wait_for(lambda: (stack.slack.open_views(user) or [None])[-1])


def test_a_person_whose_slack_is_german_reads_german_and_the_channel_stays_english(stack: Stack) -> None:
    stack.slack.change_user(GERMAN, locale="de-DE")
    stack.slack.change_user(OBJECTOR, locale="de-DE")

    # cxbot has never looked them up: the first answer is English, and they are looked up meanwhile.
    assert command(stack, GERMAN, "help").startswith("*cxbot — the Customer-Experience council*")
    stack.settle()
    assert [c.params.get("include_locale") for c in stack.slack.calls("users.info")] == ["true"]

    help_text = command(stack, GERMAN, "help")
    assert help_text.startswith("*cxbot — der Customer-Experience-Rat (CX-Rat)*")
    assert "`/cx-review status 12` — wo Antrag 12 gerade steht." in help_text
    # The buttons are named as the channel shows them: in English, the channel's language.
    assert "*Approve*, *Object…* (mit Begründung) oder *Abstain*" in help_text
    assert command(stack, GERMAN, "status twelve") == (
        "So geht's: `/cx-review status 12` (die Nummer aus dem Titel des Antrags).")
    assert command(stack, GERMAN, "frobnicate").startswith("`frobnicate` kenne ich nicht.\n\n*cxbot — der")

    form = filing_form(stack, GERMAN)
    assert form["title"]["text"] == "Neuer CX-Antrag" and form["submit"]["text"] == "Einreichen"
    assert labels(form)[:3] == ["Titel", "Was ändert sich und warum?", "Einreichende Abteilung"]
    impacts = [o["text"]["text"] for b in form["blocks"] if b["block_id"] == "impact" for o in b["element"]["options"]]
    assert impacts == ["Positiv", "Neutral", "Negativ", "Unklar"]
    refused = stack.people.submit_view(GERMAN, filing_values(title="   ", link="ftp://x"))
    assert refused.json()["errors"] == {"title": "Gib der Änderung einen Titel.",
                                        "link": "Der Link muss mit https:// oder http:// beginnen."}
    stack.slack.close_view(GERMAN)

    request_id = stack.file(GERMAN)
    prompt = stack.prompt(request_id)
    buttons = [e["text"]["text"] for b in prompt.blocks if b.get("type") == "actions" for e in b["elements"]
               if e.get("type") == "button"]
    assert "Approve" in buttons                                   # the channel stays English
    assert stack.parent(request_id).text.startswith("CX review #")

    stack.sweep(local(0, 11))          # the sweep needs the advocates: the people refresh looks them up
    form = objection_form(stack, OBJECTOR, request_id)
    assert form["title"]["text"] == "Einwand erheben" and form["close"]["text"] == "Abbrechen"
    assert labels(form) == ["Deine Begründung", "Schweregrad", "Was würde den Einwand ausräumen"]
    assert form["blocks"][0]["text"]["text"].startswith(f"*CX-Antrag #{request_id}:* ")
    severities = [o["text"]["text"] for b in form["blocks"] if b.get("block_id") == "severity"
                  for o in b["element"]["options"]]
    assert severities == ["Blockierend — so darf es nicht live gehen", "Nicht blockierend — Bedenken fürs Protokoll"]

    # Choosing Norwegian: the answer is already Norwegian, and so is everything after it.
    assert command(stack, GERMAN, "language nb") == (
        "Fra nå av snakker cxbot norsk bokmål med deg. Med `/cx-review language auto` følger cxbot igjen rådets "
        "språk, ellers språket du har i Slack.")
    assert command(stack, GERMAN, "help").startswith("*cxbot — kundeopplevelsesrådet (CX-rådet)*")
    form = filing_form(stack, GERMAN)
    assert form["title"]["text"] == "Ny CX-sak" and labels(form)[0] == "Tittel"
    assert command(stack, GERMAN, "language xx").startswith(
        "cxbot kan ikke språket `xx`. cxbot kan `en` English, `nb` norsk bokmål, `de` Deutsch.")
    assert command(stack, GERMAN, "language").startswith("cxbot kan `en` English,")
    form = objection_form(stack, OBJECTOR, request_id)      # another person's choice is theirs alone
    assert form["title"]["text"] == "Einwand erheben"

    assert command(stack, GERMAN, "language auto") == (
        "cxbot folgt jetzt der Sprache des Rats, sonst deiner Slack-Sprache: vorerst Deutsch.")
    assert filing_form(stack, GERMAN)["title"]["text"] == "Neuer CX-Antrag"
    assert command(stack, GERMAN, "language en").startswith("cxbot speaks English with you from now on.")
    assert filing_form(stack, GERMAN)["title"]["text"] == "CX review"


def test_a_german_outsider_is_refused_in_german(stack: Stack) -> None:
    stack.slack.change_user("U0OUTSIDER", locale="de-AT")
    command(stack, "U0OUTSIDER", "help")
    stack.settle()
    seen = len(stack.slack.ephemerals("U0OUTSIDER"))
    stack.people.slash_command("U0OUTSIDER", "/cx-review", "")
    told = stack.slack.wait_for(lambda: stack.slack.ephemerals("U0OUTSIDER")[seen:])
    assert told[-1].text == ("Nur Abteilungsleitungen und Ratsmitglieder können einen CX-Antrag einreichen. "
                             "Bitte den Ratsvorsitz <@U0CHAIR>, dich in den Rat aufzunehmen.")
    assert stack.slack.open_views("U0OUTSIDER") == []


def test_in_a_norwegian_council_an_english_slack_reads_norwegian(stack: Stack) -> None:
    text = COUNCIL_FILE.read_text()
    stack.load_council(text.replace('timezone = "Europe/Oslo"', 'timezone = "Europe/Oslo"\nlanguage = "nb"', 1))
    stack.slack.change_user(GERMAN, locale="en-US")     # what a Norwegian's Slack says

    # The council's language needs no look-up: the first answer is Norwegian already.
    assert command(stack, GERMAN, "help").startswith("*cxbot — kundeopplevelsesrådet (CX-rådet)*")
    form = filing_form(stack, GERMAN)
    assert form["title"]["text"] == "Ny CX-sak" and form["close"]["text"] == "Avbryt"
    assert labels(form) == ["Tittel", "Hva endres, og hvorfor?", "Avdelingen som sender inn",
                            "Hvilke faser av kundereisen berøres?", "Forventet virkning for kundene",
                            "Om virkningen", "Kundens tidsbruk hver gang, i minutter",
                            "Kunder i måneden som møter dette", "Ekstra trinn, skjemaer eller henvendelser for kunden",
                            "Varselsignaler endringen kan utløse", "Omfang", "Avgjørelse trengs innen",
                            "Lenke (spesifikasjon, oppgave eller dokument)"]
    refused = stack.people.submit_view(GERMAN, filing_values(summary="  "))
    assert refused.json()["errors"] == {"summary": "Fortell hva som endres, og hvorfor."}
    stack.slack.close_view(GERMAN)

    request_id = stack.file(GERMAN)
    form = objection_form(stack, OBJECTOR, request_id)
    assert form["title"]["text"] == "Innsigelse" and labels(form)[0] == "Begrunnelsen din"

    # A person may still choose their own language over the council's.
    assert command(stack, GERMAN, "language de").startswith("Ab jetzt spricht cxbot Deutsch mit dir.")
    assert command(stack, GERMAN, "language auto") == (
        "cxbot følger nå rådets språk, ellers språket du har i Slack: norsk bokmål inntil videre.")


def test_a_german_advocates_dms_are_german_while_the_channel_stays_english(stack: Stack) -> None:
    from tests.test_amend_terms import MAJOR_TWO, amend, thread_text
    from tests.test_lifecycle import dms_to, press_in, texts

    stack.load_council(MAJOR_TWO)
    stack.slack.change_user(OBJECTOR, locale="de-DE")
    request_id = stack.file(magnitude="major")
    assert stack.parent(request_id).text.startswith("CX review #")
    stack.sweep(local(0, 11))           # the sweep needs the advocates: the people refresh looks them up
    stack.settle()

    stack.sweep(local(1, 10))
    [daily] = [m for m in stack.slack.dms(OBJECTOR) if "Erinnerung" in m.text]
    assert daily.text == "👋 Erinnerung: Bei 1 CX-Antrag fehlt noch deine Antwort"
    assert daily.blocks[0]["text"]["text"] == "👋 *Erinnerung:* Bei 1 CX-Antrag fehlt noch deine Antwort."
    assert f"*CX-Antrag #{request_id}: " in texts(daily) and "*Legal* · diskutiere im <" in texts(daily)
    buttons = [e["text"]["text"] for b in daily.blocks if b["type"] == "actions" for e in b["elements"]
               if e["type"] == "button"]
    assert buttons == ["Zustimmen", "Einwand…", "Enthalten"]
    assert [m for m in stack.slack.dms("U0LEGAL2") if m.text.startswith("👋 Reminder: your answer")]  # English Slack

    # Approving from the DM: the same message, updated in place, still German.
    result = stack.people.press_button(OBJECTOR, channel=daily.channel, ts=daily.ts, action_id=ids.APPROVE,
                                       value=str(request_id))
    assert result.status == 200
    stack.applied()
    stack.settle()
    updated = stack.slack.message(daily.channel, daily.ts)
    assert "· beantwortet" in texts(updated) and updated.text == "👋 Erinnerung: nichts mehr zu beantworten"

    stack.press("U0SUP1", request_id, ids.APPROVE)
    amend(stack, request_id, {"magnitude": "minor"})
    [dm] = dms_to(stack, OBJECTOR, "Weiter zustimmen")
    assert dm.text == f"CX-Antrag #{request_id} geändert: Bestätige deine Zustimmung"
    assert "wurde geändert: Tragweite: Groß → Gering. Deine Antwort bezog sich auf die alten Eckdaten" in texts(dm)
    assert dms_to(stack, "U0SUP1", "Still approve")          # Support's advocate reads English
    assert "no longer count until they confirm them" in thread_text(stack, request_id)   # the channel: English
    press_in(stack, OBJECTOR, dm, ids.STILL_APPROVE)
    assert stack.slack.ephemerals(OBJECTOR)[-1].text == f"Deine Zustimmung zu CX-Antrag #{request_id} zählt wieder."


def test_a_norwegian_councils_digest_is_norwegian(stack: Stack) -> None:
    from tests.harness import iso_week

    text = COUNCIL_FILE.read_text().replace('timezone = "Europe/Oslo"', 'timezone = "Europe/Oslo"\nlanguage = "nb"', 1)
    stack.load_council(text + '\n[digest]\nday = "mon"\ntime = "09:30"\npost_to_channel = true\n')
    stack.file(title="Papirløse fakturaer")
    stack.clock.set(local(7, 9, 31))
    assert stack.runtime.send_due_digest() == iso_week()
    stack.settle()

    [dm] = [m for m in stack.slack.dms("U0CHAIR") if iso_week() in m.text]
    assert dm.text.startswith(f"Ukesoppsummering fra CX-rådet {iso_week()}: 1 sendt inn, 0 avgjort")
    assert dm.blocks[0]["text"]["text"] == f"Ukesoppsummering fra CX-rådet · {iso_week()}"
    shown = json.dumps(dm.blocks, ensure_ascii=False)
    assert "*Venter på avgjørelse* · 1, 0 over fristen" in shown and "Papirløse fakturaer" in shown
    assert "Hele rapporten, med diagrammer, ligger vedlagt i denne tråden." in shown
    [report] = stack.slack.files
    page = report.content.decode()
    assert report.name == f"cx-council-{iso_week()}.html" and '<html lang="nb">' in page
    assert report.title == f"Ukesoppsummering fra CX-rådet {iso_week()}"
    assert "<h2 id=\"headline-h\">Kort oppsummert</h2>" in page and "Avgjørelser per uke, etter utfall" in page
    [posted] = [m for m in stack.slack.messages(CHANNEL) if iso_week() in m.text]
    assert "Rådslederen har hele rapporten." in json.dumps(posted.blocks, ensure_ascii=False)


def test_a_chair_who_chose_german_is_escalated_to_in_german_and_the_dm_stays_german(stack: Stack) -> None:
    from tests.test_lifecycle import action_ids, press_in

    stack.load_council(COUNCIL_FILE.read_text().replace('leads = ["U0SUPLEAD"]', "leads = []"))
    assert command(stack, "U0CHAIR", "language de").startswith("Ab jetzt spricht cxbot Deutsch mit dir.")
    request_id = stack.file("U0BILLLEAD")
    stack.press("U0LEGAL1", request_id, ids.APPROVE)
    stack.sweep(local(10, 9))
    [dm] = [m for m in stack.slack.dms("U0CHAIR") if "eskaliert" in m.text]
    assert dm.text == f"CX-Antrag #{request_id} wurde an dich eskaliert"
    assert "wurde an dich eskaliert: die Frist ist abgelaufen, und von Support fehlt noch die Antwort." in (
        dm.blocks[0]["text"]["text"])
    assert [e["text"]["text"] for e in dm.blocks[2]["elements"]] == ["Genehmigen…", "Ablehnen…"]
    thread = " ".join(m.text for m in stack.slack.thread(CHANNEL, stack.parent(request_id).ts))
    assert "the deadline passed with Support still outstanding" in thread        # the channel: English

    press_in(stack, "U0CHAIR", dm, ids.DECIDE_APPROVE)
    stack.slack.wait_for(lambda: stack.slack.open_views("U0CHAIR"))
    stack.people.submit_view("U0CHAIR", {"note": "Geringes Risiko"})
    stack.settle()
    kept = stack.slack.message(dm.channel, dm.ts)             # updated in place, in the chair's language
    assert action_ids(kept) == [] and kept.blocks[1]["elements"][0]["text"].startswith("✅ *Genehmigt* · <!date^")
