"""The council file: a TOML description of the council, validated before anything is stored.

Every problem names the file, the key (as a path like `departments[2].advocates`) and,
where it can be found, the line, so an operator can fix it without guessing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cxbot.domain.model import DEFAULT_STAGES

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,31}$")
DEPARTMENT_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
STAGE_MAX = 75  # a Block Kit option's text

COUNCIL_KEYS = {"channel", "chair", "admins", "timezone", "stages"}
DEPARTMENT_KEYS = {"key", "name", "leads", "advocates"}
TOP_KEYS = {"council", "departments"}


@dataclass(frozen=True)
class DepartmentSpec:
    key: str
    name: str
    leads: tuple[str, ...]
    advocates: tuple[str, ...]


@dataclass(frozen=True)
class CouncilSpec:
    channel: str
    chair: str
    admins: tuple[str, ...]
    timezone: str
    stages: tuple[str, ...]
    departments: tuple[DepartmentSpec, ...]


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
        """Best effort: the line of the last name in `key`, inside its table when it is in one."""
        parts = re.findall(r"[A-Za-z_][\w-]*|\[\d+\]", key)
        if not parts:
            return None
        name = parts[-1]
        start, end = 0, len(self.lines)
        if parts[0] == "council":
            start = self._header_line(r"\[council\]") or 0
        elif parts[0] == "departments" and len(parts) > 1 and parts[1].startswith("["):
            index = int(parts[1][1:-1])
            headers = [i for i, ln in enumerate(self.lines) if re.match(r"\s*\[\[departments\]\]", ln)]
            if index < len(headers):
                start = headers[index]
                end = headers[index + 1] if index + 1 < len(headers) else len(self.lines)
        if name.startswith("["):
            return start + 1 if start else None
        for i in range(start, end):
            if re.match(rf"\s*{re.escape(name)}\s*=", self.lines[i]):
                return i + 1
        return start + 1 if start else None

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
        channel = self._str(council, "channel", "council.channel", pattern=CHANNEL_ID,
                            what="a Slack channel id (like C012AB3CD)")
        chair = self._str(council, "chair", "council.chair", pattern=USER_ID, what="a Slack user id (like U012AB3CD)")
        admins = self._users(council, "admins", "council.admins")
        tz = self._str(council, "timezone", "council.timezone", default="UTC")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail("council.timezone", f"{tz!r} is not a time zone (like Europe/Oslo)") from None
        stages = self._stages(council)
        departments = self._departments(data.get("departments"))
        return CouncilSpec(channel, chair, admins, tz, stages, departments)

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

    def _departments(self, departments: Any) -> tuple[DepartmentSpec, ...]:
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
            specs.append(DepartmentSpec(key, name, leads, advocates))
        return tuple(specs)
