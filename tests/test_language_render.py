"""Every converted surface rendered in every language: Slack's Block Kit limits still hold with
the longer text (German is long), and no English text of the catalog shows in a Norwegian or
German render.

Converted: the filing form (new, amend, revise) and its field errors, the vote forms (object,
approve and abstain notes), the reason forms (hold, overrule, decide), the away form and its
answer, `/cx-review`'s own answers, every direct message (rendered here from a fixed history:
each state, with conditions, holds, escalations, substitutes, many items), the council
channel's messages (the request's parent message and vote prompt in each state, `/cx-review
status`, and every kind of thread note, reasons stored by key and as older English text), and
the weekly digest in its three formats (a busy week, a huge one and a quiet one).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from cxbot.domain.drafts import draft_errors
from cxbot.domain.model import (
    Answer,
    Ballot,
    DepartmentTally,
    Draft,
    Impact,
    Magnitude,
    Resolution,
    Status,
    Tally,
    VoteKind,
)
from cxbot.domain.reasons import keyed
from cxbot.domain.routing import EVERYONE
from cxbot.i18n import LANGUAGES, Translator, translator
from cxbot.reports.model import Digest, ExperienceRow, FollowUpStats
from cxbot.reports.render import render_html, render_slack, render_text
from cxbot.sandbox.blockkit import block_errors, view_refusal
from cxbot.services.readmodel import (
    ConditionView,
    EscalationView,
    HoldView,
    ObjectionView,
    RequestView,
    RevisionLink,
    RoutedDepartment,
)
from cxbot.services.reminders import DailyItem, DailyReminderView
from cxbot.slack.blocks import direct, ids, notes
from cxbot.slack.blocks import request as channel_blocks
from cxbot.slack.blocks.modals import (
    away_modal,
    away_saved_view,
    filing_modal,
    new_filing_view,
    reason_modal,
    revision_modal,
    vote_modal,
)
from cxbot.slack.listeners.commands import away_usage, help_text
from tests.test_digest_render import busy_digest, quiet_digest

TEMPLATE = Path(__file__).resolve().parents[1] / "cxbot" / "locale" / "cxbot.pot"
DAY = date(2026, 12, 7)
# Long council text, as a council may write it: the forms must hold it in any language.
DEPARTMENTS = [(f"d{n}", f"Department of Customer Communications and Long Names {n}" * 2) for n in range(30)]
STAGES = tuple(f"Stage {n}: onboarding, first invoice and the renewal that follows" for n in range(40))
DRAFT = Draft(title="T" * 150, summary="S", department="d0", stages=STAGES[:3], impact=Impact.NEGATIVE,
              impact_note="N", magnitude=Magnitude.MAJOR, decision_by=DAY, link="https://example.com")
# Words that are the same in the translation as in English.
SAME = {"de": {"Neutral", "Status"}, "nb": {"Status"}}


def surfaces(tr: Translator) -> dict[str, dict[str, Any]]:
    """Each converted modal as the dict views.open sends."""
    views = {
        "filing": new_filing_view(tuple(DEPARTMENTS), STAGES, DAY, tr.language),
        "amend": filing_modal(departments=[], stages=STAGES, default_date=DAY, initial=DRAFT, amending=123456,
                              tr=tr).to_dict(),
        "revise": revision_modal(department=DEPARTMENTS[0], stages=STAGES, default_date=DAY, initial=DRAFT,
                                 revising=123456, tr=tr).to_dict(),
        "hold": reason_modal(callback_id=ids.HOLD_VIEW, request_id=7, title="T" * 150, heading=tr.gettext("Hold"),
                             label=tr.gettext("What do you need?"), hint=tr.gettext("More time, or which information"),
                             days=30, tr=tr).to_dict(),
        "overrule": reason_modal(callback_id=ids.OVERRULE_VIEW, request_id=7, title="T",
                                 heading=tr.gettext("Overrule"), label=tr.gettext("Rationale"),
                                 hint=tr.gettext("Why the objection is set aside"), tr=tr).to_dict(),
        "approve": reason_modal(callback_id=ids.DECIDE_VIEW, request_id=7, title="T",
                                heading=tr.pgettext("decision", "Approve"), label=tr.gettext("Rationale"),
                                hint=tr.gettext("What the council and the filer should know"), tr=tr).to_dict(),
        "reject": reason_modal(callback_id=ids.DECIDE_VIEW, request_id=7, title="T",
                               heading=tr.pgettext("decision", "Reject"), label=tr.gettext("Rationale"),
                               hint=tr.gettext("What the council and the filer should know"), tr=tr).to_dict(),
        "away": away_modal(department="Customer Communications " * 3, default_until=DAY, tr=tr).to_dict(),
        "away saved": away_saved_view(substitute="U0SUB", until=DAY, command="/cx-review", tr=tr).to_dict(),
    }
    for kind in VoteKind:
        views[f"vote {kind.value}"] = vote_modal(request_id=123456, title="T" * 150, kind=kind, tr=tr).to_dict()
    return views


# --- direct messages, from a fixed history ---------------------------------------------------

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ROUTED = tuple(RoutedDepartment(key=f"d{n}", name=f"Kundeservice Nord {n}", reason="Onboard", advocates=(f"U0ADV{n}",))
               for n in range(6))
VIEW = RequestView(
    id=123456, title="Papirløs faktura 2027 " * 7, summary="Fakturaen kommer som PDF. " * 200, department_key="d0",
    department_name=ROUTED[0].name, filer="U0FILER", stages=STAGES[:2], impact=Impact.NEGATIVE, impact_note="",
    magnitude=Magnitude.MAJOR, decision_by=DAY, link="https://example.com/spec", status=Status.OPEN, created_at=AT,
    decided_at=None, due_at=AT + timedelta(days=5), escalation_step=0, version=2, timezone="Europe/Oslo",
    channel="C0COUNCIL", routed=ROUTED[1:],
    tally=Tally(departments=tuple(DepartmentTally(d.key, Answer.OUTSTANDING if n % 2 else Answer.APPROVES,
                                                  approvals=(Ballot(d.advocates[0], d.key, VoteKind.APPROVE),))
                                  for n, d in enumerate(ROUTED[1:])), required=5),
    objections=(), holds=(), parent_ts="1.2", permalink="https://slack.example/archives/C0COUNCIL/p12", as_of=AT,
    conditions=tuple(ConditionView(vote_id=n, user=f"U0ADV{n % 5 + 1}", department=f"d{n % 5 + 1}",
                                   text="Kundene får beskjed på e-post. " * 5,
                                   on_behalf_of="U0AWAY" if n == 1 else None,
                                   met_at=AT if n % 3 == 0 else None, met_by="U0FILER" if n % 3 == 0 else None)
                     for n in range(25)),
    revises=RevisionLink(7, "Papirløs faktura", "https://slack.example/archives/C0COUNCIL/p7"),
)
ESCALATIONS = {
    "leads": EscalationView("leads", ("U0LEAD1", "U0LEAD2"), AT),
    "chair": EscalationView("chair", ("U0CHAIR",), AT),
}
REASONS = ["the deadline passed with Kundeservice Nord 1, Kundeservice Nord 3 still outstanding",
           "a blocking objection has stood for 1 working days", "a blocking objection has stood for 3 working days",
           "still undecided 2 working days after the last escalation"]


def dms(tr: Translator) -> dict[str, tuple[str, list[Any]]]:
    """Every kind of DM, in every state it is sent in, as (notification text, blocks)."""
    found: dict[str, tuple[str, list[Any]]] = {}
    for status in Status:
        view = replace(VIEW, status=status, decided_at=AT if status.is_final else None)
        found[f"filed {status.value}"] = direct.filed(view, tr)
        found[f"filed overdue {status.value}"] = direct.filed(replace(view, as_of=view.due_at), tr)
        for rationale in ("", "Good for customers"):
            out = direct.outcome(view, {"status": status.value, "rationale": rationale}, tr)
            if out is not None:
                found[f"outcome {status.value} {bool(rationale)}"] = out
    found["filed revised"] = direct.filed(replace(VIEW, status=Status.WITHDRAWN, revises=None,
                                                  revised_by=RevisionLink(9, "Ny", "")), tr)
    overdue = replace(VIEW, as_of=VIEW.due_at + timedelta(hours=1))
    for kind in ("daily", "closing"):
        found[f"reminder {kind}"] = direct.reminder(VIEW, kind, None, tr)
        found[f"reminder {kind} for"] = direct.reminder(replace(VIEW, permalink=""), kind, "U0AWAY", tr)
    for name, step in {"none": None, **ESCALATIONS}.items():
        found[f"reminder overdue {name}"] = direct.reminder(replace(overdue, escalation=step), "daily", "U0AWAY", tr)
    items = tuple(DailyItem(view=replace(VIEW, id=n, status=[Status.OPEN, Status.APPROVED, Status.ON_HOLD][n % 3],
                                         as_of=VIEW.due_at if n % 4 == 0 else AT,
                                         escalation=ESCALATIONS["chair" if n % 8 == 0 else "leads"]),
                            department=ROUTED[n % 6].name, on_behalf_of="U0AWAY" if n % 5 == 0 else None,
                            answered=n % 7 == 3, closing=n % 2 == 0) for n in range(20))
    day = DailyReminderView(user="U0ADV1", day=DAY, items=items, more=37, owing=19, council_channel="C0COUNCIL",
                            channel="", ts="", content_hash="")
    found["daily"] = direct.daily_reminder(day, tr)
    found["daily one"] = direct.daily_reminder(replace(day, items=items[1:2], more=0, owing=1), tr)
    found["daily done"] = direct.daily_reminder(replace(day, items=items[3:4], more=0, owing=0), tr)
    found["asked"] = direct.asked(VIEW, tr)
    for n, reason in enumerate(REASONS):
        data = {"reason": reason, "departments": ["d1", "d3"], "copies": ["U0FILER"]}
        found[f"escalation leads {n}"] = direct.escalation(VIEW, data, for_chair=False, user="U0LEAD1", tr=tr)
        found[f"escalation copy {n}"] = direct.escalation(VIEW, data, for_chair=False, user="U0FILER", tr=tr)
        found[f"escalation chair {n}"] = direct.escalation(replace(VIEW, status=Status.ESCALATED), data,
                                                           for_chair=True, tr=tr)
    changes = [{"field": "stages", "label": "Lifecycle stages", "before": "Onboard", "after": "Onboard, Pay"},
               {"field": "magnitude", "label": "Magnitude", "before": "Minor", "after": "Major"}]
    found["still approve"] = direct.still_approve(VIEW, {"changes": changes}, "U0ADV1", tr)
    found["still approve decided"] = direct.still_approve(replace(VIEW, status=Status.APPROVED),
                                                          {"changes": changes}, "U0ADV1", tr)
    for reason in ("you are no longer a council advocate",
                   "<@U0SUB> no longer leads or advocates for your department"):
        found[f"substitute ended {reason[:8]}"] = direct.substitute_ended("U0SUB", reason, tr)
    rendered = {name: (text, [b.to_dict() for b in blocks]) for name, (text, blocks) in found.items()}
    for lane in ("request:123456", "admin"):
        rendered[f"delivery failed {lane}"] = (direct.delivery_failed("thread_note", lane, "channel_not_found", tr), [])
    return rendered


# --- the council channel, from a fixed history ------------------------------------------------

WHY = [EVERYONE, "a minor change; always asked", "touches Onboard; owns Onboard", "a major change touching Pay, Leave",
       "every change; always asked", "Kunden vet best"]
MOMENT = "owns Første faktura, Oppsigelse, a moment of truth the change touches"
CHANNEL_ROUTED = tuple(replace(d, reason=WHY[n], advocates=(f"U0ADV{n}", f"U0ADW{n}")) for n, d in enumerate(ROUTED))
OBJECTIONS = tuple(
    ObjectionView(vote_id=n, user=f"U0ADV{n % 5 + 1}", department=f"d{n % 5 + 1}",
                  reason="Kundene forstår ikke dette. " * 9,
                  blocking=n != 1, mitigation="Skriv en bedre e-post." if n % 2 else "",
                  resolution=[None, None, Resolution.RESOLVED, Resolution.OVERRULED, None, None, None][n],
                  resolved_by="U0CHAIR" if n == 3 else None, resolution_note="Kundene får beskjed." if n == 3 else "",
                  on_behalf_of="U0AWAY" if n == 0 else None, standing=n != 5, set_aside=n == 4)
    for n in range(7))
CHANNEL_TALLY = Tally(departments=(
    DepartmentTally("d1", Answer.APPROVES, approvals=(Ballot("U0ADV1", "d1", VoteKind.APPROVE),
                                                      Ballot("U0SUB", "d1", VoteKind.APPROVE, on_behalf_of="U0AWAY"))),
    DepartmentTally("d2", Answer.OBJECTS, objections=tuple(
        Ballot(f"U0ADV{n}", "d2", VoteKind.OBJECT, blocking=n != 1, resolution=r)
        for n, r in enumerate([None, None, Resolution.RESOLVED, Resolution.OVERRULED]))),
    DepartmentTally("d3", Answer.ANSWERED, abstentions=(Ballot("U0ADV3", "d3", VoteKind.ABSTAIN),)),
    DepartmentTally("d4", Answer.OUTSTANDING), DepartmentTally("d5", Answer.OUTSTANDING),
), required=5)
CHANNEL_VIEW = replace(VIEW, routed=CHANNEL_ROUTED[1:], tally=CHANNEL_TALLY, objections=OBJECTIONS,
                       holds=(HoldView("d4", "U0ADV4", "Venter på tall. " * 30, AT + timedelta(days=2)),),
                       escalation=ESCALATIONS["leads"], revised_by=RevisionLink(9, "Ny", ""))
# As the audit trail keeps them: by key, and as English text before keys were kept.
ESCALATION_REASONS = [keyed("deadline_passed", waiting="Kundeservice Nord 1, Kundeservice Nord 3"),
                      keyed("objection_stood", n=1), keyed("objection_stood", n=3), keyed("still_undecided", n=2),
                      *({"reason": reason} for reason in REASONS)]
CHANGES = [{"field": "stages", "label": "Lifecycle stages", "before": "Onboard", "after": "Onboard, Pay"},
           {"field": "magnitude", "label": "Magnitude", "before": "Minor", "after": "Major"},
           {"field": "impact", "label": "Expected impact", "before": "Neutral", "after": "Negative"}] * 3


def thread_notes(tr: Translator) -> dict[str, tuple[str, list[Any]]]:
    """Every kind of thread note, in the states and with the data it is delivered with."""
    view, due = CHANNEL_VIEW, (AT + timedelta(days=3)).isoformat()
    people = [f"U0P{n:05d}" for n in range(800)]
    events: dict[str, tuple[str, dict[str, Any]]] = {
        "retracted": ("vote_retracted", {"previous": {"kind": "object"}}),
        "resolved": ("objection_resolved", {"note": "Løst med ny tekst."}),
        "overruled": ("objection_overruled", {"objector": "U0ADV2", "department": "d2", "note": "Nødvendig."}),
        "withdrawn": ("withdrawn", {}),
        "reopened": ("reopened", {"due_at": due, "asked_again": people}),
        "hold placed": ("hold_placed", {"department": "d4", "until": due, "due_at": due, "reason": "Tall. " * 50}),
        "hold lapsed": ("hold_lapsed", {"department": "d4"}),
        "set aside": ("approvals_set_aside", {"votes": [{"user": u} for u in people[:50]]}),
        "revised": ("revised", {"revised_by": 9, "title": "Ny faktura"}),
        "chair escalation": ("escalated", {"target": "chair", **ESCALATION_REASONS[0]}),
        "rerouted": ("rerouted", {"asked": [*({"department": d.key, "name": d.name, "reason": d.reason}
                                              for d in CHANNEL_ROUTED),
                                            {"department": "d9", "name": "Juss", "reason": MOMENT}],
                                  "released": [{"department": "d9", "name": "Juss", **keyed("dropped")},
                                               {"department": "d8", "name": "Salg", **keyed("no_advocate")},
                                               {"department": "d7", "name": "Drift",
                                                "reason": "dropped from the council"},
                                               {"department": "d6", "name": "Lager", "reason": ""}]}),
        "rerouted by load": ("rerouted", {"by_council_load": True, "asked": [],
                                          "released": [{"department": "d9", "name": "Juss",
                                                        "reason": "no advocate left to answer"}]}),
    }
    for n, reason in enumerate(ESCALATION_REASONS):
        events[f"escalated {n}"] = ("escalated", {"target": "leads", "departments": ["d1", "d3"],
                                                  "copies": ["U0FILER"] if n % 2 else [], **reason})
    for how in ("full", "terms", "plain"):
        events[f"amended {how}"] = ("amended", {"version": 3, "changes": CHANGES, "asked_again": people,
                                                how: True})
    for name, data in {"dropped": keyed("dropped"), "no lead": keyed("no_lead"),
                       "old": {"reason": "dropped from the council"}}.items():
        events[f"left {name}"] = ("filing_department_left", {"name": "Markedsføring", "filer": "U0FILER", **data})
    for still_open in (0, 1, 3):
        events[f"condition met {still_open}"] = ("condition_met", {
            "department": "d1", "author": "U0ADV1", "condition": "Send e-post.", "still_open": still_open})
    for status in (Status.APPROVED, Status.REJECTED):
        events[f"chair {status.value}"] = ("decided", {
            "status": status.value, "by_chair": True, "rationale": "Bra.",
            "dissent": [{"user": "U0ADV2", "department": "d2", "reason": "Nei. " * 100}]})
    events["approved"] = ("decided", {"status": "approved"})
    events["changes requested"] = ("status_changed", {"status": "changes_requested"})
    events["open again"] = ("status_changed", {"status": "open", "previous": "on_hold"})
    events["expired"] = ("status_changed", {"status": "expired", "outstanding": ["d4", "d5"]})
    events["expired none"] = ("status_changed", {"status": "expired"})
    found: dict[str, tuple[str, list[Any]]] = {}
    for name, (kind, data) in events.items():
        note = notes.thread_note(replace(view, status=Status.APPROVED) if name == "approved" else view, kind,
                                 "U0ACTOR", data, tr)
        assert note is not None, name
        found[name] = (note[0], [b.to_dict() for b in note[1] or []])
    for objection in OBJECTIONS:
        text, blocks = notes.objection_note(view, objection, tr)
        found[f"objection {objection.vote_id}"] = (text, [b.to_dict() for b in blocks])
    return found


def channel_messages(tr: Translator) -> dict[str, tuple[str, list[Any]]]:
    """The request's parent message and vote prompt in every state, and `/cx-review status`."""
    found: dict[str, Any] = {}
    many = replace(CHANNEL_VIEW, routed=tuple(replace(d, advocates=tuple(f"U0M{n}{k:04d}" for k in range(400)))
                                              for n, d in enumerate(CHANNEL_ROUTED)))
    for status in Status:
        view = replace(CHANNEL_VIEW, status=status, decided_at=AT if status.is_final else None,
                       revised_by=None if status is Status.EXPIRED else CHANNEL_VIEW.revised_by)
        found[f"parent {status.value}"] = channel_blocks.parent_message(view, tr)
        found[f"prompt {status.value}"] = channel_blocks.vote_prompt(view, tr)
        found[f"status {status.value}"] = channel_blocks.status_message(view, tr)
    found["parent overdue"] = channel_blocks.parent_message(replace(CHANNEL_VIEW, as_of=VIEW.due_at), tr)
    found["prompt many"] = channel_blocks.vote_prompt(many, tr)
    found["prompt one by DM"] = channel_blocks.vote_prompt(replace(many, routed=many.routed[:1]), tr)
    return {name: (text, [b.to_dict() for b in blocks]) for name, (text, blocks) in found.items()}


