"""Logging: readable lines by default, one JSON object a line with CXBOT_LOG_FORMAT=json.

Every line written while cxbot handles a Slack request carries that request's id and the
Slack user; lines about a CX review (outbox deliveries, sweeps) carry its number. Tokens
and secrets are never logged: nothing here formats headers or settings, and both formats
mask anything shaped like a Slack token in the finished line — message, arguments,
exception and traceback alike — whatever a library might print.
"""

from __future__ import annotations

import json
import logging
import random
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

TOKEN = re.compile(r"xox[abposre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")


def mask(text: str) -> str:
    return TOKEN.sub("xox…", text)


@dataclass
class Context:
    request_id: str = ""
    user: str | None = None
    review: int | None = None


_context: ContextVar[Context | None] = ContextVar("cxbot_log_context", default=None)


@contextmanager
def request_context() -> Iterator[Context]:
    """Tag the log lines of one Slack request (the id is ours: Slack sends none for interactions).

    The id only has to tell requests apart in the logs, so it comes from `random` (reseeded in
    every forked worker), not `uuid.uuid4()`: that reads the kernel's random source, a system
    call, and a request thread that makes one under load waits milliseconds to get Python's
    lock (the GIL) back."""
    context = Context(request_id=f"{random.getrandbits(48):012x}")
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)


@contextmanager
def review_context(review: int | None) -> Iterator[None]:
    token = _context.set(Context(review=review))
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Adds request_id, slack_user and review to every record (the formatters mask tokens)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or Context()
        record.request_id = context.request_id
        record.slack_user = context.user or ""
        record.review = context.review
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        for key in ("request_id", "slack_user", "review"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        if record.exc_info:
            entry["error"] = mask(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = mask(self.formatStack(record.stack_info))
        return mask(json.dumps(entry, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        tags = " ".join(f"{k}={v}" for k, v in (("request", getattr(record, "request_id", "")),
                                                ("user", getattr(record, "slack_user", "")),
                                                ("review", getattr(record, "review", None))) if v)
        line = super().format(record)
        return mask(f"{line} [{tags}]" if tags else line)


def configure(fmt: str = "text", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic's autogenerate plugins announce themselves at INFO on every check.
    logging.getLogger("alembic").setLevel(logging.WARNING)
