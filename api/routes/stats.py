"""Statistics for the municipality (read-only aggregates, nothing personal) and their exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.deps import get_ctx, require
from api.files import file_responses
from api.schemas.stats import Dashboard, Ridership, Shopping
from dispatcher.context import Dispatcher
from dispatcher.errors import Code, NotFound
from dispatcher.exports import csv_bytes, xlsx_bytes
from dispatcher.identity.auth import Principal
from dispatcher.models import Role
from dispatcher.reporting.dashboard import dashboard, table
from dispatcher.reporting.stats import ridership, shopping
from dispatcher.timeline import Day, local_date

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter(prefix="/api/v1/stats", tags=["statistics"])
viewer = require(Role.municipality)


@dataclass(frozen=True)
class Period:
    """The municipality viewer's tenant and the service days asked for (inclusive)."""

    tenant_id: str
    start: date
    end: date


def period(
    start: Day | None = Query(
        None, alias="from", description="first service day (YYYY-MM-DD); default: the 1st of this month"
    ),
    end: Day | None = Query(None, alias="to", description="last service day, inclusive; default: today"),
    p: Principal = Depends(viewer),
    ctx: Dispatcher = Depends(get_ctx),
) -> Period:
    today = local_date(ctx.clock.now(), ctx.config(p.tenant_id).tz)
    end = end or today
    return Period(p.tenant_id, start or end.replace(day=1), end)


@router.get(
    "/ridership",
    response_model=Ridership,
    summary="Ridership, sharing rate, service quality and unmet demand",
)
def get_ridership(
    q: Period = Depends(period),
    group: Literal["day", "week", "month", "area", "age"] = "day",
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, Any]:
    """Rows by period (day, ISO week, month) or by person attribute (area, age band: cells of
    fewer than 5 persons suppressed), and totals of the range. Rates are fractions 0..1."""
    return ridership(ctx, q.tenant_id, q.start, q.end, group)


@router.get(
    "/shopping",
    response_model=Shopping,
    summary="Shopping orders, items, sales, drone versus ground, on-time delivery",
)
def get_shopping(
    q: Period = Depends(period),
    group: Literal["day", "week", "month", "area"] = "day",
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, Any]:
    return shopping(ctx, q.tenant_id, q.start, q.end, group)


@router.get(
    "/dashboard", response_model=Dashboard, summary="Every table of the municipality dashboard, labelled"
)
def get_dashboard(
    q: Period = Depends(period),
    group: Literal["day", "week", "month"] = "day",
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, Any]:
    return dashboard(ctx, q.tenant_id, q.start, q.end, group)


def _filename(dash: dict[str, Any], name: str, ext: str) -> str:
    return f"noriai-{dash['tenant']}-{name}-{dash['from']}_{dash['to']}.{ext}"


@router.get(
    "/dashboard.xlsx",
    summary="Every dashboard table as an Excel workbook",
    response_class=Response,
    responses=file_responses(XLSX, "The workbook: one sheet per table"),
)
def get_dashboard_xlsx(
    q: Period = Depends(period),
    group: Literal["day", "week", "month"] = "day",
    ctx: Dispatcher = Depends(get_ctx),
) -> Response:
    dash = dashboard(ctx, q.tenant_id, q.start, q.end, group)
    return Response(
        xlsx_bytes(dash),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{_filename(dash, "dashboard", "xlsx")}"'},
    )


@router.get(
    "/tables/{name}.csv",
    summary="One dashboard table as CSV (UTF-8 with BOM)",
    response_class=Response,
    responses=file_responses("text/csv", "The table"),
)
def get_table_csv(
    name: str,
    q: Period = Depends(period),
    group: Literal["day", "week", "month"] = "day",
    ctx: Dispatcher = Depends(get_ctx),
) -> Response:
    dash = dashboard(ctx, q.tenant_id, q.start, q.end, group)
    t = table(dash, name)
    if t is None:
        names = ", ".join(t["name"] for t in dash["tables"])
        raise NotFound(f"No table {name!r}; the tables are {names}.", code=Code.stats_table_not_found)
    return Response(
        csv_bytes(t),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(dash, name, "csv")}"'},
    )
