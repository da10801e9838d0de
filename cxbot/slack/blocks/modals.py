"""Modals: filing a request, the note or reason that goes with a vote, and naming a substitute.

Each is built in its reader's language (`tr`, cxbot.i18n); the council's own text (department
names, stages) is shown as written.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    OptionGroup,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    UrlInputElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from cxbot.domain.cost import CUSTOMERS_LIMIT, MINUTES_LIMIT, STEPS_LIMIT, WARNING_SIGNS, CustomerCost
from cxbot.domain.model import LINK_MAX, NOTE_MAX, SUMMARY_MAX, TITLE_MAX, Draft, Impact, Magnitude, VoteKind
from cxbot.domain.moments import Moment, under
from cxbot.i18n import N_, Msg, Translator, translator
from cxbot.slack.blocks import ids
from cxbot.slack.text import clip, clip_plain, day, escape, mention

EN = translator("en")

IMPACTS: dict[Impact, Msg] = {
    Impact.POSITIVE: N_("Positive"), Impact.NEUTRAL: N_("Neutral"), Impact.NEGATIVE: N_("Negative"),
    Impact.UNSURE: N_("Unsure"),
}
MAGNITUDES: dict[Magnitude, Msg] = {Magnitude.MINOR: N_("Minor"), Magnitude.MAJOR: N_("Major")}


@functools.lru_cache(maxsize=64)
def new_filing_view(departments: tuple[tuple[str, str], ...], stages: tuple[str, ...],
                    default_date: date, language: str = "en", council: str | None = None,
                    moments: tuple[Moment, ...] = ()) -> dict[str, Any]:
    """The empty `/cx-review` form as the dict `views.open` sends. It is the same for everyone
    with the same departments and language on the same day, so it is built and checked once, not
    on every command (slack_sdk's models validate as they serialise). Callers must not change it.
    `council`: the key of the council it files in, carried to the submission."""
    view = filing_modal(departments=list(departments), stages=stages, default_date=default_date,
                        moments=moments, tr=translator(language))
    if council is not None:
        view.private_metadata = json.dumps({"council": council})
    return view.to_dict()


@dataclass(frozen=True)
class Source:
    """A message a request is filed from (the *Review with CX council* shortcut): its text,
    to start the description with, and its permalink, which the request keeps as its link."""

    summary: str
    link: str


def prefilled(view: dict[str, Any], source: Source) -> dict[str, Any]:
    """The filing form `view` (as `new_filing_view` gives it, left unchanged) with the
    description and link filled in from `source`."""
    view = copy.deepcopy(view)
    initial = {"summary": clip_plain(source.summary, SUMMARY_MAX), "link": source.link[:LINK_MAX]}
    for block in view["blocks"]:
        if initial.get(block.get("block_id")):
            block["element"]["initial_value"] = initial[block["block_id"]]
    return view


# A button's value holds at most 2,000 characters: a council question about a message carries
# the council's key, the link and as much of the message as fits.
_VALUE_MAX = 2000


def choice_value(council: str, source: Source | None) -> str:
    """A council question's button value: the council's key, and the message filed from, if any."""
    if source is None:
        return council
    summary = source.summary[:_VALUE_MAX]
    while True:
        value = json.dumps({"council": council, "link": source.link, "summary": summary}, ensure_ascii=False)
        if len(value) <= _VALUE_MAX:
            return value
        summary = summary[: len(summary) - (len(value) - _VALUE_MAX) - 1]


def chosen(value: str) -> tuple[str, Source | None]:
    """What `choice_value` wrote: the council's key, and the message filed from, if any."""
    if not value.startswith("{"):
        return value, None
    data = json.loads(value)
    return str(data.get("council", "")), Source(str(data.get("summary", "")), str(data.get("link", "")))


def council_choice(councils: tuple[tuple[str, str], ...], tr: Translator,
                   source: Source | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The ephemeral question to someone who files in several councils: one button per council
    (its key, and the message filed from, as the value), each opening the filing form of that
    council."""
    text = tr.gettext("You file in several councils: which council is this change for?")
    listed = "\n".join(f"• *{escape(key)}* — <#{channel}>" for key, channel in councils)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{text}\n{listed}"}},
        {"type": "actions", "block_id": "councils", "elements": [
            {"type": "button", "action_id": f"{ids.FILE_IN_COUNCIL}{i}", "value": choice_value(key, source),
             "text": {"type": "plain_text", "text": clip_plain(key, 75)}}
            for i, (key, _) in enumerate(councils[:25])]},
    ]
    return text, blocks


def filing_modal(*, departments: list[tuple[str, str]], stages: tuple[str, ...], default_date: date,
                 initial: Draft | None = None, amending: int | None = None, moments: tuple[Moment, ...] = (),
                 tr: Translator = EN) -> View:
    """The `/cx-review` form; with `amending`, the same form pre-filled to amend request #n.

    Block ids are the draft's field names, so errors land on the right field. An
    amendment keeps its department and offers a full re-review instead. The council's
    `moments` of truth are offered grouped by stage (only those of the stages picked count:
    the submission says so on the field otherwise).
    """
    _ = tr.gettext
    options = {s: Option(text=clip_plain(s, 75), value=s) for s in stages}
    impacts = {i: Option(text=tr.text(IMPACTS[i]), value=i.value) for i in Impact}
    magnitudes = {m: Option(text=tr.text(MAGNITUDES[m]), value=m.value) for m in Magnitude}
    blocks = [
        InputBlock(block_id="title", label=_("Title"), element=PlainTextInputElement(
            action_id="value", max_length=TITLE_MAX, placeholder=_("e.g. New cancellation fee on annual plans"),
            initial_value=initial.title if initial else None)),
        InputBlock(block_id="summary", label=_("What changes, and why"), element=PlainTextInputElement(
            action_id="value", multiline=True, max_length=SUMMARY_MAX,
            initial_value=initial.summary if initial else None)),
    ]
    if amending is None:
        dept_options = [Option(text=clip_plain(name, 75), value=key) for key, name in departments]
        blocks.append(InputBlock(block_id="department", label=_("Filing department"), element=StaticSelectElement(
            action_id="value", options=dept_options, initial_option=dept_options[0])))
    chosen = [options[s] for s in (initial.stages if initial else ()) if s in options]
    blocks += [
        InputBlock(block_id="stages", label=_("Customer lifecycle stages it touches"), dispatch_action=bool(moments),
                   element=StaticMultiSelectElement(
                       action_id="value", placeholder=_("Pick one or more"), options=list(options.values()),
                       initial_options=chosen or None)),
        *_moments_block(moments, initial.moments if initial else (), tr),
        InputBlock(block_id="impact", label=_("Expected customer impact"), element=RadioButtonsElement(
            action_id="value", options=list(impacts.values()),
            initial_option=impacts[initial.impact] if initial and initial.impact else None)),
        InputBlock(block_id="impact_note", label=_("Impact note"), optional=True, element=PlainTextInputElement(
            action_id="value", multiline=True, max_length=NOTE_MAX, placeholder=_("Who is affected, and how"),
            initial_value=(initial.impact_note or None) if initial else None)),
        *_cost_blocks(initial.cost if initial else CustomerCost(), tr),
        InputBlock(block_id="magnitude", label=_("Magnitude"), element=RadioButtonsElement(
            action_id="value", options=list(magnitudes.values()),
            initial_option=magnitudes[initial.magnitude] if initial and initial.magnitude else None)),
        InputBlock(block_id="decision_by", label=_("Decision needed by"), element=DatePickerElement(
            action_id="value", initial_date=(initial.decision_by if initial and initial.decision_by
                                             else default_date).isoformat())),
        InputBlock(block_id="link", label=_("Link (spec, ticket, document)"), optional=True,
                   element=UrlInputElement(action_id="value", initial_value=(initial.link or None) if initial
                                           else None)),
    ]
    if amending is None:
        return View(type="modal", callback_id=ids.FILE_VIEW, title=_("CX review"), submit=_("File for review"),
                    close=_("Cancel"), blocks=blocks)
    blocks.append(InputBlock(block_id="full_review", label=_("Review"), optional=True, element=CheckboxesElement(
        action_id="value", options=[Option(text=_("Ask every department again (clears the votes given so far)"),
                                           value="full")])))
    return View(type="modal", callback_id=ids.AMEND_VIEW, title=_("Amend #{id}").format(id=amending)[:24],
                submit=_("Save"), close=_("Cancel"), private_metadata=json.dumps({"request_id": amending}),
                blocks=blocks)


def _moments_block(moments: tuple[Moment, ...], picked: tuple[str, ...], tr: Translator) -> list[InputBlock]:
    """The moments of truth a change touches, grouped under their stages, with those `picked`;
    none without moments."""
    if not moments:
        return []
    options = {m.key: Option(text=clip_plain(m.name, 75), value=m.key) for m in moments}
    groups: dict[str, list[Option]] = {}
    for m in moments:
        groups.setdefault(m.stage, []).append(options[m.key])
    chosen = [options[k] for k in picked if k in options]
    return [InputBlock(
        block_id="moments", label=tr.gettext("Moments of truth it touches"), optional=True,
        hint=tr.gettext("Only the moments of the stages picked above count."),
        element=StaticMultiSelectElement(
            action_id="value", placeholder=tr.gettext("Pick the moments it touches"),
            option_groups=[OptionGroup(label=clip_plain(stage, 75), options=opts) for stage, opts in groups.items()],
            initial_options=chosen or None))]


def _number(value: float | int | None) -> str | None:
    return None if value is None else f"{value:g}"


def _cost_blocks(cost: CustomerCost, tr: Translator) -> list[InputBlock]:
    """The customer's cost of the change, in the customer's terms: all optional."""
    _ = tr.gettext
    signs = {key: Option(text=clip_plain(tr.text(label), 75), value=key) for key, label in WARNING_SIGNS.items()}
    chosen = [signs[s] for s in cost.warning_signs if s in signs]
    return [
        InputBlock(block_id="customer_minutes", label=_("Customer time per occurrence, in minutes"), optional=True,
                   hint=_("More time for the customer each time it happens; negative if it saves time."),
                   element=NumberInputElement(action_id="value", is_decimal_allowed=True,
                                              min_value=f"{-MINUTES_LIMIT:g}", max_value=f"{MINUTES_LIMIT:g}",
                                              initial_value=_number(cost.minutes))),
        InputBlock(block_id="customers_per_month", label=_("Customers a month who meet it"), optional=True,
                   element=NumberInputElement(action_id="value", is_decimal_allowed=False, min_value="0",
                                              max_value=str(CUSTOMERS_LIMIT), initial_value=_number(cost.customers))),
        InputBlock(block_id="steps", label=_("Extra steps, forms or contacts for the customer"), optional=True,
                   hint=_("Negative if there are fewer."),
                   element=NumberInputElement(action_id="value", is_decimal_allowed=False,
                                              min_value=str(-STEPS_LIMIT), max_value=str(STEPS_LIMIT),
                                              initial_value=_number(cost.steps))),
        InputBlock(block_id="warning_signs", label=_("Warning signs it risks"), optional=True,
                   element=CheckboxesElement(action_id="value", options=list(signs.values()),
                                             initial_options=chosen or None)),
    ]


# What Slack adds to a view it shows (views.update takes none of them back).
_SHOWN_ONLY = ("id", "team_id", "state", "hash", "previous_view_id", "root_view_id", "app_id", "app_installed_team_id",
               "bot_id")


def narrowed_form(view: dict[str, Any], moments: tuple[Moment, ...], stages: tuple[str, ...],
                  picked: tuple[str, ...], tr: Translator) -> dict[str, Any]:
    """The filing form `view` as Slack shows it, for `views.update` after the person changed the
    stages: the moments offered are those of the `stages` picked (all of them while none is),
    the moments still `picked` kept; with no moment under those stages, no moments field."""
    offered = under(moments, stages) if stages else moments
    form = {k: v for k, v in view.items() if k not in _SHOWN_ONLY}
    blocks = [b for b in view.get("blocks") or [] if b.get("block_id") != "moments"]
    at = next((i + 1 for i, b in enumerate(blocks) if b.get("block_id") == "stages"), len(blocks))
    kept = tuple(k for k in picked if any(m.key == k for m in offered))
    blocks[at:at] = [b.to_dict() for b in _moments_block(offered, kept, tr)]
    form["blocks"] = blocks
    return form


def revision_modal(*, department: tuple[str, str], stages: tuple[str, ...], default_date: date, initial: Draft,
                   revising: int, moments: tuple[Moment, ...] = (), tr: Translator = EN) -> View:
    """The filing form, pre-filled from withdrawn request #n, to file its revision (a new
    request that links to it, for the same department)."""
    view = filing_modal(departments=[department], stages=stages, default_date=default_date, initial=initial,
                        moments=moments, tr=tr)
    view.callback_id, view.private_metadata = ids.REVISE_VIEW, json.dumps({"request_id": revising})
    view.title = PlainTextObject(text=tr.gettext("Revise #{id}").format(id=revising)[:24])
    view.submit = PlainTextObject(text=tr.gettext("File the revision"))
    return view


# The form's title (and submit button), the note's label and its placeholder, per vote.
VOTE_TITLES: dict[VoteKind, tuple[Msg, Msg, Msg]] = {
    VoteKind.OBJECT: (N_("Object"), N_("Your reason"),
                      N_("What would hurt customers or your department, and what would fix it?")),
    VoteKind.APPROVE: (N_("Approve"), N_("Condition"), N_("e.g. only if the help centre article ships first")),
    VoteKind.ABSTAIN: (N_("Abstain"), N_("Note"), N_("Why you abstain")),
}


def _heading(request_id: int, title: str, tr: Translator) -> SectionBlock:
    heading = tr.gettext("*CX review #{id}:* {title}").format(id=request_id, title=escape(title))
    return SectionBlock(text=MarkdownTextObject(text=clip(heading, 3000)))


def _note(block_id: str, label: str, hint: str, *, optional: bool) -> InputBlock:
    return InputBlock(block_id=block_id, label=label, optional=optional, element=PlainTextInputElement(
        action_id="value", multiline=True, max_length=NOTE_MAX, placeholder=hint))


BLOCKING: tuple[tuple[Msg, str], ...] = (
    (N_("Blocking — it must not ship as it is"), "blocking"),
    (N_("Non-blocking — a concern on record"), "non_blocking"),
)


def vote_modal(*, request_id: int, title: str, kind: VoteKind, tr: Translator = EN) -> View:
    """The note (approve, abstain) or reason (object) that goes with a vote."""
    heading, label, hint = (tr.text(text) for text in VOTE_TITLES[kind])
    blocks = [_heading(request_id, title, tr), _note("note", label, hint, optional=kind is not VoteKind.OBJECT)]
    if kind is VoteKind.OBJECT:
        severities = [Option(text=tr.text(text), value=value) for text, value in BLOCKING]
        blocks += [
            InputBlock(block_id="severity", label=tr.gettext("Severity"), element=RadioButtonsElement(
                action_id="value", options=severities, initial_option=severities[0])),
            _note("mitigation", tr.gettext("What would resolve it"),
                  tr.gettext("e.g. keep paper invoices for customers without a verified e-mail"), optional=True),
        ]
    return View(
        type="modal", callback_id=ids.VOTE_VIEW,
        private_metadata=json.dumps({"request_id": request_id, "kind": kind.value}),
        title=heading, submit=heading, close=tr.gettext("Cancel"), blocks=blocks,
    )


def reason_modal(*, callback_id: str, request_id: int, title: str, heading: str, label: str, hint: str,
                 extra: dict[str, object] | None = None, days: int | None = None, tr: Translator = EN) -> View:
    """A form with one required reason (overrule, decide, hold), its context in private_metadata;
    `heading`, `label` and `hint` come in the reader's language."""
    blocks: list[InputBlock | SectionBlock] = [_heading(request_id, title, tr),
                                               _note("note", label, hint, optional=False)]
    if days is not None:
        options = [Option(text=tr.ngettext("{n} working day", "{n} working days", n).format(n=n), value=str(n))
                   for n in range(1, days + 1)]
        blocks.append(InputBlock(block_id="days", label=tr.gettext("For how long"), element=StaticSelectElement(
            action_id="value", options=options, initial_option=options[-1])))
    return View(
        type="modal", callback_id=callback_id,
        private_metadata=json.dumps({"request_id": request_id, **(extra or {})}),
        title=heading, submit=heading[:24], close=tr.gettext("Cancel"), blocks=blocks,
    )


def away_modal(*, department: str, default_until: date, tr: Translator = EN) -> View:
    """`/cx-review away`: a colleague and a last day. Slack's user picker lists the whole
    workspace (it cannot be limited to a department), so the submission is checked and a
    colleague from elsewhere is refused on the field."""
    _ = tr.gettext
    return View(
        type="modal", callback_id=ids.AWAY_VIEW, title=_("Away"), submit=_("Save"), close=_("Cancel"),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=clip(_(
                "While you are away, a colleague from *{department}* answers for you: reviews, "
                "reminders and votes go to them.").format(department=escape(department)), 3000))),
            InputBlock(block_id="substitute", label=clip_plain(_("Colleague from {department}").format(
                department=department), 2000),
                       element=UserSelectElement(action_id="value", placeholder=_("Pick a lead or advocate"))),
            InputBlock(block_id="until", label=_("Away until (your last day away)"), element=DatePickerElement(
                action_id="value", initial_date=default_until.isoformat())),
        ],
    )


