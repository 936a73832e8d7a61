"""A booking that fits no vehicle as the routes stand is confirmed when moving a ride not yet under
way to another vehicle makes room (`dispatcher.rides.placement.reshuffle`), and every promise
already given is kept. Before, such a booking was refused while the fleet could have taken it: on
the demo's busiest simulated mornings (seed 2) 9 requests were refused with no vehicle free."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.models import Event, Ride, Vehicle
from dispatcher.rides import placement
from dispatcher.rides.booking import Location, RideRequest, book, check_request, new_ride, quote
from dispatcher.rides.placement import RESHUFFLE_VEHICLES, reshuffle, try_insert
from dispatcher.rides.plan import Problem, build_problem, current_plan
from routing.geo import Point
from routing.insertion import Route
from routing.schedule import check
from tests.conftest import DAY_START
from tests.planning import verify_plan
from tests.test_api_rides import eligible_resident

TENANT = "ina-demo"


def _fleet(ctx: Dispatcher, keys: set[str]) -> dict[str, int]:
    """Only the vehicles `keys` in service (as when the others are taken out of the tenant file);
    their ids by key."""
    with Session(ctx.engine) as s:
        ids = {}
        for v in s.exec(select(Vehicle).where(Vehicle.tenant_id == TENANT)):
            v.active = v.key in keys
            s.add(v)
            if v.active:
                assert v.id is not None
                ids[v.key] = v.id
        s.commit()
    ctx.views.clear()  # the plan view this process remembers predates the change of fleet
    return ids


def _trip(resident: int, party: int, at: datetime) -> RideRequest:
    return RideRequest(
        resident_id=resident,
        origin=Location(place_id="central-hospital"),
        destination=Location(place_id="takato-clinic"),
        party_size=party,
        pickup_after=at,
    )


def test_a_ride_moves_to_another_vehicle_to_make_room_and_every_promise_holds(ctx: Dispatcher) -> None:
    at = DAY_START.replace(hour=10)
    ids = _fleet(ctx, {"chuo-1"})  # 4 seats
    first = book(ctx, TENANT, _trip(eligible_resident(ctx), 1, at), str(uuid.uuid4()), "test").ride
    assert first.status == "confirmed" and first.vehicle_id == ids["chuo-1"]
    promised = (first.pickup_window_start, first.pickup_window_end, first.latest_arrival)
    ids = _fleet(ctx, {"chuo-1", "chuo-4"})  # the welfare car (3 seats) joins
    # a party of four at the same time and trip: only chuo-1 has four seats, and it carries the
    # first rider to Takato then, too far to come back within the window
    party = _trip(eligible_resident(ctx, offset=1), 4, at)
    cfg, now = ctx.config(TENANT), ctx.clock.now()
    with Session(ctx.engine) as s:  # as the booking sees it before it searches (see `quote`)
        checked = check_request(ctx, s, cfg, party, now)
        state = current_plan(s, TENANT, checked.day)
        problem = build_problem(ctx, s, cfg, checked.day, state, now, [checked.origin, checked.destination])
    probe = new_ride(TENANT, party, checked, now, "", "", "")
    probe.id = -1
    assert try_insert(cfg, problem, probe) is None  # no vehicle has room as the routes stand
    assert reshuffle(cfg, problem, probe) is not None
    assert reshuffle(cfg, problem, probe, iterations=0) is None  # booking.reshuffle_rounds: 0 = off
    # the quote says what the booking will do
    assert quote(ctx, TENANT, party)["available"] is True

    second = book(ctx, TENANT, party, str(uuid.uuid4()), "test").ride
    assert second.status == "confirmed", second.refusal_reason
    assert second.vehicle_id == ids["chuo-1"]
    with Session(ctx.engine) as s:
        moved = s.get(Ride, first.id)
        assert moved is not None
        # the first rider now goes with the welfare car, with the very promise given at booking
        assert moved.vehicle_id == ids["chuo-4"]
        assert (moved.pickup_window_start, moved.pickup_window_end, moved.latest_arrival) == promised
        assert moved.planned_pickup is not None and moved.planned_dropoff is not None
        assert promised[0] <= moved.planned_pickup <= promised[1]
        assert moved.planned_dropoff <= promised[2]
        confirmed = s.exec(
            select(Event).where(
                Event.tenant_id == TENANT, Event.kind == "ride.confirmed", Event.entity_id == str(second.id)
            )
        ).one()
        assert confirmed.after is not None and confirmed.after["moved_rides"] == [first.id]
        assert confirmed.actor == "test"
    counts = verify_plan(ctx, TENANT, at.date())
    assert counts["open"] == 2


def test_a_refusal_still_names_alternatives_and_moves_nothing(ctx: Dispatcher) -> None:
    """When no reshuffle makes room either (a party of four, with chuo-1 the only car of four seats
    and busy then), the booking is refused as before and no other ride is touched."""
    at = DAY_START.replace(hour=10)
    ids = _fleet(ctx, {"chuo-1", "chuo-4"})
    first = book(ctx, TENANT, _trip(eligible_resident(ctx), 4, at), str(uuid.uuid4()), "test").ride
    assert first.status == "confirmed" and first.vehicle_id == ids["chuo-1"]
    with Session(ctx.engine) as s:
        before = s.exec(select(Ride.id, Ride.vehicle_id, Ride.planned_pickup).order_by(col(Ride.id))).all()
    party = _trip(eligible_resident(ctx, offset=1), 4, at + timedelta(minutes=5))
    refused = book(ctx, TENANT, party, str(uuid.uuid4()), "test").ride
    assert refused.status == "refused" and refused.refusal_reason == "no_vehicle_available"
    assert refused.alternatives, "a later window of chuo-1 fits"
    with Session(ctx.engine) as s:
        after = s.exec(
            select(Ride.id, Ride.vehicle_id, Ride.planned_pickup)
            .where(Ride.status == "confirmed")
            .order_by(col(Ride.id))
        ).all()
    assert after == before


def _parked_cars(problem: Problem, like: str, where: list[tuple[float, float]]) -> list[int]:
    """Cars of three seats added to the problem (not to the database), idle all day where given,
    as vehicle `like` is at its depot; their indices in `Problem.routes`."""
    k = next(k for k, v in enumerate(problem.vehicles) if v.key == like)
    model, route = problem.vehicles[k], problem.routes[k]
    assert route.stops == ()
    added = []
    for lat, lon in where:
        at = problem.add_point(Point(lat, lon))
        n = len(problem.routes)
        problem.vehicles.append(model.model_copy(update={"id": None, "key": f"extra-{n}", "seats": 3}))
        vehicle = replace(route.vehicle, id=-n, start_location=at, end_location=at, seats=3, wheelchairs=0)
        problem.routes.append(Route(vehicle, ()))
        added.append(len(problem.routes) - 1)
    return added


def test_on_a_large_fleet_the_reshuffle_searches_only_the_vehicles_near_the_ride(
    ctx: Dispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The situation of the first test with many more cars of three seats, idle away from the
    hospital: RESHUFFLE_VEHICLES - 2 of them 4-7 km away, 30 more beyond 16 km. The search takes
    only the routes of the RESHUFFLE_VEHICLES vehicles nearest the ride (chuo-1, chuo-4 and the
    nearer cars), still makes room, and changes no route outside them."""
    at = DAY_START.replace(hour=10)
    ids = _fleet(ctx, {"chuo-1"})
    first = book(ctx, TENANT, _trip(eligible_resident(ctx), 1, at), str(uuid.uuid4()), "test").ride
    assert first.status == "confirmed" and first.vehicle_id == ids["chuo-1"]
    ids = _fleet(ctx, {"chuo-1", "chuo-4"})
    party = _trip(eligible_resident(ctx, offset=1), 4, at)
    cfg, now = ctx.config(TENANT), ctx.clock.now()
    with Session(ctx.engine) as s:
        checked = check_request(ctx, s, cfg, party, now)
        state = current_plan(s, TENANT, checked.day)
        problem = build_problem(ctx, s, cfg, checked.day, state, now, [checked.origin, checked.destination])
    # the hospital is at (35.8448, 137.9629): 0.04 degrees of latitude are 4.4 km, 0.15 are 16.7 km
    nearer = [(35.8448 + 0.04 + 0.0005 * n, 137.9629) for n in range(RESHUFFLE_VEHICLES - 2)]
    near = _parked_cars(problem, "chuo-4", nearer)
    far = _parked_cars(problem, "chuo-4", [(35.8448 - 0.15 - 0.002 * n, 137.9629) for n in range(30)])
    index = {v.key: k for k, v in enumerate(problem.vehicles)}
    chuo1, chuo4 = index["chuo-1"], index["chuo-4"]
    probe = new_ride(TENANT, party, checked, now, "", "", "")
    probe.id = -1
    assert try_insert(cfg, problem, probe) is None
    routes_before = list(problem.routes)
    searched: list[list[int]] = []
    solve = placement.solve

    def spy(routes: list[Route], *args: Any, **kwargs: Any) -> Any:
        searched.append([r.vehicle.id for r in routes])
        return solve(routes, *args, **kwargs)

    monkeypatch.setattr(placement, "solve", spy)
    found = reshuffle(cfg, problem, probe)

    assert len(problem.routes) == RESHUFFLE_VEHICLES + 30  # chuo-1, chuo-4 and the cars added
    assert len(searched) == 1 and len(searched[0]) == RESHUFFLE_VEHICLES
    assert set(searched[0]) == {problem.routes[k].vehicle.id for k in [chuo1, chuo4, *near]}
    assert not set(searched[0]) & {problem.routes[k].vehicle.id for k in far}
    assert found is not None and found.vehicle_index == chuo1
    assert found.moved == (first.id,)  # the first rider moves to a car of three seats nearby
    assert set(found.changes) <= {chuo1, chuo4, *near} and chuo1 in found.changes
    for k, (stops, sched) in found.changes.items():
        again = check(problem.routes[k].vehicle, stops, problem.travel)
        assert again.feasible and again.times == sched.times
    assert problem.routes == routes_before  # the offer changes nothing until it is committed
