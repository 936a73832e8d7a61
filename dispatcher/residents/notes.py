"""Operators' notes about residents (what to remember on the next call); each note is an event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from dispatcher.errors import Code, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.models import Resident, ResidentNote
from dispatcher.residents.kinds import RESIDENT_NOTE_ADDED
from dispatcher.timeline import iso_local

MAX_NOTE_CHARS = 2000


def add_note(
    session: Session, tenant_id: str, resident_id: int, text: str, now: datetime, actor: str
) -> ResidentNote:
    resident = session.get(Resident, resident_id)
    if resident is None or resident.tenant_id != tenant_id:
        raise NotFound(f"No resident {resident_id}.", code=Code.resident_not_found)
    text = text.strip()
    if not text or len(text) > MAX_NOTE_CHARS:
        raise InvalidRequest(
            "The note cannot be saved.", [field_error("text", f"write 1 to {MAX_NOTE_CHARS} characters")]
        )
    note = ResidentNote(tenant_id=tenant_id, resident_id=resident_id, text=text, author=actor, created_at=now)
    session.add(note)
    session.flush()
    record(
        session,
        tenant_id,
        now,
        actor,
        RESIDENT_NOTE_ADDED,
        "resident",
        resident_id,
        after={"note_id": note.id},
    )
    return note


def notes_of(session: Session, tenant_id: str, resident_id: int, tz: Any) -> list[dict[str, Any]]:
    rows = session.exec(
        select(ResidentNote)
        .where(ResidentNote.tenant_id == tenant_id, ResidentNote.resident_id == resident_id)
        .order_by(col(ResidentNote.id).desc())
    )
    return [{"id": n.id, "text": n.text, "author": n.author, "at": iso_local(n.created_at, tz)} for n in rows]
