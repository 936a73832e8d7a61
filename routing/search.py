"""The production optimizer: adaptive large-neighbourhood search, then OR-Tools local search.

`improve` is what the dispatcher's re-optimization and the benchmark command both run. The ALNS
(`routing.alns`) moves whole requests between routes; OR-Tools' guided local search then polishes
the best plan from there with its fast compiled operators. Each stage returns only plans the exact
checker accepts, and the better of the two is kept.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from routing.alns import AlnsOptions, solve
from routing.insertion import Route
from routing.optimizer import SolverOptions, optimize
from routing.schedule import Schedule, Stop, TravelMatrix, excess_ride
from routing.traveltime import row_values


@dataclass(frozen=True)
class SearchOptions:
    """time_limit_s: wall clock (s) for both stages; polish_share: part of it for OR-Tools.
    iterations: deterministic mode (ALNS iterations; OR-Tools then stops after polish_solutions
    improving solutions instead of by time). seed: random seed of the ALNS. ride_weight: the
    objective is driving time + ride_weight x riders' time on board beyond their direct drive."""

    time_limit_s: float = 5.0
    polish_share: float = 0.3
    seed: int = 1
    iterations: int | None = None
    polish_solutions: int = 2000
    ride_weight: float = 0.0


@dataclass
class SearchResult:
    """A verified plan: stop sequences per input route, schedules, total travel (input units),
    unserved optional requests, and what each stage achieved."""

    stops: list[tuple[Stop, ...]]
    schedules: list[Schedule]
    travel: float
    unserved: list[int]
    iterations: int
    first_feasible_seconds: float | None
    alns_travel: float
    seconds: float


def solver_scale(travel: TravelMatrix) -> float:
    """Integer units per input unit for OR-Tools: a typical leg becomes at least ~1000 units."""
    legs = [x for i in range(len(travel)) for x in row_values(travel[i]) if x > 0]
    if not legs:
        return 1.0
    typical = statistics.median(legs[:: max(1, len(legs) // 2000)])
    return float(10 ** max(0, math.ceil(math.log10(1000.0 / typical))))


def objective(
    stops: Sequence[Sequence[Stop]],
    schedules: Sequence[Schedule],
    travel: TravelMatrix,
    ride_weight: float,
) -> float:
    """Driving time plus ride_weight x riders' excess ride time, over all routes."""
    total = sum(sc.travel for sc in schedules)
    if ride_weight:
        total += ride_weight * sum(
            excess_ride(st, sc.times, travel) for st, sc in zip(stops, schedules, strict=True)
        )
    return total


def improve(
    routes: Sequence[Route],
    travel: TravelMatrix,
    optional: Sequence[tuple[Stop, Stop]] = (),
    unplaced: Sequence[tuple[Stop, Stop]] = (),
    options: SearchOptions | None = None,
) -> SearchResult:
    """Best verified plan found for the routes (+ optional and unplaced requests) in the time limit."""
    opt = options or SearchOptions()
    t0 = time.perf_counter()
    deterministic = opt.iterations is not None
    alns = solve(
        routes,
        travel,
        optional=optional,
        unplaced=unplaced,
        options=AlnsOptions(
            time_limit_s=opt.time_limit_s * (1 - opt.polish_share),
            iterations=opt.iterations,
            seed=opt.seed,
            ride_weight=opt.ride_weight,
        ),
    )
    best_stops, best_sched, best_travel, unserved = alns.stops, alns.schedules, alns.travel, alns.unserved
    remaining = opt.time_limit_s - (time.perf_counter() - t0)
    required_unserved = set(unserved) & {p.request_id for p, _ in unplaced}
    if (remaining > 0.05 or deterministic) and opt.polish_share > 0 and not required_unserved:
        placed = [Route(r.vehicle, stops, r.fixed) for r, stops in zip(routes, alns.stops, strict=True)]
        left = [pd for pd in optional if pd[0].request_id in set(unserved)]
        polished = optimize(
            placed,
            travel,
            optional=left,
            options=SolverOptions(
                time_limit_s=max(remaining, 0.05) if not deterministic else 3600.0,
                scale=solver_scale(travel),
                solution_limit=opt.polish_solutions if deterministic else None,
            ),
        )
        if polished is not None and (len(polished.unserved), polished.travel) < (
            len(unserved),
            best_travel - 1e-9,
        ):
            best_stops, best_sched = list(polished.stops), list(polished.schedules)
            best_travel, unserved = polished.travel, list(polished.unserved)
    return SearchResult(
        stops=list(best_stops),
        schedules=list(best_sched),
        travel=best_travel,
        unserved=sorted(unserved),
        iterations=alns.iterations,
        first_feasible_seconds=alns.first_feasible_seconds,
        alns_travel=alns.travel,
        seconds=time.perf_counter() - t0,
    )
