"""Moments of truth: the council file names them under its stages (with a metric and an owner
department), the filing form offers them by stage, a department that owns a touched moment is
always asked, and a routing rule may name moments as it names stages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from cxbot.council_file import CouncilFileError, parse_council
from cxbot.domain.model import Magnitude
from cxbot.domain.moments import Moment
from cxbot.domain.policy import RoutingRule
from cxbot.domain.routing import DepartmentInfo, route
from cxbot.store.models import ReviewRequest, Routing
from tests.harness import COUNCIL_FILE, Stack, filing_values

MOMENTS = '''
[[moments]]
key = "first-invoice"
stage = "Pay"
name = "The first invoice"
metric = "Disputes per 1,000 first invoices"
owner = "support"

[[moments]]
key = "cancel-call"
stage = "Leave"
name = "The call to cancel"
'''
WITH_MOMENTS = COUNCIL_FILE.read_text() + MOMENTS


def test_the_council_file_names_its_moments_under_its_stages() -> None:
    spec = parse_council(WITH_MOMENTS)
    assert spec.moments == (
        Moment("first-invoice", "Pay", "The first invoice", "Disputes per 1,000 first invoices", "support"),
        Moment("cancel-call", "Leave", "The call to cancel"),
    )
    assert parse_council(COUNCIL_FILE.read_text()).moments == ()


def _line(text: str, needle: str, after: str = "") -> int:
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if after in ln) if after else 0
    return next(i for i in range(start, len(lines)) if needle in lines[i]) + 1


@pytest.mark.parametrize("change, key, problem", [
    (('stage = "Pay"', 'stage = "Billing"'), "moments[0].stage", "'Billing' is not one of the council's stages"),
    (('key = "cancel-call"', 'key = "first-invoice"'), "moments[1].key", "moment key 'first-invoice' is used twice"),
    (('owner = "support"', 'owner = "sales"'), "moments[0].owner", "'sales' is not one of the council's department"),
    (('key = "cancel-call"', 'key = "Cancel call"'), "moments[1].key", "'Cancel call' is not a moment key"),
    (('name = "The call to cancel"', 'name = "' + "x" * 80 + '"'), "moments[1].name", "keep the name to 75"),
    (('metric = "Disputes per 1,000 first invoices"', 'colour = "red"'), "moments[0].colour", "unknown key"),
])
def test_a_bad_moment_stops_the_load_naming_file_line_and_key(change: tuple[str, str], key: str,
                                                              problem: str) -> None:
    text = WITH_MOMENTS.replace(*change)
    with pytest.raises(CouncilFileError) as info:
        parse_council(text, source="council.toml")
    needle = change[1].split(" =")[0]
    header = "[[moments]]"
    index = int(key.split("[")[1].split("]")[0])
    lines = text.splitlines()
    start = [i for i, ln in enumerate(lines) if ln.strip() == header][index]
    line = next(i for i in range(start, len(lines)) if lines[i].startswith(needle)) + 1
    assert str(info.value).startswith(f"council.toml:{line}: {key}: {problem}"), str(info.value)


def test_a_routing_rule_names_only_the_councils_moments() -> None:
    text = WITH_MOMENTS + '\n[[routing]]\nmoments = ["second-invoice"]\nremove = ["legal"]\n'
    with pytest.raises(CouncilFileError) as info:
        parse_council(text, source="council.toml")
    assert str(info.value) == (f"council.toml:{len(text.splitlines()) - 1}: routing[0].moments: 'second-invoice' "
                               "is not one of the council's moment keys")


def test_a_department_owning_a_touched_moment_is_asked_whatever_the_rules_say() -> None:
    departments = [DepartmentInfo("billing", "Billing", 1, ("Pay",)), DepartmentInfo("legal", "Legal", 2),
                   DepartmentInfo("support", "Support", 1)]
    moments = parse_council(WITH_MOMENTS).moments
    owners_only = [RoutingRule(stages=("Pay",), only_stage_owners=True)]
    assert route("billing", departments, stages=("Pay",), rules=owners_only) == []
    [asked] = route("billing", departments, stages=("Pay",), rules=owners_only, moments=("first-invoice",),
                    council_moments=moments)
    assert (asked.department, asked.reason) == ("support", "owns The first invoice, a moment of truth the "
                                                           "change touches")
    by_moment = [RoutingRule(moments=("cancel-call",), remove=("legal",))]
    assert [r.department for r in route("billing", departments, stages=("Leave",), rules=by_moment,
                                         magnitude=Magnitude.MINOR)] == ["legal", "support"]
    assert [r.department for r in route("billing", departments, stages=("Leave",), rules=by_moment,
                                        moments=("cancel-call",), council_moments=moments)] == ["support"]


def _moments_block(view: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == "moments")


def test_the_filing_form_offers_the_moments_by_stage_and_the_request_keeps_them(stack: Stack) -> None:
    stack.load_council(WITH_MOMENTS + '\n[[routing]]\nstages = ["Pay"]\nonly_stage_owners = true\n')
    view = stack.open_filing_modal("U0BILLLEAD")
    element = _moments_block(view)["element"]
    assert [(g["label"]["text"], [o["value"] for o in g["options"]]) for g in element["option_groups"]] == [
        ("Pay", ["first-invoice"]), ("Leave", ["cancel-call"])]
    assert _moments_block(view)["optional"] is True

    result = stack.people.submit_view("U0BILLLEAD", filing_values(stages=["Pay"], moments=["first-invoice"]))
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle()
    [request] = stack.all(ReviewRequest)
    assert request.moments == ["first-invoice"]
    with stack.session() as s:
        routed = s.scalars(select(Routing).where(Routing.request_id == request.id))
        asked = [(r.department.key, r.reason) for r in routed]
    assert asked == [("support", "owns The first invoice, a moment of truth the change touches")]
    assert "The first invoice" in json.dumps(stack.parent(request.id).blocks)


def test_a_moment_outside_the_stages_picked_is_refused_on_its_field(stack: Stack) -> None:
    stack.load_council(WITH_MOMENTS)
    stack.open_filing_modal("U0BILLLEAD")
    result = stack.people.submit_view("U0BILLLEAD", filing_values(stages=["Pay"], moments=["cancel-call"]))
    errors = (result.json() or {}).get("errors") or {}
    assert list(errors) == ["moments"] and "The call to cancel" in errors["moments"], json.dumps(errors)
    assert stack.count(ReviewRequest) == 0


def test_a_council_without_moments_shows_no_moments_field(stack: Stack) -> None:
    view = stack.open_filing_modal("U0BILLLEAD")
    assert all(b.get("block_id") != "moments" for b in view["blocks"])


def _offered(view: dict[str, Any]) -> list[str]:
    block = next((b for b in view["blocks"] if b.get("block_id") == "moments"), None)
    return [] if block is None else [o["value"] for g in block["element"]["option_groups"] for o in g["options"]]


def test_picking_stages_narrows_the_moments_offered_to_theirs(stack: Stack) -> None:
    stack.load_council(WITH_MOMENTS)
    view = stack.open_filing_modal("U0BILLLEAD")
    assert _offered(view) == ["first-invoice", "cancel-call"]

    def change(stages: list[str]) -> dict[str, Any]:
        before = stack.slack.open_views("U0BILLLEAD")[-1]["hash"]
        assert stack.people.change_input("U0BILLLEAD", "stages", stages).status == 200  # type: ignore[union-attr]
        return stack.slack.wait_for(lambda: [v for v in stack.slack.open_views("U0BILLLEAD")
                                             if v["hash"] != before])[-1]

    assert _offered(change(["Leave"])) == ["cancel-call"]
    assert _offered(change(["Pay", "Leave"])) == ["first-invoice", "cancel-call"]
    updated = change(["Get help"])                      # no moment under it: no moments field
    assert _offered(updated) == [] and [b["block_id"] for b in updated["blocks"]][:3] == ["title", "summary",
                                                                                          "department"]
    result = stack.people.submit_view("U0BILLLEAD", filing_values(stages=["Pay"]))
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle()
    assert stack.all(ReviewRequest)[0].moments == []


def test_a_council_without_moments_hears_nothing_when_stages_change(stack: Stack) -> None:
    stack.open_filing_modal("U0BILLLEAD")
    assert stack.people.change_input("U0BILLLEAD", "stages", ["Pay"]) is None    # no dispatch_action
