"""Cheapest feasible insertion of one request into a set of vehicle routes.

For each route, candidate positions (pickup gap, drop-off gap) are screened by necessary conditions,
ranked by the driving time they add, and checked in that order with the exact checker; the first
feasible one is the route's cheapest feasible insertion, and the cheapest over all routes wins.
Units: the travel matrix's (seconds in the dispatcher).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from routing.schedule import Schedule, Stop, TravelMatrix, VehicleState, _schedule, check


@dataclass(frozen=True, slots=True)
class Route:
    """A vehicle with the stops it still has to visit, in order.

    fixed: how many leading stops are committed (the vehicle is already heading there) and must
    stay in front of anything inserted.
    """

    vehicle: VehicleState
    stops: tuple[Stop, ...]
    fixed: int = 0


@dataclass(frozen=True, slots=True)
class Insertion:
    """The chosen insertion: the vehicle's index in the routes, the new stop sequence, its schedule
    and the driving time it adds (s)."""

    route_index: int
    stops: tuple[Stop, ...]
    schedule: Schedule
    added_travel: float


class RouteState:
    """A feasible route with its schedule and what the insertion screen needs: the latest start
    of service at each stop that keeps the rest of the route's windows, and the load on each leg."""

    __slots__ = ("vehicle", "stops", "fixed", "sched", "latest", "load_seats", "load_chairs", "travel")

    def __init__(
        self,
        vehicle: VehicleState,
        stops: list[Stop],
        fixed: int,
        sched: Schedule,
        travel: TravelMatrix,
    ) -> None:
        self.vehicle, self.stops, self.fixed, self.sched = vehicle, stops, fixed, sched
        self.travel = sched.travel
        n = len(stops)
        # latest start of service at each stop so that the rest of the route keeps its windows
        latest = [0.0] * n
        nxt_t = vehicle.end_time
        nxt_loc = vehicle.end_location
        for k in range(n - 1, -1, -1):
            s = stops[k]
            latest[k] = min(s.latest, nxt_t - s.service - travel[s.location][nxt_loc])
            nxt_t, nxt_loc = latest[k], s.location
        self.latest = latest
        seats = sum(o.seats for o in vehicle.onboard)
        chairs = sum(o.wheelchairs for o in vehicle.onboard)
        ls, lc = [seats], [chairs]  # load on the leg *before* stop k (k = 0..n)
        for s in stops:
            sign = 1 if s.kind == "pickup" else -1
            seats += sign * s.seats
            chairs += sign * s.wheelchairs
            ls.append(seats)
            lc.append(chairs)
        self.load_seats, self.load_chairs = ls, lc

    def at(self, vehicle: VehicleState) -> RouteState:
        """The same route for the same vehicle at a later moment (`vehicle` differs only in
        `not_before`), when its schedule is unchanged (see `Prepared`)."""
        out = object.__new__(RouteState)
        for name in RouteState.__slots__:
            setattr(out, name, getattr(self, name))
        out.vehicle = vehicle
        return out


@dataclass(slots=True)
class Prepared:
    """A route's schedule and insertion screen, kept between insertions into the same route: valid
    for the route at a later moment as long as the vehicle still starts at the same time with the
    same stops and riders, and every planned time is still at or after the new `not_before` (the
    earliest schedule then is the same one; a route infeasible before stays infeasible)."""

    fixed: int
    start_time: float
    stops: tuple[Stop, ...]
    onboard: tuple[Any, ...]
    not_before: float
    state: RouteState | None  # None: the route has no feasible schedule

    def serves(self, route: Route) -> tuple[bool, RouteState | None]:
        """(True, the kept state for `route`; None: infeasible), or (False, None) when it must be
        worked out again."""
        v = route.vehicle
        if (
            route.fixed != self.fixed
            or v.start_time != self.start_time
            or v.not_before < self.not_before
            or (route.stops is not self.stops and route.stops != self.stops)
            or v.onboard != self.onboard
        ):
            return False, None
        st = self.state
        if st is None:
            return True, None
        if (st.sched.times and st.sched.times[0] < v.not_before) or st.sched.end < v.not_before:
            return False, None
        return True, st.at(v)


def prepare(route: Route, travel: TravelMatrix, memo: dict[str, Any] | None = None) -> RouteState | None:
    """The route's schedule and insertion screen (None when it has no feasible schedule: a late
    vehicle takes nothing new), kept in `memo` for the next insertion into it."""
    if memo is not None:
        kept: Prepared | None = memo.get("prepared")
        if kept is not None:
            ok, found = kept.serves(route)
            if ok:
                return found
    v = route.vehicle
    sched = check(v, route.stops, travel)
    st = RouteState(v, list(route.stops), route.fixed, sched, travel) if sched.feasible else None
    if memo is not None:
        memo["prepared"] = Prepared(route.fixed, v.start_time, route.stops, v.onboard, v.not_before, st)
    return st


