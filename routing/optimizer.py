"""Shared-ride re-optimization with the OR-Tools routing solver.

The model covers everything not yet done: vehicles start where they are now (position and time),
riders already on board are pinned to their vehicle with their ride-time deadline, committed stops
stay in front, promised pickup windows and latest arrivals are hard time windows, ride-time limits
are cumul constraints, capacities are counted by seat type and shifts bound each route.

Times are integer seconds inside the solver; travel and service times are rounded up and limits
rounded down, so an integer-feasible plan is feasible in real time too. Every returned plan is
verified by the exact checker (`routing.schedule.check`) on real-valued times regardless.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.insertion import Route
from routing.schedule import INF, Schedule, Stop, check

HORIZON = 2 * 24 * 3600  # seconds: plans never span more than two days


@dataclass(frozen=True, slots=True)
class OptimizedPlan:
    """A verified plan: new stop sequences (same order as the input routes), their schedules and
    the total driving time (s)."""

    stops: tuple[tuple[Stop, ...], ...]
    schedules: tuple[Schedule, ...]
    travel: float


def _ceil(x: float) -> int:
    return int(math.ceil(x - 1e-9))


def _floor(x: float) -> int:
    return HORIZON if x == INF else int(math.floor(x + 1e-9))


def optimize(
    routes: Sequence[Route],
    travel: Sequence[Sequence[float]],
    time_limit_s: float = 5.0,
    use_current_as_start: bool = True,
) -> OptimizedPlan | None:
    """Rebuild all routes with OR-Tools; None when no verified plan is found in the time limit.

    The current sequences are the initial solution when they are feasible in the solver's integer
    model, so the result is never worse than the current plan in the solver's objective.
    """
    vehicles = [r.vehicle for r in routes]
    nv = len(vehicles)
    stops: list[Stop] = [s for r in routes for s in r.stops]
    if nv == 0:
        return None
    # node layout: [start_0, end_0, start_1, end_1, ..., stops...]
    starts = [2 * v for v in range(nv)]
    ends = [2 * v + 1 for v in range(nv)]
    first_stop = 2 * nv
    loc = [x for v in vehicles for x in (v.start_location, v.end_location)] + [s.location for s in stops]
    service = [0] * first_stop + [_ceil(s.service) for s in stops]
    manager = pywrapcp.RoutingIndexManager(len(loc), nv, starts, ends)
    model = pywrapcp.RoutingModel(manager)

    n = len(loc)
    tmat = [[_ceil(travel[loc[a]][loc[b]]) for b in range(n)] for a in range(n)]

    def time_cb(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return service[a] + tmat[a][b]

    def cost_cb(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return tmat[a][b]

    time_idx = model.RegisterTransitCallback(time_cb)
    cost_idx = model.RegisterTransitCallback(cost_cb)
    model.SetArcCostEvaluatorOfAllVehicles(cost_idx)
    model.AddDimension(time_idx, HORIZON, HORIZON, False, "time")
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
        time.CumulVar(s_idx).SetMin(_ceil(veh.start_time))
        time.CumulVar(e_idx).SetRange(_ceil(veh.not_before), _floor(veh.end_time))
        if veh.max_duration != INF:
            solver.Add(time.CumulVar(e_idx) - time.CumulVar(s_idx) <= _floor(veh.max_duration))
        seats_dim.CumulVar(s_idx).SetValue(sum(o.seats for o in veh.onboard))
        chairs_dim.CumulVar(s_idx).SetValue(sum(o.wheelchairs for o in veh.onboard))
        model.AddVariableMinimizedByFinalizer(time.CumulVar(s_idx))

    not_before = min(v.not_before for v in vehicles)  # "now": no stop is served earlier
    pickup_node: dict[int, int] = {}
    node_of_stop: list[int] = []
    owner: list[int] = []  # vehicle whose current route holds the stop
    for v, r in enumerate(routes):
        onboard = {o.request_id: o for o in r.vehicle.onboard}
        prev = model.Start(v)
        for k, s in enumerate(r.stops):
            node = first_stop + len(node_of_stop)
            node_of_stop.append(node)
            owner.append(v)
            idx = manager.NodeToIndex(node)
            time.CumulVar(idx).SetRange(_ceil(max(s.earliest, not_before)), _floor(s.latest))
            if s.kind == "pickup":
                pickup_node[s.request_id] = node
            elif s.request_id in pickup_node:
                p_idx = manager.NodeToIndex(pickup_node.pop(s.request_id))
                model.AddPickupAndDelivery(p_idx, idx)
                solver.Add(model.VehicleVar(p_idx) == model.VehicleVar(idx))
                solver.Add(time.CumulVar(p_idx) <= time.CumulVar(idx))
                p_stop = stops[manager.IndexToNode(p_idx) - first_stop]
                if p_stop.max_ride != INF:
                    solver.Add(
                        time.CumulVar(idx) - time.CumulVar(p_idx) <= _floor(p_stop.max_ride + p_stop.service)
                    )
            else:  # drop-off of a rider on board: pinned to this vehicle with a deadline
                o = onboard[s.request_id]
                model.VehicleVar(idx).SetValue(v)
                if o.max_ride != INF:
                    time.CumulVar(idx).SetMax(min(_floor(s.latest), _floor(o.ride_start + o.max_ride)))
            if k < r.fixed:  # committed stops keep their place at the head of the route
                model.VehicleVar(idx).SetValue(v)
                model.NextVar(prev).SetValues([idx])
                prev = idx

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))

    solution = None
    if use_current_as_start:
        current = [
            [manager.NodeToIndex(node_of_stop[k]) for k in range(len(stops)) if owner[k] == v]
            for v in range(nv)
        ]
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
    for v, r in enumerate(routes):
        seq: list[Stop] = []
        idx = solution.Value(model.NextVar(model.Start(v)))
        while not model.IsEnd(idx):
            seq.append(stops[manager.IndexToNode(idx) - first_stop])
            idx = solution.Value(model.NextVar(idx))
        sched = check(r.vehicle, seq, travel)
        if not sched.feasible:
            return None
        new_stops.append(tuple(seq))
        schedules.append(sched)
        total += sched.travel
    return OptimizedPlan(tuple(new_stops), tuple(schedules), total)
