"""The delivery day on SQLite and PostgreSQL: 60 orders, the cut-off, flights, pick lists,
hand-over lists and mission files through the API."""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from shapely.geometry import LineString
from sqlmodel import Session, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event, Household, Membership, Ride, ShopOrder
from dispatcher.shopping.delivery import airspace, plan_delivery
from routing.drones import LANDING_S
from tests.conftest import DAY_START
from tests.planning import verify_plan

DAY = DAY_START.date()


def place_orders(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher, n: int, seed: int
) -> list[int]:
    rng = random.Random(seed)
    cfg = ctx.config("ina-demo")
    drone_halls = {h.place_id for h in cfg.drones.halls}
    with Session(ctx.engine) as s:
        members = {m.household_id for m in s.exec(select(Membership))}
        households = [h for h in s.exec(select(Household).order_by(Household.id)) if h.id in members]
    valley = [h for h in households if h.hall_id in drone_halls]
    others = [h for h in households if h.hall_id not in drone_halls]
    items = [i for i in client.get("/api/v1/catalog", headers=operator).json() if i["weight_g"] <= 1500]
    ids = []
    for k in range(n):
        hh = rng.choice(valley if k % 10 else others)  # most orders from the drone valley
        lines = [{"product_id": it["id"], "quantity": 1} for it in rng.sample(items, rng.randint(1, 3))]
        r = client.post(
            "/api/v1/orders",
            json={"household_id": hh.id, "lines": lines},
            headers={**operator, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


CHECKLIST = {"battery": True, "weather": True, "corridor": True}


def fly(
    client: TestClient, clock: SimClock, flight: dict, headers: dict[str, str], minutes_per_hall: int
) -> None:
    """The drone operator loads, takes off after the checklist and lands at each hall in turn."""
    url = f"/api/v1/flights/{flight['id']}/steps"
    assert client.post(url, json={"action": "loaded"}, headers=headers).status_code == 200
    r = client.post(url, json={"action": "departed", "checklist": CHECKLIST}, headers=headers)
    assert r.status_code == 200, r.text
    for hall in flight["halls"]:
        clock.advance(timedelta(minutes=minutes_per_hall))
        assert (
            client.post(url, json={"action": "landed", "hall_id": hall}, headers=headers).status_code == 200
        )


def test_delivery_day(client: TestClient, operator: dict[str, str], ctx: Dispatcher, clock: SimClock) -> None:
    ids = place_orders(client, operator, ctx, 60, seed=4)
    early = client.get("/api/v1/flights", params={"date": DAY.isoformat()}, headers=operator).json()
    assert early == []
    clock.set(DAY_START.replace(hour=11, minute=5))
    summary = plan_delivery(ctx, "ina-demo", DAY)
    assert summary["orders"] == 60 and summary["by_drone"] + summary["by_ground"] == 60
    assert summary["by_drone"] >= 45
    assert summary["by_drone"] + summary["by_taxi"] == 60 and summary["needs_car_run"] == 0  # all reach halls
    cfg = ctx.config("ina-demo")
    graph, zones, drones, base = airspace(cfg)
    specs = {d.id: d for d in drones}
    flights = client.get("/api/v1/flights", params={"date": DAY.isoformat()}, headers=operator).json()
    assert len(flights) == summary["flights"]
    flown = set()
    for f in flights:
        d = specs[f["drone"]]
        assert f["payload_kg"] <= d.payload_kg
        minutes = f["distance_km"] * 1000 / d.cruise_speed_ms / 60 + LANDING_S / 60 * len(f["halls"])
        assert minutes <= d.endurance_min - d.reserve_min + 0.01
        assert f["return"] <= "2026-11-24T17:00:00+09:00"
        flown |= set(f["orders"])
        doc = json.loads(client.get(f"/api/v1/flights/{f['id']}/plan", headers=operator).content)
        cmds = [i["command"] for i in doc["mission"]["items"]]
        assert cmds[0] == 22 and cmds[-1] == 21 and set(cmds) <= {16, 21, 22}
        assert doc["geoFence"]["polygons"]
        path = LineString([(i["params"][5], i["params"][4]) for i in doc["mission"]["items"]])
        assert not any(path.intersects(z.polygon()) for z in zones)
    with Session(ctx.engine) as s:
        orders = s.exec(select(ShopOrder).where(ShopOrder.delivery_date == DAY)).all()
    assert {o.id for o in orders} == set(ids) and all(o.status == "locked" for o in orders)
    assert {o.id for o in orders if o.delivery_mode == "drone"} == flown
    assert all(o.ground_reason for o in orders if o.delivery_mode == "ground")
    # pick lists: every ordered unit once; hand-over lists: every order once under its hall
    picks = client.get("/api/v1/picklists", params={"date": DAY.isoformat()}, headers=operator).json()
    ordered = sum(
        x["quantity"]
        for o in ids
        for x in client.get(f"/api/v1/orders/{o}", headers=operator).json()["lines"]
    )
    assert sum(i["quantity"] for sheet in picks for i in sheet["items"]) == ordered
    hand = client.get("/api/v1/handovers", params={"date": DAY.isoformat()}, headers=operator).json()
    assert sorted(d["order_id"] for sheet in hand for d in sheet["deliveries"]) == sorted(ids)
    for sheet in hand:
        for d in sheet["deliveries"]:
            assert d["mode"] in ("drone", "ground")
            if d["mode"] == "drone":
                assert d["arrives"] and datetime.fromisoformat(d["arrives"]) <= DAY_START.replace(hour=17)
    verify_plan(ctx, "ina-demo", DAY)  # the taxi plans that took freight keep every promise
    # planning again replaces the day's flights instead of adding to them
    plan_delivery(ctx, "ina-demo", DAY)
    assert len(
        client.get("/api/v1/flights", params={"date": DAY.isoformat()}, headers=operator).json()
    ) == len(flights)


def test_no_go_weather_and_planning_before_the_cutoff(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher, clock: SimClock
) -> None:
    place_orders(client, operator, ctx, 8, seed=5)
    try:
        plan_delivery(ctx, "ina-demo", DAY)
        raise AssertionError("planned before the cut-off")
    except Exception as e:  # noqa: BLE001
        assert getattr(e, "status", None) == 409 and "11:00" in str(e)
    clock.set(DAY_START.replace(hour=11, minute=1))
    summary = plan_delivery(ctx, "ina-demo", DAY, wind_ms=15.0, rain=True)
    assert summary["flights"] == 0 and summary["by_ground"] == 8
    assert summary["ground_reasons"] == ["no-go weather (wind 15 m/s, rain): goods go by ground"]
    # the goods ride in taxis' idle time: freight jobs in the taxi plans, every promise kept
    assert summary["by_taxi"] + summary["needs_car_run"] == 8 and summary["by_taxi"] >= 6
    with Session(ctx.engine) as s:
        freight = s.exec(select(Ride).where(Ride.kind == "freight", Ride.status == "confirmed")).all()
        orders = s.exec(select(ShopOrder).where(ShopOrder.delivery_date == DAY)).all()
    assert {o.freight_ride_id for o in orders if o.freight_ride_id} == {r.id for r in freight}
    for r in freight:
        assert r.latest_arrival <= DAY_START.replace(hour=17) and r.planned_dropoff <= r.latest_arrival
        manifest = client.get(f"/api/v1/vehicles/{r.vehicle_id}/manifest", headers=operator).json()
        cargo = [x for x in manifest["stops"] if x["ride_id"] == r.id]
        assert [x["kind"] for x in cargo] == ["pickup", "dropoff"] and cargo[0]["ride_kind"] == "freight"
    verify_plan(ctx, "ina-demo", DAY)
    # planning again replaces the freight jobs instead of adding more
    plan_delivery(ctx, "ina-demo", DAY, wind_ms=15.0, rain=True)
    with Session(ctx.engine) as s:
        again = s.exec(select(Ride).where(Ride.kind == "freight", Ride.status == "confirmed")).all()
    assert len(again) == len(freight)
    verify_plan(ctx, "ina-demo", DAY)


def test_cutoff_job_plans_each_day_once(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher, clock: SimClock
) -> None:
    from dispatcher.platform.scheduler import run_due

    place_orders(client, operator, ctx, 5, seed=6)
    clock.set(DAY_START.replace(hour=10, minute=59))
    assert not [r for r in run_due(ctx, ("dispatch",)) if r["job"] == "delivery-cutoff"]  # before 11:00
    clock.set(DAY_START.replace(hour=11, minute=1))
    first = [r for r in run_due(ctx, ("dispatch",)) if r["job"] == "delivery-cutoff"]
    assert len(first) == 1 and first[0]["detail"]["orders"] == 5
    assert first[0]["due_at"].startswith("2026-11-24T02:00:00")  # 11:00 local, in UTC
    clock.set(DAY_START.replace(hour=11, minute=2))
    assert not [r for r in run_due(ctx, ("dispatch",)) if r["job"] == "delivery-cutoff"]  # once a day
    with Session(ctx.engine) as s:
        planned = s.exec(select(Event).where(Event.kind == "delivery.planned")).all()
    assert len(planned) == 1
    flights = client.get("/api/v1/flights", params={"date": DAY.isoformat()}, headers=operator).json()
    assert all(f["path"]["geometry"]["type"] == "LineString" for f in flights)


def test_weather_slots_ground_or_delay_flights(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher, clock: SimClock
) -> None:
    place_orders(client, operator, ctx, 12, seed=7)
    bad = client.put(
        f"/api/v1/weather/{DAY.isoformat()}",
        json={"slots": [{"start": "14:00", "end": "12:00", "wind_ms": 3}]},
        headers=operator,
    )
    assert bad.status_code == 422 and "start must be before end" in bad.text
    storm = {"slots": [{"start": "12:00", "end": "14:30", "wind_ms": 13.5, "rain": False}]}
    r = client.put(f"/api/v1/weather/{DAY.isoformat()}", json=storm, headers=operator)
    assert r.status_code == 200 and r.json()["slots"][0]["wind_ms"] == 13.5
    clock.set(DAY_START.replace(hour=11, minute=2))
    summary = plan_delivery(ctx, "ina-demo", DAY)
    assert summary["weather"] == storm["slots"] and summary["flights"] >= 1
    for f in client.get("/api/v1/flights", params={"date": DAY.isoformat()}, headers=operator).json():
        assert f["departure"] >= "2026-11-24T14:30:00+09:00"  # every sortie waits out the storm
    all_day = {"slots": [{"start": "08:00", "end": "18:00", "wind_ms": 20, "rain": True}]}
    client.put(f"/api/v1/weather/{DAY.isoformat()}", json=all_day, headers=operator)
    grounded = plan_delivery(ctx, "ina-demo", DAY)
    assert grounded["flights"] == 0 and grounded["by_ground"] == 12
    assert grounded["ground_reasons"] == ["no-go weather (wind 20 m/s, rain): goods go by ground"]


def test_order_lifecycle_after_planning(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher, clock: SimClock
) -> None:
    ids = place_orders(client, operator, ctx, 10, seed=8)
    clock.set(DAY_START.replace(hour=11, minute=3))
    plan_delivery(ctx, "ina-demo", DAY)
    with Session(ctx.engine) as s:
        drone = next(o.id for o in s.exec(select(ShopOrder)) if o.delivery_mode == "drone" and o.id in ids)
        ground = next(o.id for o in s.exec(select(ShopOrder)) if o.delivery_mode == "ground" and o.id in ids)

    def to(order_id: int, status: str):
        return client.post(f"/api/v1/orders/{order_id}/status", json={"status": status}, headers=operator)

    assert to(drone, "at_hall").status_code == 409  # cannot skip picking and the flight
    for status in ("picked", "at_base", "in_flight", "at_hall", "handed_over"):
        r = to(drone, status)
        assert r.status_code == 200 and r.json()["status"] == status, r.text
    assert to(ground, "picked").status_code == 200 and to(ground, "at_base").status_code == 200
    refused = to(ground, "in_flight")
    assert refused.status_code == 409 and "by ground" in refused.json()["detail"]
    assert to(ground, "on_the_road").status_code == 200 and to(ground, "handed_over").status_code == 200
    assert to(ground, "nonsense").status_code == 422
    with Session(ctx.engine) as s:
        kinds = [
            e.kind
            for e in s.exec(
                select(Event).where(Event.entity == "order", Event.entity_id == str(drone)).order_by(Event.id)
            )
        ]
    assert kinds == [
        "order.placed",
        "order.locked",
        "order.picked",
        "order.at_base",
        "order.in_flight",
        "order.at_hall",
        "order.handed_over",
    ]
