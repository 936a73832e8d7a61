"""`noriai backup` / `noriai restore`: a round trip on SQLite and PostgreSQL restores exactly what
was backed up; a restore into a database holding data, or from a file that is not a backup of
that kind, is refused and changes nothing."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from api.cli import main
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event, Resident, Ride
from dispatcher.platform.backup import BackupError, backup, holds_data, restore
from dispatcher.rides.booking import Location, RideRequest, book
from tests.conftest import DAY_START


def _ride(ctx: Dispatcher, k: int) -> int:
    with Session(ctx.engine) as s:
        rid = s.exec(select(Resident.id).order_by(col(Resident.id)).offset(k).limit(1)).one()
    req = RideRequest(
        resident_id=rid,
        origin=Location(place_id="hall-misuzu"),
        destination=Location(place_id="central-hospital"),
        pickup_after=DAY_START.replace(hour=10 + k),
    )
    out = book(ctx, "ina-demo", req, str(uuid.uuid4()), "test")
    assert out.ride.id is not None
    return out.ride.id


def _state(ctx: Dispatcher) -> tuple[list[tuple[int, str]], int, int]:
    with Session(ctx.engine) as s:
        rides = [(r.id, r.status) for r in s.exec(select(Ride).order_by(col(Ride.id)))]
        events = s.exec(select(func.count()).select_from(Event)).one()
        residents = s.exec(select(func.count()).select_from(Resident)).one()
    return rides, events, residents


def test_backup_and_restore_round_trip(ctx: Dispatcher, db_url: str, clock: SimClock, tmp_path: Path) -> None:
    first = _ride(ctx, 0)
    before = _state(ctx)
    out = tmp_path / "backup.bin"
    os.environ["DATABASE_URL"] = db_url
    try:
        assert main(["backup", "--out", str(out)]) == 0
    finally:
        del os.environ["DATABASE_URL"]
    assert out.stat().st_size > 10_000
    # after the backup the day goes on: another booking, a cancellation
    second = _ride(ctx, 1)
    from dispatcher.rides.cancellation import cancel

    cancel(ctx, "ina-demo", first, "test")
    assert _state(ctx) != before
    ctx.engine.dispose()
    # a database that holds data is not overwritten by mistake
    with pytest.raises(BackupError, match="already holds data"):
        restore(db_url, out)
    assert second in [r for r, _ in _state(ctx)[0]]
    restore(db_url, out, force=True)
    ctx.engine.dispose()
    ctx.views.clear()
    assert _state(ctx) == before  # exactly what was backed up: the second ride is gone, the first confirmed
    assert dict(_state(ctx)[0])[first] == "confirmed"
    # and the restored service works on: a booking after the restore
    assert _ride(ctx, 2) > first


def test_restore_refuses_what_is_not_a_backup_of_that_kind(
    ctx: Dispatcher, db_url: str, tmp_path: Path
) -> None:
    before = _state(ctx)
    junk = tmp_path / "notes.txt"
    junk.write_text("not a backup", encoding="utf-8")
    with pytest.raises(BackupError, match="not made by noriai backup"):
        restore(db_url, junk, force=True)
    with pytest.raises(BackupError, match="no backup file"):
        restore(db_url, tmp_path / "missing.sqlite", force=True)
    if db_url.startswith("sqlite"):
        damaged = tmp_path / "damaged.sqlite"
        backup(db_url, damaged)
        blob = bytearray(damaged.read_bytes())
        blob[5000:9000] = b"\xff" * 4000  # pages of the tables overwritten
        damaged.write_bytes(bytes(blob))
        with pytest.raises(BackupError, match="damaged"):
            restore(db_url, damaged, force=True)
    ctx.engine.dispose()
    assert _state(ctx) == before


def test_sqlite_backup_restores_into_a_new_database(
    sqlite_ctx: Dispatcher, sqlite_url: str, tmp_path: Path
) -> None:
    ctx = sqlite_ctx
    _ride(ctx, 0)
    before = _state(ctx)
    out = tmp_path / "b.sqlite"
    backup(sqlite_url, out)
    fresh = f"sqlite:///{tmp_path / 'elsewhere' / 'new.db'}"
    assert not holds_data(fresh)
    restore(fresh, out)
    assert holds_data(fresh)
    from dispatcher.db import make_engine

    engine = make_engine(fresh)
    with Session(engine) as s:
        rides = [(r.id, r.status) for r in s.exec(select(Ride).order_by(col(Ride.id)))]
    engine.dispose()
    assert rides == before[0]
