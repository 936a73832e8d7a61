"""The resident channels' API: what a paired TV box or a resident's phone may see and do.

Everything is scoped to the caller's household (a box: every member; a phone: that resident; a
family member: the one linked resident she acts for, with what her link permits). Errors carry
plain-Japanese `detail`, shown on the screen as it is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlmodel import Session

from api.deps import get_ctx, get_household, get_whole_household, idempotency_key
from api.ratelimit import per_address, per_household
from api.replays import household_booking_limit
from api.schemas.me import (
    Category,
    ChargesSoFar,
    HouseholdRides,
    Notice,
    OrderCard,
    Overview,
    PinSession,
    RideCard,
)
from api.schemas.rides import Quote, TimeLimits
from api.schemas.shopping import Product
from dispatcher.channels import resident_view
from dispatcher.context import Dispatcher
from dispatcher.db import RowId, session_scope
from dispatcher.errors import Code, Forbidden, NotFound, field_error
from dispatcher.identity import family
from dispatcher.identity.auth import HouseholdPrincipal
from dispatcher.identity.pins import sign_in, sign_out
from dispatcher.models import Ride, ShopOrder
from dispatcher.rides.booking import (
    RideRequest,
    TripQuestion,
    book,
    booked_with,
    quote,
    refusal_error,
    time_limits,
)
from dispatcher.rides.cancellation import cancel
from dispatcher.shopping.orders import (
    LineRequest,
    OrderRequest,
    cancel_order,
    catalogue,
    ordered_with,
    place_order,
)

router = APIRouter(prefix="/api/v1/me", tags=["resident channels"])
Household = Annotated[HouseholdPrincipal, Depends(get_household)]
WholeHousehold = Annotated[HouseholdPrincipal, Depends(get_whole_household)]
Ctx = Annotated[Dispatcher, Depends(get_ctx)]


def _own(hp: HouseholdPrincipal, resident_id: int) -> None:
    if resident_id not in hp.resident_ids:
        raise Forbidden(
            "This resident is not of the calling household.",
            errors=[field_error("resident_id", "not of this household", code=Code.household_not_yours)],
            code=Code.household_not_yours,
        )


def _may_book(hp: HouseholdPrincipal) -> None:
    """A family member with a `view` link sees the resident's rides but books and cancels none."""
    if not hp.can_book:
        raise Forbidden(
            "This family member may only view the resident's rides (view link).", code=Code.family_view_only
        )


@router.get(
    "", response_model=Overview, summary="The household: members, favourite places, places, shopping state"
)
def me(hp: Household, ctx: Ctx) -> dict[str, object]:
    return resident_view.overview(ctx, hp)


@router.post(
    "/quote",
    response_model=Quote,
    summary="What a ride would promise now (nothing is stored)",
    dependencies=[Depends(per_household("booking"))],
)
def ride_quote(body: RideRequest, hp: Household, ctx: Ctx) -> dict[str, object]:
    _own(hp, body.resident_id)
    _may_book(hp)
    return quote(ctx, hp.tenant_id, body)


@router.post(
    "/time-limits",
    response_model=TimeLimits,
    summary="The pickup and arrival times a trip can be asked for today (the pickers stop there)",
    dependencies=[Depends(per_household("booking"))],
)
def ride_time_limits(body: TripQuestion, hp: Household, ctx: Ctx) -> dict[str, object]:
    _own(hp, body.resident_id)
    return time_limits(ctx, hp.tenant_id, body)


@router.post(
    "/rides",
    status_code=201,
    response_model=RideCard,
    summary="Book a ride for a member of the household",
    dependencies=[Depends(household_booking_limit(booked_with))],
)
def ride_book(
    body: RideRequest,
    hp: Household,
    ctx: Ctx,
    key: str = Depends(idempotency_key),
) -> dict[str, object]:
    _own(hp, body.resident_id)
    _may_book(hp)
    result = book(ctx, hp.tenant_id, body, key, hp.actor)
    cfg = ctx.config(hp.tenant_id)
    if result.ride.status != "confirmed":
        raise refusal_error(result.ride, cfg)
    return resident_view.booked_card(ctx, result.ride)


@router.get(
    "/rides",
    response_model=HouseholdRides,
    summary="Today's rides of the household and return trips to offer",
)
def ride_list(hp: Household, ctx: Ctx) -> dict[str, object]:
    return resident_view.rides(ctx, hp)


class RideCancel(BaseModel):
    """What the confirmation step showed (all our pages send it; leave the body out not to check)."""

    model_config = ConfigDict(extra="forbid")
    expected_fee_yen: StrictInt | None = Field(
        None,
        ge=0,
        description="the cancellation fee (`cancel_fee_yen`) shown when the resident confirmed; when the "
        "fee due now differs, nothing is cancelled (409 `ride.fee_changed` with the new "
        "`cancel_fee_yen` and `cancel_fee_text`)",
    )


