"""Cheapest feasible insertion: exact against brute force, and every promise stays feasible."""

from __future__ import annotations

import random
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.insertion import Route, cheapest_insertion
from routing.schedule import Stop, VehicleState, check, route_travel


def insertion_candidates(  # brute force: every position pair
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


def grid_travel(n: int, seed: int) -> tuple[list[list[float]], random.Random]:
    rng = random.Random(seed)
    pts = [(rng.uniform(0, 8000), rng.uniform(0, 8000)) for _ in range(n)]
    travel = [[((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5 / 8.0 for b in pts] for a in pts]
    return travel, rng


def random_request(rng: random.Random, rid: int, n_loc: int, travel: list[list[float]], start: int):
    p, d = rng.sample(range(start, n_loc), 2)
    e = rng.uniform(0, 14_000)
    direct = travel[p][d]
    max_ride = direct * 1.5 + 600
    seats = rng.choice([1, 1, 1, 2, 3])
    chairs = 1 if rng.random() < 0.1 else 0
    pick = Stop(rid, "pickup", p, e, e + 900, 120, seats, chairs, max_ride)
    drop = Stop(rid, "dropoff", d, 0, e + 900 + 120 + max_ride, 60, seats, chairs)
    return pick, drop


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4))
def test_stream_of_requests_keeps_every_route_feasible(seed: int, n_vehicles: int) -> None:
    travel, rng = grid_travel(40, seed)
    routes = [
        Route(VehicleState(v, v, 0.0, v, 20_000.0, seats=4, wheelchairs=v % 2), ()) for v in range(n_vehicles)
    ]
    served = 0
    for rid in range(30):
        pick, drop = random_request(rng, rid, 40, travel, n_vehicles)
        ins = cheapest_insertion(routes, pick, drop, travel)
        # brute force over every position pair of every vehicle
        best = None
        for route in routes:
            for cost, i, j in insertion_candidates(route, pick, drop, travel):
                stops = route.stops[:i] + (pick,) + route.stops[i:j] + (drop,) + route.stops[j:]
                if check(route.vehicle, stops, travel).feasible and (best is None or cost < best - 1e-9):
                    best = cost
        if ins is None:
            assert best is None
            continue
        assert best is not None and abs(ins.added_travel - best) < 1e-6
        old = routes[ins.route_index]
        assert (
            abs(
                route_travel(old.vehicle, ins.stops, travel)
                - route_travel(old.vehicle, old.stops, travel)
                - ins.added_travel
            )
            < 1e-6
        )
        routes[ins.route_index] = Route(old.vehicle, ins.stops)
        served += 1
        for route in routes:  # every promise already given stays feasible
            assert check(route.vehicle, route.stops, travel).feasible
    assert served > 0


def test_fixed_prefix_stays_first() -> None:
    travel, _ = grid_travel(10, 3)
    first = Stop(1, "pickup", 5, 0, 50_000)
    route = Route(VehicleState(1, 0, 0.0, 0, 100_000.0), (first, Stop(1, "dropoff", 6, 0, 50_000)), fixed=1)
    ins = cheapest_insertion(
        [route], Stop(2, "pickup", 1, 0, 50_000), Stop(2, "dropoff", 2, 0, 50_000), travel
    )
    assert ins is not None and ins.stops[0] == first