def channel(tr: Translator) -> dict[str, tuple[str, list[Any]]]:
    return {**channel_messages(tr), **thread_notes(tr)}


def texts(node: Any) -> list[str]:
    """Every text a person reads in a view: titles, labels, placeholders, options, sections."""
    if isinstance(node, dict):
        found = [node["text"]] if isinstance(node.get("text"), str) else []
        return found + [t for key, value in node.items() if key not in ("private_metadata",) for t in texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in texts(item)]
    return []


def answers(tr: Translator) -> list[str]:
    """`/cx-review`'s answers and the filing form's field errors."""
    bad = Draft(title="T" * 500, summary="S" * 5000, department="x", stages=("Nowhere",), impact=None,
                impact_note="N" * 5000, magnitude=None, decision_by=date(2000, 1, 1), link="ftp://x")
    errors = draft_errors(bad, today=DAY, departments=["d0"], stages=STAGES)
    errors |= draft_errors(Draft(title=" ", summary=" ", department="d0", stages=(), impact=None, impact_note="",
                                 magnitude=None, decision_by=None, link="https://" + "x" * 3000),
                           today=DAY, departments=["d0"], stages=STAGES)
    return [help_text(tr), away_usage(tr), *(tr.text(e) for e in errors.values())]


def english_sources() -> tuple[set[str], list[str]]:
    """The catalog's English texts: whole (short ones) and their literal runs of three words or more."""
    with TEMPLATE.open("rb") as fp:
        template = read_po(fp)
    whole, runs = set(), []
    for message in template:
        for msgid in (message.id if isinstance(message.id, tuple) else (message.id,)):
            if not msgid:
                continue
            whole.add(msgid)
            runs += [run for run in re.split(r"\{\w*\}|%\(\w+\)[sd]", msgid)
                     if len(re.findall(r"[A-Za-z]{2,}", run)) >= 3]
    return whole, runs


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_converted_form_keeps_slacks_limits(language: str) -> None:
    for name, view in surfaces(translator(language)).items():
        refusal = view_refusal(view, kind="modal")
        assert refusal is None, f"{language} {name}: {refusal}"


