"""The exact schedule checker for one vehicle's stop sequence.

Given where a vehicle is and when, who is on board and the ordered stops it still has to visit,
decide whether *any* schedule meets every time window, every ride-time limit, the capacities by seat
type and the shift, and return the earliest such schedule.

All constraints are difference constraints between service start times (waiting is allowed), so the
earliest schedule is the least fixpoint of a Bellman-Ford relaxation: a forward pass pushes times
later along the route, and every ride-time limit that is exceeded raises the lower bound of its
pickup. If the least solution breaks an upper bound, or does not settle within n + 2 rounds (a
positive cycle), no schedule exists. The check is exact, not a heuristic.

Units: times and durations in seconds on one common axis (the dispatcher uses seconds since the
service day's local midnight); loads in persons.

Every solver and the insertion heuristic share this checker; tests use it to verify any plan.

Tolerance: a start of service counts as on time when it is at most `VehicleState.tolerance` after
its limit (every limit: windows, ride times, shift, route duration). The default, FLOAT_TOLERANCE,
absorbs floating-point rounding only; the dispatcher gives its vehicles
`dispatcher.rides.plan.SCHEDULE_TOLERANCE_S`, which also absorbs the rounding of reported positions
and clock readings (the table in docs/design.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

FLOAT_TOLERANCE = 1e-6
"""The checker's default tolerance, in the input's time unit (seconds in the dispatcher, minutes in
the benchmarks): floating-point rounding only. Times on the axis stay below 1e5 (seconds of a day),
where a double's spacing is 1.5e-11, so summing even a thousand legs errs by less than 1e-8: a
millionth of a unit is far above that and far below anything that matters. The benchmarks keep it,
so their plans are feasible to the published instances' precision."""

INF = float("inf")

StopKind = Literal["pickup", "dropoff"]


class TravelRow(Protocol):
    """Durations from one location, indexed by the destination's location."""

    def __getitem__(self, j: int, /) -> float: ...


class TravelMatrix(Protocol):
    """Durations between locations, `travel[from][to]`: a list of lists, a numpy array or a
    `routing.traveltime.LazyMatrix` (which computes its entries when first read)."""

    def __len__(self) -> int: ...

    def __getitem__(self, i: int, /) -> TravelRow: ...


@dataclass(frozen=True, slots=True)
class Stop:
    """One stop of a request.

    location: index into the travel-time matrix.
    earliest, latest: window for the start of service (s).
    service: dwell time at the stop (s): boarding or alighting.
    seats, wheelchairs: persons of the request using ordinary seats and wheelchair places.
    max_ride: ride-time limit of the request (s), from the end of service at the pickup to the start
    of service at the drop-off; INF when unlimited.
    """

    request_id: int
    kind: StopKind
    location: int
    earliest: float = 0.0
    latest: float = INF
    service: float = 0.0
    seats: int = 1
    wheelchairs: int = 0
    max_ride: float = INF


@dataclass(frozen=True, slots=True)
class OnBoard:
    """A request already picked up: its ride started (end of boarding) at `ride_start` seconds."""

    request_id: int
    ride_start: float
    seats: int = 1
    wheelchairs: int = 0
    max_ride: float = INF


@dataclass(frozen=True, slots=True)
class VehicleState:
    """Where and when a vehicle can start the rest of its route, and what it can carry.

    start_location / end_location: indices into the travel-time matrix (last known position, depot).
    start_time: earliest departure from the start location (s): when the vehicle was last there.
    not_before: no stop can be served before this time (s), usually now; a vehicle that left its
    last stop earlier is somewhere on the road and has not reported its next stop yet.
    end_time: latest arrival at the end location (end of shift, s).
    max_duration: longest allowed time from departure to return (s), INF when only the shift counts.
    tolerance: how far (s) a time may pass its limit and still count as kept: the rounding in where
    and when the vehicle was last known (FLOAT_TOLERANCE when its state is exact; the dispatcher's
    vehicles report rounded positions, see `dispatcher.rides.plan.SCHEDULE_TOLERANCE_S`).
    """

    id: int
    start_location: int
    start_time: float
    end_location: int
    end_time: float = INF
    not_before: float = 0.0
    seats: int = 4
    wheelchairs: int = 0
    onboard: tuple[OnBoard, ...] = ()
    max_duration: float = INF
    tolerance: float = FLOAT_TOLERANCE


@dataclass(slots=True)
class Schedule:
    """The outcome of a check.

    feasible: whether a schedule exists; reason says why not.
    times: start of service at each stop (s), the earliest feasible schedule.
    departure: departure from the start location (s); end: arrival at the end location (s).
    travel: total driving time of the route (s).
    """

    feasible: bool
    reason: str = ""
    times: list[float] = field(default_factory=list)
    departure: float = 0.0
    end: float = 0.0
    travel: float = 0.0


def route_travel(vehicle: VehicleState, stops: Sequence[Stop], travel: TravelMatrix) -> float:
    """Total driving time (s) of start -> stops -> end."""
    total = 0.0
    prev = vehicle.start_location
    for s in stops:
        total += travel[prev][s.location]
        prev = s.location
    return total + travel[prev][vehicle.end_location]


