"""The customer's cost of a change: the filing form asks it in the customer's terms (minutes per
occurrence, customers a month, steps, warning signs), the request keeps it, and a change adding
more customer time a month than the council's threshold is treated as major."""

from __future__ import annotations

import json

import pytest

from cxbot.council_file import CouncilFileError, parse_council
from cxbot.domain.cost import CustomerCost, cost_errors, in_words, major_by_cost
from cxbot.domain.model import Magnitude
from cxbot.store.models import ReviewRequest
from tests.harness import COUNCIL_FILE, Stack, filing_values

THRESHOLD = COUNCIL_FILE.read_text().replace('timezone = "Europe/Oslo"',
                                             'timezone = "Europe/Oslo"\nmajor_customer_hours = 100')


def test_hours_a_month_and_the_major_threshold() -> None:
    cost = CustomerCost(minutes=5, customers=3000, steps=1, warning_signs=("repeat_information",))
    assert cost.hours_a_month == 250
    assert major_by_cost(cost, 100) and not major_by_cost(cost, 300) and not major_by_cost(cost, None)
    assert not major_by_cost(CustomerCost(minutes=-5, customers=3000), 100)       # saving time is never major
    assert in_words(cost) == ("+5 min per occurrence; 3,000 customers a month; +250 customer hours a month; "
                              "+1 steps; Customers must repeat information they already gave")
    assert cost_errors({"customer_minutes": "2,5", "customers_per_month": "", "steps": "-2"}) == (
        CustomerCost(2.5, None, -2), {})
    _, errors = cost_errors({"customer_minutes": "ten", "customers_per_month": "1.5", "steps": "99"})
    assert sorted(errors) == ["customer_minutes", "customers_per_month", "steps"]


@pytest.mark.parametrize("value", ["0", "-3", '"ten"', "true", "inf"])
def test_a_threshold_that_is_not_a_positive_number_stops_the_load(value: str) -> None:
    text = THRESHOLD.replace("major_customer_hours = 100", f"major_customer_hours = {value}")
    with pytest.raises(CouncilFileError) as info:
        parse_council(text, source="council.toml")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("major_customer_hours"))
    assert str(info.value).startswith(f"council.toml:{line}: council.major_customer_hours: "), str(info.value)
    assert str(info.value).endswith("is not a positive number")


def _file(stack: Stack, **fields: object) -> ReviewRequest:
    stack.open_filing_modal("U0BILLLEAD")
    result = stack.people.submit_view("U0BILLLEAD", filing_values(**fields))
    assert result.status == 200 and not (result.json() or {}).get("errors"), result.body
    stack.settle()
    return stack.all(ReviewRequest)[-1]


def test_a_minor_change_adding_customer_hours_above_the_threshold_is_reviewed_as_major(stack: Stack) -> None:
    stack.load_council(THRESHOLD)
    heavy = _file(stack, magnitude="minor", customer_minutes="5", customers_per_month="3000", steps="1",
                  warning_signs=["repeat_information", "duplicate_messages"])
    assert heavy.magnitude is Magnitude.MAJOR
    assert (heavy.customer_minutes, heavy.customers_per_month, heavy.steps) == (5.0, 3000, 1)
    assert heavy.warning_signs == ["repeat_information", "duplicate_messages"]
    shown = json.dumps(stack.parent(heavy.id).blocks, ensure_ascii=False)
    assert "Major — for the customer time it adds" in shown
    assert "+5 min each time · 3,000 customers a month · *+250 customer hours a month* · +1 step" in shown
    assert "Customers must repeat information they already gave" in shown
    light = _file(stack, magnitude="minor", customer_minutes="0.5", customers_per_month="3000")
    assert light.magnitude is Magnitude.MINOR                       # 25 hours: under the threshold
    saving = _file(stack, magnitude="minor", customer_minutes="-10", customers_per_month="30000")
    assert saving.magnitude is Magnitude.MINOR
    unsaid = _file(stack, magnitude="minor")
    assert (unsaid.customer_minutes, unsaid.customers_per_month, unsaid.steps, unsaid.warning_signs) == (
        None, None, None, [])


def test_figures_that_are_not_numbers_are_refused_on_their_fields(stack: Stack) -> None:
    from cxbot.sandbox.modal_state import view_state_values

    view = stack.open_filing_modal("U0BILLLEAD")
    state = view_state_values(view, filing_values())
    state["customer_minutes"]["value"]["value"] = "a lot"        # what Slack's client would not send
    state["customers_per_month"]["value"]["value"] = "-4"
    result = stack.people.submit_view_raw("U0BILLLEAD", view, state)
    errors = (result.json() or {}).get("errors") or {}
    assert sorted(errors) == ["customer_minutes", "customers_per_month"], errors
    assert stack.count(ReviewRequest) == 0
