"""Modal submissions: filing a request, a vote that carries a reason or note, naming a substitute."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

from slack_bolt import Ack, App

from cxbot.domain.cost import cost_errors
from cxbot.domain.errors import InvalidInput
from cxbot.domain.identifiers import parse_id
from cxbot.domain.model import Draft, Impact, Magnitude, VoteKind
from cxbot.i18n import N_
from cxbot.services import amend as amending
from cxbot.services import filing, requests, substitutes, votes
from cxbot.services.context import Services
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.modals import away_saved_view, narrowed_form
from cxbot.slack.listeners.commands import COMMAND
from cxbot.slack.replies import AfterAck, answers_errors


def _state(view: dict[str, Any], block: str) -> dict[str, Any]:
    return ((view.get("state") or {}).get("values") or {}).get(block, {}).get("value") or {}


def _text(view: dict[str, Any], block: str) -> str:
    value = _state(view, block).get("value")
    return value if isinstance(value, str) else ""


def _option(view: dict[str, Any], block: str) -> str | None:
    option = _state(view, block).get("selected_option") or {}
    return option.get("value")


STALE = N_("This form is out of date: close it and press the button again.")


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The request (and other context) a form was opened for."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, RecursionError):
        raise InvalidInput({"note": STALE}) from None
    if not isinstance(meta, dict):
        raise InvalidInput({"note": STALE})
    meta["request_id"] = parse_id(meta.get("request_id"))
    if meta["request_id"] is None or ("vote_id" in meta and parse_id(meta["vote_id"]) is None):
        raise InvalidInput({"note": STALE})
    return meta


def _council_of_form(view: dict[str, Any]) -> str | None:
    """The council a filing form was opened for (None: a form from before several councils)."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, RecursionError):
        raise InvalidInput({"title": STALE}) from None
    council = meta.get("council") if isinstance(meta, dict) else None
    if council is not None and not isinstance(council, str):
        raise InvalidInput({"title": STALE})
    return council


def parse_draft(view: dict[str, Any]) -> Draft:
    """Read the filing modal; values that cannot be parsed become field errors."""
    errors: dict[str, str] = {}
    impact = magnitude = None
    decided: date | None = None
    try:
        raw = _option(view, "impact")
        impact = Impact(raw) if raw else None
    except ValueError:
        errors["impact"] = N_("Pick one of the impacts offered.")
    try:
        raw = _option(view, "magnitude")
        magnitude = Magnitude(raw) if raw else None
    except ValueError:
        errors["magnitude"] = N_("Pick Minor or Major.")
    raw_date = _state(view, "decision_by").get("selected_date")
    if raw_date:
        try:
            decided = date.fromisoformat(raw_date)
        except (TypeError, ValueError):
            errors["decision_by"] = N_("Pick a date from the calendar.")
    cost, cost_problems = cost_errors({k: _text(view, k) for k in ("customer_minutes", "customers_per_month", "steps")})
    errors.update(cost_problems)
    if errors:
        raise InvalidInput(errors)
    signs = tuple(o.get("value", "") for o in _state(view, "warning_signs").get("selected_options") or [])
    stages = tuple(o.get("value", "") for o in _state(view, "stages").get("selected_options") or [])
    moments = tuple(o.get("value", "") for o in _state(view, "moments").get("selected_options") or [])
    return Draft(
        title=_text(view, "title"), summary=_text(view, "summary"), department=_option(view, "department") or "",
        stages=stages, impact=impact, impact_note=_text(view, "impact_note"), magnitude=magnitude,
        decision_by=decided, link=_text(view, "link").strip(), moments=moments,
        cost=replace(cost, warning_signs=signs),
    )


