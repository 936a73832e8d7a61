"""The live plan view moves with each write instead of being read again, and always equals a fresh
read of the database.

A long random sequence of bookings, cancellations, drivers' reports (arrivals, pickups, no-shows,
drop-offs, positions, delays, a fleet's positions in one call) and re-optimizations runs on the
demo town (real database, both backends; real insertion and ALNS). After every step the view this
process keeps (`dispatcher.rides.plan.LiveView`) is compared, route by route and stop by stop, with
the routing problem `build_problem` reads from the database at the same moment, and it must be the
one of the latest lock sequence: each write moved it on rather than dropping it.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import id_of, lock_seq
from dispatcher.errors import DomainError
from dispatcher.models import PlanRoute, PlanVersion, Ride, RideStatus, Vehicle
from dispatcher.rides.booking import Location, RideRequest, book
from dispatcher.rides.cancellation import cancel
from dispatcher.rides.field_events import VehicleEvent, vehicle_event
from dispatcher.rides.plan import LiveView, Problem, build_problem, current_plan
from dispatcher.rides.positions import PositionReport, report_positions
from dispatcher.rides.reoptimize import reoptimize
from tests.conftest import DAY_START
from tests.test_api_rides import eligible_resident
from tests.test_reoptimize import DESTS, HALLS

TENANT = "ina-demo"
DAY = DAY_START.date()
STEPS = 160


def normalized(problem: Problem) -> list[Any]:
    """A problem in terms of places and times, not of matrix indices (a view and a fresh read
    number their points in different orders)."""
    pts = problem.travel.points
    out = []
    for v, r in zip(problem.vehicles, problem.routes, strict=True):
        vs = r.vehicle
        out.append(
            (
                id_of(v),
                v.key,
                v.active,
                (vs.id, pts[vs.start_location], vs.start_time, pts[vs.end_location], vs.end_time),
                (vs.not_before, vs.seats, vs.wheelchairs, vs.onboard, vs.tolerance),
                r.fixed,
                tuple(
                    (
                        s.request_id,
                        s.kind,
                        pts[s.location],
                        s.earliest,
                        s.latest,
                        s.service,
                        s.seats,
                        s.wheelchairs,
                        s.max_ride,
                    )
                    for s in r.stops
                ),
            )
        )
    return out


def assert_view_is_fresh(ctx: Dispatcher, step: str) -> None:
    cfg = ctx.config(TENANT)
    now = ctx.clock.now()
    with Session(ctx.engine) as s:
        view = ctx.views.get((TENANT, DAY))
        assert isinstance(view, LiveView), f"{step}: no view kept"
        assert view.seq == lock_seq(s, TENANT), f"{step}: the view was dropped, not moved on"
        stored = current_plan(s, TENANT, DAY)
        fresh = build_problem(ctx, s, cfg, DAY, stored, now)
    assert view.state.version == stored.version, step
    assert {v: r for v, r in view.state.routes.items() if r} == {
        v: r for v, r in stored.routes.items() if r
    }, step
    assert normalized(view.problem(cfg, now)) == normalized(fresh), step


def _book(ctx: Dispatcher, rng: random.Random, k: int) -> str:
    now = ctx.clock.now()
    req = RideRequest(
        resident_id=eligible_resident(ctx, offset=k % 150),
        origin=Location(place_id=rng.choice(HALLS)),
        destination=Location(place_id=rng.choice(DESTS)),
        pickup_after=(now + timedelta(minutes=rng.randint(20, 240))).replace(second=0, microsecond=0),
        party_size=rng.choice([1, 1, 1, 2]),
    )
    try:
        out = book(ctx, TENANT, req, str(uuid.uuid4()), "test")
    except DomainError as e:  # after closing time, or an overlapping ride of the same resident
        return f"book: {e.code}"
    return f"book: {out.ride.status}"


def _rides(ctx: Dispatcher, status: str) -> list[Ride]:
    with Session(ctx.engine) as s:
        return list(
            s.exec(select(Ride).where(Ride.tenant_id == TENANT, Ride.status == status).order_by(col(Ride.id)))
        )


def _drive(ctx: Dispatcher, clock: SimClock, rng: random.Random) -> str:
    """A driver reports at his first pending stop, once its planned time has come."""
    with Session(ctx.engine) as s:
        state = current_plan(s, TENANT, DAY)
    heads = [(vid, p[0]) for vid in sorted(state.routes) if (p := state.pending(vid))]
    if not heads:
        return "drive: nothing planned"
    vid, entry = rng.choice(heads)
    planned = datetime.fromisoformat(entry["planned_time"])
    if planned > clock.now():
        if planned - clock.now() > timedelta(minutes=40):
            return "drive: not yet"
        clock.set(planned)
    ride_id, kind = entry["ride_id"], entry["kind"]
    with Session(ctx.engine) as s:
        ride = s.get_one(Ride, ride_id)
    if kind == "pickup" and ride.status == RideStatus.confirmed:
        kind = "arrived"
    elif kind == "pickup":  # arrived: the rider comes out, or (now and then) never does
        if rng.random() < 0.15:
            clock.advance(timedelta(minutes=ctx.config(TENANT).booking.no_show_wait_minutes + 1))
            kind = "no_show"
        else:
            kind = "picked_up"
    else:
        kind = "dropped_off"
    vehicle_event(ctx, TENANT, vid, VehicleEvent(type=kind, ride_id=ride_id), "driver")
    return f"drive: {kind} of ride {ride_id} by vehicle {vid}"


def _vehicles(ctx: Dispatcher) -> list[Vehicle]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Vehicle).where(Vehicle.tenant_id == TENANT).order_by(col(Vehicle.id))))


def _near(v: Vehicle, rng: random.Random) -> tuple[float, float]:
    lat = v.last_lat if v.last_lat is not None else v.depot_lat
    lon = v.last_lon if v.last_lon is not None else v.depot_lon
    return lat + rng.uniform(-0.01, 0.01), lon + rng.uniform(-0.01, 0.01)


def test_the_incremental_view_equals_a_fresh_read_after_every_step(ctx: Dispatcher, clock: SimClock) -> None:
    rng = random.Random(21)
    for k in range(30):  # a morning's bookings to start from
        _book(ctx, rng, k)
    assert_view_is_fresh(ctx, "after the first bookings")
    done: dict[str, int] = {}
    for n in range(STEPS):
        clock.advance(timedelta(seconds=rng.randint(0, 150)))
        roll = rng.random()
        if roll < 0.3:
            step = _book(ctx, rng, 30 + n)
        elif roll < 0.55:
            step = _drive(ctx, clock, rng)
        elif roll < 0.65:
            v = rng.choice(_vehicles(ctx))
            lat, lon = _near(v, rng)
            vehicle_event(ctx, TENANT, id_of(v), VehicleEvent(type="position", lat=lat, lon=lon), "driver")
            step = f"position of vehicle {v.id}"
        elif roll < 0.75:
            fleet = rng.sample(_vehicles(ctx), 4)
            reports = [
                PositionReport(vehicle_id=id_of(v), lat=_near(v, rng)[0], lon=_near(v, rng)[1]) for v in fleet
            ]
            report_positions(ctx, TENANT, reports, "telematics")
            step = f"positions of vehicles {[v.id for v in fleet]}"
        elif roll < 0.8:
            v = rng.choice(_vehicles(ctx))
            vehicle_event(
                ctx, TENANT, id_of(v), VehicleEvent(type="delay", minutes=rng.randint(3, 12)), "driver"
            )
            step = f"delay of vehicle {v.id}"
        elif roll < 0.92:
            confirmed = _rides(ctx, RideStatus.confirmed)
            if not confirmed:
                continue
            ride = rng.choice(confirmed)
            cancel(ctx, TENANT, id_of(ride), "resident")
            step = f"cancel ride {ride.id}"
        else:
            out = reoptimize(ctx, TENANT, DAY, time_limit_s=5, seed=n, iterations=30)
            step = f"re-optimize: {out.status}"
        kind = step.split(":")[0].split(" of ")[0]
        done[kind] = done.get(kind, 0) + 1
        assert_view_is_fresh(ctx, f"step {n} ({step})")
    # the sequence did exercise every kind of write
    for kind in ("book", "drive", "position", "positions", "delay", "cancel ride", "re-optimize"):
        assert any(k.startswith(kind) for k in done), (kind, done)
    with Session(ctx.engine) as s:
        routes = s.exec(select(PlanRoute).where(PlanRoute.tenant_id == TENANT)).all()
        versions = s.exec(select(PlanVersion).where(PlanVersion.tenant_id == TENANT)).all()
    # each version records only the routes it changed; the plan in force is one row per vehicle
    assert len(routes) <= len(_vehicles(ctx))
    assert sum(1 for v in versions if len(v.routes) == 1) > len(versions) / 2


def test_a_boarding_under_way_leaves_the_ride_that_much_less_time(ctx: Dispatcher, clock: SimClock) -> None:
    """The driver taps `arrived`, then `picked_up` once the rider sits in the car: in between the
    ride may have begun, so a plan made then must not assume it starts later than it did."""
    rng = random.Random(3)
    while not _rides(ctx, RideStatus.confirmed):
        _book(ctx, rng, 0)
    ride = _rides(ctx, RideStatus.confirmed)[0]
    assert ride.pickup_window_start is not None and ride.vehicle_id is not None
    clock.set(ride.pickup_window_start)
    vehicle_event(ctx, TENANT, ride.vehicle_id, VehicleEvent(type="arrived", ride_id=ride.id), "driver")
    cfg = ctx.config(TENANT)

    def head() -> Any:
        with Session(ctx.engine) as s:
            problem = build_problem(ctx, s, cfg, DAY, current_plan(s, TENANT, DAY), clock.now())
        route = next(
            r for v, r in zip(problem.vehicles, problem.routes, strict=True) if v.id == ride.vehicle_id
        )
        assert route.fixed >= 1 and route.stops[0].request_id == ride.id
        return route.stops[0]

    assert head().max_ride == ride.max_ride_seconds  # boarding has not begun: the whole limit
    clock.advance(timedelta(minutes=3))
    assert head().max_ride == ride.max_ride_seconds - 180  # three minutes of it may be gone
    assert_view_is_fresh(ctx, "boarding")  # the kept view plans with the same limit
