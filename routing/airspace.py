"""Airspace for delivery drones: pre-set corridors, no-fly zones and the corridor graph.

Corridors are polylines flown at a fixed altitude between the base and community halls (or between
halls); a flight follows the corridor graph. No-fly zones are polygons (schools, power lines,
densely inhabited areas). Distances are metres, altitudes metres above ground, speeds m/s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
from shapely.geometry import LineString, Polygon

from routing.geo import Point, haversine_m


@dataclass(frozen=True)
class Corridor:
    """A pre-set flight path between two endpoints (node ids), flown at altitude_m."""

    id: str
    a: str
    b: str
    altitude_m: float
    path: tuple[Point, ...]

    @property
    def length_m(self) -> float:
        return sum(haversine_m(p, q) for p, q in zip(self.path, self.path[1:], strict=False))

    def line(self) -> LineString:
        return LineString([(p.lon, p.lat) for p in self.path])


@dataclass(frozen=True)
class NoFlyZone:
    name: str
    corners: tuple[Point, ...]

    def polygon(self) -> Polygon:
        return Polygon([(p.lon, p.lat) for p in self.corners])


def crossed_zones(corridor: Corridor, zones: Sequence[NoFlyZone]) -> list[str]:
    """Names of the no-fly zones the corridor's path enters or touches."""
    line = corridor.line()
    return [z.name for z in zones if line.intersects(z.polygon())]


def corridor_graph(corridors: Sequence[Corridor]) -> nx.Graph[str]:
    """Undirected graph of endpoints; each edge carries its corridor and length (m)."""
    g: nx.Graph[str] = nx.Graph()
    for c in corridors:
        if g.has_edge(c.a, c.b) and g[c.a][c.b]["length_m"] <= c.length_m:
            continue
        g.add_edge(c.a, c.b, corridor=c, length_m=c.length_m)
    return g


def flight_range_m(cruise_speed_ms: float, endurance_min: float, reserve_min: float) -> float:
    """How far a drone can fly in total before its reserve (m)."""
    return max(0.0, cruise_speed_ms * 60.0 * (endurance_min - reserve_min))