def register(app: App, cx: Services, after: AfterAck) -> None:
    @app.action({"block_id": "stages", "action_id": "value"})
    @answers_errors(after)
    def stages_changed(ack: Ack, body: dict[str, Any]) -> None:
        """The person changed the stages of a filing form (new, amendment or revision) whose
        council has moments of truth: offer only the moments of those stages."""
        ack()
        view = body.get("view") or {}
        action = (body.get("actions") or [{}])[0]
        stages = tuple(o.get("value", "") for o in action.get("selected_options") or [])
        picked = tuple(o.get("value", "") for o in _state(view, "moments").get("selected_options") or [])
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except (ValueError, RecursionError):
            return
        meta = meta if isinstance(meta, dict) else {}
        request_id, council = parse_id(meta.get("request_id")), meta.get("council")
        moments = filing.form_moments(cx.glance, council=council if isinstance(council, str) else None,
                                      request_id=request_id)
        after.update_view(view_id=str(view.get("id", "")), view_hash=view.get("hash"), user=body["user"]["id"],
                          build=lambda tr: narrowed_form(view, moments, stages, picked, tr))

    @app.view(ids.FILE_VIEW)
    @answers_errors(after)
    def file_request(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        requests.file_request(cx.uow(), actor=body["user"]["id"], draft=parse_draft(view),
                              view_id=view.get("id"), clock=cx.clock, council=_council_of_form(view))
        ack()

    @app.view(ids.REVISE_VIEW)
    @answers_errors(after)
    def file_revision(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        requests.file_request(cx.uow(), actor=body["user"]["id"], draft=parse_draft(view), view_id=view.get("id"),
                              revises=_metadata(view)["request_id"], clock=cx.clock)
        ack()

    @app.view(ids.AMEND_VIEW)
    @answers_errors(after)
    def amend(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = _metadata(view)
        full = any(o.get("value") == "full" for o in _state(view, "full_review").get("selected_options") or [])
        amending.amend(cx.uow(), actor=body["user"]["id"], request_id=meta["request_id"], draft=parse_draft(view),
                       full_review=full, clock=cx.clock)
        ack()

    @app.view(ids.VOTE_VIEW)
    @answers_errors(after)
    def vote_with_note(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = _metadata(view)
        try:
            kind = VoteKind(meta.get("kind"))
        except ValueError:
            raise InvalidInput({"note": STALE}) from None
        votes.cast_vote(cx.uow(), actor=body["user"]["id"], request_id=meta["request_id"], kind=kind,
                        note=_text(view, "note"), blocking=_option(view, "severity") != "non_blocking",
                        mitigation=_text(view, "mitigation"), clock=cx.clock)
        ack()

    @app.view(ids.OVERRULE_VIEW)
    @answers_errors(after)
    def overrule(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = _metadata(view)
        votes.overrule_objection(cx.uow(), actor=body["user"]["id"], request_id=meta["request_id"],
                                 vote_id=parse_id(meta.get("vote_id")) or 0, rationale=_text(view, "note"),
                                 clock=cx.clock)
        ack()

    @app.view(ids.DECIDE_VIEW)
    @answers_errors(after)
    def decide(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = _metadata(view)
        requests.chair_decide(cx.uow(), actor=body["user"]["id"], request_id=meta["request_id"],
                              approve=bool(meta.get("approve")), rationale=_text(view, "note"), clock=cx.clock)
        ack()

    @app.view(ids.HOLD_VIEW)
    @answers_errors(after)
    def hold(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = _metadata(view)
        try:
            days = int(_option(view, "days") or "0")
        except ValueError:
            raise InvalidInput({"days": N_("Pick how long.")}) from None
        requests.place_hold(cx.uow(), actor=body["user"]["id"], request_id=meta["request_id"],
                            reason=_text(view, "note"), days=days, clock=cx.clock)
        ack()

    @app.view(ids.AWAY_VIEW)
    @answers_errors(after)
    def away(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The substitute is checked here, not in the picker: Slack's user picker lists everyone."""
        substitute = _state(view, "substitute").get("selected_user")
        try:
            until = date.fromisoformat(_state(view, "until").get("selected_date") or "")
        except (TypeError, ValueError):
            raise InvalidInput({"until": N_("Pick your last day away from the calendar.")}) from None
        if not isinstance(substitute, str) or not substitute:
            raise InvalidInput({"substitute": N_("Pick the colleague who answers for you.")})
        row = substitutes.set_away(cx.uow(), actor=body["user"]["id"], substitute=substitute, until=until,
                                   clock=cx.clock)
        ack(response_action="update", view=away_saved_view(substitute=row.substitute, until=row.until,
                                                           command=COMMAND,
                                                           tr=after.translate_for(body["user"]["id"])))
