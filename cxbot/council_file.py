"""The council file: a TOML description of the council, validated before anything is stored.

Every problem names the file, the key (as a path like `departments[2].advocates`) and,
where it can be found, the line, so an operator can fix it without guessing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cxbot.domain.calendar import WEEKDAYS, WorkingTime
from cxbot.domain.model import DEFAULT_STAGES, Magnitude
from cxbot.domain.moments import METRIC_MAX, MOMENT_NAME_MAX, MOMENTS_MAX, Moment
from cxbot.domain.policy import (
    DEFAULT_REVIEW_DAYS,
    ESCALATION_TARGETS,
    CouncilPolicy,
    DigestPolicy,
    EscalationPolicy,
    MagnitudePolicy,
    ReminderPolicy,
    RoutingRule,
)
from cxbot.i18n import LANGUAGES

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,31}$")
USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,31}$")
DEPARTMENT_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# A council's key (`council.key`), in the same style: several councils share a database.
COUNCIL_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DEFAULT_COUNCIL = "default"   # the council of a file that names none (every file before several councils)
STAGE_MAX = 75  # a Block Kit option's text

COUNCIL_KEYS = {"key", "channel", "chair", "admins", "timezone", "stages", "working_days", "working_hours",
                "max_hold_days", "language", "major_customer_hours", "follow_up_days"}
DEPARTMENT_KEYS = {"key", "name", "leads", "advocates", "stages", "usergroup"}
TOP_KEYS = {"council", "departments", "moments", "policies", "routing", "escalation", "reminders", "digest",
            "outbox"}
MOMENT_KEYS = {"key", "stage", "name", "metric", "owner"}
DIGEST_KEYS = {"day", "time", "post_to_channel"}
POLICY_KEYS = {"review_days", "approvals", "required", "abstain_counts"}
ROUTING_KEYS = {"stages", "moments", "magnitude", "add", "remove", "only_stage_owners"}
ESCALATION_KEYS = {"ladder", "step_days", "objection_days"}
REMINDER_KEYS = {"first_after_days", "closing_soon_hours"}
OUTBOX_KEYS = {"retention_days"}
# Delivered Slack calls are kept this many days (default 14) and then pruned by the jobs
# worker: in the council file, next to the other policies, as it is the council's record
# to keep, and `cxbot council load` checks it with the rest. Each file names its own, but
# the outbox is shared by every council of the database: the longest retention of all the
# councils loaded is kept (cxbot.jobs.retention).
RETENTION_DAYS = (1, 3650)


@dataclass(frozen=True)
class DepartmentSpec:
    key: str
    name: str
    leads: tuple[str, ...]
    advocates: tuple[str, ...]
    stages: tuple[str, ...] = ()
    usergroup: str = ""   # the department's Slack user group, mentioned instead of its advocates


@dataclass(frozen=True)
class CouncilSpec:
    channel: str
    chair: str
    admins: tuple[str, ...]
    timezone: str
    stages: tuple[str, ...]
    departments: tuple[DepartmentSpec, ...]
    policy: CouncilPolicy = CouncilPolicy()
    working_time: WorkingTime = WorkingTime()
    language: str = ""   # en, nb or de; "" follows the channel's Slack locale (cxbot.domain.languages)
    key: str = DEFAULT_COUNCIL
    moments: tuple[Moment, ...] = ()   # the moments of truth, in the file's order
    # Where it came from, and the lines of `council.key` and `council.channel` in it, for
    # the problems only a load can see (another council's key or channel).
    source: str = field(default="<council>", compare=False)
    lines: Mapping[str, int | None] = field(default_factory=dict, compare=False)

    def fail(self, key: str, problem: str) -> CouncilFileError:
        """A problem with `key` (`council.key`, `council.channel`), said at its line of the file."""
        return CouncilFileError(self.source, key, problem, self.lines.get(key))


class CouncilFileError(Exception):
    """A problem in a council file, said as `file:line: key: problem`."""

    def __init__(self, source: str, key: str, problem: str, line: int | None = None) -> None:
        self.source, self.key, self.problem, self.line = source, key, problem, line
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")


def load_council_file(path: str | Path) -> CouncilSpec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CouncilFileError(str(path), "", f"cannot read the file ({exc.strerror})") from exc
    return parse_council(text, source=str(path))


def parse_council(text: str, *, source: str = "<council>") -> CouncilSpec:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        raise CouncilFileError(source, "", f"not valid TOML ({exc})", int(match[1]) if match else None) from exc
    return _Parser(text, source).council(data)


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def fail(self, key: str, problem: str) -> CouncilFileError:
        return CouncilFileError(self.source, key, problem, self._line_of(key))

    def _line_of(self, key: str) -> int | None:
        """Best effort: the line of the last name in `key`, looked for inside its own table."""
        parts = re.findall(r"[A-Za-z_][\w-]*|\[\d+\]", key)
        if not parts:
            return None
        name = None if parts[-1].startswith("[") else parts[-1]
        table = parts[:-1] if name else parts
        start, end = 0, len(self.lines)
        if len(table) >= 2 and table[1].startswith("["):
            headers = [i for i, ln in enumerate(self.lines) if re.match(rf"\s*\[\[{re.escape(table[0])}\]\]", ln)]
            index = int(table[1][1:-1])
            if index >= len(headers):
                return None
            start = headers[index]
        elif table:
            header = self._header_line(re.escape("[" + ".".join(table) + "]"))
            if header is None:
                return None
            start = header
        if table:
            end = next((i for i in range(start + 1, len(self.lines)) if re.match(r"\s*\[", self.lines[i])), end)
        if name is None:
            return start + 1
        for i in range(start, end):
            if re.match(rf"\s*{re.escape(name)}\s*=", self.lines[i]):
                return i + 1
        return start + 1 if table else None

    def _header_line(self, pattern: str) -> int | None:
        for i, ln in enumerate(self.lines):
            if re.match(rf"\s*{pattern}", ln):
                return i
        return None

    def _unknown(self, table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(f"{prefix}{key}", f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def _str(self, table: Mapping[str, Any], key: str, path: str, *, pattern: re.Pattern[str] | None = None,
             default: str | None = None, what: str = "") -> str:
        if key not in table:
            if default is not None:
                return default
            raise self.fail(path, "is required")
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "must be a non-empty string")
        if pattern is not None and not pattern.match(value):
            raise self.fail(path, f"{value!r} is not {what}")
        return value

    def _users(self, table: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list):
            raise self.fail(path, "must be a list of Slack user ids")
        for item in value:
            if not isinstance(item, str) or not USER_ID.match(item):
                raise self.fail(path, f"{item!r} is not a Slack user id (like U012AB3CD)")
        if len(set(value)) != len(value):
            dup = next(u for u in value if value.count(u) > 1)
            raise self.fail(path, f"{dup} is listed twice")
        return tuple(value)

    def council(self, data: Mapping[str, Any]) -> CouncilSpec:
        self._unknown(data, TOP_KEYS, "")
        council = data.get("council")
        if not isinstance(council, dict):
            raise self.fail("council", "a [council] table is required")
        self._unknown(council, COUNCIL_KEYS, "council.")
        key = self._str(council, "key", "council.key", pattern=COUNCIL_KEY, default=DEFAULT_COUNCIL,
                        what="a council key (lower-case letters, digits, - and _)")
        channel = self._str(council, "channel", "council.channel", pattern=CHANNEL_ID,
                            what="a Slack channel id (like C012AB3CD)")
        chair = self._str(council, "chair", "council.chair", pattern=USER_ID, what="a Slack user id (like U012AB3CD)")
        admins = self._users(council, "admins", "council.admins")
        tz = self._str(council, "timezone", "council.timezone", default="UTC")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail("council.timezone", f"{tz!r} is not a time zone (like Europe/Oslo)") from None
        language = self._str(council, "language", "council.language", default="")
        if language and language not in LANGUAGES:
            raise self.fail("council.language", f'unknown language "{language}"; cxbot has {", ".join(LANGUAGES)}')
        stages = self._stages(council)
        try:
            working_time = WorkingTime.parse(timezone=tz, days=council.get("working_days"),
                                             hours=council.get("working_hours"))
        except (ValueError, TypeError) as exc:
            key = "council.working_hours" if "hour" in str(exc) else "council.working_days"
            raise self.fail(key, str(exc)) from None
        departments = self._departments(data.get("departments"), stages)
        keys = {d.key for d in departments}
        moments = self._moments(data.get("moments", []), stages, keys)
        policy = CouncilPolicy(
            minor=self._policy(data, Magnitude.MINOR),
            major=self._policy(data, Magnitude.MAJOR),
            routing=self._routing(data.get("routing", []), stages, keys, {m.key for m in moments}),
            escalation=self._escalation(data.get("escalation", {})),
            reminders=self._reminders(data.get("reminders", {})),
            max_hold_days=self._int(council, "max_hold_days", "council.max_hold_days", default=3, low=1, high=30),
            digest=self._digest(data.get("digest", {})),
            retention_days=self._retention(data.get("outbox", {})),
            major_customer_hours=self._positive(council, "major_customer_hours", "council.major_customer_hours"),
            follow_up_days=self._int(council, "follow_up_days", "council.follow_up_days", default=30, low=1, high=365),
        )
        lines = {path: self._line_of(path) for path in ("council.key", "council.channel")}
        return CouncilSpec(channel, chair, admins, tz, stages, departments, policy, working_time, language,
                           key, moments, self.source, lines)

    def _int(self, table: Mapping[str, Any], key: str, path: str, *, default: int, low: int, high: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(path, f"must be a whole number from {low} to {high}")
        return value

    def _positive(self, table: Mapping[str, Any], key: str, path: str) -> float | None:
        """An optional positive number (whole or not)."""
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
            raise self.fail(path, f"{value!r} is not a positive number")
        return float(value)

    def _bool(self, table: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(path, "must be true or false")
        return value

    def _table(self, value: Any, path: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "must be a table")
        self._unknown(value, allowed, f"{path}.")
        return value

    def _names(self, table: Mapping[str, Any], key: str, path: str, known: Collection[str],
               what: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path, f"must be a list of {what}")
        for item in value:
            if item not in known:
                raise self.fail(path, f"{item!r} is not one of the council's {what}")
        return tuple(value)

    def _policy(self, data: Mapping[str, Any], magnitude: Magnitude) -> MagnitudePolicy:
        policies = self._table(data.get("policies", {}), "policies", {m.value for m in Magnitude})
        path = f"policies.{magnitude.value}"
        table = self._table(policies.get(magnitude.value, {}), path, POLICY_KEYS)
        required = table.get("required", "all")
        share: float | None
        if required == "all":
            share = None
        elif isinstance(required, int | float) and not isinstance(required, bool) and 0 < required <= 1:
            share = float(required)
        else:
            raise self.fail(f"{path}.required",
                            '"all", or the share of routed departments that must answer (0 < share ≤ 1)')
        return MagnitudePolicy(
            review_days=self._int(table, "review_days", f"{path}.review_days",
                                  default=DEFAULT_REVIEW_DAYS[magnitude], low=1, high=60),
            approvals=self._int(table, "approvals", f"{path}.approvals", default=1, low=1, high=20),
            required_share=share,
            abstain_counts=self._bool(table, "abstain_counts", f"{path}.abstain_counts", False),
        )

    def _routing(self, rules: Any, stages: tuple[str, ...], departments: set[str],
                 moments: set[str]) -> tuple[RoutingRule, ...]:
        if not isinstance(rules, list):
            raise self.fail("routing", "use [[routing]] tables, one a rule")
        parsed = []
        for i, raw in enumerate(rules):
            path = f"routing[{i}]"
            rule = self._table(raw, path, ROUTING_KEYS)
            magnitude = rule.get("magnitude")
            if magnitude is not None and magnitude not in {m.value for m in Magnitude}:
                raise self.fail(f"{path}.magnitude", f'{magnitude!r} is not "minor" or "major"')
            parsed_rule = RoutingRule(
                stages=self._names(rule, "stages", f"{path}.stages", stages, "stages"),
                magnitude=Magnitude(magnitude) if magnitude else None,
                add=self._names(rule, "add", f"{path}.add", departments, "department keys"),
                remove=self._names(rule, "remove", f"{path}.remove", departments, "department keys"),
                only_stage_owners=self._bool(rule, "only_stage_owners", f"{path}.only_stage_owners", False),
                moments=self._names(rule, "moments", f"{path}.moments", moments, "moment keys"),
            )
            if not (parsed_rule.add or parsed_rule.remove or parsed_rule.only_stage_owners):
                raise self.fail(path, "a rule needs add, remove or only_stage_owners = true")
            parsed.append(parsed_rule)
        return tuple(parsed)

    def _escalation(self, raw: Any) -> EscalationPolicy:
        table = self._table(raw, "escalation", ESCALATION_KEYS)
        ladder = table.get("ladder", list(ESCALATION_TARGETS))
        if not isinstance(ladder, list) or any(step not in ESCALATION_TARGETS for step in ladder) \
                or len(set(ladder)) != len(ladder):
            raise self.fail("escalation.ladder", 'a list of "leads" and/or "chair", each once ([] for none)')
        return EscalationPolicy(
            ladder=tuple(ladder),
            step_days=self._int(table, "step_days", "escalation.step_days", default=2, low=1, high=30),
            objection_days=self._int(table, "objection_days", "escalation.objection_days", default=5, low=1, high=60),
        )

    def _digest(self, raw: Any) -> DigestPolicy:
        table = self._table(raw, "digest", DIGEST_KEYS)
        day = table.get("day", "mon")
        if not isinstance(day, str) or day.lower() not in WEEKDAYS:
            raise self.fail("digest.day", f"{day!r} is not a weekday (mon … sun)")
        at = table.get("time", "09:00")
        if not isinstance(at, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", at):
            raise self.fail("digest.time", f"{at!r} is not a time like \"09:00\"")
        return DigestPolicy(day.lower(), at, self._bool(table, "post_to_channel", "digest.post_to_channel", False))

    def _reminders(self, raw: Any) -> ReminderPolicy:
        table = self._table(raw, "reminders", REMINDER_KEYS)
        return ReminderPolicy(
            first_after_days=self._int(table, "first_after_days", "reminders.first_after_days", default=1,
                                       low=0, high=30),
            closing_soon_hours=self._int(table, "closing_soon_hours", "reminders.closing_soon_hours", default=24,
                                         low=1, high=24 * 14),
        )

    def _retention(self, raw: Any) -> int:
        table = self._table(raw, "outbox", OUTBOX_KEYS)
        low, high = RETENTION_DAYS
        return self._int(table, "retention_days", "outbox.retention_days", default=14, low=low, high=high)

    def _stages(self, council: Mapping[str, Any]) -> tuple[str, ...]:
        if "stages" not in council:
            return DEFAULT_STAGES
        stages = council["stages"]
        if not isinstance(stages, list) or not stages:
            raise self.fail("council.stages", "must be a non-empty list of stage names")
        if len(stages) > 100:
            raise self.fail("council.stages", "at most 100 stages")
        for stage in stages:
            if not isinstance(stage, str) or not stage.strip() or len(stage) > STAGE_MAX:
                raise self.fail("council.stages", f"{stage!r} must be a name of 1 to {STAGE_MAX} characters")
        if len(set(stages)) != len(stages):
            raise self.fail("council.stages", "a stage is listed twice")
        return tuple(stages)

    def _moments(self, raw: Any, stages: tuple[str, ...], departments: set[str]) -> tuple[Moment, ...]:
        """`[[moments]]`: each under one of the council's stages, keys unique, an owner (if
        named) one of the council's departments."""
        if not isinstance(raw, list):
            raise self.fail("moments", "use [[moments]] tables, one a moment of truth")
        if len(raw) > MOMENTS_MAX:
            raise self.fail("moments", f"at most {MOMENTS_MAX} moments of truth (the filing form lists them all)")
        moments: list[Moment] = []
        for i, item in enumerate(raw):
            path = f"moments[{i}]"
            table = self._table(item, path, MOMENT_KEYS)
            key = self._str(table, "key", f"{path}.key", pattern=DEPARTMENT_KEY,
                            what="a moment key (lower-case letters, digits, - and _)")
            if any(m.key == key for m in moments):
                raise self.fail(f"{path}.key", f"moment key {key!r} is used twice")
            stage = self._str(table, "stage", f"{path}.stage")
            if stage not in stages:
                raise self.fail(f"{path}.stage", f"{stage!r} is not one of the council's stages "
                                                 f"({', '.join(stages)})")
            name = self._str(table, "name", f"{path}.name")
            if len(name) > MOMENT_NAME_MAX:
                raise self.fail(f"{path}.name", f"keep the name to {MOMENT_NAME_MAX} characters")
            metric = self._str(table, "metric", f"{path}.metric", default="")
            if len(metric) > METRIC_MAX:
                raise self.fail(f"{path}.metric", f"keep the metric's name to {METRIC_MAX} characters")
            owner = self._str(table, "owner", f"{path}.owner", default="")
            if owner and owner not in departments:
                raise self.fail(f"{path}.owner", f"{owner!r} is not one of the council's department keys")
            moments.append(Moment(key, stage, name, metric, owner))
        return tuple(moments)

    def _departments(self, departments: Any, stages: tuple[str, ...]) -> tuple[DepartmentSpec, ...]:
        if not isinstance(departments, list) or not departments:
            raise self.fail("departments", "at least one [[departments]] table is required")
        specs: list[DepartmentSpec] = []
        advocate_of: dict[str, str] = {}
        for i, dept in enumerate(departments):
            path = f"departments[{i}]"
            if not isinstance(dept, dict):
                raise self.fail(path, "must be a table")
            self._unknown(dept, DEPARTMENT_KEYS, f"{path}.")
            key = self._str(dept, "key", f"{path}.key", pattern=DEPARTMENT_KEY,
                            what="a department key (lower-case letters, digits, - and _)")
            if any(s.key == key for s in specs):
                raise self.fail(f"{path}.key", f"department key {key!r} is used twice")
            name = self._str(dept, "name", f"{path}.name")
            if len(name) > STAGE_MAX:
                raise self.fail(f"{path}.name", f"keep the name to {STAGE_MAX} characters")
            leads = self._users(dept, "leads", f"{path}.leads")
            advocates = self._users(dept, "advocates", f"{path}.advocates")
            for user in advocates:
                if user in advocate_of:
                    raise self.fail(
                        f"{path}.advocates",
                        f"{user} is already an advocate of {advocate_of[user]!r}: one department per advocate")
                advocate_of[user] = key
            owned = self._names(dept, "stages", f"{path}.stages", stages, "stages")
            usergroup = self._str(dept, "usergroup", f"{path}.usergroup", pattern=USERGROUP_ID, default="",
                                  what="a Slack user group id (like S012AB3CD)")
            specs.append(DepartmentSpec(key, name, leads, advocates, owned, usergroup))
        return tuple(specs)
