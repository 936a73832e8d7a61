"""Cheapest feasible insertion of one request into a set of vehicle routes.

Candidates (vehicle, pickup position, drop-off position) are ranked by the added driving time, which
needs no schedule, and then checked in that order with the exact checker; the first feasible one is
the cheapest feasible insertion. Units: seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from routing.schedule import Schedule, Stop, VehicleState, check


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


def insertion_candidates(
    route: Route, pickup: Stop, dropoff: Stop, travel: Sequence[Sequence[float]]
) -> list[tuple[float, int, int]]:
    """All (added driving time, pickup position, drop-off position) for one route, unsorted.

    Positions index the gap before stops[k] (k = len(stops) is the end of the route). Pickup and
    drop-off placed in the same gap means the drop-off follows the pickup directly.
    """
    v = route.vehicle
    locs = [v.start_location] + [s.location for s in route.stops] + [v.end_location]
    n = len(route.stops)
    p, d = pickup.location, dropoff.location
    pd = travel[p][d]
    # gap k lies between locs[k] and locs[k + 1]
    base = [travel[locs[k]][locs[k + 1]] for k in range(n + 1)]
    add_p = [travel[locs[k]][p] + travel[p][locs[k + 1]] - base[k] for k in range(n + 1)]
    add_d = [travel[locs[k]][d] + travel[d][locs[k + 1]] - base[k] for k in range(n + 1)]
    out: list[tuple[float, int, int]] = []
    for i in range(route.fixed, n + 1):
        # same gap: prev -> p -> d -> next
        out.append((travel[locs[i]][p] + pd + travel[d][locs[i + 1]] - base[i], i, i))
        for j in range(i + 1, n + 1):
            out.append((add_p[i] + add_d[j], i, j))
    return out


def cheapest_insertion(
    routes: Sequence[Route],
    pickup: Stop,
    dropoff: Stop,
    travel: Sequence[Sequence[float]],
    max_checks: int | None = None,
) -> Insertion | None:
    """The cheapest feasible insertion of the pair over all routes, or None when none fits.

    max_checks bounds how many candidates are checked exactly (None: all, which is exact).
    """
    candidates: list[tuple[float, int, int, int]] = []
    for r, route in enumerate(routes):
        v = route.vehicle
        if pickup.seats > v.seats or pickup.wheelchairs > v.wheelchairs:
            continue
        candidates.extend(
            (cost, r, i, j) for cost, i, j in insertion_candidates(route, pickup, dropoff, travel)
        )
    candidates.sort()
    for k, (cost, r, i, j) in enumerate(candidates):
        if max_checks is not None and k >= max_checks:
            break
        route = routes[r]
        old = route.stops
        stops = old[:i] + (pickup,) + old[i:j] + (dropoff,) + old[j:]
        schedule = check(route.vehicle, stops, travel)
        if schedule.feasible:
            return Insertion(r, stops, schedule, cost)
    return None
