"""Residents' step of the retention purge (`dispatcher.platform.retention`): residents who left
(inactive, nothing of theirs after the horizon) are anonymised, and so are households nobody is
left in; a former resident's notes written before the horizon go."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from dispatcher.db import changed_rows
from dispatcher.events import chunks
from dispatcher.models import Event, Household, Resident, ResidentNote

ANONYMISED = "（退会）"  # the family name of an anonymised resident
REMOVED = 0.0  # a removed coordinate


def purge_notes(session: Session, tenant_id: str, end: datetime, counts: Counter[str]) -> None:
    """A former resident's notes written before the horizon. A registered resident's notes stay:
    「耳が遠い」 matters on every call, however old."""
    counts["resident_note.deleted"] += changed_rows(
        session,
        delete(ResidentNote).where(
            col(ResidentNote.tenant_id) == tenant_id,
            col(ResidentNote.created_at) < end,
            col(ResidentNote.resident_id).in_(
                select(Resident.id).where(Resident.tenant_id == tenant_id, col(Resident.active).is_(False))
            ),
        ),
    )


def leavers(session: Session, tenant_id: str, end: datetime) -> dict[int, Resident]:
    """Residents who left before the horizon and are not anonymised yet: inactive, registered
    before it, and no event about them since."""
    people = {
        r.id: r
        for r in session.exec(
            select(Resident).where(
                Resident.tenant_id == tenant_id,
                col(Resident.active).is_(False),
                col(Resident.registered_at) < end,
                or_(col(Resident.family_name) != ANONYMISED, col(Resident.given_name) != ""),
            )
        )
        if r.id is not None
    }
    if not people:
        return people
    recent = {
        int(x)
        for x in session.exec(
            select(Event.entity_id)
            .where(Event.tenant_id == tenant_id, Event.entity == "resident", col(Event.at) >= end)
            .distinct()
        )
        if x.isdigit()
    }
    return {rid: r for rid, r in people.items() if rid not in recent}


def anonymise_residents(session: Session, people: Collection[Resident], counts: Counter[str]) -> list[int]:
    """Blank names, kana, phone, home, registration number, eligibility evidence, pause reason, notes
    and favourite places; birth date, household and registration date stay (age and settlement
    breakdowns of past figures need them). Their notes go. Returns their ids."""
    for r in people:
        r.family_name, r.given_name, r.family_kana, r.given_kana = ANONYMISED, "", "", ""
        r.phone, r.notes, r.lat, r.lon = "", "", REMOVED, REMOVED
        r.evidence, r.wheelchair, r.companion_needed, r.favourite_places = [], False, False, []
        r.registration_no, r.pause_reason = None, ""  # the municipality's number names the person
        session.add(r)
    counts["resident.anonymised"] += len(people)
    ids = sorted(r.id for r in people if r.id is not None)
    for part in chunks(ids):
        counts["resident_note.deleted"] += changed_rows(
            session, delete(ResidentNote).where(col(ResidentNote.resident_id).in_(part))
        )
    session.flush()
    return ids


def anonymise_households(session: Session, tenant_id: str, busy: set[int], counts: Counter[str]) -> list[int]:
    """Anonymise the households with personal data that are not `busy` (used by another context)
    and have nobody registered or not yet anonymised in them: address and phone blanked, home
    (0, 0); the hall stays (figures by settlement). Returns their ids."""
    homes = {
        h.id: h
        for h in session.exec(
            select(Household).where(
                Household.tenant_id == tenant_id,
                or_(
                    col(Household.address) != "",
                    col(Household.phone) != "",
                    col(Household.lat) != REMOVED,
                    col(Household.lon) != REMOVED,
                ),
            )
        )
    }
    if not homes:
        return []
    occupied = set(
        session.exec(
            select(Resident.household_id).where(
                Resident.tenant_id == tenant_id,
                or_(
                    col(Resident.active).is_(True),
                    col(Resident.family_name) != ANONYMISED,
                    col(Resident.given_name) != "",
                ),
            )
        )
    )
    gone = sorted(hid for hid in homes if hid is not None and hid not in busy and hid not in occupied)
    for hid in gone:
        h = homes[hid]
        h.address, h.phone, h.lat, h.lon = "", "", REMOVED, REMOVED
        session.add(h)
    counts["household.anonymised"] += len(gone)
    return gone
