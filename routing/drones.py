"""Drone delivery flights: packing the day's orders into flights along the corridor graph, putting
the flights on drones, and exporting each flight as a QGroundControl `.plan` mission.

A flight starts at the base, follows corridors to one hall or to several halls on one branch
(landing at each to unload), and returns the same way. Orders that cannot fly — heavier than any
drone's payload, at a hall without a corridor, on a no-go weather day, or when no drone has time
before the deadline — are listed for the ground with the reason.

Units: weights kg, distances m, speeds m/s, times seconds since local midnight (plans) or minutes
(drone specs, as in the tenant file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from routing.airspace import Corridor, NoFlyZone
from routing.geo import Point

LANDING_S = 180.0  # seconds on the ground at a hall: land, unload, take off


@dataclass(frozen=True)
class DroneSpec:
    id: str
    payload_kg: float
    cruise_speed_ms: float
    endurance_min: float
    reserve_min: float
    turnaround_min: float
    can_fly: bool = True  # go/no-go for the day's weather

    def max_flight_s(self) -> float:
        return 60.0 * (self.endurance_min - self.reserve_min)


@dataclass(frozen=True)
class Parcel:
    order_id: int
    hall: str
    weight_kg: float


@dataclass
class Flight:
    """One sortie: base -> halls (in order) -> base."""

    id: int
    drone: str
    depart_s: float
    return_s: float
    halls: list[str]
    parcels: list[Parcel]
    distance_m: float
    arrivals_s: dict[str, float] = field(default_factory=dict)  # hall -> landing time

    @property
    def payload_kg(self) -> float:
        return sum(p.weight_kg for p in self.parcels)


@dataclass
class DeliveryPlan:
    flights: list[Flight]
    ground: list[tuple[Parcel, str]]  # (parcel, reason it goes by ground)


def branch_path(graph: nx.Graph[str], hall: str) -> list[str] | None:
    """Nodes from the base to the hall along the shortest corridor path (None: unreachable)."""
    try:
        return nx.shortest_path(graph, "base", hall, weight="length_m")
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return None


def _distance(graph: nx.Graph[str], path: Sequence[str]) -> float:
    return float(sum(graph[a][b]["length_m"] for a, b in zip(path, path[1:], strict=False)))


def plan_flights(
    parcels: Sequence[Parcel],
    drones: Sequence[DroneSpec],
    graph: nx.Graph[str],
    start_s: float,
    deadline_s: float,
    no_go_reason: str = "",
    closed: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    time_limit_s: float = 5.0,
) -> DeliveryPlan:
    """Pack parcels into flights and schedule them on the drones (largest loads and farthest
    halls first, each flight on the drone free earliest that can carry it).

    closed: per drone id, (start, end) intervals in which it must not be airborne (weather
    no-go slots); a flight waits until its whole sortie fits between them."""
    closed = closed or {}
    ground: list[tuple[Parcel, str]] = []
    flyable = [d for d in drones if d.can_fly]
    if no_go_reason or not flyable:
        return DeliveryPlan([], [(p, no_go_reason or "no drone may fly today") for p in parcels])
    max_payload = max(d.payload_kg for d in flyable)
    small_payload = min(d.payload_kg for d in flyable)
    paths: dict[str, list[str] | None] = {}
    by_hall: dict[str, list[Parcel]] = {}
    for p in parcels:
        if p.hall not in paths:
            paths[p.hall] = branch_path(graph, p.hall)
        if paths[p.hall] is None:
            ground.append((p, "no corridor reaches this hall"))
        elif p.weight_kg > max_payload:
            ground.append((p, f"{p.weight_kg:.1f} kg is more than any drone carries ({max_payload:.1f} kg)"))
        else:
            by_hall.setdefault(p.hall, []).append(p)
    # the corridor path from the base of every hall with parcels to fly (all reachable)
    reach = {h: path for h, path in paths.items() if path is not None}
    # loads: a flight's parcels go to the halls on one branch, the farthest hall last
    loads: list[tuple[list[str], list[Parcel]]] = []
    remaining = {h: sorted(ps, key=lambda p: -p.weight_kg) for h, ps in by_hall.items()}
    for hall in sorted(remaining, key=lambda h: -_distance(graph, reach[h])):
        while remaining[hall]:
            branch = [n for n in reach[hall] if n != "base"]
            load: list[Parcel] = []
            # pack for the smallest drone so any drone can take the load; a parcel only the
            # larger drones carry makes a load of the larger size
            space = small_payload if remaining[hall][0].weight_kg <= small_payload else max_payload
            for h in reversed(branch):  # the far hall first, then halls on the way
                for p in list(remaining.get(h, [])):
                    if p.weight_kg <= space + 1e-9:
                        load.append(p)
                        space -= p.weight_kg
                        remaining[h].remove(p)
            stops = [h for h in branch if any(p.hall == h for p in load)]
            loads.append((stops, load))
    # schedule loads on drones: CP-SAT for the fewest grounded parcels and the earliest finish,
    # the greedy list schedule when CP-SAT finds nothing in its time limit
    timing = [_timings(graph, reach, stops, load, flyable) for stops, load in loads]
    assignment = _schedule_cpsat(timing, flyable, start_s, deadline_s, closed, time_limit_s)
    if assignment is None:
        assignment = _schedule_greedy(timing, flyable, start_s, deadline_s, closed)
    flights: list[Flight] = []
    specs = {d.id: d for d in flyable}
    for k, (stops, load) in enumerate(loads):
        if k not in assignment:
            weight = sum(p.weight_kg for p in load)
            reason = (
                "no drone can fly it before the deadline (weather or drone time)"
                if any(d.payload_kg >= weight for d in flyable)
                else "too heavy together"
            )
            ground.extend((p, reason) for p in load)
            continue
        drone_id, depart = assignment[k]
        d = specs[drone_id]
        flight_s = timing[k][drone_id]
        arrivals, t, prev = {}, depart, "base"
        for h in stops:
            leg = _distance(graph, nx.shortest_path(graph, prev, h, weight="length_m"))
            t += leg / d.cruise_speed_ms
            arrivals[h] = t
            t += LANDING_S
            prev = h
        distance = 2 * _distance(graph, reach[stops[-1]])
        flights.append(Flight(0, d.id, depart, depart + flight_s, stops, load, distance, arrivals))
    flights.sort(key=lambda f: (f.depart_s, f.drone))
    for k, f in enumerate(flights, start=1):
        f.id = k
    return DeliveryPlan(flights, ground)


def _timings(
    graph: nx.Graph[str],
    paths: Mapping[str, list[str]],
    stops: list[str],
    load: list[Parcel],
    drones: Sequence[DroneSpec],
) -> dict[str, float]:
    """Flight seconds of a load on each drone that can carry it and fly it with its reserve."""
    distance = 2 * _distance(graph, paths[stops[-1]])
    weight = sum(p.weight_kg for p in load)
    out = {}
    for d in drones:
        flight_s = distance / d.cruise_speed_ms + LANDING_S * len(stops)
        if d.payload_kg + 1e-9 >= weight and flight_s <= d.max_flight_s():
            out[d.id] = flight_s
    return out


def _wait_out(depart: float, flight_s: float, closed: Sequence[tuple[float, float]]) -> float:
    moved = True
    while moved:  # wait out every no-go slot the sortie would overlap
        moved = False
        for a, b in closed:
            if depart < b and a < depart + flight_s:
                depart, moved = b, True
    return depart


def _schedule_greedy(
    timing: list[dict[str, float]],
    drones: Sequence[DroneSpec],
    start_s: float,
    deadline_s: float,
    closed: Mapping[str, Sequence[tuple[float, float]]],
) -> dict[int, tuple[str, float]]:
    """Longest loads first, each on the drone that finishes it earliest."""
    free_at = {d.id: start_s for d in drones}
    turn = {d.id: 60.0 * d.turnaround_min for d in drones}
    out: dict[int, tuple[str, float]] = {}
    for k in sorted(range(len(timing)), key=lambda i: -max(timing[i].values(), default=0)):
        best = None
        for drone_id, flight_s in timing[k].items():
            depart = _wait_out(free_at[drone_id], flight_s, closed.get(drone_id, ()))
            if depart + flight_s <= deadline_s and (best is None or depart + flight_s < best[0]):
                best = (depart + flight_s, drone_id, depart)
        if best is not None:
            end, drone_id, depart = best
            out[k] = (drone_id, depart)
            free_at[drone_id] = end + turn[drone_id]
    return out


def _schedule_cpsat(
    timing: list[dict[str, float]],
    drones: Sequence[DroneSpec],
    start_s: float,
    deadline_s: float,
    closed: Mapping[str, Sequence[tuple[float, float]]],
    time_limit_s: float,
) -> dict[int, tuple[str, float]] | None:
    """Assign and sequence loads on drones with OR-Tools CP-SAT: every sortie within the day's
    flying window and outside no-go slots, one sortie at a time per drone with its turnaround;
    minimise the loads left to the ground, then the time the last drone lands. Seconds, rounded up."""
    import math

    from ortools.sat.python import cp_model

    if not timing:
        return {}
    m = cp_model.CpModel()
    lo, hi = int(math.ceil(start_s)), int(math.floor(deadline_s))
    finish = m.new_int_var(lo, hi, "finish")
    chosen: dict[tuple[int, str], tuple[cp_model.IntVar, cp_model.IntVar]] = {}
    dropped = []
    air: dict[str, list[cp_model.IntervalVar]] = {d.id: [] for d in drones}
    busy: dict[str, list[cp_model.IntervalVar]] = {d.id: [] for d in drones}
    turn = {d.id: int(math.ceil(60 * d.turnaround_min)) for d in drones}
    for k, options in enumerate(timing):
        lits = []
        for drone_id, flight_s in options.items():
            dur = int(math.ceil(flight_s))
            if lo + dur > hi:
                continue
            x = m.new_bool_var(f"x{k}_{drone_id}")
            st = m.new_int_var(lo, hi - dur, f"s{k}_{drone_id}")
            air[drone_id].append(m.new_optional_interval_var(st, dur, st + dur, x, f"a{k}_{drone_id}"))
            busy[drone_id].append(
                m.new_optional_interval_var(
                    st, dur + turn[drone_id], st + dur + turn[drone_id], x, f"b{k}_{drone_id}"
                )
            )
            m.add(finish >= st + dur).only_enforce_if(x)
            chosen[(k, drone_id)] = (x, st)
            lits.append(x)
        drop = m.new_bool_var(f"drop{k}")
        m.add_exactly_one([*lits, drop])
        dropped.append(drop)
    for d in drones:
        fixed = [
            m.new_interval_var(int(a), int(math.ceil(b - a)), int(math.ceil(b)), f"nogo_{d.id}_{i}")
            for i, (a, b) in enumerate(closed.get(d.id, ()))
            if b > a
        ]
        m.add_no_overlap(air[d.id] + fixed)
        m.add_no_overlap(busy[d.id])
    m.minimize(100_000 * sum(dropped) + finish)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = 1
    if solver.solve(m) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    out = {}
    for (k, drone_id), (x, st) in chosen.items():
        if solver.value(x):
            out[k] = (drone_id, float(solver.value(st)))
    return out


def _legs(graph: nx.Graph[str], nodes: Sequence[str]) -> list[tuple[list[Point], float]]:
    """Waypoints and altitude of each corridor between consecutive nodes, oriented a -> b."""
    legs = []
    for a, b in zip(nodes, nodes[1:], strict=False):
        path = nx.shortest_path(graph, a, b, weight="length_m")
        for u, v in zip(path, path[1:], strict=False):
            c: Corridor = graph[u][v]["corridor"]
            points = list(c.path) if c.a == u else list(reversed(c.path))
            legs.append((points, c.altitude_m))
    return legs


def _item(
    seq: int, command: int, point: Point, alt: float, params: Sequence[float] = (0, 0, 0, 0)
) -> dict[str, Any]:
    return {
        "AMSLAltAboveTerrain": None,
        "Altitude": alt,
        "AltitudeMode": 1,
        "autoContinue": True,
        "command": command,
        "doJumpId": seq,
        "frame": 3,  # MAV_FRAME_GLOBAL_RELATIVE_ALT
        "params": [*params, point.lat, point.lon, alt],
        "type": "SimpleItem",
    }


MAV_CMD_NAV_WAYPOINT = 16
MAV_CMD_NAV_LAND = 21
MAV_CMD_NAV_TAKEOFF = 22


def qgc_plan(
    flight: Flight, graph: nx.Graph[str], base: Point, zones: Sequence[NoFlyZone], cruise_speed_ms: float
) -> dict[str, Any]:
    """The flight as a QGroundControl `.plan` (JSON): for every leg take off, fly the corridor's
    waypoints at its altitude, land; no-fly zones as exclusion polygons of the geofence."""
    nodes = ["base", *flight.halls, *reversed(flight.halls[:-1]), "base"]
    items: list[dict[str, Any]] = []
    for a, b in zip(nodes, nodes[1:], strict=False):
        legs = _legs(graph, [a, b])
        first = legs[0][0][0]
        alt = legs[0][1]
        items.append(_item(len(items) + 1, MAV_CMD_NAV_TAKEOFF, first, alt))
        for points, altitude in legs:
            for p in points[1:-1]:
                items.append(_item(len(items) + 1, MAV_CMD_NAV_WAYPOINT, p, altitude))
        last = legs[-1][0][-1]
        items.append(_item(len(items) + 1, MAV_CMD_NAV_LAND, last, 0.0))
    return {
        "fileType": "Plan",
        "version": 1,
        "groundStation": "Noriai",
        "mission": {
            "cruiseSpeed": cruise_speed_ms,
            "firmwareType": 12,  # PX4
            "globalPlanAltitudeMode": 1,
            "hoverSpeed": 5,
            "items": items,
            "plannedHomePosition": [base.lat, base.lon, 0],
            "vehicleType": 2,  # multirotor
            "version": 2,
        },
        "geoFence": {
            "circles": [],
            "polygons": [
                {"inclusion": False, "polygon": [[p.lat, p.lon] for p in z.corners], "version": 1}
                for z in zones
            ],
            "version": 2,
        },
        "rallyPoints": {"points": [], "version": 2},
    }


def geojson(flight: Flight, graph: nx.Graph[str]) -> dict[str, Any]:
    """The flight's path as a GeoJSON Feature (LineString, lon/lat order) for maps."""
    nodes = ["base", *flight.halls, *reversed(flight.halls[:-1]), "base"]
    coords: list[list[float]] = []
    for points, _alt in _legs(graph, nodes):
        for p in points:
            if not coords or coords[-1] != [p.lon, p.lat]:
                coords.append([p.lon, p.lat])
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {"flight": flight.id, "drone": flight.drone, "halls": flight.halls},
    }
