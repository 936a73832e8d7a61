"""The event kinds residents records, and what of each payload outlives the retention period
(see `dispatcher.rides.kinds` for the format)."""

from __future__ import annotations

RESIDENT_NOTE_ADDED = "resident.note_added"
RESIDENT_FAVOURITES_SET = "resident.favourites_set"
HOUSEHOLD_REGISTERED = "household.registered"
HOUSEHOLD_UPDATED = "household.updated"
HOUSEHOLD_MOVED = "household.moved"
RESIDENT_REGISTERED = "resident.registered"
RESIDENT_UPDATED = "resident.updated"
RESIDENT_EVIDENCE_SET = "resident.evidence_set"
RESIDENT_PAUSED = "resident.paused"
RESIDENT_RESUMED = "resident.resumed"
RESIDENT_ENDED = "resident.ended"

RETENTION: dict[str, tuple[str, ...] | None] = {
    RESIDENT_NOTE_ADDED: None,  # the note's id; the note itself is deleted
    RESIDENT_FAVOURITES_SET: (),  # where a person likes to go
    # names, addresses, phones and evidence go; that a registration happened, and its dates, stay
    HOUSEHOLD_REGISTERED: ("settlement", "hall_id"),
    HOUSEHOLD_UPDATED: (),
    HOUSEHOLD_MOVED: ("settlement", "hall_id", "on"),
    RESIDENT_REGISTERED: ("household_id",),
    RESIDENT_UPDATED: (),
    RESIDENT_EVIDENCE_SET: (),
    RESIDENT_PAUSED: ("on",),
    RESIDENT_RESUMED: (),
    RESIDENT_ENDED: ("on", "reason"),
}