@router.post(
    "/rides/{ride_id}/cancel",
    response_model=HouseholdRides,
    summary="Cancel a ride of the household before pickup",
    responses={
        409: {
            "description": "The ride can no longer be cancelled, or the fee due now is not the "
            "`expected_fee_yen` shown (`ride.fee_changed`: nothing was cancelled)"
        }
    },
)
def ride_cancel(ride_id: RowId, hp: Household, ctx: Ctx, body: RideCancel | None = None) -> dict[str, object]:
    with Session(ctx.engine) as session:
        ride = session.get(Ride, ride_id)
        if ride is None or ride.tenant_id != hp.tenant_id or ride.resident_id not in hp.resident_ids:
            raise NotFound(f"No ride {ride_id} of this household.", code=Code.ride_not_found)
    _may_book(hp)
    cancel(
        ctx,
        hp.tenant_id,
        ride_id,
        hp.actor,
        reason="cancelled by the resident",
        expected_fee_yen=body.expected_fee_yen if body else None,
    )
    return resident_view.rides(ctx, hp)


@router.get("/catalog", response_model=list[Product], summary="Products, optionally of one category")
def products(
    hp: Household, ctx: Ctx, category: str | None = Query(None, max_length=32)
) -> list[dict[str, object]]:
    return catalogue(ctx, hp.tenant_id, category)


@router.get(
    "/catalog/categories",
    response_model=list[Category],
    summary="Categories with their number of products, in catalogue order",
)
def categories(hp: Household, ctx: Ctx) -> list[dict[str, object]]:
    items = catalogue(ctx, hp.tenant_id, None)
    counts: dict[str, int] = {}
    for p in items:
        counts[str(p["category"])] = counts.get(str(p["category"]), 0) + 1
    return [{"category": c, "count": n} for c, n in counts.items()]


class CartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[LineRequest] = Field(min_length=1, max_length=200)


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderCard,
    summary="Order groceries for the household",
    dependencies=[Depends(household_booking_limit(ordered_with))],
)
def order_place(
    body: CartRequest,
    hp: WholeHousehold,
    ctx: Ctx,
    key: str = Depends(idempotency_key),
) -> dict[str, object]:
    placed = place_order(
        ctx,
        hp.tenant_id,
        OrderRequest(household_id=hp.household_id, lines=body.lines),
        key,
        hp.actor,
    )
    return resident_view.order_card(placed.order, placed.lines, ctx.config(hp.tenant_id))


@router.get("/orders", response_model=list[OrderCard], summary="Today's and upcoming orders of the household")
def order_list(hp: Household, ctx: Ctx) -> list[dict[str, object]]:
    return resident_view.orders(ctx, hp)


@router.post(
    "/orders/{order_id}/cancel", response_model=list[OrderCard], summary="Cancel an order before the cut-off"
)
def order_cancel(order_id: RowId, hp: WholeHousehold, ctx: Ctx) -> list[dict[str, object]]:
    with Session(ctx.engine) as session:
        order = session.get(ShopOrder, order_id)
        if order is None or order.tenant_id != hp.tenant_id or order.household_id != hp.household_id:
            raise NotFound(f"No order {order_id} of this household.", code=Code.order_not_found)
    cancel_order(ctx, hp.tenant_id, order_id, hp.actor)
    return resident_view.orders(ctx, hp)


@router.get(
    "/billing",
    response_model=ChargesSoFar,
    summary="This month's charges so far (rides, fees, membership, goods)",
)
def billing(hp: WholeHousehold, ctx: Ctx) -> dict[str, object]:
    from dispatcher.billing.statements import running_total

    out = running_total(ctx, hp.tenant_id, hp.household_id)
    return {"month": out["month"], "total_yen": out["total_yen"], "by_kind": out["by_kind"]}


@router.get(
    "/notices",
    response_model=list[Notice],
    summary="Today's messages: confirmations, taxi arriving, groceries at the hall",
)
def notices(hp: Household, ctx: Ctx) -> list[dict[str, object]]:
    return resident_view.notices(ctx, hp)


class PinSignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant_id: str | None = Field(
        None,
        max_length=64,
        description="the municipality of the page (its <html data-tenant>); "
        "default: the server's only tenant",
    )
    resident_id: RowId = Field(description="the resident number (利用者番号)")
    pin: str = Field(min_length=1, max_length=16)


session_router = APIRouter(prefix="/api/v1/m", tags=["resident channels"])


@session_router.post(
    "/session",
    response_model=PinSession,
    summary="Phone page sign-in with resident number and PIN",
    dependencies=[Depends(per_address("pin-sign-in"))],
    responses={423: {"description": "The PIN is locked after five wrong tries: an operator sets a new one"}},
)
def pin_session(body: PinSignIn, ctx: Ctx) -> dict[str, object]:
    tenant_id = body.tenant_id or ctx.default_tenant()
    with session_scope(ctx.engine) as session:
        token, resident = sign_in(
            session, tenant_id, body.resident_id, body.pin, ctx.clock.now(), ctx.token_hours
        )
        return {
            "access_token": token,
            "token_type": "bearer",
            "name": f"{resident.family_name} {resident.given_name}",
        }


@session_router.post(
    "/session/end", status_code=204, summary="Sign out of the phone page (a resident's or a family member's)"
)
def pin_session_end(ctx: Ctx, authorization: str | None = Header(None)) -> None:
    token = (authorization or "").removeprefix("Bearer ").strip()
    if token:
        with session_scope(ctx.engine) as session:
            if not family.sign_out(session, token, ctx.clock.now()):
                sign_out(session, token, ctx.clock.now())
