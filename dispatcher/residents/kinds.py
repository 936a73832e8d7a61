"""The event kinds residents records, and what of each payload outlives the retention period
(see `dispatcher.rides.kinds` for the format)."""

from __future__ import annotations

RESIDENT_NOTE_ADDED = "resident.note_added"
RESIDENT_FAVOURITES_SET = "resident.favourites_set"

RETENTION: dict[str, tuple[str, ...] | None] = {
    RESIDENT_NOTE_ADDED: None,  # the note's id; the note itself is deleted
    RESIDENT_FAVOURITES_SET: (),  # where a person likes to go
}
