"""Issue 7, acceptance 1 on SQLite and PostgreSQL: the statistics of a replayed day equal values
computed here, by hand, from the same events (sharing rate included); small cells are suppressed;
nothing personal reaches the municipality's role."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event, Household, OrderLine, Resident, Ride, ShopOrder
from dispatcher.reporting.stats import MIN_CELL, ridership, shopping, suppress
from dispatcher.shopping.delivery import plan_delivery
from simulations.demo_day import run_day
from tests.conftest import DAY_START, token_headers
from tests.test_delivery import fly, place_orders

DAY = DAY_START.date()
END_OF_SERVICE = DAY_START.replace(hour=17, minute=30)


def _absent(ride_id: int) -> bool:
    return ride_id % 9 == 4  # these riders do not come out


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance, written out here (the demo's model: straight line x 1.30)."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def _by_hand(ctx: Dispatcher) -> dict[str, object]:
    """The day's figures from the event log, written out plainly."""
    with Session(ctx.engine) as s:
        rides = {
            r.id: r for r in s.exec(select(Ride).where(Ride.kind == "passenger", Ride.service_date == DAY))
        }
        all_rides = {r.id: r for r in s.exec(select(Ride))}
        events = s.exec(select(Event).order_by(Event.at, Event.id)).all()
    first = {}  # (kind, ride) -> event
    for e in events:
        if e.entity == "ride":
            first.setdefault((e.kind, int(e.entity_id)), e)

    def at(kind: str, rid: int) -> datetime | None:
        e = first.get((kind, rid))
        return e.at if e else None

    dropped = [rid for rid in rides if at("ride.dropped_off", rid)]
    picked = {rid: at("ride.picked_up", rid) for rid in rides if at("ride.picked_up", rid)}
    vehicle = {rid: first[("ride.picked_up", rid)].after["vehicle_id"] for rid in picked}
    end = DAY_START.replace(hour=0) + timedelta(days=1)  # aboard at most until the day ends
    shared = 0
    for a in dropped:
        for b in picked:
            if b != a and vehicle[b] == vehicle[a]:
                b_end = at("ride.dropped_off", b) or end
                if max(picked[a], picked[b]) < min(at("ride.dropped_off", a), b_end):
                    shared += 1
                    break
    on_time = with_arrival = 0
    waits = []
    for rid in rides:
        arrival = at("ride.arrived", rid) or at("ride.picked_up", rid)
        confirmed = first.get(("ride.confirmed", rid))
        if arrival is None or confirmed is None:
            continue
        with_arrival += 1
        on_time += arrival <= datetime.fromisoformat(confirmed.after["pickup_window"][1])
        wanted = first[("ride.requested", rid)].after.get("pickup_after")
        if wanted:
            waits.append((arrival - datetime.fromisoformat(wanted)).total_seconds() / 60)
    detours = [
        (at("ride.dropped_off", r) - picked[r]).total_seconds() / rides[r].direct_seconds for r in dropped
    ]
    # vehicles: where each report happened, in order; km between reports, empty when nobody aboard
    reports = defaultdict(list)
    for e in events:
        if e.entity == "ride" and e.kind in (
            "ride.arrived",
            "ride.picked_up",
            "ride.no_show",
            "ride.dropped_off",
        ):
            r = all_rides[int(e.entity_id)]
            point = (
                (r.destination_lat, r.destination_lon)
                if e.kind == "ride.dropped_off"
                else (r.origin_lat, r.origin_lon)
            )
            reports[e.after["vehicle_id"]].append((e.at, point, e.kind))
        elif e.kind == "vehicle.position":
            reports[int(e.entity_id)].append((e.at, (e.after["lat"], e.after["lon"]), "position"))
    hours = km = km_empty = 0.0
    for reps in reports.values():
        hours += (reps[-1][0] - reps[0][0]).total_seconds() / 3600
        aboard = {"ride.picked_up": 1}.get(reps[0][2], 0)
        last = reps[0][1]
        for _t, point, kind in reps[1:]:
            # stops always count; a position only once it is 300 m from the last counted point
            if kind != "position" or _metres(last, point) >= 300:
                leg = _metres(last, point) * 1.30 / 1000
                km += leg
                km_empty += leg if aboard == 0 else 0
                last = point
            aboard += {"ride.picked_up": 1, "ride.dropped_off": -1}.get(kind, 0)
    passengers = sum(rides[r].party_size for r in dropped)
    return {
        "requests": len(rides),
        "confirmed": sum(1 for r in rides if at("ride.confirmed", r)),
        "refused": sum(1 for r in rides if at("ride.refused", r)),
        "cancelled": sum(1 for r in rides if at("ride.cancelled", r)),
        "no_shows": sum(1 for r in rides if at("ride.no_show", r)),
        "trips": len(dropped),
        "passengers": passengers,
        "riders": len({rides[r].resident_id for r in dropped}),
        "shared_trips": shared,
        "sharing_rate": shared / len(dropped),
        "on_time_rate": on_time / with_arrival,
        "wait_minutes_mean": statistics.fmean(waits),
        "detour_factor": statistics.fmean(detours),
        "vehicle_hours": hours,
        "passengers_per_vehicle_hour": passengers / hours,
        "km": km,
        "empty_km_share": km_empty / km,
    }


