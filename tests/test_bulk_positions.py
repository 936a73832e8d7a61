"""A fleet's positions in one call (`POST /api/v1/vehicles/positions`), on both databases: one
transaction under one lock, each position applied as the vehicle's own report would be, a position
that cannot be taken answered with its problem while the others are stored, and the live plan view
moved on rather than dropped."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.db import lock_seq
from dispatcher.models import Event, Ride, Vehicle
from dispatcher.rides.plan import LiveView
from tests.conftest import DAY_START, token_headers
from tests.riders import book_from_home, living_alone

TENANT = "ina-demo"
URL = "/api/v1/vehicles/positions"


def _vehicles(ctx: Dispatcher) -> list[Vehicle]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Vehicle).where(Vehicle.tenant_id == TENANT).order_by(col(Vehicle.id))))


def _seq(ctx: Dispatcher) -> int:
    with Session(ctx.engine) as s:
        return lock_seq(s, TENANT)


def test_a_fleet_reports_in_one_call_and_bad_positions_are_answered_one_by_one(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock
) -> None:
    a, b = living_alone(ctx, 2)
    ride = book_from_home(client, operator, a, 30)
    book_from_home(client, operator, b, 45)
    fleet = _vehicles(ctx)
    clock.advance(timedelta(minutes=2))
    seq = _seq(ctx)
    with Session(ctx.engine) as s:
        events = len(s.exec(select(Event).where(Event.kind == "vehicle.position")).all())
    late = DAY_START.isoformat()  # before the reports below: out of order for the vehicle that repeats
    body = {
        "positions": [
            {"vehicle_id": v.id, "lat": v.depot_lat + 0.001 * k, "lon": v.depot_lon}
            for k, v in enumerate(fleet)
        ]
        + [
            {"vehicle_id": 999999, "lat": 35.84, "lon": 137.96},
            {"vehicle_id": fleet[0].id, "lat": 35.84, "lon": 137.96, "at": late},
            {
                "vehicle_id": fleet[1].id,
                "lat": 35.84,
                "lon": 137.96,
                "at": (clock.now() + timedelta(minutes=5)).isoformat(),
            },
        ]
    }
    r = client.post(URL, json=body, headers=operator)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["accepted"], out["rejected"]) == (len(fleet), 3)
    codes = [[e["code"] for e in x["errors"]] for x in out["results"][len(fleet) :]]
    assert codes == [["vehicle.not_found"], ["report.out_of_order"], ["time.future"]]
    assert all(x["status"] == "accepted" and x["at"] for x in out["results"][: len(fleet)])
    # one lock for the whole batch, and the bookings' view of the plan moved on with it
    assert _seq(ctx) == seq + 1
    view = ctx.views.get((TENANT, DAY_START.date()))
    assert isinstance(view, LiveView) and view.seq == seq + 1
    for k, v in enumerate(_vehicles(ctx)):
        assert (v.last_lat, v.last_lon) == (fleet[k].depot_lat + 0.001 * k, fleet[k].depot_lon)
        assert view.vehicles[v.id].last_lat == v.last_lat  # the view holds the new positions
    with Session(ctx.engine) as s:
        after = len(s.exec(select(Event).where(Event.kind == "vehicle.position")).all())
    assert after == events + len(fleet)  # an event per stored position, none for the rejected ones

    # a vehicle far from its next pickup: its times move, the plan stores them, the rides say so
    vid = ride["vehicle_id"]
    with Session(ctx.engine) as s:
        before = s.get_one(Ride, ride["id"]).planned_pickup
    clock.set(DAY_START + timedelta(minutes=25))  # 5 minutes before its pickup window opens
    far = client.post(
        URL, json={"positions": [{"vehicle_id": vid, "lat": 35.74, "lon": 138.10}]}, headers=operator
    )
    assert far.status_code == 200 and far.json()["accepted"] == 1, far.text
    with Session(ctx.engine) as s:
        assert s.get_one(Ride, ride["id"]).planned_pickup != before


def test_a_driver_reports_only_his_companys_vehicles_and_bad_bodies_get_problems(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str]
) -> None:
    fleet = _vehicles(ctx)
    ops = client.get("/api/v1/vehicles", headers=operator).json()
    company = {v["id"]: v["operator"] for v in ops}
    mine = fleet[0]
    other = next(v for v in fleet if company[v.id] != company[mine.id])
    driver = token_headers(client, f"ina-demo-driver-{company[mine.id]}")
    r = client.post(
        URL,
        json={"positions": [{"vehicle_id": v.id, "lat": 35.84, "lon": 137.96} for v in (mine, other)]},
        headers=driver,
    )
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["accepted", "rejected"]
    assert r.json()["results"][1]["errors"][0]["code"] == "vehicle.not_yours"
    with Session(ctx.engine) as s:
        assert s.get_one(Vehicle, other.id).last_lat is None  # untouched

    for bad in (
        {"positions": []},
        {"positions": [{"vehicle_id": mine.id, "lat": 91, "lon": 137.96}]},
        {"positions": [{"vehicle_id": mine.id, "lat": True, "lon": 137.96}]},
        {"positions": [{"vehicle_id": mine.id, "lat": 35.8, "lon": 137.9}] * 1001},
        {"positions": [{"vehicle_id": mine.id, "lat": 35.8}]},
        {"fleet": []},
    ):
        r = client.post(URL, json=bad, headers=operator)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"] and all(e.get("code") for e in r.json()["errors"])
    assert client.post(URL, json={"positions": []}).status_code == 401
