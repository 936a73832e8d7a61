"""Issue 6 acceptance on both databases: drivers' reports flow back into the plan.

A reported delay moves the later stops' planned times and the resident's TV notice; a no-show is
accepted only after the tenant's waiting time, frees the seat, and the checker accepts the plan;
illegal sequences answer 409 and change nothing."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from dispatcher.context import Dispatcher
from dispatcher.models import Event, PlanVersion, Ride
from tests.conftest import DAY_START
from tests.planning import verify_plan
from tests.riders import book_from_home, living_alone
from tests.test_resident_channels import pair_tv


def _counts(ctx: Dispatcher) -> tuple[int, int]:
    with Session(ctx.engine) as s:
        return (
            s.exec(select(func.count()).select_from(Event)).one(),
            s.exec(select(func.count()).select_from(PlanVersion)).one(),
        )


def test_delay_moves_later_stops_and_the_residents_notice(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock
) -> None:
    a, b = living_alone(ctx, 2)
    ra = book_from_home(client, operator, a, 30)
    rb = book_from_home(client, operator, b, 40)
    vehicle = ra["vehicle_id"]
    tv = pair_tv(client, operator, b.household_id)
    before_card = client.get("/api/v1/me/rides", headers=tv).json()["rides"][0]
    before_notices = {n["id"] for n in client.get("/api/v1/me/notices", headers=tv).json()}
    with Session(ctx.engine) as s:
        planned_before = {r.id: r.planned_pickup for r in s.exec(select(Ride))}

    asked: list[str] = []
    ctx.on_change = asked.append  # what the scheduler listens to
    ev = client.post(
        f"/api/v1/vehicles/{vehicle}/events", json={"type": "delay", "minutes": 40}, headers=operator
    )
    assert ev.status_code == 200, ev.text
    with Session(ctx.engine) as s:
        rides = {r.id: r for r in s.exec(select(Ride))}
    moved = [
        (rides[i].planned_pickup - planned_before[i]).total_seconds() / 60
        for i in rides
        if rides[i].vehicle_id == vehicle
    ]
    assert moved and min(moved) >= 10, moved  # every later stop moved (the first had 30 minutes' slack)
    assert ev.json()["late_rides"], "a 40-minute delay breaks a promise: re-optimization is asked for"
    assert asked == ["ina-demo"]
    after_card = client.get("/api/v1/me/rides", headers=tv).json()["rides"][0]
    assert after_card["planned_pickup"] != before_card["planned_pickup"]
    late = [n for n in client.get("/api/v1/me/notices", headers=tv).json() if n["id"] not in before_notices]
    if (
        rides[rb["id"]].vehicle_id == vehicle
        and rides[rb["id"]].planned_pickup > rides[rb["id"]].pickup_window_end
    ):
        assert late and "遅れています" in late[0]["text"] and late[0]["urgent"]
    else:
        assert late or after_card["eta_minutes"] != before_card["eta_minutes"]
    with Session(ctx.engine) as s:
        kinds = [e.kind for e in s.exec(select(Event).where(Event.entity == "vehicle"))]
    assert "vehicle.delay" in kinds


def test_no_show_after_waiting_frees_the_seat_and_the_plan_checks(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock
) -> None:
    a, b = living_alone(ctx, 2)
    ra = book_from_home(client, operator, a, 30)
    book_from_home(client, operator, b, 35)
    vehicle = ra["vehicle_id"]
    events = f"/api/v1/vehicles/{vehicle}/events"
    with Session(ctx.engine) as s:
        ride = s.get(Ride, ra["id"])
        start = ride.pickup_window_start

    # Illegal sequences: 409 and nothing changes.
    clock.set(start)
    for body in (
        {"type": "dropped_off", "ride_id": ra["id"]},  # dropped off before picked up
        {"type": "no_show", "ride_id": ra["id"]},  # no-show without having arrived
    ):
        before = _counts(ctx)
        r = client.post(events, json=body, headers=operator)
        assert r.status_code == 409, (body, r.text)
        assert _counts(ctx) == before
    assert (
        client.post(events, json={"type": "arrived", "ride_id": ra["id"]}, headers=operator).status_code
        == 200
    )
    clock.set(start + timedelta(minutes=2))
    before = _counts(ctx)
    early = client.post(events, json={"type": "no_show", "ride_id": ra["id"]}, headers=operator)
    assert early.status_code == 409 and "wait_until" in early.json(), early.text
    assert _counts(ctx) == before
    wait = ctx.config("ina-demo").booking.no_show_wait_minutes
    clock.set(start + timedelta(minutes=wait))
    ok = client.post(events, json={"type": "no_show", "ride_id": ra["id"]}, headers=operator)
    assert ok.status_code == 200, ok.text
    with Session(ctx.engine) as s:
        assert s.get(Ride, ra["id"]).status == "no_show"
    counts = verify_plan(ctx, "ina-demo", DAY_START.date())
    assert counts  # the checker accepts every route of the new plan
    manifest = client.get(f"/api/v1/vehicles/{vehicle}/manifest", headers=operator).json()
    assert ra["id"] not in [s["ride_id"] for s in manifest["stops"]]
