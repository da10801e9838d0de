"""The append-only audit log: every state change, with who, when and what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cxbot.store.models import AuditEvent


def record(session: Session, *, kind: str, actor: str, at: datetime, request_id: int | None = None,
           **data: Any) -> AuditEvent:
    event = AuditEvent(request_id=request_id, actor=actor, kind=kind, at=at, data=data)
    session.add(event)
    session.flush()
    return event
