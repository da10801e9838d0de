"""Buttons: vote in the thread, open the objection (or note) modal, retract, withdraw,
confirm an approval after an amendment of the terms ("Still approve")."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk.models.views import View

from cxbot.domain.errors import InvalidInput
from cxbot.domain.identifiers import parse_id
from cxbot.domain.model import VoteKind
from cxbot.i18n import N_, Translator
from cxbot.services import amend as amending
from cxbot.services import conditions, record, requests, votes
from cxbot.services.context import Services
from cxbot.services.intake import RETRACT
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.modals import filing_modal, reason_modal, revision_modal, vote_modal
from cxbot.slack.blocks.record import record_modal
from cxbot.slack.replies import AfterAck, answers_errors


def request_id_of(value: str) -> int:
    """The request id a button or menu option carries (`12` or `retract:12`)."""
    request_id = parse_id(value.rsplit(":", 1)[-1])
    if request_id is None:
        raise InvalidInput({"action": N_("That button does not belong to a request.")})
    return request_id


NOT_AN_OBJECTION = N_("That button does not belong to an objection.")
NOT_A_CONDITION = N_("That button does not belong to a condition.")


def pair_of(value: str, refusal: str = NOT_AN_OBJECTION) -> tuple[int, int]:
    """(request id, vote id) from a button value `12:34`; `refusal` when it is not one."""
    raw_request, _, raw_vote = value.partition(":")
    request_id, vote_id = parse_id(raw_request), parse_id(raw_vote)
    if request_id is None or vote_id is None:
        raise InvalidInput({"action": refusal})
    return request_id, vote_id


def register(app: App, cx: Services, after: AfterAck) -> None:
    def press(ack: Ack, body: dict[str, Any], request_id: int, kind: str) -> None:
        """Store the press and acknowledge; the press worker applies it right after (and
        answers a refusal with an ephemeral message where the person pressed)."""
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
        assert cx.presses is not None
        cx.presses.receive(actor=body["user"]["id"], request_id=request_id, kind=kind, channel=channel,
                           thread_ts=(body.get("container") or {}).get("thread_ts"))
        ack()

    def vote_now(ack: Ack, body: dict[str, Any], action: dict[str, Any], kind: VoteKind) -> None:
        press(ack, body, request_id_of(action.get("value") or ""), kind.value)

    def ask_note(ack: Ack, body: dict[str, Any], request_id: int, kind: VoteKind) -> None:
        title = votes.check_may_vote(cx.reader(), actor=body["user"]["id"], request_id=request_id, clock=cx.clock)
        ack()
        after.open_for(trigger_id=body["trigger_id"], user=body["user"]["id"], build=lambda tr: vote_modal(
            request_id=request_id, title=title, kind=kind, tr=tr))

    @app.action(ids.APPROVE)
    @answers_errors(after)
    def approve(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        vote_now(ack, body, action, VoteKind.APPROVE)

    @app.action(ids.ABSTAIN)
    @answers_errors(after)
    def abstain(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        vote_now(ack, body, action, VoteKind.ABSTAIN)

    @app.action(ids.OBJECT)
    @answers_errors(after)
    def object_(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ask_note(ack, body, request_id_of(action["value"]), VoteKind.OBJECT)

    @app.action(ids.MORE)
    @answers_errors(after)
    def more(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        value = (action.get("selected_option") or {}).get("value", "")
        choice, request_id = value.split(":", 1)[0], request_id_of(value)
        if choice == ids.MORE_RETRACT:
            press(ack, body, request_id, RETRACT)
        elif choice == ids.MORE_APPROVE_NOTE:
            ask_note(ack, body, request_id, VoteKind.APPROVE)
        elif choice == ids.MORE_ABSTAIN_NOTE:
            ask_note(ack, body, request_id, VoteKind.ABSTAIN)
        elif choice == ids.MORE_HOLD:
            title, max_days = requests.hold_form(cx.reader(), actor=body["user"]["id"], request_id=request_id,
                                                 clock=cx.clock)
            ack()

            def hold_form(tr: Translator) -> View:
                return reason_modal(callback_id=ids.HOLD_VIEW, request_id=request_id, title=title,
                                    heading=tr.gettext("Hold"), label=tr.gettext("What do you need?"),
                                    hint=tr.gettext("More time, or which information"), days=max_days, tr=tr)
            after.open_for(trigger_id=body["trigger_id"], user=body["user"]["id"], build=hold_form)
        else:
            raise InvalidInput({"action": N_("That menu choice is not known.")})

    @app.action(ids.RESOLVE)
    @answers_errors(after)
    def resolve(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        request_id, vote_id = pair_of(action["value"])
        votes.resolve_objection(cx.uow(), actor=body["user"]["id"], request_id=request_id, vote_id=vote_id,
                                clock=cx.clock)
        ack()

    @app.action(ids.OVERRULE)
    @answers_errors(after)
    def overrule(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        request_id, vote_id = pair_of(action["value"])
        title = requests.check_chair(cx.reader(), actor=body["user"]["id"], request_id=request_id)
        ack()

        def overrule_form(tr: Translator) -> View:
            return reason_modal(callback_id=ids.OVERRULE_VIEW, request_id=request_id, title=title,
                                heading=tr.gettext("Overrule"), label=tr.gettext("Rationale"),
                                hint=tr.gettext("Why the objection is set aside"), extra={"vote_id": vote_id}, tr=tr)
        after.open_for(trigger_id=body["trigger_id"], user=body["user"]["id"], build=overrule_form)

    @app.action(ids.DECIDE_APPROVE)
    @app.action(ids.DECIDE_REJECT)
    @answers_errors(after)
    def decide(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        request_id = request_id_of(action["value"])
        title = requests.check_chair(cx.reader(), actor=body["user"]["id"], request_id=request_id)
        approve = action["action_id"] == ids.DECIDE_APPROVE
        ack()

        def decide_form(tr: Translator) -> View:
            return reason_modal(callback_id=ids.DECIDE_VIEW, request_id=request_id, title=title,
                                heading=(tr.pgettext("decision", "Approve") if approve
                                         else tr.pgettext("decision", "Reject")),
                                label=tr.gettext("Rationale"),
                                hint=tr.gettext("What the council and the filer should know"),
                                extra={"approve": approve}, tr=tr)
        after.open_for(trigger_id=body["trigger_id"], user=body["user"]["id"], build=decide_form)

    @app.action(ids.STILL_APPROVE)
    @answers_errors(after)
    def still_approve(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        request_id = request_id_of(action.get("value") or "")
        result = votes.confirm_approval(cx.uow(), actor=body["user"]["id"], request_id=request_id, clock=cx.clock)
        ack()
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        if channel:
            text = (N_("Your approval of CX review #{id} counts again.", id=request_id) if result.recorded else
                    N_("Your approval of CX review #{id} already counts.", id=request_id))
            after.ephemeral(channel=channel, user=body["user"]["id"],
                            text=after.translate_for(body["user"]["id"]).text(text))

    @app.action(ids.VIEW_RECORD)
    @answers_errors(after)
    def view_record(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The request's timeline, for those who may look it up (refused ephemerally otherwise)."""
        user = body["user"]["id"]
        found = record.record(cx.reader(), actor=user, request_id=request_id_of(action.get("value") or ""),
                              clock=cx.clock)
        ack()
        after.open_for(trigger_id=body["trigger_id"], user=user, build=lambda tr: record_modal(found, tr))

    @app.action(ids.AMEND)
    @answers_errors(after)
    def amend(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        form = amending.amend_form(cx.reader(), actor=body["user"]["id"], request_id=request_id_of(action["value"]))
        ack()
        after.open_for(trigger_id=body["trigger_id"], user=body["user"]["id"], build=lambda tr: filing_modal(
            departments=[], stages=form.stages, default_date=form.draft.decision_by or cx.clock.now().date(),
            initial=form.draft, amending=form.request_id, moments=form.moments, tr=tr))

    @app.action(ids.REOPEN)
    @answers_errors(after)
    def reopen(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        requests.reopen(cx.uow(), actor=body["user"]["id"], request_id=request_id_of(action["value"]),
                        clock=cx.clock)
        ack()

    @app.action(ids.WITHDRAW)
    @answers_errors(after)
    def withdraw(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        requests.withdraw(cx.uow(), actor=body["user"]["id"], request_id=request_id_of(action["value"]),
                          clock=cx.clock)
        ack()

    @app.action(ids.CONDITION_MET)
    @answers_errors(after)
    def condition_met(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        request_id, vote_id = pair_of(action.get("value") or "", NOT_A_CONDITION)
        conditions.mark_met(cx.uow(), actor=body["user"]["id"], request_id=request_id, vote_id=vote_id,
                            clock=cx.clock)
        ack()

    @app.action(ids.REVISE)
    @answers_errors(after)
    def revise(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        form = requests.revision_form(cx.reader(), actor=body["user"]["id"], request_id=request_id_of(action["value"]),
                                      clock=cx.clock)
        ack()
        after.open_for(trigger_id=body["trigger_id"], user=body["user"]["id"], build=lambda tr: revision_modal(
            department=form.department, stages=form.stages, default_date=cx.clock.now().date(),
            initial=form.draft, revising=form.request_id, moments=form.moments, tr=tr))
