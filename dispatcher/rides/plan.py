"""The live plan of a tenant's service day: loading it, turning it into a routing problem, saving
new versions.

A plan version lists, per vehicle, its stops in visiting order; stops already done stay in front
(with `done: true`), pending stops follow. The routing problem covers only the pending part: each
vehicle starts where it is now (its last reported position, its last done stop or its depot), riders
on board are `OnBoard`, and every promised window is a hard time window.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from dispatcher.context import Dispatcher
from dispatcher.db import id_of
from dispatcher.models import OPEN_RIDE_STATUSES, PlanRoute, PlanVersion, Ride, RideStatus, Vehicle
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import at_local, from_seconds, parse_hhmm, to_seconds
from routing.geo import Point
from routing.insertion import Route
from routing.schedule import OnBoard, Schedule, Stop, VehicleState, check
from routing.traveltime import LazyMatrix


@dataclass
class PlanState:
    """A day's plan as a transaction works on it: routes by vehicle id (see `PlanVersion` for the
    stop format), `version` (0 before the day's first booking), and `stored`: the routes as they
    were read, which `save_plan` compares with to write only what changed. `complete` is False
    when only some vehicles' routes were read (`current_plan(only=...)`)."""

    version: int
    routes: dict[int, list[dict[str, Any]]]
    stored: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    complete: bool = True
    written: set[int] = field(default_factory=set)  # vehicles whose routes save_plan wrote

    def pending(self, vehicle_id: int) -> list[dict[str, Any]]:
        return [s for s in self.routes.get(vehicle_id, []) if not s.get("done")]

    def done(self, vehicle_id: int) -> list[dict[str, Any]]:
        return [s for s in self.routes.get(vehicle_id, []) if s.get("done")]

    def changed(self) -> list[int]:
        """Vehicles whose route differs from what was read (in id order). Stops are dicts that
        every change replaces rather than edits, so an unchanged route compares by identity."""
        return sorted(
            v
            for v in self.routes.keys() | self.stored.keys()
            if self.routes.get(v, []) != self.stored.get(v, [])
        )


def _plan_state(version: int, routes: dict[int, list[dict[str, Any]]], complete: bool) -> PlanState:
    """A state to work on: its own route lists (edited in place by some writers), the read ones
    kept as `stored`."""
    return PlanState(version, {v: list(r) for v, r in routes.items()}, routes, complete)


def current_plan(session: Session, tenant_id: str, day: date, only: int | None = None) -> PlanState:
    """The plan in force of a day, read from the database (`PlanRoute`); `only`: that vehicle's
    route alone (a driver's report needs no other)."""
    query = select(PlanRoute.vehicle_id, PlanRoute.stops).where(
        PlanRoute.tenant_id == tenant_id, PlanRoute.service_date == day
    )
    if only is not None:
        query = query.where(PlanRoute.vehicle_id == only)
    routes = {int(vid): list(stops) for vid, stops in session.exec(query)}
    version = session.exec(
        select(func.max(PlanVersion.version)).where(
            PlanVersion.tenant_id == tenant_id, PlanVersion.service_date == day
        )
    ).one()
    return _plan_state(version or 0, routes, only is None)


def _change(stops: list[dict[str, Any]]) -> dict[str, Any]:
    """How a plan version records one vehicle's new route: how many stops it has done (those are
    recorded once, by the drivers' reports and the versions before) and its pending stops. So a
    version's size is bounded by what a vehicle still has to do, not by its day so far."""
    pending = [s for s in stops if not s.get("done")]
    return {"done": len(stops) - len(pending), "pending": pending}


def save_plan(
    session: Session,
    tenant_id: str,
    day: date,
    state: PlanState,
    reason: str,
    now: datetime,
    travel_seconds: float,
) -> PlanVersion:
    """Store a new version of the plan: the routes that changed since `state` was read are written
    (`PlanRoute`, one row per vehicle) and recorded in the version (`PlanVersion.routes`, pending
    stops only: `_change`), so a change costs the routes it touched, and the day's history grows
    with its changes, not with their square."""
    changed = state.changed()
    version = state.version + 1
    pv = PlanVersion(
        tenant_id=tenant_id,
        service_date=day,
        version=version,
        reason=reason,
        travel_seconds=travel_seconds,
        routes={str(v): _change(state.routes.get(v, [])) for v in changed},
        created_at=now,
    )
    session.add(pv)
    if changed:
        rows = {
            r.vehicle_id: r
            for r in session.exec(
                select(PlanRoute).where(
                    PlanRoute.tenant_id == tenant_id,
                    PlanRoute.service_date == day,
                    col(PlanRoute.vehicle_id).in_(changed),
                )
            )
        }
        for v in changed:
            stops = list(state.routes.get(v, []))
            row = rows.get(v)
            if row is None:
                row = PlanRoute(
                    tenant_id=tenant_id,
                    service_date=day,
                    vehicle_id=v,
                    version=version,
                    stops=stops,
                    updated_at=now,
                )
            else:
                row.stops, row.version, row.updated_at = stops, version, now
            session.add(row)
    state.version = version
    state.stored = {**state.stored, **{v: list(state.routes.get(v, [])) for v in changed}}
    state.written.update(changed)
    return pv


def service_seconds(cfg: TenantConfig, ride: Ride, kind: str) -> float:
    """Dwell time (s) at a ride's pickup (boarding) or drop-off (alighting)."""
    b = cfg.booking
    if kind == "pickup":
        return 60.0 * (b.wheelchair_boarding_minutes if ride.wheelchair else b.boarding_minutes)
    return 60.0 * b.alighting_minutes


def seats_needed(party_size: int, wheelchair: bool) -> tuple[int, int]:
    """(ordinary seats, wheelchair places) a party occupies."""
    return (party_size - 1, 1) if wheelchair else (party_size, 0)


# What the routing view needs of a ride: loaded as plain rows, not ORM objects (it is read on
# every quote for every ride of the day).
RIDE_COLUMNS = (
    col(Ride.id),
    col(Ride.status),
    col(Ride.vehicle_id),
    col(Ride.origin_lat),
    col(Ride.origin_lon),
    col(Ride.destination_lat),
    col(Ride.destination_lon),
    col(Ride.pickup_window_start),
    col(Ride.pickup_window_end),
    col(Ride.latest_arrival),
    col(Ride.party_size),
    col(Ride.wheelchair),
    col(Ride.max_ride_seconds),
    col(Ride.picked_up_at),
    col(Ride.arrived_at),
)


@dataclass
class Problem:
    """The routing view of a plan: routes in vehicle order and the travel matrix over its points."""

    day: date
    vehicles: list[Vehicle]
    routes: list[Route]
    travel: LazyMatrix
    index: dict[Point, int] = field(default_factory=dict)
    # per route, what an insertion keeps between calls (`routing.insertion.prepare`): the live
    # view's vehicles keep theirs from booking to booking
    memos: list[dict[str, Any]] | None = None

    def memo(self, k: int) -> dict[str, Any] | None:
        """What route k keeps between insertions (None when routes were added by hand)."""
        if self.memos is None or len(self.memos) != len(self.routes):
            return None
        return self.memos[k]

    def location(self, lat: float, lon: float) -> int:
        """The matrix index of a point given to build_problem (or added since)."""
        return self.index[_key(lat, lon)]

    def add_point(self, point: Point) -> int:
        key = _key(point.lat, point.lon)
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = self.travel.add(key)
        return i


POSITION_DECIMALS = 7
"""Points are keyed (and so compared and routed) at 1e-7 degree: at most 5.6 mm off along each
axis, 7.9 mm in all."""

SCHEDULE_TOLERANCE_S = 0.1
"""How far (s) a planned time may pass a promise and still count as kept, in the checker
(`routing.schedule.VehicleState.tolerance` of every vehicle the dispatcher plans) and in the
lateness tests (`relax_broken_promises`, `dispatcher.rides.lifecycle.replan_vehicle`).

A vehicle's route starts where and when it last reported, so an on-plan report moves the plan by
the rounding in that report. What that rounding adds up to, at most:
- the position: a phone sends full precision (api/static/driver.js), the API takes a float and the
  database keeps a double; the plan keys points at POSITION_DECIMALS (<= 7.9 mm off). Other clients
  often send 6 decimals (<= 7.9 cm off; such a value is already on the 7-decimal grid): 8 cm;
- those metres in seconds at the slowest the travel models drive them: the road network's access
  legs at 10 km/h (`routing.roadnetwork.ACCESS_SPEED_KMH`, 0.36 s/m; on the road a point is snapped
  to a node, so rounding moves only its access leg); the straight-line profiles take 0.13-0.22 s/m:
  8 cm x 0.36 s/m = 29 ms;
- the clock: instants are kept to the microsecond (`from_seconds`, the databases), <= 0.5 us per
  reading, a few readings per route; floating point on the seconds-of-day axis: < 1e-8 s.
That is under 30 ms; 0.1 s leaves room for more than three times as much and is still 1/600 of the
whole minutes in which promises are given. A rider is late, and a route infeasible, only beyond it.
(A tenant whose straight-line speed or circuity is set far off the profiles, or a road-network
position that rounds onto another road node, can move more than this; those are not rounding.)
"""


def _key(lat: float, lon: float) -> Point:
    return Point(round(lat, POSITION_DECIMALS), round(lon, POSITION_DECIMALS))


class ProblemBuilder:
    """Collects the problem's points into a lazily computed travel matrix."""

    def __init__(self, matrix: LazyMatrix) -> None:
        self.matrix = matrix
        self.index: dict[Point, int] = {}

    def loc(self, lat: float, lon: float) -> int:
        p = _key(lat, lon)
        i = self.index.get(p)
        if i is None:
            i = self.index[p] = self.matrix.add(p)
        return i


log = logging.getLogger(__name__)
GRACE_S = 300.0  # a promise that can no longer be kept becomes "as soon as possible" + 5 min


def relax_broken_promises(
    vs: VehicleState, stops: list[Stop], travel: LazyMatrix
) -> tuple[VehicleState, list[Stop]]:
    """A rider on board whose latest arrival or ride-time limit reality has already broken (a
    slow boarding, a traffic jam) cannot be planned around and cannot change vehicle: that promise
    becomes "as soon as possible" — the time the vehicle would reach the drop-off directly from
    where it is, plus a short grace — so the rest of the plan stays plannable and that rider comes
    first. Riders still waiting keep their promises strictly: a late vehicle's route stays
    infeasible until re-optimization moves them to a vehicle that can keep them."""
    aboard = {o.request_id: o for o in vs.onboard}
    if not aboard:
        return vs, stops
    ready = max(vs.start_time, vs.not_before)
    out, onboard = [], []
    for s in stops:
        o = aboard.get(s.request_id)
        if o is not None:
            soonest = max(ready, vs.start_time + travel[vs.start_location][s.location])
            # late only beyond the checker's tolerance: within it the promise still counts as kept
            if min(s.latest, o.ride_start + o.max_ride) + vs.tolerance < soonest:
                log.warning("vehicle %s: rider of ride %s is late; dropping off first", vs.id, s.request_id)
                s = replace(s, latest=max(s.latest, soonest + GRACE_S))
                aboard[s.request_id] = replace(o, max_ride=max(o.max_ride, soonest + GRACE_S - o.ride_start))
        out.append(s)
    onboard = [aboard[o.request_id] for o in vs.onboard]
    return replace(vs, onboard=tuple(onboard)), out


def ride_stops(
    cfg: TenantConfig, ride: Any, day: date, pickup_loc: int, dropoff_loc: int
) -> tuple[Stop, Stop]:
    """The pickup and drop-off stops of a ride (a Ride or a RIDE_COLUMNS row)."""
    tz = cfg.tz
    seats, chairs = seats_needed(ride.party_size, ride.wheelchair)
    assert ride.id is not None and ride.pickup_window_start and ride.pickup_window_end
    assert ride.latest_arrival is not None
    p = Stop(
        request_id=ride.id,
        kind="pickup",
        location=pickup_loc,
        earliest=to_seconds(ride.pickup_window_start, day, tz),
        latest=to_seconds(ride.pickup_window_end, day, tz),
        service=service_seconds(cfg, ride, "pickup"),
        seats=seats,
        wheelchairs=chairs,
        max_ride=ride.max_ride_seconds,
    )
    d = Stop(
        request_id=ride.id,
        kind="dropoff",
        location=dropoff_loc,
        earliest=0.0,
        latest=to_seconds(ride.latest_arrival, day, tz),
        service=service_seconds(cfg, ride, "dropoff"),
        seats=seats,
        wheelchairs=chairs,
    )
    return p, d


def _heading(
    stop: Stop, planned: float | None, start: int, since: float, now_s: float, travel: LazyMatrix
) -> int:
    """1 when the vehicle is on its way to its first pending stop, else 0.

    planned: that stop's planned time (s of the day; None in a plan being assembled, not yet timed).

    The routing problem assumes a vehicle left its last known place at `since`, heading for its
    next stop. That holds for the stop it was planned to drive to, once its planned departure has
    come; it does not for a stop a new plan would send it to instead (the driver sets off again
    from wherever he is, later). Such a first stop stays first while it can still be kept, so the
    planned times of the following stops are ones the vehicle can reach. (A first stop it can no
    longer keep stays free to move to another vehicle.)"""
    if planned is None:
        return 0
    leg = travel[start][stop.location]
    on_the_way = since < now_s and planned - leg <= now_s
    return int(on_the_way and max(since + leg, now_s, stop.earliest) <= stop.latest)


def _parked(stop: Stop | None, planned: float | None, start: int, now_s: float, travel: LazyMatrix) -> bool:
    """Whether the vehicle is waiting where it was last known, not driving: it has no pending stop,
    or the planned departure for its first one (planned: its planned time, s of the day; None when
    not yet timed) has not come yet. Such a vehicle sets off from there no earlier than now (s),
    whenever it last reported: a plan that assumed it left at its last report would promise a stop
    given to it now at a time it cannot reach (an idle vehicle handed a pickup whose window is
    already open)."""
    if stop is None:
        return True
    if planned is None:
        return False
    return planned - travel[start][stop.location] > now_s


@dataclass(frozen=True)
class VehicleBase:
    """What the routing problem needs of one vehicle, as the database holds it: it changes with
    writes (a booking, a report, a re-optimization), not with the clock. `finish_route` turns it
    into the vehicle's route at a moment.

    Times are seconds of the service day (`dispatcher.timeline.to_seconds`); places are indices
    of the problem's travel matrix. start, since: where the vehicle was last known to be, and since
    when (a position report, else its last done stop, else its depot at the start of the shift);
    arrived: pickups at the head of its route it has arrived at (they stay first, in order);
    first_planned: the planned time of its first pending stop (None: not timed yet)."""

    vehicle: Vehicle
    depot: int
    start: int
    since: float
    shift_start: float
    shift_end: float
    onboard: tuple[OnBoard, ...]
    stops: tuple[Stop, ...]
    arrived: int
    first_planned: float | None
    boarding_from: float | None = None  # the first arrived pickup: when its boarding may have begun
    rows: Mapping[int, Any] = field(default_factory=dict, compare=False, repr=False)  # its rides, read
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def finish_route(base: VehicleBase, now_s: float, travel: LazyMatrix) -> Route:
    """The vehicle's route to plan with at `now_s` (s of the day): whether it is already on its way
    to its first stop or waiting, and promises reality has already broken relaxed."""
    stops = base.stops
    fixed, since = base.arrived, base.since
    first = stops[0] if stops else None
    if fixed == 0 and first is not None:
        fixed = _heading(first, base.first_planned, base.start, since, now_s, travel)
    if fixed == 0 and _parked(first, base.first_planned, base.start, now_s, travel):
        # riders on board too: cargo or a rider waits with the vehicle for its next pickup
        since = max(since, now_s)  # waiting there: it can set off now, not before
    if base.boarding_from is not None and base.boarding_from < now_s:
        # Boarding may be under way since then (the driver taps only when the rider is on board):
        # the ride-time limit runs from it, so a plan made meanwhile that starts this pickup now
        # must leave the ride that much less time.
        head = stops[0]
        stops = (replace(head, max_ride=max(0.0, head.max_ride - (now_s - base.boarding_from))), *stops[1:])
    v = base.vehicle
    assert v.id is not None
    vs = VehicleState(
        id=v.id,
        start_location=base.start,
        start_time=max(base.shift_start, since),
        end_location=base.depot,
        end_time=base.shift_end,
        not_before=now_s,
        seats=v.seats,
        wheelchairs=v.wheelchair_places,
        onboard=base.onboard,
        tolerance=SCHEDULE_TOLERANCE_S,
    )
    if base.onboard:
        vs, relaxed = relax_broken_promises(vs, list(stops), travel)
        stops = tuple(relaxed)
    return Route(vs, stops, fixed)


def _snapshot(v: Vehicle) -> Vehicle:
    """A detached copy of a vehicle row: a live view outlives the session that read it."""
    return Vehicle(**v.model_dump())


def vehicle_bases(
    session: Session,
    cfg: TenantConfig,
    day: date,
    state: PlanState,
    vehicles: Sequence[Vehicle],
    b: ProblemBuilder,
    known: Mapping[int, Any] | None = None,
) -> dict[int, VehicleBase]:
    """The bases of `vehicles` from their routes in `state` and their rides in the database.

    known: ride rows (RIDE_COLUMNS) already read and not changed since (a position report changes
    no ride); only the others are read."""
    tz = cfg.tz
    ride_ids = {s["ride_id"] for v in vehicles for s in state.routes.get(id_of(v), [])}
    rides: dict[int, Any] = {rid: known[rid] for rid in ride_ids if rid in known} if known else {}
    missing = ride_ids - rides.keys()
    if missing:
        # (sqlmodel's select() is typed for up to 4 columns; the Select it builds takes any number)
        rows: Iterable[Any] = session.exec(Select(*RIDE_COLUMNS).where(col(Ride.id).in_(missing)))
        rides.update((r.id, r) for r in rows)
    onboard_of: dict[int, list[Any]] = {}
    for r in rides.values():
        if r.status == RideStatus.on_board and r.picked_up_at is not None:
            onboard_of.setdefault(r.vehicle_id, []).append(r)
    out = {}
    for v in vehicles:
        vid = id_of(v)
        shift_start = to_seconds(at_local(day, parse_hhmm(v.shift_start), tz), day, tz)
        shift_end = to_seconds(at_local(day, parse_hhmm(v.shift_end), tz), day, tz)
        depot = b.loc(v.depot_lat, v.depot_lon)
        done = state.done(vid)
        start, since = depot, shift_start
        if done:
            last = rides[done[-1]["ride_id"]]
            start = (
                b.loc(last.origin_lat, last.origin_lon)
                if done[-1]["kind"] == "pickup"
                else b.loc(last.destination_lat, last.destination_lon)
            )
            since = to_seconds(datetime.fromisoformat(done[-1]["done_at"]), day, tz)
        if v.last_lat is not None and v.last_lon is not None and v.last_position_at is not None:
            reported = to_seconds(v.last_position_at, day, tz)
            if reported >= since and v.last_position_at.astimezone(tz).date() == day:
                start, since = b.loc(v.last_lat, v.last_lon), reported
        if v.delayed_until is not None and v.delayed_until.astimezone(tz).date() == day:
            since = max(since, to_seconds(v.delayed_until, day, tz))  # held up where it is
        onboard = []
        for r in sorted(onboard_of.get(vid, []), key=lambda r: r.id):  # the same order however read
            seats, chairs = seats_needed(r.party_size, r.wheelchair)
            onboard.append(
                OnBoard(r.id, to_seconds(r.picked_up_at, day, tz), seats, chairs, r.max_ride_seconds)
            )
        pending = state.pending(vid)
        stops: list[Stop] = []
        arrived = 0
        for k, entry in enumerate(pending):
            r = rides[entry["ride_id"]]
            p, d = ride_stops(
                cfg, r, day, b.loc(r.origin_lat, r.origin_lon), b.loc(r.destination_lat, r.destination_lon)
            )
            stops.append(p if entry["kind"] == "pickup" else d)
            if k == arrived and entry["kind"] == "pickup" and r.status == RideStatus.vehicle_arrived:
                arrived += 1
        first_planned = None
        if pending and "planned_time" in pending[0]:
            first_planned = to_seconds(datetime.fromisoformat(pending[0]["planned_time"]), day, tz)
        boarding_from = None
        if arrived:  # boarding begins at the planned time, not before the car is there and the window open
            head = rides[pending[0]["ride_id"]]
            if head.arrived_at is not None and head.pickup_window_start is not None:
                boarding_from = max(
                    to_seconds(max(head.arrived_at, head.pickup_window_start), day, tz), first_planned or 0.0
                )
        out[vid] = VehicleBase(
            _snapshot(v),
            depot,
            start,
            since,
            shift_start,
            shift_end,
            tuple(onboard),
            tuple(stops),
            arrived,
            first_planned,
            boarding_from,
            {s["ride_id"]: rides[s["ride_id"]] for s in state.routes.get(vid, [])},
        )
    return out


def _planned(v: Vehicle, state: PlanState) -> bool:
    """Whether a vehicle is part of the routing problem: a deactivated vehicle keeps the stops it
    still has (until they are done or moved)."""
    return v.active or bool(state.pending(id_of(v)))


def build_problem(
    ctx: Dispatcher,
    session: Session,
    cfg: TenantConfig,
    day: date,
    state: PlanState,
    now: datetime,
    extra_points: Sequence[Point] = (),
    only: int | None = None,
) -> Problem:
    """The routing problem of the pending plan, read from the database; extra points get matrix
    rows too.

    only: just this vehicle (and its rides), e.g. to retime one vehicle after its driver's report
    without reading every ride of the day."""
    vehicles = [v for v in _fleet(session, cfg, only) if _planned(v, state)]
    b = ProblemBuilder(LazyMatrix(ctx.travel(cfg.id, session).duration, []))
    bases = vehicle_bases(session, cfg, day, state, vehicles, b)
    return _problem(cfg, day, vehicles, bases, b, now, extra_points)


def _fleet(session: Session, cfg: TenantConfig, only: int | None = None) -> list[Vehicle]:
    """The tenant's vehicles in id order (only: that one)."""
    query = select(Vehicle).where(Vehicle.tenant_id == cfg.id).order_by(col(Vehicle.id))
    if only is not None:
        query = query.where(Vehicle.id == only)
    return list(session.exec(query))


def _problem(
    cfg: TenantConfig,
    day: date,
    vehicles: list[Vehicle],
    bases: Mapping[int, VehicleBase],
    b: ProblemBuilder,
    now: datetime,
    extra_points: Sequence[Point],
) -> Problem:
    """The routing problem at `now` of these vehicles' bases (extra points get matrix rows too)."""
    for point in extra_points:
        b.loc(point.lat, point.lon)
    now_s = to_seconds(now, day, cfg.tz)
    chosen = [bases[id_of(v)] for v in vehicles]
    routes = [finish_route(base, now_s, b.matrix) for base in chosen]
    return Problem(day, vehicles, routes, b.matrix, b.index, [base.memo for base in chosen])


MAX_VIEW_POINTS = 20000
"""A live view whose travel matrix has grown past this many points (a fleet's position reports add
one each) is read again from the database, dropping the points no route uses any more."""


@dataclass
class LiveView:
    """A tenant day's plan as of lock sequence `seq`, kept in memory between transactions and
    moved on by each write instead of being read again: the routes as stored, every vehicle of the
    tenant (detached copies, by id), the bases of those in the problem, and one travel matrix (only
    ever appended to, so views share it)."""

    seq: int
    day: date
    state: PlanState
    vehicles: dict[int, Vehicle]
    bases: dict[int, VehicleBase]
    builder: ProblemBuilder

    def plan(self) -> PlanState:
        """The plan to work on (a copy: editing it does not touch the view)."""
        return _plan_state(self.state.version, self.state.routes, True)

    def problem(self, cfg: TenantConfig, now: datetime, extra_points: Sequence[Point] = ()) -> Problem:
        """The routing problem at `now`, as `build_problem` would read it from the database."""
        vehicles = [v for v in self.vehicles.values() if _planned(v, self.state)]
        return _problem(cfg, self.day, vehicles, self.bases, self.builder, now, extra_points)


def load_view(ctx: Dispatcher, session: Session, cfg: TenantConfig, day: date, seq: int) -> LiveView:
    """The live view read from the database (as of lock sequence `seq`)."""
    state = current_plan(session, cfg.id, day)
    vehicles = _fleet(session, cfg)
    b = ProblemBuilder(LazyMatrix(ctx.travel(cfg.id, session).duration, []))
    bases = vehicle_bases(session, cfg, day, state, [v for v in vehicles if _planned(v, state)], b)
    return LiveView(seq, day, state, {id_of(v): _snapshot(v) for v in vehicles}, bases, b)


def view_route(
    session: Session, cfg: TenantConfig, view: LiveView, state: PlanState, vehicle: Vehicle, now: datetime
) -> Route | None:
    """One vehicle's route at `now` on the view's travel matrix, from its route in `state` and its
    row as it stands in this transaction (where it is now), reusing the rides the view read: what
    a position report retimes (None: the vehicle is not planned)."""
    vid = id_of(vehicle)
    old = view.bases.get(vid)
    if old is None or not _planned(vehicle, state):
        return None
    base = vehicle_bases(session, cfg, view.day, state, [vehicle], view.builder, old.rows)[vid]
    return finish_route(base, to_seconds(now, view.day, cfg.tz), view.builder.matrix)


def kept_view(ctx: Dispatcher, session: Session, cfg: TenantConfig, day: date, seq: int) -> LiveView | None:
    """The view this process kept at seq - 1, planned with today's travel model (None: none, or
    another writer came between, or the travel margins changed)."""
    view = ctx.views.get((cfg.id, day))
    if (
        isinstance(view, LiveView)
        and view.seq == seq - 1
        and view.builder.matrix.duration == ctx.travel(cfg.id, session).duration
    ):
        return view
    return None


def live_view(ctx: Dispatcher, session: Session, cfg: TenantConfig, day: date, seq: int) -> LiveView:
    """The day's view as it stood before this transaction took the tenant lock with sequence
    `seq`: the one this process remembered at seq - 1 (nobody else has changed anything since:
    every write bumps the sequence under the same lock), else read from the database."""
    return kept_view(ctx, session, cfg, day, seq) or load_view(ctx, session, cfg, day, seq - 1)


def live_problem(
    ctx: Dispatcher,
    session: Session,
    cfg: TenantConfig,
    day: date,
    seq: int,
    now: datetime,
    extra_points: Sequence[Point],
) -> tuple[LiveView, PlanState, Problem]:
    """The view, the plan and the routing problem under the tenant lock taken with sequence `seq`
    (the plan and problem are the caller's to change; the view is not)."""
    view = live_view(ctx, session, cfg, day, seq)
    return view, view.plan(), view.problem(cfg, now, extra_points)


def moved_view(
    ctx: Dispatcher,
    session: Session,
    cfg: TenantConfig,
    day: date,
    seq: int,
    state: PlanState,
    vehicle_ids: Iterable[int] = (),
    basis: LiveView | None = None,
    positions: Iterable[int] = (),
) -> LiveView | None:
    """The view after this transaction's writes (call it after them, before the commit; keep the
    result with `remember` once committed): the view before (`basis`, or the one remembered at
    seq - 1) with the routes `state` changed and the vehicles `vehicle_ids` (a position, a status)
    read again (of those in `positions` only the vehicle: its rides did not change). Without a
    view before, a complete `state` gives one read afresh; else None (the next booking reads the
    day from the database)."""
    if basis is None:
        basis = kept_view(ctx, session, cfg, day, seq)
    if basis is None:
        if not state.complete:
            return None
        return load_view(ctx, session, cfg, day, seq)
    if len(basis.builder.matrix) > MAX_VIEW_POINTS:
        return load_view(ctx, session, cfg, day, seq)
    rewritten = state.written
    touched = set(vehicle_ids) | rewritten
    routes = dict(basis.state.routes)
    for vid in rewritten:
        routes[vid] = list(state.routes.get(vid, []))
    new_state = PlanState(max(basis.state.version, state.version), routes, routes, True)
    vehicles = dict(basis.vehicles)
    read = [] if not touched else list(session.exec(select(Vehicle).where(col(Vehicle.id).in_(touched))))
    for v in read:
        vehicles[id_of(v)] = _snapshot(v)
    bases = dict(basis.bases)
    for vid in touched:
        bases.pop(vid, None)
    fresh = [v for v in read if _planned(v, new_state)]
    # the rides of vehicles that only moved (`positions`) are as read before
    known = {rid: row for vid in positions if (b := basis.bases.get(vid)) for rid, row in b.rows.items()}
    bases.update(vehicle_bases(session, cfg, day, new_state, fresh, basis.builder, known))
    return LiveView(seq, day, new_state, vehicles, bases, basis.builder)


def remember(ctx: Dispatcher, cfg: TenantConfig, view: LiveView | None) -> None:
    """Keep a committed transaction's view (`moved_view`) for the next one."""
    if view is not None:
        ctx.views[(cfg.id, view.day)] = view


def plan_faults(state: PlanState, rides: Mapping[int, tuple[str, int | None]]) -> list[str]:
    """What is structurally wrong with a plan (empty when nothing): every open ride of the day has
    exactly one pickup and one drop-off, in that order, on the vehicle it is assigned to, and the
    plan holds nothing but open and completed rides. Time windows are the checker's business
    (`routing.schedule.check`).

    rides: (status, vehicle_id) of every ride of the day by id."""
    faults = []
    seen: Counter[tuple[int, str]] = Counter()
    for vid, stops in state.routes.items():
        order: dict[int, list[str]] = {}
        for s in stops:
            rid = s["ride_id"]
            seen[(rid, s["kind"])] += 1
            order.setdefault(rid, []).append(s["kind"])
            if rid not in rides:
                faults.append(f"ride {rid} is planned on vehicle {vid} but is not a ride of the day")
            elif rides[rid][1] != vid:
                faults.append(f"ride {rid} is planned on vehicle {vid} but assigned to {rides[rid][1]}")
        for rid, kinds in order.items():
            if kinds != ["pickup", "dropoff"]:
                faults.append(f"ride {rid}: stops {kinds} on vehicle {vid}")
    for rid, (status, _vid) in rides.items():
        if status in OPEN_RIDE_STATUSES:
            for kind in ("pickup", "dropoff"):
                if seen[(rid, kind)] != 1:
                    faults.append(f"ride {rid} ({status}): {kind} planned {seen[(rid, kind)]} times")
        elif any(seen[(rid, k)] for k in ("pickup", "dropoff")) and status != RideStatus.completed:
            faults.append(f"ride {rid} ({status}) is still in the plan")
    return faults


def apply_route(
    cfg: TenantConfig,
    state: PlanState,
    vehicle_id: int,
    stops: tuple[Stop, ...] | list[Stop],
    schedule: Schedule,
    day: date,
    session: Session,
) -> None:
    """Replace a vehicle's pending stops and stamp planned times on the plan and on the rides.

    Only rides whose vehicle or planned time changes are written (a ride already planned on this
    vehicle at the same time, as most are when one ride is inserted, is left alone)."""
    tz = cfg.tz
    before = {(e["ride_id"], e["kind"]): e.get("planned_time") for e in state.pending(vehicle_id)}
    entries = state.done(vehicle_id)
    changes: dict[int, dict[str, Any]] = {}
    for s, t in zip(stops, schedule.times, strict=True):
        at = from_seconds(t, day, tz)
        iso = at.isoformat()
        entries.append({"ride_id": s.request_id, "kind": s.kind, "planned_time": iso, "done": False})
        if before.get((s.request_id, s.kind)) != iso:
            change = changes.setdefault(s.request_id, {"vehicle_id": vehicle_id})
            change["planned_pickup" if s.kind == "pickup" else "planned_dropoff"] = at
    state.routes[vehicle_id] = entries
    bulk: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for rid, change in changes.items():
        held = session.identity_map.get(identity_key(Ride, rid))
        if held is not None:  # a ride this transaction holds (the one being booked): set it there
            for name, value in change.items():
                setattr(held, name, value)
        else:
            bulk.setdefault(tuple(sorted(change)), []).append({"id": rid, **change})
    for rows in bulk.values():
        session.execute(update(Ride), rows)  # by primary key, one statement per shape


def invalid_routes(
    vehicles: list[Vehicle],
    routes: list[Route],
    unplaced: list[tuple[Stop, Stop]],
    stops: Sequence[Sequence[Stop]],
    travel: Any,
) -> str | None:
    """Why the solver's stop sequences are no plan of these routes and unplaced requests (None when
    they are one): a sequence per vehicle, every pending stop exactly once, each route accepted by
    the checker."""
    if len(stops) != len(routes):
        return f"{len(stops)} routes for {len(routes)} vehicles"
    want = Counter((s.request_id, s.kind) for r in routes for s in r.stops)
    want.update((s.request_id, s.kind) for pair in unplaced for s in pair)
    got = Counter((s.request_id, s.kind) for seq in stops for s in seq)
    if got != want:
        missing, extra = sorted((want - got).elements()), sorted((got - want).elements())
        return f"stops missing {missing[:5]}, extra {extra[:5]}"
    for v, r, seq in zip(vehicles, routes, stops, strict=True):
        sched = check(r.vehicle, seq, travel)
        if not sched.feasible:
            return f"{v.key}: {sched.reason}"
    return None
