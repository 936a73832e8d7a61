"""The service area for the operator console's maps: polygons, places, roads (no map tiles)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends

from api.deps import get_ctx, require
from api.schemas.servicearea import ServiceArea
from dispatcher.context import Dispatcher
from dispatcher.identity.auth import Principal
from dispatcher.models import Role
from dispatcher.residents.area_map import area_map
from dispatcher.residents.eligibility import category_list

router = APIRouter(prefix="/api/v1", tags=["register"])


def _deg(x: float) -> float:
    return round(x, 6)  # about 0.1 m


@router.get(
    "/service-area",
    response_model=ServiceArea,
    summary="The service area, its places and roads, and the eligibility categories (operator+)",
)
def service_area(
    p: Principal = Depends(require(Role.operator)), ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    m = area_map(ctx, p.tenant_id)
    return {
        "name": m.name,
        "bounds": asdict(m.bounds),
        "areas": [{"name": n, "polygon": [[lat, lon] for lat, lon in poly]} for n, poly in m.areas],
        "places": [pl.model_dump() for pl in m.places],
        "roads": [
            {"major": r.major, "points": [[_deg(r.a.lat), _deg(r.a.lon)], [_deg(r.b.lat), _deg(r.b.lon)]]}
            for r in m.roads
        ],
        "roads_left_out": m.roads_left_out,
        "min_age": cfg.eligibility.min_age,
        "categories": [asdict(c) for c in category_list(cfg)],
        "same_day_only": cfg.booking.same_day_only,
    }