def best_insertion(
    st: RouteState, p: Stop, d: Stop, travel: TravelMatrix
) -> tuple[float, list[Stop], Schedule] | None:
    """Cheapest feasible insertion of a pickup and its drop-off into one route, exact.

    Candidates are screened by necessary conditions first: the pickup's and drop-off's windows
    against the route's earliest schedule, the delay against each later stop's latest start,
    capacity over the ride, and a ride-time lower bound. The breaks assume travel times obey the
    triangle inequality (true for straight-line and shortest-path times); without it they only
    cost optimality, never feasibility, since the exact checker decides every kept candidate.
    Returns (added driving time, new stop list, schedule) or None.
    """
    veh = st.vehicle
    tol = veh.tolerance  # the checker's: a screen never refuses what the checker would accept
    if p.seats > veh.seats or p.wheelchairs > veh.wheelchairs:
        return None
    stops = st.stops
    n = len(stops)
    times = st.sched.times
    latest = st.latest
    ls, lc = st.load_seats, st.load_chairs
    locs = [veh.start_location] + [s.location for s in stops] + [veh.end_location]
    pl, dl = p.location, d.location
    cands: list[tuple[float, int, int]] = []
    dep = st.sched.departure
    # Before stop i the pickup delays stop i to p.earliest at least; `latest` never decreases along
    # the route, so the gaps before the first stop whose latest start reaches p.earliest take
    # nothing (the loop below would skip each of them): start there.
    first = max(st.fixed, bisect_left(latest, p.earliest - tol))
    for i in range(first, n + 1):
        prev_loc = locs[i]
        prev_t = dep if i == 0 else times[i - 1]
        prev_s = 0.0 if i == 0 else stops[i - 1].service
        a_p = max(p.earliest, veh.not_before, prev_t + prev_s + travel[prev_loc][pl])
        if a_p > p.latest + tol:
            if prev_t > p.latest:
                break
            continue
        if ls[i] + p.seats > veh.seats or lc[i] + p.wheelchairs > veh.wheelchairs:
            continue
        base_i = travel[prev_loc][locs[i + 1]]
        add_p = travel[prev_loc][pl] + travel[pl][locs[i + 1]] - base_i
        # the pickup can start no later than this, so the ride lasts at least a_d - p_late - service
        p_late = p.latest if i == n else min(p.latest, latest[i] - p.service - travel[pl][locs[i + 1]])
        ride_floor = p_late + p.service + p.max_ride
        # d directly after p
        a_d = a_p + p.service + travel[pl][dl]
        if a_d <= d.latest + tol and a_d <= min(a_p + p.service + p.max_ride, ride_floor) + tol:
            ok = True
            if i < n:
                nk = max(stops[i].earliest, a_d + d.service + travel[dl][locs[i + 1]])
                ok = nk <= latest[i] + tol
            else:
                ok = a_d + d.service + travel[dl][veh.end_location] <= veh.end_time + tol
            if ok:
                cost = travel[prev_loc][pl] + travel[pl][dl] + travel[dl][locs[i + 1]] - base_i
                cands.append((cost, i, i))
        # d later: propagate the delayed schedule through stops i..j-1
        if i < n:
            t = max(stops[i].earliest, a_p + p.service + travel[pl][locs[i + 1]])
            if t > latest[i] + tol:
                continue
            for j in range(i + 1, n + 1):
                k = j - 1  # the stop just before gap j
                if ls[j] + p.seats > veh.seats or lc[j] + p.wheelchairs > veh.wheelchairs:
                    break
                if j - 1 > i:
                    t = max(stops[k].earliest, t + stops[k - 1].service + travel[locs[k]][locs[k + 1]])
                    if t > latest[k] + tol:
                        break
                a_d = max(d.earliest, t + stops[k].service + travel[locs[k + 1]][dl])
                if a_d > d.latest + tol or a_d > ride_floor + tol:
                    break
                if j < n:
                    nk = max(stops[j].earliest, a_d + d.service + travel[dl][locs[j + 1]])
                    if nk > latest[j] + tol:
                        continue
                elif a_d + d.service + travel[dl][veh.end_location] > veh.end_time + tol:
                    continue
                base_j = travel[locs[j]][locs[j + 1]]
                cost = add_p + travel[locs[j]][dl] + travel[dl][locs[j + 1]] - base_j
                cands.append((cost, i, j))
    if not cands:
        return None
    cands.sort()
    for cost, i, j in cands:
        new = stops[:i] + [p] + stops[i:j] + [d] + stops[j:]
        sched = _schedule(veh, new, travel)  # the structure is right by construction
        if sched.feasible:
            return cost, new, sched
    return None


def cheapest_insertion(
    routes: Sequence[Route],
    pickup: Stop,
    dropoff: Stop,
    travel: TravelMatrix,
    memos: Sequence[dict[str, Any]] | None = None,
) -> Insertion | None:
    """The cheapest feasible insertion of the pair over all routes, or None when none fits.

    A route that is already infeasible (a late vehicle) takes nothing new. memos: one dict per
    route that keeps its schedule and screen for the next call (`prepare`), e.g. the live plan's.
    """
    best: tuple[float, int, list[Stop], Schedule] | None = None
    for r, route in enumerate(routes):
        v = route.vehicle
        if pickup.seats > v.seats or pickup.wheelchairs > v.wheelchairs:
            continue
        st = prepare(route, travel, memos[r] if memos is not None else None)
        if st is None:
            continue
        found = best_insertion(st, pickup, dropoff, travel)
        if found is not None and (best is None or found[0] < best[0] - 1e-9):
            best = (found[0], r, found[1], found[2])
    if best is None:
        return None
    cost, r, stops, sched = best
    return Insertion(r, tuple(stops), sched, cost)
