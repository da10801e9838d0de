"""Modal submissions: filing a request, and a vote that carries a reason or note."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from slack_bolt import Ack, App

from cxbot.domain.errors import InvalidInput
from cxbot.domain.model import Draft, Impact, Magnitude, VoteKind
from cxbot.services import requests, votes
from cxbot.services.context import Services
from cxbot.slack.blocks import ids
from cxbot.slack.replies import AfterAck, answers_errors


def _state(view: dict[str, Any], block: str) -> dict[str, Any]:
    return ((view.get("state") or {}).get("values") or {}).get(block, {}).get("value") or {}


def _text(view: dict[str, Any], block: str) -> str:
    value = _state(view, block).get("value")
    return value if isinstance(value, str) else ""


def _option(view: dict[str, Any], block: str) -> str | None:
    option = _state(view, block).get("selected_option") or {}
    return option.get("value")


def parse_draft(view: dict[str, Any]) -> Draft:
    """Read the filing modal; values that cannot be parsed become field errors."""
    errors: dict[str, str] = {}
    impact = magnitude = None
    decided: date | None = None
    try:
        raw = _option(view, "impact")
        impact = Impact(raw) if raw else None
    except ValueError:
        errors["impact"] = "Pick one of the impacts offered."
    try:
        raw = _option(view, "magnitude")
        magnitude = Magnitude(raw) if raw else None
    except ValueError:
        errors["magnitude"] = "Pick Minor or Major."
    raw_date = _state(view, "decision_by").get("selected_date")
    if raw_date:
        try:
            decided = date.fromisoformat(raw_date)
        except (TypeError, ValueError):
            errors["decision_by"] = "Pick a date from the calendar."
    if errors:
        raise InvalidInput(errors)
    stages = tuple(o.get("value", "") for o in _state(view, "stages").get("selected_options") or [])
    return Draft(
        title=_text(view, "title"), summary=_text(view, "summary"), department=_option(view, "department") or "",
        stages=stages, impact=impact, impact_note=_text(view, "impact_note"), magnitude=magnitude,
        decision_by=decided, link=_text(view, "link").strip(),
    )


def register(app: App, cx: Services, after: AfterAck) -> None:
    @app.view(ids.FILE_VIEW)
    @answers_errors(after)
    def file_request(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        requests.file_request(cx.uow(), actor=body["user"]["id"], draft=parse_draft(view),
                              view_id=view.get("id"), clock=cx.clock)
        ack()

    @app.view(ids.VOTE_VIEW)
    @answers_errors(after)
    def vote_with_note(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            request_id, kind = int(meta["request_id"]), VoteKind(meta["kind"])
        except (ValueError, KeyError, TypeError):
            raise InvalidInput({"note": "This form is out of date: close it and press the button again."}) from None
        votes.cast_vote(cx.uow(), actor=body["user"]["id"], request_id=request_id, kind=kind,
                        note=_text(view, "note"), clock=cx.clock)
        ack()
