"""Row ids that arrive from people and from Slack payloads (a command's text, a button's
value, a form's private_metadata), read before any query sees them.

Python's `int()` takes any size and any Unicode digits; the databases do not: SQLite fails
with an OverflowError past 2**63 and PostgreSQL with an error past its `integer`. Every id
column is an `integer`, so a number outside 1..2**31-1 names no row and is refused as such.
"""

from __future__ import annotations

MAX_ID = 2**31 - 1


def parse_id(raw: object) -> int | None:
    """A row id from `raw` (ASCII digits, or an int), or None when it cannot name a row."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_ID)):
        value = int(raw)
    else:
        return None
    return value if 1 <= value <= MAX_ID else None
