"""Open data, public and without sign-in: the GTFS-Flex feed, daily figures as CSV, NGSI-LD entities.
Nothing personal is in any of it (see docs/open-data.md)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import get_ctx
from api.files import file_responses
from api.schemas.opendata import Entity
from dispatcher.context import Dispatcher
from dispatcher.reporting.opendata import gtfs_zip, ngsi_ld, ngsi_ld_entity, ridership_csv
from dispatcher.timeline import Day

router = APIRouter(prefix="/opendata", tags=["open data"])
LD_JSON = "application/ld+json"


class LdJsonResponse(JSONResponse):
    media_type = LD_JSON


TENANT = Query(None, description="the municipality's tenant id; default: the one this server serves")


def _tenant(ctx: Dispatcher, tenant: str | None) -> str:
    if tenant is None:
        return ctx.default_tenant()
    ctx.config(tenant)  # NotFound for an unknown tenant
    return tenant


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get(
    "/gtfs.zip",
    summary="GTFS feed with GTFS-Flex: the on-demand service for trip planners",
    response_class=Response,
    responses=file_responses("application/zip", "The GTFS feed"),
)
def get_gtfs(request: Request, tenant: str | None = TENANT, ctx: Dispatcher = Depends(get_ctx)) -> Response:
    tid = _tenant(ctx, tenant)
    return Response(
        gtfs_zip(ctx, tid, _base(request)),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{tid}-gtfs.zip"'},
    )


@router.get(
    "/ridership.csv",
    summary="Daily figures of closed service days (aggregates only)",
    response_class=Response,
    responses=file_responses("text/csv", "One row per service day"),
)
def get_ridership_csv(
    start: Day | None = Query(None, alias="from", description="first day; default 90 days before `to`"),
    end: Day | None = Query(None, alias="to", description="last day, inclusive; default yesterday"),
    tenant: str | None = TENANT,
    ctx: Dispatcher = Depends(get_ctx),
) -> Response:
    tid = _tenant(ctx, tenant)
    return Response(
        ridership_csv(ctx, tid, start, end),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{tid}-ridership.csv"'},
    )


@router.get(
    "/ngsi-ld/v1/entities",
    summary="NGSI-LD entities: ServiceArea, Vehicle, KeyPerformanceIndicator",
    response_class=LdJsonResponse,
    responses={200: {"model": list[Entity], "description": "The entities, each with its @context"}},
)
def get_entities(
    request: Request,
    type_: str | None = Query(
        None, alias="type", description="ServiceArea, Vehicle or KeyPerformanceIndicator"
    ),
    day: Day | None = Query(None, alias="date", description="day of the KPIs; default yesterday"),
    tenant: str | None = TENANT,
    ctx: Dispatcher = Depends(get_ctx),
) -> JSONResponse:
    tid = _tenant(ctx, tenant)
    return JSONResponse(ngsi_ld(ctx, tid, _base(request), type_, day), media_type=LD_JSON)


@router.get(
    "/ngsi-ld/v1/entities/{entity_id}",
    summary="One NGSI-LD entity by its URN",
    response_class=LdJsonResponse,
    responses={200: {"model": Entity, "description": "The entity with its @context"}},
)
def get_entity(
    entity_id: str, request: Request, tenant: str | None = TENANT, ctx: Dispatcher = Depends(get_ctx)
) -> JSONResponse:
    tid = _tenant(ctx, tenant)
    return JSONResponse(ngsi_ld_entity(ctx, tid, _base(request), entity_id), media_type=LD_JSON)