@pytest.mark.parametrize("language", [language for language in LANGUAGES if language != "en"])
def test_no_english_shows_in_a_translated_render(language: str) -> None:
    tr = translator(language)
    whole, runs = english_sources()
    shown = [t for view in surfaces(tr).values() for t in texts(view)] + answers(tr)
    leftovers = [t for t in shown if t in whole and t not in SAME[language]]
    leftovers += [f"{run!r} in {t!r}" for t in shown for run in runs if run in t]
    assert leftovers == []


def test_the_english_render_is_the_source_text() -> None:
    tr = translator("en")
    shown = [t for view in surfaces(tr).values() for t in texts(view)]
    assert "File for review" in shown and "Blocking — it must not ship as it is" in shown
    assert "30 working days" in shown and "1 working day" in shown


MESSAGES = {"dm": dms, "channel": channel}


@pytest.mark.parametrize("surface", MESSAGES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_keeps_slacks_limits(language: str, surface: str) -> None:
    """A DM or a council-channel message: its text, blocks and number of blocks."""
    for name, (text, blocks) in MESSAGES[surface](translator(language)).items():
        # A thread note of text alone is its message (Slack truncates past 40,000 characters);
        # with blocks, the text is the notification's.
        assert text and len(text) <= (4000 if blocks else 40_000), f"{language} {name}: {text!r}"
        assert block_errors(blocks, in_view=False) == [], f"{language} {name}"
        assert len(blocks) <= 50, f"{language} {name}"


@pytest.mark.parametrize("surface", MESSAGES)
@pytest.mark.parametrize("language", [language for language in LANGUAGES if language != "en"])
def test_no_english_shows_in_a_translated_message(language: str, surface: str) -> None:
    whole, runs = english_sources()
    shown = [t for text, blocks in MESSAGES[surface](translator(language)).values() for t in [text, *texts(blocks)]]
    leftovers = [t for t in shown if t in whole and t not in SAME[language]]
    leftovers += [f"{run!r} in {t!r}" for t in shown for run in runs if run in t]
    assert leftovers == []


def test_a_dm_reads_its_stored_reasons_and_dates_in_its_language() -> None:
    de, nb = translator("de"), translator("nb")
    chair = dms(de)["escalation chair 2"][1]
    assert "ein blockierender Einwand besteht seit 3 Arbeitstagen" in chair[0]["text"]["text"]
    assert [e["text"]["text"] for e in chair[2]["elements"]] == ["Genehmigen…", "Ablehnen…"]
    assert "en stoppende innsigelse har stått i 1 virkedag." in dms(nb)["escalation leads 1"][1][0]["text"]["text"]
    # Dates in the council's zone, in the reader's language, where Slack cannot format them itself.
    assert "|Mo., 7. Dez. 2026 10:00>" in dms(de)["filed approved"][1][1]["elements"][0]["text"]
    assert "|man. 7. des. 2026 10:00>" in dms(nb)["filed approved"][1][1]["elements"][0]["text"]
    assert dms(de)["daily"][0] == ("⌛ Überfällig · ⏰ Frist läuft bald ab · 👋 Erinnerung: Bei 19 CX-Anträgen fehlt "
                                   "noch deine Antwort")
    assert dms(nb)["daily one"][0] == "👋 Påminnelse: du har ennå ikke svart på 1 CX-sak"
    magnitude = dms(de)["still approve"][1][0]["text"]["text"]
    assert "Tragweite: Gering → Groß" in magnitude
    assert "Phasen der Customer Journey: Onboard → Onboard, Pay" in magnitude
    # The English render is the stored text as it is.
    assert "a blocking objection has stood for 1 working days" in dms(translator("en"))["escalation chair 1"][1][0][
        "text"]["text"]


# --- the weekly digest ---------------------------------------------------------------------


def digests(language: str) -> dict[str, Digest]:
    huge = busy_digest(decided=busy_digest().decided * 20, waiting=busy_digest().waiting * 40)
    rows = tuple(ExperienceRow(STAGES[n // 3], "" if n % 3 == 0 else f"Øyeblikk {n}", decided=n + 1, approved=n,
                               customer_hours=(-1) ** n * 150.5 * n, costed=n % 2, departments=("Salg", "Juss"),
                               followed_up=n % 4, held=n % 2, worse=(n % 4) // 3, follow_ups_due=n % 3)
            for n in range(18))
    experience = busy_digest(experience=rows, previous_experience=tuple(r for r in rows if not r.moment)[:4],
                             follow_ups=tuple(FollowUpStats(f"Avdeling {n}", n + 1, n, n % 3, n % 2)
                                              for n in range(8)))
    return {name: replace(d, language=language) for name, d in
            {"busy": busy_digest(), "huge": huge, "quiet": quiet_digest(), "experience": experience}.items()}


class _Text(HTMLParser):
    """What a reader of the HTML report sees or hears: text, and the labels screen readers read."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("style",)
        self.found += [v for k, v in attrs if k in ("aria-label", "data-label") and v]

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style",)

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.found.append(html.unescape(data.strip()))


def html_texts(page: str) -> list[str]:
    parser = _Text()
    parser.feed(page)
    return parser.found


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_digest_keeps_slacks_limits_in_every_language(language: str) -> None:
    for name, digest in digests(language).items():
        for note in ("", "Note"):
            fallback, blocks = render_slack(digest, report_note=note)
            assert fallback and len(fallback) <= 4000, f"{language} {name}"
            assert block_errors(blocks, in_view=False) == [], f"{language} {name}"
        page = render_html(digest)
        assert f'<html lang="{language}">' in page and render_text(digest)


@pytest.mark.parametrize("language", [language for language in LANGUAGES if language != "en"])
def test_no_english_shows_in_a_translated_digest(language: str) -> None:
    whole, runs = english_sources()
    shown: list[str] = []
    for digest in digests(language).values():
        fallback, blocks = render_slack(digest, report_note="")
        shown += [fallback, *texts(blocks), *html_texts(render_html(digest)), *render_text(digest).splitlines()]
    leftovers = [t for t in set(shown) if t.strip() in whole and t.strip() not in SAME[language]]
    leftovers += [f"{run!r} in {t!r}" for t in set(shown) for run in runs if run in t]
    assert leftovers == []


def test_the_digest_reads_as_written_in_its_language() -> None:
    de, nb = digests("de")["busy"], digests("nb")["busy"]
    fallback, blocks = render_slack(nb)
    assert fallback.startswith("Ukesoppsummering fra CX-rådet 2026-W48: 74 sendt inn, 80 avgjort (48 godkjent,")
    assert blocks[1]["elements"][0]["text"] == "man. 23. nov. 2026 – søn. 29. nov. 2026 · klokkeslett i Europe/Oslo"
    assert "*Median tid til avgjørelse*\n2,6 dager   _▼ 18,5 t fra 3,3 dager_" in texts(blocks)
    page = render_html(de)
    assert "<h2 id=\"headline-h\">Auf einen Blick</h2>" in page
    assert "Entscheidungen pro Woche, nach Ergebnis" in page and ">Genehmigt</text>" in page
    assert "Diese Woche entschieden (80)" in render_text(de)
    huge = digests("de")["huge"]
    assert "… und 2.350 weitere: alle 2.400 stehen in <code>cx-council-2026-W48-waiting.csv</code>" in render_html(huge)


# --- the council channel ---------------------------------------------------------------------


def test_the_channel_reads_its_reasons_in_its_language() -> None:
    de, nb, en = (channel(translator(language)) for language in ("de", "nb", "en"))
    assert "ein blockierender Einwand besteht seit 1 Arbeitstag." in json.dumps(de["escalated 1"], ensure_ascii=False)
    assert "en stoppende innsigelse har stått i 3 virkedager." in json.dumps(nb["escalated 2"], ensure_ascii=False)
    # An event stored before keys were kept reads as well as one stored by key.
    assert "ein blockierender Einwand besteht seit 3 Arbeitstagen" in json.dumps(de["escalated 6"],
                                                                                 ensure_ascii=False)
    assert "*Juss* er løst fra saken (fjernet fra rådet)" in json.dumps(nb["rerouted"], ensure_ascii=False)
    assert "*Drift* er løst fra saken (fjernet fra rådet)" in json.dumps(nb["rerouted"], ensure_ascii=False)
    assert "(eine Änderung mit geringer Tragweite; wird immer angefragt)" in json.dumps(de["rerouted"],
                                                                                       ensure_ascii=False)
    assert "(touches Onboard; owns Onboard)" in json.dumps(en["rerouted"])
    assert "*Juss* blir nå spurt (har ansvar for Første faktura, Oppsigelse, et sannhetens øyeblikk som endringen " \
           "berører)" in json.dumps(nb["rerouted"], ensure_ascii=False)
    assert "(Kunden vet best)" in json.dumps(nb["rerouted"], ensure_ascii=False), "the council's words as written"
    assert "• *Tragweite*: ~Gering~ → Groß" in json.dumps(de["amended full"], ensure_ascii=False)
    assert en["escalated 1"][0].endswith("a blocking objection has stood for 1 working day.")