def test_replayed_day_statistics_equal_the_events(
    client: TestClient, clock: SimClock, ctx: Dispatcher
) -> None:
    operator = token_headers(client, "ina-demo-operator")
    run_day(client, clock, n=36, seed=5, absent=_absent)
    waiting = client.get("/api/v1/rides", params={"date": DAY.isoformat()}, headers=operator).json()
    to_cancel = next(r for r in waiting if r["status"] == "confirmed" and not _absent(r["id"]))
    r = client.post(f"/api/v1/rides/{to_cancel['id']}/cancel", json={"reason": "体調不良"}, headers=operator)
    assert r.status_code == 200, r.text
    run_day(client, clock, n=0, until=END_OF_SERVICE, absent=_absent)  # drive out the day
    # the cars report their way back to the depot: a point a few metres on (not counted), the depot
    vehicles = client.get("/api/v1/vehicles", headers=operator).json()
    for k, v in enumerate(vehicles):
        driver = token_headers(client, f"ina-demo-driver-{v['operator']}")
        last = client.get(f"/api/v1/vehicles/{v['id']}/manifest", headers=driver).json()["stops"]
        if not last:
            continue
        near = {"lat": last[-1]["lat"] + 0.0005, "lon": last[-1]["lon"]}  # 55 m on
        for minutes, where in ((2, near), (40, v["depot"])):
            clock.set(END_OF_SERVICE + timedelta(minutes=minutes, seconds=k))
            r = client.post(
                f"/api/v1/vehicles/{v['id']}/events", json={"type": "position", **where}, headers=driver
            )
            assert r.status_code == 200, r.text

    hand = _by_hand(ctx)
    got = ridership(ctx, "ina-demo", DAY, DAY, "day")
    row, totals = got["rows"][0], got["totals"]
    assert row["key"] == DAY.isoformat()
    # the replay exercised what the figures are about
    assert hand["cancelled"] >= 1 and hand["no_shows"] >= 1 and hand["shared_trips"] >= 2
    assert 0 < hand["sharing_rate"] < 1 and hand["trips"] >= 25
    for key in ("requests", "confirmed", "refused", "cancelled", "no_shows", "trips", "passengers", "riders"):
        assert row[key] == hand[key] == totals[key], key
    assert row["shared_trips"] == hand["shared_trips"]
    assert row["sharing_rate"] == pytest.approx(hand["sharing_rate"], abs=1e-4)
    assert row["on_time_rate"] == pytest.approx(hand["on_time_rate"], abs=1e-4)
    assert row["wait_minutes_mean"] == pytest.approx(hand["wait_minutes_mean"], abs=0.051)
    assert row["detour_factor"] == pytest.approx(hand["detour_factor"], abs=0.0051)
    assert row["vehicle_hours"] == pytest.approx(hand["vehicle_hours"], abs=0.0051)
    assert row["passengers_per_vehicle_hour"] == pytest.approx(
        hand["passengers_per_vehicle_hour"], abs=0.0051
    )
    assert row["km"] == pytest.approx(hand["km"], abs=0.051)
    assert row["empty_km_share"] == pytest.approx(hand["empty_km_share"], abs=1e-3)
    assert totals["active_users"] == hand["riders"]
    assert sum(totals["refused_by_reason"].values()) == hand["refused"]

    # The API answers the municipality viewer with the same numbers, and refuses other roles.
    city = token_headers(client, "ina-demo-city")
    api = client.get(
        "/api/v1/stats/ridership", params={"from": DAY.isoformat(), "to": DAY.isoformat()}, headers=city
    )
    assert api.status_code == 200 and api.json()["rows"][0] == row
    week = client.get(
        "/api/v1/stats/ridership",
        params={"from": "2026-11-23", "to": "2026-11-29", "group": "week"},
        headers=city,
    ).json()
    assert [w["key"] for w in week["rows"]] == ["2026-11-23"] and week["rows"][0]["trips"] == hand["trips"]
    assert client.get("/api/v1/stats/ridership", headers=operator).status_code == 403
    bad = client.get(
        "/api/v1/stats/ridership", params={"from": "2026-11-30", "to": "2026-11-01"}, headers=city
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "to"

    # Riders by settlement: every cell of fewer than five persons is hidden (and one more when a
    # single hidden cell could be worked out from the total).
    with Session(ctx.engine) as s:
        halls = {h.id: h.hall_id for h in s.exec(select(Household))}
        people = {p.id: p for p in s.exec(select(Resident))}
        done = s.exec(select(Ride).where(Ride.status == "completed", Ride.kind == "passenger")).all()
    names = {p.id: p.name for p in ctx.config("ina-demo").places}
    riders_by_area = defaultdict(set)
    for ride in done:
        riders_by_area[names[halls[people[ride.resident_id].household_id]]].add(ride.resident_id)
    small = {a for a, who in riders_by_area.items() if len(who) < MIN_CELL}
    assert small, "the replay should have produced small cells"
    area = client.get(
        "/api/v1/stats/ridership",
        params={"from": DAY.isoformat(), "to": DAY.isoformat(), "group": "area"},
        headers=city,
    ).json()
    hidden = {r["label"] for r in area["rows"] if r["suppressed"]}
    assert small <= hidden
    assert len(hidden - small) == (1 if len(small) == 1 else 0)
    for r in area["rows"]:
        if r["suppressed"]:
            assert r["riders"] is None and r["trips"] is None and r["passengers"] is None
        else:
            assert r["riders"] == len(riders_by_area.get(r["label"], ()))
    # nothing personal in what the municipality sees
    dash = client.get(
        "/api/v1/stats/dashboard", params={"from": DAY.isoformat(), "to": DAY.isoformat()}, headers=city
    ).text
    for p in people.values():
        assert f"{p.family_name} {p.given_name}" not in dash and (not p.phone or p.phone not in dash)


def test_suppression_hides_one_more_cell_when_one_alone_would_be_revealed() -> None:
    rows = [
        {"label": "a", "riders": 12},
        {"label": "b", "riders": 3},
        {"label": "c", "riders": 7},
        {"label": "d", "riders": 0},
    ]
    out = {r["label"]: r for r in suppress(rows, "riders", ("riders",))}
    assert out["b"]["suppressed"] and out["c"]["suppressed"]  # c is the next smallest
    assert not out["a"]["suppressed"] and out["a"]["riders"] == 12
    assert not out["d"]["suppressed"] and out["d"]["riders"] == 0  # nobody: nothing to reveal
    two = {
        r["label"]: r["suppressed"]
        for r in suppress([*rows, {"label": "e", "riders": 1}], "riders", ("riders",))
    }
    assert two == {"a": False, "b": True, "c": False, "d": False, "e": True}


def test_shopping_figures_equal_the_events(client: TestClient, ctx: Dispatcher, clock: SimClock) -> None:
    operator = token_headers(client, "ina-demo-operator")
    ids = place_orders(client, operator, ctx, 16, seed=11)
    assert client.post(f"/api/v1/orders/{ids[1]}/cancel", json={}, headers=operator).status_code == 200
    clock.set(DAY_START.replace(hour=11, minute=5))
    plan_delivery(ctx, "ina-demo", DAY)
    clock.set(DAY_START.replace(hour=11, minute=50))
    for sel in ctx.config("ina-demo").shopping.sellers:
        client.post(
            "/api/v1/picklists/ready", json={}, headers=token_headers(client, f"ina-demo-seller-{sel.id}")
        )
    drone = token_headers(client, "ina-demo-drone")
    flights = client.get("/api/v1/flights", headers=drone).json()
    assert len(flights) >= 2
    for k, f in enumerate(flights[:2]):  # the first two fly; the second lands after the deadline
        clock.set(DAY_START.replace(hour=12 + 5 * k))
        fly(client, clock, f, drone, minutes_per_hall=10)
    clock.set(DAY_START.replace(hour=18))

    with Session(ctx.engine) as s:
        events = s.exec(select(Event).where(Event.entity == "order")).all()
        lines = s.exec(select(OrderLine)).all()
        orders = {o.id: o for o in s.exec(select(ShopOrder))}
    placed = {int(e.entity_id): e.after["total_yen"] for e in events if e.kind == "order.placed"}
    cancelled = {int(e.entity_id) for e in events if e.kind == "order.cancelled"}
    live = set(placed) - cancelled
    at_hall = {int(e.entity_id): e for e in events if e.kind == "order.at_hall"}
    deadline = DAY_START.replace(hour=17)
    got = shopping(ctx, "ina-demo", DAY, DAY, "day")["totals"]
    assert got["orders"] == len(live) == 15
    assert got["cancelled_orders"] == 1
    assert got["sales_yen"] == sum(placed[o] for o in live)
    assert got["items"] == sum(ln.quantity for ln in lines if ln.order_id in live)
    assert got["households"] == len({orders[o].household_id for o in live})
    assert got["delivered"] == len(at_hall) and got["by_drone"] == sum(
        1 for e in at_hall.values() if e.after.get("flight_id")
    )
    assert got["by_drone"] > 0 and got["drone_share"] == pytest.approx(
        got["by_drone"] / got["delivered"], abs=1e-4
    )
    on_time = sum(1 for e in at_hall.values() if e.at <= deadline)
    assert 0 < on_time < len(live)
    assert got["on_time_deliveries"] == on_time
    assert got["on_time_delivery_rate"] == pytest.approx(on_time / len(live), abs=1e-4)  # the rest are late
