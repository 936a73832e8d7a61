"""`noriai bench scale`: a generated service day at city scale, solved from scratch.

`requests` rides over a service day (08:00-17:00) around the demo municipality's places and
settlements, `vehicles` taxis at its three depots, on the straight-line travel-time model. The
production optimizer (`routing.search.improve`) builds a plan; the command prints the time to the
first complete plan (every request served or reported unservable), the cost after the time limit,
and for each unserved request the reason.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import load_tenant
from routing.geo import Point
from routing.insertion import Route
from routing.schedule import Stop, VehicleState, check
from routing.search import SearchOptions, improve
from routing.traveltime import StraightLine


@dataclass
class ScaleDay:
    vehicles: list[VehicleState]
    pairs: list[tuple[Stop, Stop]]
    travel: list[list[float]]
    points: list[Point]


def generate_day(requests: int, vehicles: int, seed: int) -> ScaleDay:
    """A reproducible day: times in seconds since midnight, places around the demo's."""
    rng = random.Random(seed)
    cfg = load_tenant(DEMO_TENANT_FILE)
    places = [Point(p.lat, p.lon) for p in cfg.places]
    depots = sorted({(v.depot.lat, v.depot.lon) for o in cfg.operators for v in o.vehicles})
    points: list[Point] = [Point(*d) for d in depots]

    def near(p: Point, metres: float) -> Point:
        return Point(
            p.lat + rng.uniform(-1, 1) * metres / 111_000, p.lon + rng.uniform(-1, 1) * metres / 90_000
        )

    model = StraightLine.for_profile("rural")
    pairs: list[tuple[Stop, Stop]] = []
    for r in range(1, requests + 1):
        home = near(rng.choice(places), 2500)
        dest = near(rng.choice(places), 150)
        a, b = (home, dest) if rng.random() < 0.6 else (dest, home)
        ia, ib = len(points), len(points) + 1
        points += [a, b]
        direct = model.duration(a, b)
        ready = rng.triangular(8.25 * 3600, 16 * 3600, 9.5 * 3600)
        max_ride = 1.5 * direct + 600
        seats = rng.choices([1, 2, 3], [0.85, 0.12, 0.03])[0]
        chair = 1 if rng.random() < 0.03 else 0
        p = Stop(r, "pickup", ia, ready, ready + 900, 120 + 180 * chair, seats - chair, chair, max_ride)
        d = Stop(r, "dropoff", ib, 0.0, ready + 900 + 120 + max_ride, 60, seats - chair, chair)
        pairs.append((p, d))
    fleet = [
        VehicleState(
            id=k,
            start_location=k % len(depots),
            start_time=7.75 * 3600,
            end_location=k % len(depots),
            end_time=17.5 * 3600,
            seats=3 if k % 10 == 3 else 4,
            wheelchairs=1 if k % 10 == 3 else 0,
        )
        for k in range(vehicles)
    ]
    travel = model.matrix(points).tolist()
    return ScaleDay(fleet, pairs, travel, points)


def unserved_reason(day: ScaleDay, pair: tuple[Stop, Stop]) -> str:
    """Why a request is not in the plan: impossible for any vehicle alone, or the fleet is full."""
    p, d = pair
    reasons = []
    for v in day.vehicles:
        alone = check(v, [p, d], day.travel)
        if alone.feasible:
            hhmm = f"{int(p.earliest // 3600):02d}:{int(p.earliest % 3600 // 60):02d}"
            return f"every vehicle that could take it is fully booked around {hhmm}"
        reasons.append(alone.reason)
    return f"no vehicle can serve it even alone ({reasons[0]})"


def run(requests: int, vehicles: int, seed: int, seconds: float) -> str:
    t0 = time.perf_counter()
    day = generate_day(requests, vehicles, seed)
    gen = time.perf_counter() - t0
    result = improve(
        [Route(v, ()) for v in day.vehicles],
        day.travel,
        optional=day.pairs,
        options=SearchOptions(time_limit_s=seconds, seed=seed),
    )
    assert all(check(v, s, day.travel).feasible for v, s in zip(day.vehicles, result.stops, strict=True))
    by_id = {p.request_id: (p, d) for p, d in day.pairs}
    lines = [
        f"{requests} requests, {vehicles} vehicles (seed {seed}); day generated in {gen:.1f} s",
        f"first complete plan after {result.first_feasible_seconds or result.seconds:.1f} s; "
        f"after {result.seconds:.0f} s: driving {result.travel / 3600:.1f} vehicle-hours, "
        f"{result.iterations} search iterations",
        f"served {requests - len(result.unserved)} of {requests}; every route accepted by the checker",
    ]
    for rid in result.unserved:
        lines.append(f"  request {rid} unservable: {unserved_reason(day, by_id[rid])}")
    return "\n".join(lines)
