"""The customer's cost of a change, in the customer's terms.

The biggest impact of a department's change on the customer is time: an extra form, a new
ticket number, a manager's approval each cost the customer minutes, times every customer it
happens to. A filing may say how many minutes more (or, negative, less) the change costs a
customer each time, how many customers a month meet it, how many steps, forms or contacts it
adds (or removes), and which warning signs of a silo decision it risks. All optional; what is
given is shown plainly, and a change adding more customer time a month than the council's
threshold (`council.major_customer_hours`) is treated as major, whatever the filer picked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cxbot.i18n import N_, Msg

MINUTES_LIMIT = 1440.0            # a day: more per occurrence is a typo, not a change
CUSTOMERS_LIMIT = 100_000_000
STEPS_LIMIT = 50

# The warning signs of a change decided in a silo, as the customer meets them.
WARNING_SIGNS: dict[str, Msg] = {
    "repeat_information": N_("Customers must repeat information they already gave"),
    "different_answers": N_("Customers may get different answers from different people"),
    "duplicate_messages": N_("Customers get the same information from several departments"),
    "inconsistent_voice": N_("Customers hear a different voice from each department"),
    "renewal_only": N_("Customers hear from us only when it is time to renew"),
}


@dataclass(frozen=True)
class CustomerCost:
    minutes: float | None = None     # per occurrence: positive adds customer time, negative saves it
    customers: int | None = None     # customers a month who meet it
    steps: int | None = None         # extra (positive) or fewer (negative) steps, forms or contacts
    warning_signs: tuple[str, ...] = ()

    @property
    def hours_a_month(self) -> float | None:
        """Customer hours a month the change adds (negative: saves), when both figures are given."""
        if self.minutes is None or self.customers is None:
            return None
        return self.minutes * self.customers / 60

    @property
    def given(self) -> bool:
        return self.minutes is not None or self.customers is not None or self.steps is not None \
            or bool(self.warning_signs)


def major_by_cost(cost: CustomerCost, threshold: float | None) -> bool:
    """Whether the change adds more customer time a month than the council's threshold."""
    hours = cost.hours_a_month
    return threshold is not None and hours is not None and hours > threshold


def _figure(raw: dict[str, str], field: str, parse: Callable[[str], float], low: float, high: float,
            problem: Msg, errors: dict[str, Msg]) -> Any:
    """One figure of the form: None when not given, or when it is not a number from `low` to
    `high` (then `problem` is said on its field)."""
    text = raw.get(field, "").strip()
    if not text:
        return None
    try:
        value = parse(text)
    except ValueError:
        value = None
    if value is None or value != value or not low <= value <= high:
        errors[field] = problem
        return None
    return value


def cost_errors(raw: dict[str, str]) -> tuple[CustomerCost, dict[str, Msg]]:
    """The cost from the form's text fields (`customer_minutes`, `customers_per_month`,
    `steps`; empty when not given) and the problems, field by field (marked for translation)."""
    errors: dict[str, Msg] = {}
    minutes = _figure(raw, "customer_minutes", lambda t: float(t.replace(",", ".")), -MINUTES_LIMIT, MINUTES_LIMIT,
                      N_("Give the minutes as a number from -1440 to 1440 (negative if it saves time)."), errors)
    customers = _figure(raw, "customers_per_month", int, 0, CUSTOMERS_LIMIT,
                        N_("Give the number of customers a month as a whole number, 0 or more."), errors)
    steps = _figure(raw, "steps", int, -STEPS_LIMIT, STEPS_LIMIT,
                    N_("Give the steps as a whole number from -50 to 50 (negative if there are fewer)."), errors)
    return CustomerCost(minutes, customers, steps), errors


def in_words(cost: CustomerCost) -> str:
    """The cost in plain English (the record of an amendment; Slack renders it per reader)."""
    parts = []
    if cost.minutes is not None:
        parts.append(f"{cost.minutes:+g} min per occurrence")
    if cost.customers is not None:
        parts.append(f"{cost.customers:,} customers a month")
    if cost.hours_a_month is not None:
        parts.append(f"{cost.hours_a_month:+,.0f} customer hours a month")
    if cost.steps is not None:
        parts.append(f"{cost.steps:+d} steps")
    parts += [WARNING_SIGNS[s] for s in cost.warning_signs if s in WARNING_SIGNS]
    return "; ".join(parts)
