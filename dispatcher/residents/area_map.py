"""The service area as a map an operator can point at: drawn from the tenant's own data only.

The area's polygons, its named places (community halls among them) and, when the tenant routes on
an OpenStreetMap file, its roads as straight segments between road nodes (major roads first, at
most `MAX_ROAD_SEGMENTS`). No map tiles, nothing from outside: the console draws it itself.
Coordinates are WGS84 degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatcher.context import Dispatcher
from dispatcher.tenant_config import Place
from routing.roadnetwork import RoadNetwork, RoadSegment

MAX_ROAD_SEGMENTS = 3000  # what a desk browser draws and redraws smoothly while panning
MARGIN_DEG = 0.01  # roads this far (about 1 km) outside the area's box still show


@dataclass(frozen=True)
class Bounds:
    """The box around the service area, degrees."""

    south: float
    west: float
    north: float
    east: float


@dataclass(frozen=True)
class AreaMap:
    """What the console draws: the area's polygons ([lat, lon] corners) with their names, its places,
    its roads (empty without an OSM file) and how many road segments were left out."""

    name: str
    bounds: Bounds
    areas: list[tuple[str, list[tuple[float, float]]]]
    places: list[Place]
    roads: list[RoadSegment]
    roads_left_out: int


def area_map(ctx: Dispatcher, tenant_id: str, max_segments: int = MAX_ROAD_SEGMENTS) -> AreaMap:
    """The tenant's service area, places and (with a road network) roads, for drawing."""
    cfg = ctx.config(tenant_id)
    corners = [c for a in cfg.service_area for c in a.polygon]
    bounds = Bounds(
        south=min(c[0] for c in corners),
        west=min(c[1] for c in corners),
        north=max(c[0] for c in corners),
        east=max(c[1] for c in corners),
    )
    roads: list[RoadSegment] = []
    left_out = 0
    travel = ctx.road(tenant_id)
    if isinstance(travel, RoadNetwork):
        roads, left_out = travel.segments(
            bounds.south - MARGIN_DEG,
            bounds.west - MARGIN_DEG,
            bounds.north + MARGIN_DEG,
            bounds.east + MARGIN_DEG,
            max_segments=max_segments,
        )
    return AreaMap(
        name=cfg.name,
        bounds=bounds,
        areas=[(a.name, [(lat, lon) for lat, lon in a.polygon]) for a in cfg.service_area],
        places=list(cfg.places),
        roads=roads,
        roads_left_out=left_out,
    )
