"""Validation of a filing: every problem is reported on the field it belongs to."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from urllib.parse import urlparse

from cxbot.domain.model import LINK_MAX, NOTE_MAX, SUMMARY_MAX, TITLE_MAX, Draft


def draft_errors(
    draft: Draft, *, today: date, departments: Collection[str], stages: Collection[str]
) -> dict[str, str]:
    """Field name → message. `departments` are those the filer may file for."""
    errors: dict[str, str] = {}
    if not draft.title.strip():
        errors["title"] = "Give the change a title."
    elif len(draft.title) > TITLE_MAX:
        errors["title"] = f"Keep the title to {TITLE_MAX} characters (it has {len(draft.title)})."
    if not draft.summary.strip():
        errors["summary"] = "Say what changes and why."
    elif len(draft.summary) > SUMMARY_MAX:
        errors["summary"] = f"Keep this to {SUMMARY_MAX} characters (it has {len(draft.summary)})."
    if draft.department not in departments:
        errors["department"] = "You can file only for a department you lead or advocate for."
    if not draft.stages:
        errors["stages"] = "Pick at least one lifecycle stage the change touches."
    elif unknown := [s for s in draft.stages if s not in stages]:
        errors["stages"] = f"Unknown stage: {', '.join(unknown)}."
    if draft.impact is None:
        errors["impact"] = "Pick the expected customer impact."
    if len(draft.impact_note) > NOTE_MAX:
        errors["impact_note"] = f"Keep the note to {NOTE_MAX} characters."
    if draft.magnitude is None:
        errors["magnitude"] = "Pick Minor or Major."
    if draft.decision_by is None:
        errors["decision_by"] = "Pick the date a decision is needed by."
    elif draft.decision_by < today:
        errors["decision_by"] = "The decision date is in the past."
    if draft.link:
        parsed = urlparse(draft.link)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            errors["link"] = "The link must start with https:// or http://."
        elif len(draft.link) > LINK_MAX:
            errors["link"] = f"Keep the link to {LINK_MAX} characters."
    return errors
