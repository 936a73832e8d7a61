"""Shared-ride optimization with the OR-Tools routing solver.

The model covers everything not yet done: vehicles start where they are (position and time),
riders already on board are pinned to their vehicle with their ride-time deadline, committed stops
stay in front, promised pickup windows and latest arrivals are hard time windows, ride-time limits
are cumul constraints, capacities are counted by seat type and shifts bound each route.

Inside the solver times are integers in units of 1/scale of the input unit (scale 1 for the
dispatcher's seconds, 100 for benchmark minutes). Travel and service times are rounded up and
limits (plus the vehicles' tolerance, as the checker allows) rounded down, so an integer-feasible
plan is feasible in real time too; every returned plan
is verified by the exact checker (`routing.schedule.check`) on real-valued times regardless.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.insertion import Route
from routing.schedule import INF, Schedule, Stop, TravelMatrix, check

FIRST_SOLUTION = routing_enums_pb2.FirstSolutionStrategy
METAHEURISTIC = routing_enums_pb2.LocalSearchMetaheuristic


@dataclass(frozen=True)
class SolverOptions:
    """How to search.

    time_limit_s: wall-clock limit (s). scale: solver integer units per input time unit.
    solution_limit: stop after this many improving solutions instead of by time (deterministic:
    the same input gives the same plan on any machine). first_solution, metaheuristic: OR-Tools
    strategy names. use_current_as_start: start from the given routes when they are feasible.
    """

    time_limit_s: float = 5.0
    scale: float = 1.0
    solution_limit: int | None = None
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    use_current_as_start: bool = True


@dataclass(frozen=True, slots=True)
class OptimizedPlan:
    """A verified plan: new stop sequences (same order as the input routes), their schedules,
    the total driving time (input units) and the requests left unserved (only optional ones)."""

    stops: tuple[tuple[Stop, ...], ...]
    schedules: tuple[Schedule, ...]
    travel: float
    unserved: tuple[int, ...] = ()


def optimize(
    routes: Sequence[Route],
    travel: TravelMatrix,
    time_limit_s: float = 5.0,
    use_current_as_start: bool = True,
    optional: Sequence[tuple[Stop, Stop]] = (),
    options: SolverOptions | None = None,
) -> OptimizedPlan | None:
    """Rebuild all routes with OR-Tools; None when no verified plan is found.

    routes: the current plan; all its stops must stay served. optional: (pickup, drop-off) pairs
    not yet in any route, served when possible (each unserved one costs far more than any detour).
    The current sequences are the initial solution when they are feasible in the integer model, so
    the result is never worse than the current plan in the solver's objective. A model that is
    infeasible from the start (a window already passed, a shift already over) gives None.
    """
    opt = options or SolverOptions(time_limit_s=time_limit_s, use_current_as_start=use_current_as_start)
    try:
        return _optimize(routes, travel, optional, opt)
    except Exception as e:  # OR-Tools reports an empty domain while the model is built
        if "CP Solver fail" in str(e):
            return None
        raise


def _optimize(
    routes: Sequence[Route],
    travel: TravelMatrix,
    optional: Sequence[tuple[Stop, Stop]],
    opt: SolverOptions,
) -> OptimizedPlan | None:
    t0 = _time.perf_counter()  # the time limit covers building the model too
    vehicles = [r.vehicle for r in routes]
    nv = len(vehicles)
    if nv == 0:
        return None
    stops: list[Stop] = [s for r in routes for s in r.stops] + [s for pair in optional for s in pair]
    finite = [t for v in vehicles for t in (v.start_time, v.end_time) if t != INF]
    finite += [t for s in stops for t in (s.earliest, s.latest) if t != INF]
    horizon = int(math.ceil((max(finite, default=0.0) + 1.0) * opt.scale)) * 2 + 10

    def up(x: float) -> int:
        return int(math.ceil(x * opt.scale - 1e-7))

    # Limits get the checker's tolerance (the smallest of the fleet's: a stop may go to any
    # vehicle), so a plan the checker accepts within it is a solution here too.
    tol = min(v.tolerance for v in vehicles)

    def down(x: float) -> int:
        return horizon if x == INF else int(math.floor((x + tol) * opt.scale + 1e-7))

    # node layout: [start_0, end_0, start_1, end_1, ..., stops...]
    starts = [2 * v for v in range(nv)]
    ends = [2 * v + 1 for v in range(nv)]
    first_stop = 2 * nv
    loc = [x for v in vehicles for x in (v.start_location, v.end_location)] + [s.location for s in stops]
    service = [0] * first_stop + [up(s.service) for s in stops]
    manager = pywrapcp.RoutingIndexManager(len(loc), nv, starts, ends)
    model = pywrapcp.RoutingModel(manager)

    n = len(loc)
    tmat = [[up(travel[loc[a]][loc[b]]) for b in range(n)] for a in range(n)]
    cmat = [[round(travel[loc[a]][loc[b]] * opt.scale) for b in range(n)] for a in range(n)]
    transit = [[service[a] + tmat[a][b] for b in range(n)] for a in range(n)]

    node: Callable[[int], int] = manager.IndexToNode  # solver index -> node

    def time_cb(i: int, j: int) -> int:
        return transit[node(i)][node(j)]

    def cost_cb(i: int, j: int) -> int:
        return cmat[node(i)][node(j)]

    time_idx = model.RegisterTransitCallback(time_cb)
    cost_idx = model.RegisterTransitCallback(cost_cb)
    model.SetArcCostEvaluatorOfAllVehicles(cost_idx)
    model.AddDimension(time_idx, horizon, horizon, False, "time")
    time = model.GetDimensionOrDie("time")

    seat_delta = [0] * first_stop + [s.seats if s.kind == "pickup" else -s.seats for s in stops]
    chair_delta = [0] * first_stop + [s.wheelchairs if s.kind == "pickup" else -s.wheelchairs for s in stops]
    seat_idx = model.RegisterUnaryTransitCallback(lambda i: seat_delta[manager.IndexToNode(i)])
    chair_idx = model.RegisterUnaryTransitCallback(lambda i: chair_delta[manager.IndexToNode(i)])
    model.AddDimensionWithVehicleCapacity(seat_idx, 0, [v.seats for v in vehicles], False, "seats")
    model.AddDimensionWithVehicleCapacity(
        chair_idx, 0, [v.wheelchairs for v in vehicles], False, "wheelchairs"
    )
    seats_dim = model.GetDimensionOrDie("seats")
    chairs_dim = model.GetDimensionOrDie("wheelchairs")
    solver = model.solver()

    for v, veh in enumerate(vehicles):
        s_idx, e_idx = model.Start(v), model.End(v)
        time.CumulVar(s_idx).SetMin(up(veh.start_time))
        time.CumulVar(e_idx).SetRange(up(veh.not_before), down(veh.end_time))
        if veh.max_duration != INF:
            solver.Add(time.CumulVar(e_idx) - time.CumulVar(s_idx) <= down(veh.max_duration))
        seats_dim.CumulVar(s_idx).SetValue(sum(o.seats for o in veh.onboard))
        chairs_dim.CumulVar(s_idx).SetValue(sum(o.wheelchairs for o in veh.onboard))
        model.AddVariableMinimizedByFinalizer(time.CumulVar(s_idx))

    not_before = min(v.not_before for v in vehicles)  # "now": no stop is served earlier
    index_of = [manager.NodeToIndex(first_stop + k) for k in range(len(stops))]
    for k, s in enumerate(stops):
        time.CumulVar(index_of[k]).SetRange(up(max(s.earliest, not_before)), down(s.latest))

    def pair(p_k: int, d_k: int) -> None:
        p_idx, d_idx = index_of[p_k], index_of[d_k]
        model.AddPickupAndDelivery(p_idx, d_idx)
        solver.Add(model.VehicleVar(p_idx) == model.VehicleVar(d_idx))
        solver.Add(time.CumulVar(p_idx) <= time.CumulVar(d_idx))
        p_stop = stops[p_k]
        if p_stop.max_ride != INF:
            limit = down(p_stop.max_ride + p_stop.service)
            solver.Add(time.CumulVar(d_idx) - time.CumulVar(p_idx) <= limit)

    k = 0
    for v, r in enumerate(routes):
        onboard = {o.request_id: o for o in r.vehicle.onboard}
        pickup_at: dict[int, int] = {}
        prev = model.Start(v)
        for pos, s in enumerate(r.stops):
            idx = index_of[k]
            if s.kind == "pickup":
                pickup_at[s.request_id] = k
            elif s.request_id in pickup_at:
                pair(pickup_at.pop(s.request_id), k)
            else:  # drop-off of a rider on board: pinned to this vehicle with a deadline
                o = onboard[s.request_id]
                model.VehicleVar(idx).SetValue(v)
                if o.max_ride != INF:
                    time.CumulVar(idx).SetMax(min(down(s.latest), down(o.ride_start + o.max_ride)))
            if pos < r.fixed:  # committed stops keep their place at the head of the route
                model.VehicleVar(idx).SetValue(v)
                model.NextVar(prev).SetValues([idx])
                prev = idx
            k += 1
    penalty = 100 * (sum(max(row) for row in cmat) + 1)
    for _ in optional:
        pair(k, k + 1)
        model.AddDisjunction([index_of[k], index_of[k + 1]], penalty, 2)
        k += 2

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(FIRST_SOLUTION, opt.first_solution)
    params.local_search_metaheuristic = getattr(METAHEURISTIC, opt.metaheuristic)
    left = opt.time_limit_s - (_time.perf_counter() - t0)
    params.time_limit.FromMilliseconds(max(1, int(left * 1000)))
    if opt.solution_limit is not None:
        params.solution_limit = opt.solution_limit

    solution = None
    n_fixed = sum(len(r.stops) for r in routes)
    if opt.use_current_as_start and n_fixed:
        current, k = [], 0
        for r in routes:
            current.append(index_of[k : k + len(r.stops)])
            k += len(r.stops)
        model.CloseModelWithParameters(params)
        initial = model.ReadAssignmentFromRoutes(current, True)
        if initial is not None:
            solution = model.SolveFromAssignmentWithParameters(initial, params)
    if solution is None:
        solution = model.SolveWithParameters(params)
    if solution is None:
        return None

    new_stops: list[tuple[Stop, ...]] = []
    schedules: list[Schedule] = []
    total = 0.0
    served: set[int] = set()
    for v, r in enumerate(routes):
        seq: list[Stop] = []
        idx = solution.Value(model.NextVar(model.Start(v)))
        while not model.IsEnd(idx):
            seq.append(stops[manager.IndexToNode(idx) - first_stop])
            idx = solution.Value(model.NextVar(idx))
        sched = check(r.vehicle, seq, travel)
        if not sched.feasible:
            return None
        served.update(s.request_id for s in seq)
        new_stops.append(tuple(seq))
        schedules.append(sched)
        total += sched.travel
    required = {s.request_id for r in routes for s in r.stops}
    if not required <= served | {o.request_id for r in routes for o in r.vehicle.onboard}:
        return None
    unserved = tuple(p.request_id for p, _ in optional if p.request_id not in served)
    return OptimizedPlan(tuple(new_stops), tuple(schedules), total, unserved)
