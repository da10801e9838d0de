"""The append-only audit log: every state change, with who, when and what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cxbot.store.models import AuditEvent


def record(session: Session, *, kind: str, actor: str, at: datetime, request_id: int | None = None,
           flush: bool = True, **data: Any) -> AuditEvent:
    """Add an event; `flush=False` when nothing needs its id yet (it is written with the
    transaction's next flush, in order)."""
    event = AuditEvent(request_id=request_id, actor=actor, kind=kind, at=at, data=data)
    session.add(event)
    if flush:
        session.flush()
    return event
