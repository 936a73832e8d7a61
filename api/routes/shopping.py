"""Shopping: the catalogue and grocery orders (operators take orders by phone; the TV page later)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import get_ctx, get_principal, idempotency_key, require
from api.replays import staff_booking_limit
from api.schemas.shopping import Order, Product
from dispatcher.context import Dispatcher
from dispatcher.db import RowId
from dispatcher.identity.auth import Principal
from dispatcher.models import Role
from dispatcher.shopping.orders import (
    OrderRequest,
    advance_order,
    cancel_order,
    catalogue,
    get_order,
    list_orders,
    order_view,
    ordered_with,
    place_order,
)
from dispatcher.timeline import Day

router = APIRouter(prefix="/api/v1", tags=["shopping"])


@router.get(
    "/catalog", response_model=list[Product], summary="Available products, optionally of one category"
)
def get_catalog(
    category: str | None = Query(None, max_length=32),
    p: Principal = Depends(get_principal),
    ctx: Dispatcher = Depends(get_ctx),
) -> list[dict[str, object]]:
    return catalogue(ctx, p.tenant_id, category)


@router.post(
    "/orders",
    status_code=201,
    response_model=Order,
    summary="Place a grocery order for today's delivery (before the cut-off)",
    dependencies=[Depends(staff_booking_limit(ordered_with))],
    responses={409: {"description": "Ordering closed: problem details with next_delivery_date"}},
)
def create_order(
    body: OrderRequest,
    response: Response,
    key: str = Depends(idempotency_key),
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    placed = place_order(ctx, p.tenant_id, body, key, p.actor)
    headers = {"Location": f"/api/v1/orders/{placed.order.id}"}
    if placed.replayed:
        headers["Idempotent-Replayed"] = "true"
    response.headers.update(headers)
    return order_view(placed.order, placed.lines, ctx.config(p.tenant_id))


@router.get("/orders", response_model=list[Order], summary="Orders of a delivery day and/or a household")
def get_orders(
    date_: Day | None = Query(None, alias="date", description="delivery date YYYY-MM-DD"),
    household_id: RowId | None = Query(None),
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> list[dict[str, object]]:
    return list_orders(ctx, p.tenant_id, date_, household_id)


@router.get("/orders/{order_id}", response_model=Order, summary="One order with its lines")
def get_one(
    order_id: RowId, p: Principal = Depends(require(Role.operator)), ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, object]:
    return get_order(ctx, p.tenant_id, order_id)


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(description="picked, at_base, in_flight, on_the_road, at_hall or handed_over")


@router.post(
    "/orders/{order_id}/status",
    response_model=Order,
    summary="Move an order along its lifecycle (409 if illegal)",
)
def change_status(
    order_id: RowId,
    body: StatusChange,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    advance_order(ctx, p.tenant_id, order_id, body.status, p.actor)
    return get_order(ctx, p.tenant_id, order_id)


@router.post("/orders/{order_id}/cancel", response_model=Order, summary="Cancel an order before the cut-off")
def cancel(
    order_id: RowId, p: Principal = Depends(require(Role.operator)), ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, object]:
    cancel_order(ctx, p.tenant_id, order_id, p.actor)
    return get_order(ctx, p.tenant_id, order_id)