def check_structure(vehicle: VehicleState, stops: Sequence[Stop]) -> str:
    """Pairing and capacity problems of a sequence ('' when there are none)."""
    seats = sum(o.seats for o in vehicle.onboard)
    chairs = sum(o.wheelchairs for o in vehicle.onboard)
    if seats > vehicle.seats or chairs > vehicle.wheelchairs:
        return "riders on board exceed the vehicle's capacity"
    aboard = {o.request_id for o in vehicle.onboard}
    picked: set[int] = set()
    dropped: set[int] = set()
    for i, s in enumerate(stops):
        if s.kind == "pickup":
            if s.request_id in picked or s.request_id in aboard:
                return f"stop {i}: request {s.request_id} is picked up twice"
            picked.add(s.request_id)
            aboard.add(s.request_id)
            seats += s.seats
            chairs += s.wheelchairs
            if seats > vehicle.seats:
                return f"stop {i}: {seats} seated riders exceed {vehicle.seats} seats"
            if chairs > vehicle.wheelchairs:
                return f"stop {i}: {chairs} wheelchairs exceed {vehicle.wheelchairs} places"
        else:
            if s.request_id not in aboard or s.request_id in dropped:
                return f"stop {i}: request {s.request_id} is dropped off without being on board"
            aboard.discard(s.request_id)
            dropped.add(s.request_id)
            seats -= s.seats
            chairs -= s.wheelchairs
    if aboard:
        return f"requests {sorted(aboard)} are never dropped off"
    return ""


def check(vehicle: VehicleState, stops: Sequence[Stop], travel: TravelMatrix) -> Schedule:
    """Decide exactly whether the sequence has a feasible schedule and return the earliest one."""
    problem = check_structure(vehicle, stops)
    if problem:
        return Schedule(False, problem)
    return _schedule(vehicle, stops, travel)


def _schedule(vehicle: VehicleState, stops: Sequence[Stop], travel: TravelMatrix) -> Schedule:
    n = len(stops)
    lo = [max(s.earliest, vehicle.not_before) for s in stops]
    hi = [s.latest for s in stops]
    # Ride-time limits of riders already on board are plain deadlines on their drop-offs.
    onboard = {o.request_id: o for o in vehicle.onboard}
    pickup_at: dict[int, int] = {}
    pairs: list[tuple[int, int]] = []
    for i, s in enumerate(stops):
        if s.kind == "pickup":
            pickup_at[s.request_id] = i
        elif s.request_id in pickup_at:
            pairs.append((pickup_at[s.request_id], i))
        elif s.request_id in onboard:
            o = onboard[s.request_id]
            hi[i] = min(hi[i], o.ride_start + o.max_ride)
    tol = vehicle.tolerance
    for i in range(n):
        if lo[i] > hi[i] + tol:
            return Schedule(False, f"stop {i}: empty time window")
    # Legs: the time from the start of service at stop i-1 (or departure) to the start at stop i.
    legs = []
    prev_loc, prev_service = vehicle.start_location, 0.0
    for s in stops:
        legs.append(prev_service + travel[prev_loc][s.location])
        prev_loc, prev_service = s.location, s.service
    last_leg = prev_service + travel[prev_loc][vehicle.end_location]
    dep_lo = vehicle.start_time
    times = [0.0] * n
    for _ in range(n + 2):
        t = dep_lo
        for i in range(n):
            t = max(lo[i], t + legs[i])
            if t > hi[i] + tol:
                s = stops[i]
                return Schedule(
                    False,
                    f"stop {i} ({s.kind} of request {s.request_id}) cannot be reached before its latest time",
                )
            times[i] = t
        end = max(t + last_leg, vehicle.not_before)
        if end > vehicle.end_time + tol:
            return Schedule(False, "the vehicle cannot return before the end of its shift")
        changed = False
        for p, d in pairs:
            limit = stops[p].max_ride
            ride = times[d] - (times[p] + stops[p].service)
            if ride > limit + tol:
                lo[p] = times[d] - stops[p].service - limit
                changed = True
        if end - dep_lo > vehicle.max_duration + tol:
            dep_lo = end - vehicle.max_duration
            changed = True
        if not changed:
            return Schedule(
                True,
                times=list(times),
                departure=dep_lo,
                end=end,
                travel=route_travel(vehicle, stops, travel),
            )
    return Schedule(False, "ride-time limits cannot all be met in this order")


def excess_ride(stops: Sequence[Stop], times: Sequence[float], travel: TravelMatrix) -> float:
    """Riders' total time on board beyond their direct drive, for requests picked up in this
    sequence (same units as travel)."""
    picked: dict[int, tuple[Stop, float]] = {}
    total = 0.0
    for s, t in zip(stops, times, strict=True):
        if s.kind == "pickup":
            picked[s.request_id] = (s, t)
        elif s.request_id in picked:
            p, tp = picked.pop(s.request_id)
            total += max(0.0, t - tp - p.service - travel[p.location][s.location])
    return total


def forecast(vehicle: VehicleState, stops: Sequence[Stop], travel: TravelMatrix) -> Schedule:
    """When the stops can no longer all be served in time: the times the vehicle will actually
    reach them, in this order, as soon as it can (earliest bounds kept, latest ones ignored).
    `feasible` is False and `reason` names the first stop served after its latest time (s) by more
    than the vehicle's tolerance."""
    t = vehicle.start_time  # it left its start then (as `check` assumes); not_before bounds service
    here = vehicle.start_location
    times: list[float] = []
    late = ""
    driven = 0.0
    for s in stops:
        leg = travel[here][s.location]
        driven += leg
        t = max(t + leg, s.earliest, vehicle.not_before)
        times.append(t)
        if t > s.latest + vehicle.tolerance and not late:
            late = f"{s.kind} of request {s.request_id} at {t:.0f}s, after its latest {s.latest:.0f}s"
        t += s.service
        here = s.location
    return Schedule(False, late or "on time", times, vehicle.start_time, t, driven)
