"""Moments of truth: the moments of the customer's experience that decide how they feel about
the company (the first invoice, the third call to support in a month, the 100th order), agreed
by the council, each under one lifecycle stage, optionally with the metric that watches it and
the department that owns it.

A change names the moments it touches (among those of the stages it touches); a department
that owns a touched moment is always asked about the change (cxbot.domain.routing), and a
routing rule may name moments as it names stages. Council-file content: shown as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

MOMENTS_MAX = 100      # a Block Kit select offers at most 100 options
MOMENT_NAME_MAX = 75   # a Block Kit option's text
METRIC_MAX = 150


@dataclass(frozen=True)
class Moment:
    key: str
    stage: str
    name: str
    metric: str = ""   # the name of the metric that watches it, if the council has one
    owner: str = ""    # the key of the department that owns it, if one does

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "stage": self.stage, "name": self.name, "metric": self.metric, "owner": self.owner}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Moment:
        return cls(str(data["key"]), str(data["stage"]), str(data["name"]), str(data.get("metric") or ""),
                   str(data.get("owner") or ""))


def moments_of(raw: Iterable[dict[str, Any]] | None) -> tuple[Moment, ...]:
    """The council's moments from their stored JSON, in the file's order."""
    return tuple(Moment.from_json(m) for m in raw or ())


def under(moments: Sequence[Moment], stages: Iterable[str]) -> tuple[Moment, ...]:
    """The moments of these stages, in the council's order: what a change touching them may name."""
    chosen = set(stages)
    return tuple(m for m in moments if m.stage in chosen)


def unknown_or_elsewhere(named: Iterable[str], moments: Sequence[Moment], stages: Iterable[str]) -> list[str]:
    """The moment keys named that are not the council's or not under one of `stages`."""
    allowed = {m.key for m in under(moments, stages)}
    return [key for key in named if key not in allowed]


def owners(named: Iterable[str], moments: Sequence[Moment]) -> dict[str, list[str]]:
    """Department key → the names of the touched moments it owns, in the council's order."""
    touched = set(named)
    owned: dict[str, list[str]] = {}
    for m in moments:
        if m.key in touched and m.owner:
            owned.setdefault(m.owner, []).append(m.name)
    return owned
