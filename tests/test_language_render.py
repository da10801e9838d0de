"""Every converted surface rendered in every language: Slack's Block Kit limits still hold with
the longer text (German is long), and no English text of the catalog shows in a Norwegian or
German render.

Converted so far: the filing form (new, amend, revise) and its field errors, the vote forms
(object, approve and abstain notes), the reason forms (hold, overrule, decide), the away form
and its answer, and `/cx-review`'s own answers.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from cxbot.domain.drafts import draft_errors
from cxbot.domain.model import Draft, Impact, Magnitude, VoteKind
from cxbot.i18n import LANGUAGES, Translator, translator
from cxbot.sandbox.blockkit import view_refusal
from cxbot.slack.blocks import ids
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

TEMPLATE = Path(__file__).resolve().parents[1] / "cxbot" / "locale" / "cxbot.pot"
DAY = date(2026, 12, 7)
# Long council text, as a council may write it: the forms must hold it in any language.
DEPARTMENTS = [(f"d{n}", f"Department of Customer Communications and Long Names {n}" * 2) for n in range(30)]
STAGES = tuple(f"Stage {n}: onboarding, first invoice and the renewal that follows" for n in range(40))
DRAFT = Draft(title="T" * 150, summary="S", department="d0", stages=STAGES[:3], impact=Impact.NEGATIVE,
              impact_note="N", magnitude=Magnitude.MAJOR, decision_by=DAY, link="https://example.com")
# Words that are the same in the translation as in English.
SAME = {"de": {"Neutral"}, "nb": set()}


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
            runs += [run for run in re.split(r"\{\w*\}", msgid) if len(re.findall(r"[A-Za-z]{2,}", run)) >= 3]
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
