"""The append-only event log: every change of state with who and when."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

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


def chunks(ids: Sequence[Any], n: int = 500) -> Iterable[Sequence[Any]]:
    """Slices of at most n ids, for IN (...) lists every database accepts."""
    for i in range(0, len(ids), n):
        yield ids[i : i + n]


def events_of(
    session: Session, tenant_id: str, entity: str, ids: Iterable[object], kinds: Sequence[str] | None = None
) -> list[Event]:
    """The events of these entities (optionally of some kinds only), oldest first."""
    keys = [str(i) for i in ids]
    out: list[Event] = []
    for part in chunks(keys):
        q = select(Event).where(
            Event.tenant_id == tenant_id, Event.entity == entity, col(Event.entity_id).in_(part)
        )
        if kinds is not None:
            q = q.where(col(Event.kind).in_(kinds))
        out += session.exec(q).all()
    out.sort(key=lambda e: (e.at, e.id or 0))
    return out
