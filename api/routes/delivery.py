"""Drone flights, their mission files, pick lists and hand-over lists of a delivery day."""

from __future__ import annotations

import json
from datetime import date

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from api.deps import get_ctx, require
from api.schemas.delivery import (
    Flight,
    FlightStepResult,
    Forecast,
    HandoverList,
    PickList,
    QgcPlan,
    Ready,
)
from api.schemas.shopping import Order
from dispatcher.context import Dispatcher
from dispatcher.db import RowId
from dispatcher.errors import Code, Forbidden, InvalidRequest, field_error
from dispatcher.identity.auth import Principal
from dispatcher.models import Role
from dispatcher.shopping.delivery import (
    flight,
    flight_view,
    flights,
    forecast,
    handovers,
    picklists,
    set_forecast,
)
from dispatcher.shopping.flight_ops import FlightStep, flight_step
from dispatcher.shopping.orders import get_order
from dispatcher.shopping.picking import confirm_handover, mark_ready, ready_sellers, seller_key
from dispatcher.timeline import Day, local_date

router = APIRouter(prefix="/api/v1", tags=["delivery"])


def _day(ctx: Dispatcher, p: Principal, day: date | None) -> date:
    return day or local_date(ctx.clock.now(), ctx.config(p.tenant_id).tz)


@router.get("/flights", response_model=list[Flight], summary="The day's drone flights")
def list_flights(
    date_: Day | None = Query(None, alias="date"),
    p: Principal = Depends(require(Role.operator, Role.drone_operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> list[dict[str, object]]:
    return flights(ctx, p.tenant_id, _day(ctx, p, date_))


@router.get(
    "/flights/{flight_id}",
    response_model=Flight,
    summary="One flight: drone, departure, halls, orders, payload, times",
)
def get_flight(
    flight_id: RowId,
    p: Principal = Depends(require(Role.operator, Role.drone_operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    return flight_view(flight(ctx, p.tenant_id, flight_id), ctx.config(p.tenant_id))


@router.get(
    "/flights/{flight_id}/plan",
    summary="The flight as a QGroundControl .plan file",
    response_class=Response,
    responses={200: {"model": QgcPlan, "description": "The .plan file (JSON), as an attachment"}},
)
def get_plan(
    flight_id: RowId,
    p: Principal = Depends(require(Role.operator, Role.drone_operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> Response:
    f = flight(ctx, p.tenant_id, flight_id)
    name = f"{f.service_date.isoformat()}-flight{f.number}-{f.drone}.plan"
    return Response(
        json.dumps(f.plan, ensure_ascii=False, indent=1),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post(
    "/flights/{flight_id}/steps",
    response_model=FlightStepResult,
    response_model_exclude_unset=True,  # `ground` only after an abort that sent orders by ground
    summary="Drone operator: loaded, departed, landed, returned, aborted",
)
def post_flight_step(
    flight_id: RowId,
    body: FlightStep,
    p: Principal = Depends(require(Role.operator, Role.drone_operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    out = flight_step(ctx, p.tenant_id, flight_id, body, p.actor)
    return out


@router.get(
    "/handovers",
    response_model=list[HandoverList],
    summary="Per hall: households, bags, mode and landing time",
)
def get_handovers(
    date_: Day | None = Query(None, alias="date"),
    hall_id: str | None = Query(None, max_length=64),
    p: Principal = Depends(require(Role.operator, Role.support_worker)),
    ctx: Dispatcher = Depends(get_ctx),
) -> list[dict[str, object]]:
    if p.hall_id is not None:  # a support worker of one hall sees that hall only
        hall_id = p.hall_id
    return handovers(ctx, p.tenant_id, _day(ctx, p, date_), hall_id)


@router.post(
    "/handovers/{order_id}/confirm",
    response_model=Order,
    summary="Support worker: the bags reached the household",
)
def post_handover(
    order_id: RowId,
    p: Principal = Depends(require(Role.operator, Role.support_worker)),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    confirm_handover(ctx, p.tenant_id, order_id, p.hall_id, p.actor)
    return get_order(ctx, p.tenant_id, order_id)


@router.get(
    "/picklists", response_model=list[PickList], summary="Per seller: products and quantities to pick"
)
def get_picklists(
    date_: Day | None = Query(None, alias="date"),
    seller_id: str | None = Query(None, max_length=64),
    p: Principal = Depends(require(Role.operator, Role.seller)),
    ctx: Dispatcher = Depends(get_ctx),
) -> list[dict[str, object]]:
    day = _day(ctx, p, date_)
    if p.role == Role.seller:  # a seller sees its own shop's list only
        seller_id = _seller_key(ctx, p)
    ready = ready_sellers(ctx, p.tenant_id, day)
    return [
        {**sheet, "ready_at": ready.get(sheet["seller"])}
        for sheet in picklists(ctx, p.tenant_id, day, seller_id)
    ]


def _seller_key(ctx: Dispatcher, p: Principal) -> str:
    key = seller_key(ctx, p.tenant_id, p.seller_id)
    if key is None:
        raise Forbidden("This seller account is not linked to a shop.", code=Code.seller_not_linked)
    return key


class ReadyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: Day | None = Field(None, description="delivery date; default today")
    seller_id: str | None = Field(None, max_length=64, description="operators only: which seller")


@router.post(
    "/picklists/ready",
    response_model=Ready,
    summary="Seller: the day's goods are picked and ready for collection",
)
def post_ready(
    body: ReadyBody,
    p: Principal = Depends(require(Role.operator, Role.seller)),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    key = _seller_key(ctx, p) if p.role == Role.seller else body.seller_id
    if not key:
        raise InvalidRequest(
            "Which seller?",
            [field_error("seller_id", "is required for operators", code=Code.field_required)],
            code=Code.invalid_request,
        )
    return mark_ready(ctx, p.tenant_id, key, _day(ctx, p, body.day), p.actor)


class WeatherSlot(BaseModel):
    """Forecast for a part of the day (local times)."""

    model_config = ConfigDict(extra="forbid")
    start: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM")
    end: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM")
    wind_ms: float = Field(ge=0, le=80, description="wind speed, m/s")
    rain: StrictBool = False

    @model_validator(mode="after")
    def _ordered(self) -> WeatherSlot:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class WeatherDay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slots: list[WeatherSlot] = Field(max_length=48)


@router.put(
    "/weather/{day}",
    response_model=Forecast,
    summary="Enter the day's weather forecast (replaces the earlier one)",
)
def put_weather(
    day: Day,
    body: WeatherDay,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    set_forecast(ctx, p.tenant_id, day, [s.model_dump() for s in body.slots], p.actor)
    return {"date": day.isoformat(), "slots": forecast(ctx, p.tenant_id, day)}


@router.get("/weather/{day}", response_model=Forecast, summary="The day's weather forecast as entered")
def get_weather(
    day: Day, p: Principal = Depends(require(Role.operator)), ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, object]:
    return {"date": day.isoformat(), "slots": forecast(ctx, p.tenant_id, day)}
