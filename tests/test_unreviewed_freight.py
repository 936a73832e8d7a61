"""Issue 20, "Field data is checked before it becomes statistics", for goods in a taxi and for the
open data: a freight job's flagged tap awaiting review stays out of the vehicle's hours and km (as
a passenger ride's does) and is counted as unreviewed; the open-data CSV of the nightly figures says
how many unreviewed records each day leaves out, and its row changes once they are reviewed.
SQLite and PostgreSQL (the `ctx` fixture)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event
from dispatcher.reporting.daily_stats import close_day, close_pending_days
from dispatcher.reporting.stats import ridership
from dispatcher.rides.field_checks import review, to_review
from dispatcher.rides.freight import book_freight
from routing.geo import Point
from tests.conftest import DAY_START

DAY = DAY_START.date()
TENANT = "ina-demo"


def _csv_row(client: TestClient) -> dict[str, str]:
    r = client.get("/opendata/ridership.csv", params={"from": DAY.isoformat(), "to": DAY.isoformat()})
    assert r.status_code == 200, r.text
    (row,) = list(csv.DictReader(io.StringIO(r.text)))
    return row


def test_a_flagged_freight_tap_stays_out_of_vehicle_km_and_the_csv_says_how_many(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock: SimClock
) -> None:
    cfg = ctx.config(TENANT)
    assert cfg.drones is not None
    base = cfg.drones.base
    hall = next(p.id for p in cfg.places if p.kind == "community_hall")
    clock.set(DAY_START + timedelta(hours=1))
    ride = book_freight(
        ctx,
        TENANT,
        DAY,
        Point(base.lat, base.lon),
        hall,
        [],
        5.0,
        clock.now(),
        clock.now() + timedelta(hours=3),
        "system:test",
    )
    assert ride is not None and ride.vehicle_id is not None and ride.pickup_window_start is not None
    assert ride.direct_seconds > 240  # a drop-off one minute after the pickup cannot be true
    events = f"/api/v1/vehicles/{ride.vehicle_id}/events"
    clock.set(max(clock.now(), ride.pickup_window_start))
    r = client.post(events, json={"type": "picked_up", "ride_id": ride.id}, headers=operator)
    assert r.status_code == 200, r.text
    clock.advance(timedelta(minutes=1))
    r = client.post(events, json={"type": "dropped_off", "ride_id": ride.id}, headers=operator)
    assert r.status_code == 200, r.text
    with Session(ctx.engine) as s:
        flags = s.exec(select(Event).where(col(Event.kind) == "ride.report_flagged")).all()
    assert [(f.entity_id, (f.after or {}).get("check")) for f in flags] == [
        (str(ride.id), "dropoff_too_soon")
    ]

    # Unreviewed: the goods' taps are no part of the vehicle's hours and km, and are counted.
    held = ridership(ctx, TENANT, DAY, DAY)["totals"]
    assert (held["km"], held["vehicle_hours"]) == (0.0, 0.0)
    assert (held["unreviewed_rides"], held["unreviewed_records"]) == (1, 1)
    assert held["trips"] == 0  # goods are never passenger trips

    # The night's close, and the open data that carries it, say how many records it leaves out.
    clock.set(DAY_START + timedelta(days=1, hours=-6))  # 02:00 the next night
    close_day(ctx, TENANT, DAY)
    row = _csv_row(client)
    assert (row["unreviewed_rides"], row["unreviewed_positions"]) == ("1", "0")
    assert float(row["km"]) == 0.0
    assert list(row)[-2:] == ["unreviewed_rides", "unreviewed_positions"]  # older columns keep their places

    # The operator confirms the tap: the goods' km count, and the day is closed again the next night.
    clock.set(DAY_START + timedelta(days=1, hours=1))  # 09:00 the next morning
    (flag,) = to_review(ctx, TENANT)
    review(ctx, TENANT, flag["id"], "confirmed", "user:ina-demo-operator")
    counted = ridership(ctx, TENANT, DAY, DAY)["totals"]
    assert counted["km"] > 0 and counted["vehicle_hours"] > 0
    assert (counted["unreviewed_rides"], counted["unreviewed_records"]) == (0, 0)
    clock.set(DAY_START + timedelta(days=2, hours=-6))
    close_pending_days(ctx, TENANT, DAY + timedelta(days=1))
    row = _csv_row(client)
    assert (row["unreviewed_rides"], row["unreviewed_positions"]) == ("0", "0")
    assert float(row["km"]) == counted["km"]