def away_saved_text(*, substitute: str, until: date, command: str, tr: Translator = EN) -> str:
    return tr.gettext("Until {day}, {substitute} answers for you: reviews, reminders and votes go to them. "
                      "`{command} back` ends it early.").format(day=day(until, tr), substitute=mention(substitute),
                                                                command=command)


def away_saved_view(*, substitute: str, until: date, command: str, tr: Translator = EN) -> View:
    """What the away form turns into once saved."""
    return View(type="modal", title=tr.gettext("Away"), close=tr.gettext("Done"), blocks=[SectionBlock(
        text=MarkdownTextObject(text=away_saved_text(substitute=substitute, until=until, command=command, tr=tr)))])


def go_live_modal(request_id: int, default: date, tr: Translator = EN) -> View:
    """When an approved change went (or goes) live: its follow-ups count from that day."""
    _ = tr.gettext
    return View(type="modal", callback_id=ids.GO_LIVE_VIEW, title=clip_plain(_("Go-live of #{id}").format(
        id=request_id), 24), submit=_("Save"), close=_("Cancel"),
        private_metadata=json.dumps({"request_id": request_id}), blocks=[
            InputBlock(block_id="go_live", label=_("The day the change went, or goes, live"),
                       element=DatePickerElement(action_id="value", initial_date=default.isoformat()))])


FOLLOW_UP_TITLES: dict[str, Msg] = {
    "as_predicted": N_("As predicted"), "better": N_("Better than predicted"), "worse": N_("Worse than predicted"),
    "came_true": N_("My concern came true"), "did_not": N_("My concern did not come true"),
}


def follow_up_modal(follow_up_id: int, answer: str, tr: Translator = EN) -> View:
    """The answer to a follow-up question, with what happened and, if known, a measured figure."""
    _ = tr.gettext
    return View(type="modal", callback_id=ids.FOLLOW_UP_VIEW, title=clip_plain(tr.text(FOLLOW_UP_TITLES[answer]), 24),
                submit=_("Send"), close=_("Cancel"),
                private_metadata=json.dumps({"follow_up_id": follow_up_id, "answer": answer}), blocks=[
                    InputBlock(block_id="note", label=_("What happened"), optional=True,
                               element=PlainTextInputElement(action_id="value", multiline=True, max_length=1000)),
                    InputBlock(block_id="measured", label=_("A measured figure, if you have one"), optional=True,
                               hint=_("e.g. 12 disputes per 1,000 first invoices, down from 30"),
                               element=PlainTextInputElement(action_id="value", max_length=100))])
