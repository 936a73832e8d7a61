"""Where a new ride goes in the day's plan, and storing it there.

First the cheapest feasible insertion into one vehicle's route, leaving every other route as it is.
When no vehicle has room, a short destroy-and-repair search (`routing.alns`, stopping at the first
plan that serves the new ride) moves a few rides not yet under way between vehicles to make room,
as a dispatcher would ("Mr Sato goes with the other car, then yours fits"). Every ride keeps the
pickup window and arrival it was promised: each route stored passes the exact checker, and riders
on board and stops a vehicle is already heading for never move.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from dispatcher.db import id_of
from dispatcher.events import record
from dispatcher.models import Ride, RideStatus
from dispatcher.rides.kinds import RIDE_CONFIRMED
from dispatcher.rides.plan import PlanState, Problem, apply_route, invalid_routes, ride_stops, save_plan
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import iso_local
from routing.alns import AlnsOptions, solve
from routing.insertion import Route, cheapest_insertion, prepare
from routing.schedule import Schedule, Stop, TravelMatrix, route_travel

# How long a booking searches is the tenant's `booking.reshuffle_rounds` (default 100; 0 turns the
# search off): a count of rounds, not a time, so that the same day gives the same answer on any
# machine. The search stops at the first round that makes room, so only a refusal runs them all
# (`noriai bench dispatch` prints the times). On the demo town's busiest mornings every room found
# took at most 60 rounds; a round takes 3-15 ms there (8 vehicles, 100-150 rides, 2 cores under
# load).
RESHUFFLE_MOVES = 8
"""At most this many rides are taken out and put back in one round: making room for one ride
takes moving a few, and a small round keeps each one quick on a large fleet's day."""
RESHUFFLE_SECONDS = 3.0
"""Wall-clock cap (s) of the search, which runs while the caller waits and the town's bookings
queue behind it: on a machine too slow for the rounds asked, a refusal still answers."""
RESHUFFLE_VEHICLES = 40
"""Only the routes of this many vehicles take part in the search, those nearest the new pickup at
its time (`neighbourhood`), so that a round costs the same on any fleet: making room moves rides
between vehicles that are about there then, and a large fleet's other vehicles only slow each
round down and dilute its random choice of rides to move. A fleet this size or smaller is searched
whole, as before. On a day of 3,000 bookings for 300 vehicles (`noriai bench dispatch --seed 1`)
the 13 searches its bookings ran all made room with 40 (10 of 13 with 24), as with the whole fleet
(without the time cap, which the whole fleet's search often hits), in a median 0.1 s of CPU each
against 1.3 s for the whole fleet's."""
RESHUFFLE_HOSTS = 8
"""Of which at least this many can seat the new ride (its seats and wheelchair places), nearest
first: a wheelchair user's ride is made room for in the nearest wheelchair cars even when ordinary
cars are nearer."""


@dataclass(frozen=True)
class Placement:
    """Where a ride fits: `vehicle_index` (in `Problem.routes`) takes it, and `changes` holds the
    new stops and schedule of every route that changes (that vehicle's, and those of vehicles that
    take over rides to make room). `moved`: rides now on another vehicle than before."""

    vehicle_index: int
    changes: dict[int, tuple[tuple[Stop, ...], Schedule]]
    moved: tuple[int, ...] = ()


def _new_stops(cfg: TenantConfig, problem: Problem, ride: Ride) -> tuple[Stop, Stop]:
    return ride_stops(
        cfg,
        ride,
        problem.day,
        problem.location(ride.origin_lat, ride.origin_lon),
        problem.location(ride.destination_lat, ride.destination_lon),
    )


def try_insert(cfg: TenantConfig, problem: Problem, ride: Ride) -> Placement | None:
    """The cheapest feasible insertion of a ride (passenger or freight) into one vehicle of the
    active fleet, every other route unchanged; None when no vehicle has room as its route stands."""
    p, d = _new_stops(cfg, problem, ride)
    active = [k for k, v in enumerate(problem.vehicles) if v.active]
    memos = [problem.memo(k) or {} for k in active]
    ins = cheapest_insertion([problem.routes[k] for k in active], p, d, problem.travel, memos)
    if ins is None:
        return None
    k = active[ins.route_index]
    return Placement(k, {k: (ins.stops, ins.schedule)})


def place(cfg: TenantConfig, problem: Problem, ride: Ride) -> Placement | None:
    """Where the ride fits: by insertion, else by moving rides between vehicles to make room
    (`reshuffle`); None when neither finds room."""
    return try_insert(cfg, problem, ride) or reshuffle(cfg, problem, ride)


def _seats(route: Route, p: Stop) -> bool:
    """Whether the vehicle has the seats and wheelchair places of the ride picked up at p."""
    return p.seats <= route.vehicle.seats and p.wheelchairs <= route.vehicle.wheelchairs


def reach(route: Route, schedule: Schedule, p: Stop, travel: TravelMatrix) -> float:
    """How near a vehicle is to a new pickup p at its time: the driving time (s) to p from the
    nearest place the route visits during p's window, or from the places just before and after it
    (where an idle vehicle waits). `schedule`: the route's, from the checker (times in s)."""
    v = route.vehicle
    times = [schedule.departure, *schedule.times, schedule.end]
    first = max(0, bisect_left(times, p.earliest) - 1)
    last = min(len(times), bisect_right(times, p.latest) + 1)
    here = [v.start_location, *(s.location for s in route.stops), v.end_location][first:last]
    return min(travel[x][p.location] for x in here)


