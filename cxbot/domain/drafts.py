"""Validation of a filing: every problem is reported on the field it belongs to."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from urllib.parse import urlparse

from cxbot.domain.cost import WARNING_SIGNS
from cxbot.domain.model import LINK_MAX, NOTE_MAX, SUMMARY_MAX, TITLE_MAX, Draft
from cxbot.domain.moments import Moment, unknown_or_elsewhere
from cxbot.i18n import N_


def draft_errors(
    draft: Draft, *, today: date, departments: Collection[str], stages: Collection[str],
    moments: Sequence[Moment] = (),
) -> dict[str, str]:
    """Field name → message (marked for translation: the edge says it in the filer's language).
    `departments` are those the filer may file for."""
    errors: dict[str, str] = {}
    if not draft.title.strip():
        errors["title"] = N_("Give the change a title.")
    elif len(draft.title) > TITLE_MAX:
        errors["title"] = N_("Keep the title to {limit} characters (it has {length}).", limit=TITLE_MAX,
                             length=len(draft.title))
    if not draft.summary.strip():
        errors["summary"] = N_("Say what changes and why.")
    elif len(draft.summary) > SUMMARY_MAX:
        errors["summary"] = N_("Keep this to {limit} characters (it has {length}).", limit=SUMMARY_MAX,
                               length=len(draft.summary))
    if draft.department not in departments:
        errors["department"] = N_("You can file only for a department you lead or advocate for.")
    if not draft.stages:
        errors["stages"] = N_("Pick at least one lifecycle stage the change touches.")
    elif unknown := [s for s in draft.stages if s not in stages]:
        errors["stages"] = N_("Unknown stage: {stages}.", stages=", ".join(unknown))
    if elsewhere := unknown_or_elsewhere(draft.moments, moments, draft.stages):
        names = {m.key: m.name for m in moments}
        errors["moments"] = N_("Pick only moments of the stages the change touches: {moments} is not one of them.",
                               moments=", ".join(names.get(k, k) for k in elsewhere))
    if draft.impact is None:
        errors["impact"] = N_("Pick the expected customer impact.")
    if len(draft.impact_note) > NOTE_MAX:
        errors["impact_note"] = N_("Keep the note to {limit} characters.", limit=NOTE_MAX)
    if draft.magnitude is None:
        errors["magnitude"] = N_("Pick Minor or Major.")
    if draft.decision_by is None:
        errors["decision_by"] = N_("Pick the date a decision is needed by.")
    elif draft.decision_by < today:
        errors["decision_by"] = N_("The decision date is in the past.")
    if unknown_signs := [s for s in draft.cost.warning_signs if s not in WARNING_SIGNS]:
        errors["warning_signs"] = N_("Unknown warning sign: {signs}.", signs=", ".join(unknown_signs))
    if draft.link:
        parsed = urlparse(draft.link)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            errors["link"] = N_("The link must start with https:// or http://.")
        elif len(draft.link) > LINK_MAX:
            errors["link"] = N_("Keep the link to {limit} characters.", limit=LINK_MAX)
    return errors
