"""Drone flights on the demo's Hase valley: payloads, flight times with reserve, corridors,
no-fly zones, ground fallback with reasons, and QGroundControl .plan files."""

from __future__ import annotations

import json
import random

import networkx as nx
from shapely.geometry import LineString

from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import load_tenant
from routing.airspace import Corridor, NoFlyZone, corridor_graph
from routing.drones import LANDING_S, DroneSpec, Parcel, geojson, plan_flights, qgc_plan
from routing.geo import Point

CFG = load_tenant(DEMO_TENANT_FILE)
assert CFG.drones is not None
DR = CFG.drones
GRAPH = corridor_graph(
    [Corridor(c.id, c.from_, c.to, c.altitude_m, tuple(Point(*p) for p in c.path)) for c in DR.corridors]
)
ZONES = [NoFlyZone(z.name, tuple(Point(*p) for p in z.polygon)) for z in DR.no_fly]
DRONES = [
    DroneSpec(d.id, d.payload_kg, d.cruise_speed_ms, d.endurance_min, d.reserve_min, d.turnaround_min)
    for d in DR.fleet
]
BASE = Point(DR.base.lat, DR.base.lon)
HALLS = [h.place_id for h in DR.halls]


def day_parcels(n: int, seed: int) -> list[Parcel]:
    rng = random.Random(seed)
    return [Parcel(k, rng.choice(HALLS), round(rng.uniform(0.4, 3.5), 2)) for k in range(1, n + 1)]


def test_sixty_orders_fly_within_every_limit() -> None:
    parcels = day_parcels(60, 1) + [Parcel(999, "hall-hase", 14.0), Parcel(998, "hall-fujisawa", 1.0)]
    plan = plan_flights(parcels, DRONES, GRAPH, start_s=12 * 3600, deadline_s=17 * 3600)
    specs = {d.id: d for d in DRONES}
    flown = [p.order_id for f in plan.flights for p in f.parcels]
    grounded = {p.order_id: reason for p, reason in plan.ground}
    assert sorted(flown + list(grounded)) == sorted(p.order_id for p in parcels)  # each exactly once
    assert "more than any drone carries" in grounded[999]
    assert grounded[998] == "no corridor reaches this hall"  # Fujisawa has no corridor
    assert len(flown) >= 55
    by_drone: dict[str, list] = {}
    for f in plan.flights:
        d = specs[f.drone]
        assert f.payload_kg <= d.payload_kg + 1e-9
        flight_s = f.distance_m / d.cruise_speed_ms + LANDING_S * len(f.halls)
        assert flight_s <= 60 * (d.endurance_min - d.reserve_min)  # the reserve is kept
        assert f.return_s <= 17 * 3600 and all(t <= 17 * 3600 for t in f.arrivals_s.values())
        assert {p.hall for p in f.parcels} == set(f.halls)
        by_drone.setdefault(f.drone, []).append(f)
    for flights in by_drone.values():  # a drone flies one sortie at a time, with turnaround
        flights.sort(key=lambda f: f.depart_s)
        for a, b in zip(flights, flights[1:], strict=False):
            assert b.depart_s >= a.return_s + 60 * specs[a.drone].turnaround_min - 1e-6


def test_plan_files_follow_the_corridors() -> None:
    plan = plan_flights(day_parcels(60, 2), DRONES, GRAPH, start_s=12 * 3600, deadline_s=17 * 3600)
    corridor_points = {(round(p[0], 6), round(p[1], 6)) for c in DR.corridors for p in c.path}
    assert plan.flights
    for f in plan.flights:
        doc = json.loads(json.dumps(qgc_plan(f, GRAPH, BASE, ZONES, 12)))
        assert doc["fileType"] == "Plan" and doc["mission"]["items"]
        commands = [i["command"] for i in doc["mission"]["items"]]
        # every leg: takeoff -> waypoints -> land
        legs, current = [], []
        for c in commands:
            current.append(c)
            if c == 21:
                legs.append(current)
                current = []
        assert not current and len(legs) == 2 * len(f.halls)
        for leg in legs:
            assert leg[0] == 22 and leg[-1] == 21 and all(c == 16 for c in leg[1:-1])
        for item in doc["mission"]["items"]:
            lat, lon = item["params"][4], item["params"][5]
            assert (round(lat, 6), round(lon, 6)) in corridor_points
        fence = doc["geoFence"]["polygons"]
        assert len(fence) == len(DR.no_fly) and all(not p["inclusion"] for p in fence)
        line = geojson(f, GRAPH)["geometry"]["coordinates"]
        path = LineString(line)
        assert all(not path.intersects(z.polygon()) for z in ZONES)  # never through a no-fly zone
        assert line[0] == line[-1] == [BASE.lon, BASE.lat]


def test_no_go_weather_sends_everything_by_ground() -> None:
    parcels = day_parcels(20, 3)
    plan = plan_flights(parcels, DRONES, GRAPH, 12 * 3600, 17 * 3600, no_go_reason="wind 14 m/s above limits")
    assert not plan.flights and len(plan.ground) == 20
    assert {r for _, r in plan.ground} == {"wind 14 m/s above limits"}


def test_graph_paths_reach_far_halls_through_near_ones() -> None:
    assert nx.shortest_path(GRAPH, "base", "hall-ichinose") == [
        "base",
        "hall-mizoguchi",
        "hall-kurokouchi",
        "hall-sugishima",
        "hall-ichinose",
    ]


def test_flights_wait_out_no_go_weather_slots() -> None:
    parcels = day_parcels(12, 4)
    storm = (12 * 3600, 14 * 3600)  # 12:00-14:00 too windy for every drone
    plan = plan_flights(parcels, DRONES, GRAPH, 12 * 3600, 17 * 3600, closed={d.id: [storm] for d in DRONES})
    assert plan.flights
    for f in plan.flights:  # no sortie overlaps the storm
        assert f.return_s <= storm[0] or f.depart_s >= storm[1]
    late = plan_flights(
        parcels, DRONES, GRAPH, 12 * 3600, 17 * 3600, closed={d.id: [(12 * 3600, 17 * 3600)] for d in DRONES}
    )
    assert not late.flights and all("weather" in r for _, r in late.ground)


def test_greedy_fallback_schedule_respects_turnaround_and_slots() -> None:
    from routing.drones import _schedule_greedy

    timing = [{"drone-1": 1200.0, "drone-3": 1500.0}, {"drone-1": 900.0}, {"drone-1": 600.0}]
    out = _schedule_greedy(timing, DRONES, 43200.0, 61200.0, {"drone-1": [(43200.0, 45000.0)]})
    one = sorted((dep, timing[k][d]) for k, (d, dep) in out.items() if d == "drone-1")
    assert all(dep >= 45000.0 for dep, _ in one)  # waited out the no-go slot
    for (a, fa), (b, _) in zip(one, one[1:], strict=False):
        assert b >= a + fa + 15 * 60  # turnaround between sorties
    assert set(out) == {0, 1, 2}