def neighbourhood(problem: Problem, schedules: dict[int, Schedule], p: Stop) -> list[int]:
    """The vehicles (indices in `Problem.routes`, ascending) whose routes a reshuffle for the ride
    picked up at p searches, out of those with a feasible `schedules` entry: the
    RESHUFFLE_VEHICLES nearest p at its time (`reach`), and the RESHUFFLE_HOSTS nearest that can
    seat the ride. All of them when there are no more than RESHUFFLE_VEHICLES."""
    if len(schedules) <= RESHUFFLE_VEHICLES:
        return sorted(schedules)
    near = sorted(schedules, key=lambda k: (reach(problem.routes[k], schedules[k], p, problem.travel), k))
    hosts = [k for k in near if _seats(problem.routes[k], p)]
    return sorted(set(near[:RESHUFFLE_VEHICLES]) | set(hosts[:RESHUFFLE_HOSTS]))


def reshuffle(
    cfg: TenantConfig, problem: Problem, ride: Ride, iterations: int | None = None
) -> Placement | None:
    """Room for the ride made by moving rides not yet under way between active vehicles, or None.

    Searches the routes of the active vehicles nearest the ride around its time
    (`neighbourhood`) whose routes keep every promise (a late vehicle keeps its route) for at most
    `iterations` rounds (default: the tenant's `booking.reshuffle_rounds`); every other route stays
    as it is. The result is checked again stop by stop before it is offered."""
    rounds = cfg.booking.reshuffle_rounds if iterations is None else iterations
    if rounds <= 0:
        return None
    p, d = _new_stops(cfg, problem, ride)
    schedules: dict[int, Schedule] = {}
    for k, v in enumerate(problem.vehicles):
        if v.active:  # (the schedules the insertion just worked out, when the live view kept them)
            st = prepare(problem.routes[k], problem.travel, problem.memo(k))
            if st is not None:
                schedules[k] = st.sched
    if not any(_seats(problem.routes[k], p) for k in schedules):
        return None
    searched = neighbourhood(problem, schedules, p)
    routes = [problem.routes[k] for k in searched]
    result = solve(
        routes,
        problem.travel,
        unplaced=[(p, d)],
        options=AlnsOptions(
            iterations=rounds,
            seed=abs(p.request_id) or 1,
            ride_weight=cfg.booking.excess_ride_weight,
            stop_when_placed=True,
            max_remove=RESHUFFLE_MOVES,
            max_seconds=RESHUFFLE_SECONDS,
        ),
    )
    vehicles = [problem.vehicles[k] for k in searched]
    if p.request_id in result.unserved or invalid_routes(
        vehicles, routes, [(p, d)], result.stops, problem.travel
    ):
        return None  # the search's own verification is not taken on trust
    changes: dict[int, tuple[tuple[Stop, ...], Schedule]] = {}
    before = {s.request_id: k for k in searched for s in problem.routes[k].stops}
    moved: list[int] = []
    at = -1
    for k, stops, sched in zip(searched, result.stops, result.schedules, strict=True):
        if tuple(stops) == problem.routes[k].stops:
            continue
        changes[k] = (tuple(stops), sched)
        for s in stops:
            if s.request_id == p.request_id:
                at = k
            elif s.kind == "pickup" and before.get(s.request_id) != k:
                moved.append(s.request_id)
    return Placement(at, changes, tuple(sorted(moved))) if at >= 0 else None


def planned_pickup(placement: Placement, request_id: int) -> float:
    """The planned pickup of a placed ride (s from the problem's origin)."""
    stops, sched = placement.changes[placement.vehicle_index]
    return next(t for s, t in zip(stops, sched.times, strict=True) if s.request_id == request_id)


def commit_placement(
    session: Session,
    cfg: TenantConfig,
    day: date,
    state: PlanState,
    problem: Problem,
    placement: Placement,
    ride: Ride,
    now: datetime,
    actor: str,
) -> None:
    """Store a placement found for a ride: the changed routes, the ride confirmed, a new plan
    version and the event, naming any ride moved to another vehicle to make room (inside the
    caller's locked transaction)."""
    for k, (stops, sched) in placement.changes.items():
        apply_route(cfg, state, id_of(problem.vehicles[k]), stops, sched, day, session)
        old = problem.routes[k]
        problem.routes[k] = Route(old.vehicle, stops, old.fixed)
    total = sum(route_travel(r.vehicle, r.stops, problem.travel) for r in problem.routes)
    vehicle = problem.vehicles[placement.vehicle_index]
    ride.status = RideStatus.confirmed.value
    pv = save_plan(session, cfg.id, day, state, f"ride {ride.id} booked", now, total)
    tz = cfg.tz
    record(
        session,
        cfg.id,
        now,
        actor,
        RIDE_CONFIRMED,
        "ride",
        ride.id,
        before={"status": "requested"},
        after={
            "status": "confirmed",
            "vehicle_id": vehicle.id,
            "plan_version": pv.version,
            "pickup_window": [iso_local(ride.pickup_window_start, tz), iso_local(ride.pickup_window_end, tz)],
            "latest_arrival": iso_local(ride.latest_arrival, tz),
            "fare_yen": ride.fare_yen,
            **({"moved_rides": list(placement.moved)} if placement.moved else {}),
        },
    )
