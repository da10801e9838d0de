"""After the decision: the filing side says when an approved change went live (*Set the go-live
date…* in the filer's outcome DM), and weeks later the follow-up DM's buttons open a short form
to say how it turned out (cxbot.services.followups)."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from slack_bolt import Ack, App

from cxbot.domain.errors import InvalidInput
from cxbot.domain.identifiers import parse_id
from cxbot.i18n import N_
from cxbot.services import followups, requests
from cxbot.services.context import Services
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.modals import follow_up_modal, go_live_modal
from cxbot.slack.listeners.views import STALE, _state
from cxbot.slack.replies import AfterAck, answers_errors


def _value(view: dict[str, Any], block: str, key: str = "value") -> Any:
    return _state(view, block).get(key)


def _meta(view: dict[str, Any], field: str) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, RecursionError):
        meta = None
    if not isinstance(meta, dict) or parse_id(meta.get(field)) is None:
        raise InvalidInput({"note": STALE})
    return meta


def register(app: App, cx: Services, after: AfterAck) -> None:
    @app.action(ids.GO_LIVE)
    @answers_errors(after)
    def go_live(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        user, request_id = body["user"]["id"], parse_id(action.get("value")) or 0
        view = requests.status(cx.reader(), actor=user, request_id=request_id, clock=cx.clock)
        ack()
        default = view.go_live or max(view.decision_by, cx.clock.now().date())
        after.open_for(trigger_id=body["trigger_id"], user=user,
                       build=lambda tr: go_live_modal(request_id, default, tr))

    @app.view(ids.GO_LIVE_VIEW)
    @answers_errors(after)
    def go_live_set(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = _meta(view, "request_id")
        try:
            day = date.fromisoformat(_value(view, "go_live", "selected_date") or "")
        except (TypeError, ValueError):
            raise InvalidInput({"go_live": N_("Pick the go-live date from the calendar.")}) from None
        followups.set_go_live(cx.uow(), actor=body["user"]["id"], request_id=int(meta["request_id"]), go_live=day,
                              clock=cx.clock)
        ack()

    @app.action(re.compile(f"^{ids.FOLLOW_UP}[a-z_]+$"))
    @answers_errors(after)
    def follow_up(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        user, follow_up_id = body["user"]["id"], parse_id(action.get("value")) or 0
        answer = str(action.get("action_id", "")).removeprefix(ids.FOLLOW_UP)
        followups.check_may_answer(cx.reader(), actor=user, follow_up_id=follow_up_id, answer=answer)
        ack()
        after.open_for(trigger_id=body["trigger_id"], user=user,
                       build=lambda tr: follow_up_modal(follow_up_id, answer, tr))

    @app.view(ids.FOLLOW_UP_VIEW)
    @answers_errors(after)
    def follow_up_answered(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = _meta(view, "follow_up_id")
        followups.answer(cx.uow(), actor=body["user"]["id"], follow_up_id=int(meta["follow_up_id"]),
                         answer=str(meta.get("answer", "")), note=_value(view, "note") or "",
                         measured=_value(view, "measured") or "", clock=cx.clock)
        ack()
