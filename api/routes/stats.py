"""Statistics for the municipality (read-only aggregates, nothing personal) and their exports."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.deps import get_ctx, require
from dispatcher.auth import Principal
from dispatcher.context import Dispatcher
from dispatcher.dashboard import dashboard, table
from dispatcher.errors import NotFound
from dispatcher.exports import csv_bytes, xlsx_bytes
from dispatcher.models import Role
from dispatcher.stats import ridership, shopping
from dispatcher.timeline import local_date

router = APIRouter(prefix="/api/v1/stats", tags=["statistics"])
viewer = require(Role.municipality)


def _range(ctx: Dispatcher, p: Principal, start: date | None, end: date | None) -> tuple[date, date]:
    """Default: from the first of this month to today (the tenant's local date)."""
    today = local_date(ctx.clock.now(), ctx.config(p.tenant_id).tz)
    end = end or today
    return start or end.replace(day=1), end


FROM = Query(None, alias="from", description="first service day (YYYY-MM-DD); default: the 1st of this month")
TO = Query(None, alias="to", description="last service day, inclusive; default: today")


@router.get("/ridership", summary="Ridership, sharing rate, service quality and unmet demand")
def get_ridership(
    start: date | None = FROM,
    end: date | None = TO,
    group: Literal["day", "week", "month", "area", "age"] = "day",
    p: Principal = Depends(viewer),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, Any]:
    """Rows by period (day, ISO week, month) or by person attribute (area, age band: cells of
    fewer than 5 persons suppressed), and totals of the range. Rates are fractions 0..1."""
    a, b = _range(ctx, p, start, end)
    return ridership(ctx, p.tenant_id, a, b, group)


@router.get("/shopping", summary="Shopping orders, items, sales, drone versus ground, on-time delivery")
def get_shopping(
    start: date | None = FROM,
    end: date | None = TO,
    group: Literal["day", "week", "month", "area"] = "day",
    p: Principal = Depends(viewer),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, Any]:
    a, b = _range(ctx, p, start, end)
    return shopping(ctx, p.tenant_id, a, b, group)


@router.get("/dashboard", summary="Every table of the municipality dashboard, labelled")
def get_dashboard(
    start: date | None = FROM,
    end: date | None = TO,
    group: Literal["day", "week", "month"] = "day",
    p: Principal = Depends(viewer),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, Any]:
    a, b = _range(ctx, p, start, end)
    return dashboard(ctx, p.tenant_id, a, b, group)


def _filename(dash: dict[str, Any], name: str, ext: str) -> str:
    return f"noriai-{dash['tenant']}-{name}-{dash['from']}_{dash['to']}.{ext}"


@router.get("/dashboard.xlsx", summary="Every dashboard table as an Excel workbook", response_class=Response)
def get_dashboard_xlsx(
    start: date | None = FROM,
    end: date | None = TO,
    group: Literal["day", "week", "month"] = "day",
    p: Principal = Depends(viewer),
    ctx: Dispatcher = Depends(get_ctx),
) -> Response:
    a, b = _range(ctx, p, start, end)
    dash = dashboard(ctx, p.tenant_id, a, b, group)
    return Response(
        xlsx_bytes(dash),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_filename(dash, "dashboard", "xlsx")}"'},
    )


@router.get(
    "/tables/{name}.csv", summary="One dashboard table as CSV (UTF-8 with BOM)", response_class=Response
)
def get_table_csv(
    name: str,
    start: date | None = FROM,
    end: date | None = TO,
    group: Literal["day", "week", "month"] = "day",
    p: Principal = Depends(viewer),
    ctx: Dispatcher = Depends(get_ctx),
) -> Response:
    a, b = _range(ctx, p, start, end)
    dash = dashboard(ctx, p.tenant_id, a, b, group)
    t = table(dash, name)
    if t is None:
        names = ", ".join(t["name"] for t in dash["tables"])
        raise NotFound(f"No table {name!r}; the tables are {names}.")
    return Response(
        csv_bytes(t),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(dash, name, "csv")}"'},
    )
