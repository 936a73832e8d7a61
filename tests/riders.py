"""Test helpers: residents who live alone, and booking one of them a ride through the API."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.models import Resident
from tests.conftest import DAY_START


def living_alone(ctx: Dispatcher, n: int) -> list[Resident]:
    """n residents who live alone (each a household of one), near each other."""
    with Session(ctx.engine) as s:
        rows = s.exec(select(Resident).order_by(col(Resident.id))).all()
    by_hh: dict[int, list[Resident]] = {}
    for r in rows:
        by_hh.setdefault(r.household_id, []).append(r)
    alone = [m[0] for m in by_hh.values() if len(m) == 1 and m[0].favourite_places]
    first = alone[0]
    alone.sort(key=lambda r: (r.lat - first.lat) ** 2 + (r.lon - first.lon) ** 2)
    return alone[:n]


def book_from_home(client: TestClient, operator: dict[str, str], r: Resident, minutes: int) -> dict:
    """An operator's booking from the resident's home to its first favourite place, pickup after
    `minutes` past the test day's start; asserts it is confirmed (201) and returns the ride."""
    body = {
        "resident_id": r.id,
        "origin": {"lat": r.lat, "lon": r.lon},
        "destination": {"place_id": r.favourite_places[0]},
        "pickup_after": (DAY_START + timedelta(minutes=minutes)).isoformat(),
    }
    res = client.post("/api/v1/rides", json=body, headers={**operator, "Idempotency-Key": uuid.uuid4().hex})
    assert res.status_code == 201, res.text
    return res.json()
