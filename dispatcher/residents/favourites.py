"""A resident's favourite places: the destinations the TV offers first, on digit keys 1-9."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from dispatcher.errors import Code, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.models import Resident
from dispatcher.residents.kinds import RESIDENT_FAVOURITES_SET
from dispatcher.tenant_config import TenantConfig

MAX_FAVOURITES = 9  # the TV's digit keys


def set_favourites(
    session: Session, cfg: TenantConfig, resident_id: int, place_ids: list[str], now: datetime, actor: str
) -> list[str]:
    """Replace a resident's favourites (most used first, duplicates dropped); every place must be one
    of the tenant's. Recorded as an event with the list before and after."""
    unknown = [f"place_ids[{i}]" for i, pid in enumerate(place_ids) if cfg.place(pid) is None]
    if unknown:
        raise InvalidRequest(
            "Unknown places; GET /api/v1/places lists them.",
            [field_error(f, "unknown place", code=Code.place_unknown) for f in unknown],
        )
    r = session.get(Resident, resident_id)
    if r is None or r.tenant_id != cfg.id:
        raise NotFound(f"No resident {resident_id}.", code=Code.resident_not_found)
    before = list(r.favourite_places or [])
    r.favourite_places = list(dict.fromkeys(place_ids))[:MAX_FAVOURITES]
    session.add(r)
    record(
        session,
        cfg.id,
        now,
        actor,
        RESIDENT_FAVOURITES_SET,
        "resident",
        r.id,
        before={"favourites": before},
        after={"favourites": r.favourite_places},
    )
    return r.favourite_places
