"""The surfaces added after the first language pass, rendered in every language as
tests/test_language_render.py renders the others: the filing form with moments of truth and
the customer's cost (and its narrowed form), the record modal, the go-live and follow-up forms,
the follow-up DMs and the thread note a bad follow-up posts, the request message with its
moments, cost and go-live date, the Home tab for each role, and the answers of `list`, `mine`
and `search`. Slack's limits hold, and no English text of the catalog shows in nb or de."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from cxbot.domain.cost import WARNING_SIGNS, CustomerCost
from cxbot.domain.model import Status, VoteKind
from cxbot.domain.moments import Moment
from cxbot.i18n import LANGUAGES, Translator, translator
from cxbot.sandbox.blockkit import block_errors, view_refusal
from cxbot.services.finder import Mine, Page, RequestLine
from cxbot.services.home import AnsweredItem, CouncilHome, Glance, HomeView, OwedItem
from cxbot.services.readmodel import RelatedLink
from cxbot.services.record import Entry, Record
from cxbot.services.reminders import DailyReminderView
from cxbot.slack.blocks import direct, notes
from cxbot.slack.blocks import request as channel_blocks
from cxbot.slack.blocks.home import home_tab
from cxbot.slack.blocks.lists import list_message, list_usage, mine_message, search_message, search_usage
from cxbot.slack.blocks.modals import FOLLOW_UP_TITLES, follow_up_modal, go_live_modal, narrowed_form, new_filing_view
from cxbot.slack.blocks.record import record_modal
from tests.test_language_render import (
    AT,
    CHANGES,
    CHANNEL_VIEW,
    DAY,
    DEPARTMENTS,
    SAME,
    STAGES,
    english_sources,
    texts,
)

MOMENTS = tuple(Moment(f"m{n}", STAGES[n % 5], f"Øyeblikk {n}: den første fakturaen etter bytte", "Klager", "d1")
                for n in range(40))
COST = CustomerCost(minutes=7.5, customers=12_000, steps=2, warning_signs=tuple(WARNING_SIGNS))
LINKS = tuple(RelatedLink(n, "Fakturaen får ny layout " * 8, "Kundeservice", list(Status)[n], "https://x.example/p2")
              for n in range(3))
VIEW = replace(CHANNEL_VIEW, moments=tuple(m.name for m in MOMENTS[:6]), cost=COST, major_by_cost=True,
               go_live=DAY, status=Status.APPROVED, related=LINKS)


def views(tr: Translator) -> dict[str, tuple[str, dict[str, Any]]]:
    """(kind, view) of each new modal and Home tab."""
    filing = new_filing_view(tuple(DEPARTMENTS), STAGES, DAY, tr.language, "default", MOMENTS)
    entries = [Entry(AT + timedelta(minutes=n), "U0ACTOR", kind, data) for n, (kind, data) in enumerate([
        ("filed", {"department": "d0"}), ("routed", {"departments": [{"department": "d1", "reason": "Kunden"}]}),
        ("voted", {"vote": "approve", "department": "d1", "on_behalf_of": "U0AWAY"}),
        ("voted", {"vote": "object", "department": "d2", "blocking": True, "note": "Nei", "mitigation": "E-post"}),
        ("voted", {"vote": "object", "department": "d2", "blocking": False}), ("voted", {"vote": "abstain"}),
        ("vote_retracted", {}), ("approval_confirmed", {}), ("objection_resolved", {"note": "Ok"}),
        ("objection_overruled", {"objector": "U0ADV2", "department": "d2", "note": "Nødvendig"}),
        ("hold_placed", {"department": "d4", "until": AT.isoformat(), "reason": "Tall"}),
        ("hold_lapsed", {"department": "d4"}), ("hold_ended", {"department": "d4"}),
        ("escalated", {"target": "chair", "recipients": ["U0CHAIR"]}), ("escalated", {"target": "leads"}),
        ("amended", {"version": 2, "changes": CHANGES}), ("rerouted", {"asked": [{"department": "d3"}]}),
        ("rerouted", {"released": [{"department": "d3"}]}), ("rerouted", {}), ("approvals_set_aside", {}),
        ("decided", {"status": "approved", "by_chair": True, "rationale": "Bra"}),
        ("status_changed", {"status": "changes_requested"}), ("withdrawn", {}), ("reopened", {}),
        ("revised", {"revised_by": 9}), ("condition_met", {"condition": "E-post"}), ("commented", {"text": "Ja"}),
        ("filing_department_left", {}),
    ])]
    found = {
        "filing with moments": ("modal", filing),
        "narrowed": ("modal", narrowed_form(filing, MOMENTS, STAGES[:2], ("m0",), tr)),
        "record": ("modal", record_modal(Record(VIEW, tuple(entries)), tr).to_dict()),
        "record long": ("modal", record_modal(Record(VIEW, tuple(entries * 4)[:80], left_out=500), tr).to_dict()),
        "go-live": ("modal", go_live_modal(123456, DAY, tr).to_dict()),
        **{f"follow-up {a}": ("modal", follow_up_modal(7, a, tr).to_dict()) for a in FOLLOW_UP_TITLES},
    }
    owed = tuple(OwedItem(n, "Papirløs faktura " * 10, "Fakturering", AT, "Europe/Oslo", "https://x.example/p1",
                          n % 2 == 0, "Kundeservice", "U0AWAY" if n % 3 == 0 else None) for n in range(60))
    answered = tuple(AnsweredItem(n, "Ny e-post", kind, AT, "", "Europe/Oslo")
                     for n, kind in enumerate(list(VoteKind) * 3))
    glance = Glance(by_status=tuple((s, 3) for s in (Status.OPEN, Status.ON_HOLD, Status.ESCALATED)),
                    overdue=(("Juss", 2), ("Salg", 1)), escalated=(VIEW, replace(VIEW, id=654321)), escalated_more=4,
                    filed=12, approved=5, rejected=1, week_start=AT, by_stage=tuple((s, 7) for s in STAGES),
                    unanswered=tuple((n, "Papirløs faktura", "U0ADV2", "") for n in range(10)), unanswered_more=3,
                    worse=tuple((n, "Papirløs faktura " * 12, "U0ADV1", "https://x.example/p3") for n in range(10)))

    def council(**fields: Any) -> CouncilHome:
        base = CouncilHome(key="default", channel="C0COUNCIL", chair="U0CHAIR", timezone="Europe/Oslo", position=0,
                           advocate=False, files=False, owed=(), owed_more=0, answered=(), mine=(), mine_more=0,
                           glance=None)
        return replace(base, **fields)

    homes = {
        "advocate": HomeView("U0ADV", (council(advocate=True, owed=owed[:8], owed_more=52, answered=answered),), ()),
        "lead": HomeView("U0LEAD", (council(files=True, mine=(VIEW, replace(VIEW, status=Status.WITHDRAWN)),
                                            mine_more=3),), ()),
        "chair": HomeView("U0CHAIR", (council(glance=glance),), ()),
        "two councils": HomeView("U0ADV", (council(advocate=True, owed=owed), council(key="nordics", position=1,
                                                                                       files=True)), ()),
        "outsider": HomeView("U0OUT", (), (("U0CHAIR", "C0COUNCIL"),)),
    }
    found |= {f"home {name}": ("home", home_tab(home, tr)) for name, home in homes.items()}
    return found


def messages(tr: Translator) -> dict[str, tuple[str, list[Any]]]:
    found: dict[str, tuple[str, list[Any]]] = {}
    for role, again in (("filer", False), ("objector", False), ("filer", True)):
        text, blocks = direct.follow_up(
            VIEW, {"role": role, "follow_up_id": 7, "go_live": DAY.isoformat(), "again": again},
            "Kundene ringer oss." if role == "objector" else None, tr)
        found[f"follow-up {role} {again}"] = (text, [b.to_dict() for b in blocks])
    outcome = direct.outcome(VIEW, {"status": "approved"}, tr)
    assert outcome is not None
    found["outcome approved"] = (outcome[0], [b.to_dict() for b in outcome[1]])
    for role in ("filer", "objector"):
        note = notes.thread_note(VIEW, "follow_up_answered", "U0FILER", {
            "role": role, "answer": "worse", "note": "Dobbelt så mange samtaler.", "measured": "40 i uken",
            "owners": {"usergroups": ["S0CARE"], "users": ["U0LEAD1"]}}, tr)
        assert note is not None
        found[f"worse {role}"] = (note[0], [b.to_dict() for b in note[1] or []])
    link = {"id": 9, "title": "Fakturaen får ny layout", "department": "Kundeservice", "status": "open",
            "permalink": "https://x.example/p9"}
    for kind, data in (("related_found", {"related": [link, link, link]}),
                       ("clash_noted", {"other": 9, "stages": ["Betale"], "link": link, "day": DAY.isoformat(),
                                        "own_day": DAY.isoformat()})):
        note = notes.thread_note(VIEW, kind, "cxbot", data, tr)
        assert note is not None
        found[kind] = (note[0], [b.to_dict() for b in note[1] or []])
    daily = direct.daily_reminder(DailyReminderView(
        user="U0ADV", day=DAY, items=(), more=0, owing=0, council_channel="C0COUNCIL", channel="D0", ts="1.2",
        content_hash="", follow_ups=tuple((n, ["filer", "objector"][n % 2], n, "Papirløs faktura " * 12,
                                           "https://x.example/p4" if n % 3 else "") for n in range(5))), tr)
    found["daily with follow-ups"] = (daily[0], [b.to_dict() for b in daily[1]])
    filed = direct.filed(VIEW, tr)
    found["filed with related"] = (filed[0], [b.to_dict() for b in filed[1]])
    for name, built in {"parent": channel_blocks.parent_message(VIEW, tr),
                        "status": channel_blocks.status_message(VIEW, tr)}.items():
        found[name] = (built[0], [b.to_dict() for b in built[1]])
    lines = tuple(RequestLine(n, "Papirløs faktura " * 12, "Fakturering", list(Status)[n % len(Status)], AT,
                              AT if n % 2 else None, "Europe/Oslo", "https://x.example/p1",
                              "U0AWAY" if n % 4 == 0 else None) for n in range(20))
    found["list"] = list_message(Page(lines[:10], 2, True), tr, AT)
    found["list empty"] = list_message(Page((), 1, False), tr, AT)
    found["mine"] = mine_message(Mine(lines, 45, lines, 30), tr, AT)
    found["mine empty"] = mine_message(Mine((), 0, (), 0), tr, AT)
    found["search"] = search_message(("faktura", "gebyr"), lines, tr, AT)
    found["search none"] = search_message(("faktura",), (), tr, AT)
    found["usages"] = (search_usage(tr) + "\n" + list_usage(tr), [])
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_new_surfaces_keep_slacks_limits(language: str) -> None:
    tr = translator(language)
    for name, (kind, view) in views(tr).items():
        refusal = view_refusal(view, kind=kind)
        assert refusal is None, f"{language} {name}: {refusal}"
    for name, (text, blocks) in messages(tr).items():
        assert text and len(text) <= (4000 if blocks else 40_000), f"{language} {name}: {text!r}"
        assert block_errors(blocks, in_view=False) == [], f"{language} {name}"
        assert len(blocks) <= 50, f"{language} {name}"


@pytest.mark.parametrize("language", [language for language in LANGUAGES if language != "en"])
def test_no_english_shows_on_the_new_surfaces(language: str) -> None:
    tr = translator(language)
    whole, runs = english_sources()
    shown = [t for _, view in views(tr).values() for t in texts(view)]
    shown += [t for text, blocks in messages(tr).values() for t in [text, *texts(blocks)]]
    same = SAME[language] | ({"Send"} if language == "nb" else set())   # «Send» is Norwegian too
    leftovers = [t for t in shown if t in whole and t not in same]
    leftovers += [f"{run!r} in {t!r}" for t in shown for run in runs if run in t]
    assert leftovers == []
