"""The append-only event log: every change of state with who and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from dispatcher.models import Event


def record(
    session: Session,
    tenant_id: str,
    at: datetime,
    actor: str,
    kind: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> Event:
    """Add an event to the session (written with the transaction that made the change)."""
    ev = Event(
        tenant_id=tenant_id,
        at=at,
        actor=actor,
        kind=kind,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
    )
    session.add(ev)
    return ev
