"""Ride bookings: book with an Idempotency-Key, read, list, cancel, settle one that needs review."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from sqlmodel import Session, col, select

from api.deps import get_ctx, get_session, idempotency_key, require
from api.ratelimit import per_staff
from api.replays import staff_booking_limit
from api.schemas.rides import ChangedRide, Quote, TimeLimits
from api.schemas.rides import Ride as RideOut
from dispatcher.billing.waivers import waive_fee
from dispatcher.context import Dispatcher
from dispatcher.db import RowId, id_of
from dispatcher.errors import Code, NotFound
from dispatcher.identity.auth import Principal
from dispatcher.models import Resident, Ride, RideStatus, Role, Vehicle
from dispatcher.rides.booking import (
    RideRequest,
    TripQuestion,
    book,
    booked_with,
    change_ride,
    quote,
    refusal_error,
    ride_view,
    time_limits,
)
from dispatcher.rides.cancellation import cancel, cancellations
from dispatcher.rides.review import resolve
from dispatcher.timeline import Day
from routing.geo import Point

router = APIRouter(prefix="/api/v1/rides", tags=["rides"])


def _keys(session: Session, tenant_id: str) -> dict[int, str]:
    return {id_of(v): v.key for v in session.exec(select(Vehicle).where(Vehicle.tenant_id == tenant_id))}


def _homes(session: Session, rides: list[Ride]) -> dict[int, Point]:
    """The riders' homes by resident id, for naming a ride's ends (自宅)."""
    ids = {r.resident_id for r in rides if r.resident_id is not None}
    if not ids:
        return {}
    return {
        id_of(p): Point(p.lat, p.lon) for p in session.exec(select(Resident).where(col(Resident.id).in_(ids)))
    }


def _view(ctx: Dispatcher, p: Principal, session: Session, ride: Ride) -> dict[str, object]:
    """One ride as the API shows it, its vehicle's key and its ends named."""
    cfg = ctx.config(p.tenant_id)
    home = _homes(session, [ride]).get(ride.resident_id or 0)
    gone = cancellations(session, cfg, [ride]).get(id_of(ride))
    return ride_view(ride, cfg, _key(session, ride), ctx.clock.now(), home, gone)


def _key(session: Session, ride: Ride) -> str | None:
    """The key of the ride's vehicle (None: not assigned)."""
    vehicle = session.get(Vehicle, ride.vehicle_id) if ride.vehicle_id is not None else None
    return vehicle.key if vehicle is not None else None


class StaffRideRequest(RideRequest):
    """A ride request from the operators' console: it may book over another ride of the rider."""

    book_anyway: StrictBool = Field(
        default=False,
        description="book although the rider has a live ride at an overlapping time (after a "
        "`ride.overlaps` refusal); the same trip twice (`ride.duplicate`) is refused regardless",
    )

    def plain(self) -> RideRequest:
        """The request without the flag (what is stored and fingerprinted)."""
        return RideRequest.model_validate(self.model_dump(exclude={"book_anyway"}))


@router.post(
    "",
    status_code=201,
    response_model=RideOut,
    summary="Book a same-day ride: 201 with the pickup window, or 409 with alternatives",
    dependencies=[Depends(staff_booking_limit(booked_with))],
    responses={
        409: {
            "description": "No vehicle fits (problem details with alternatives), or the rider has a "
            "live ride at an overlapping time (`ride.overlaps`, `ride.duplicate`: `existing_ride`)"
        },
        422: {"description": "Bad input; problem details naming each field"},
    },
)
def create_ride(
    body: StaffRideRequest,
    response: Response,
    key: str = Depends(idempotency_key),
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
    session: Session = Depends(get_session),
) -> dict[str, object]:
    result = book(ctx, p.tenant_id, body.plain(), key, p.actor, book_anyway=body.book_anyway)
    cfg = ctx.config(p.tenant_id)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    if result.ride.status == RideStatus.refused:
        err = refusal_error(result.ride, cfg)
        err.headers.update(headers)  # a retried refusal says it is the same answer again
        raise err
    response.headers.update({**headers, "Location": f"/api/v1/rides/{result.ride.id}"})
    return _view(ctx, p, session, result.ride)


@router.post(
    "/quote",
    response_model=Quote,
    summary="What a booking would promise now (nothing is stored)",
    dependencies=[Depends(per_staff("booking"))],
)
def quote_ride(
    body: StaffRideRequest,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    return quote(ctx, p.tenant_id, body.plain(), book_anyway=body.book_anyway)


@router.post(
    "/time-limits",
    response_model=TimeLimits,
    summary="The pickup and arrival times a trip can be asked for on a day (for time pickers)",
    dependencies=[Depends(per_staff("booking"))],
)
def trip_time_limits(
    body: TripQuestion,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    return time_limits(ctx, p.tenant_id, body)


class ChangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request: RideRequest
    reason: str = Field(min_length=1, max_length=500, description="why (kept in the event log)")
    book_anyway: StrictBool = Field(default=False, description="as for a booking: over an overlapping ride")


@router.post(
    "/{ride_id}/change",
    status_code=201,
    response_model=ChangedRide,
    summary="Change a confirmed ride: the new booking replaces it only if it is confirmed",
    dependencies=[Depends(staff_booking_limit(booked_with))],
    responses={409: {"description": "The new request does not fit; the old ride stays as it was"}},
)
def change(
    ride_id: RowId,
    body: ChangeBody,
    key: str = Depends(idempotency_key),
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
    session: Session = Depends(get_session),
) -> dict[str, object]:
    _ride(session, p, ride_id)
    booked = change_ride(
        ctx, p.tenant_id, ride_id, body.request, key, p.actor, body.reason.strip(), body.book_anyway
    )
    cfg = ctx.config(p.tenant_id)
    if booked.ride.status == RideStatus.refused:
        err = refusal_error(booked.ride, cfg)
        err.detail += f" Ride {ride_id} stays as it was."
        raise err
    return {**_view(ctx, p, session, booked.ride), "replaces": ride_id}


@router.get("", response_model=list[RideOut], summary="Rides of a day, optionally of one resident")
def list_rides(
    date_: Day | None = Query(None, alias="date", description="YYYY-MM-DD; default today"),
    resident_id: RowId | None = Query(None),
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
    session: Session = Depends(get_session),
) -> list[dict[str, object]]:
    cfg = ctx.config(p.tenant_id)
    day = date_ or ctx.clock.now().astimezone(cfg.tz).date()
    stmt = select(Ride).where(Ride.tenant_id == p.tenant_id, Ride.service_date == day)
    if resident_id is not None:
        stmt = stmt.where(Ride.resident_id == resident_id)
    keys = _keys(session, p.tenant_id)
    now = ctx.clock.now()
    rides = list(session.exec(stmt.order_by(col(Ride.id))))
    homes = _homes(session, rides)
    gone = cancellations(session, cfg, rides)
    return [
        ride_view(r, cfg, keys.get(r.vehicle_id or 0), now, homes.get(r.resident_id or 0), gone.get(id_of(r)))
        for r in rides
    ]


def _ride(session: Session, p: Principal, ride_id: int) -> Ride:
    ride = session.get(Ride, ride_id)
    if ride is None or ride.tenant_id != p.tenant_id:
        raise NotFound(f"No ride {ride_id}.", code=Code.ride_not_found)
    return ride


@router.get("/{ride_id}", response_model=RideOut, summary="One ride")
def get_ride(
    ride_id: RowId,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
    session: Session = Depends(get_session),
) -> dict[str, object]:
    ride = _ride(session, p, ride_id)
    return _view(ctx, p, session, ride)


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=500, description="why (kept in the event log)")
    fee_waived: StrictBool = Field(
        False, description="the service cancels (a breakdown, a road closed): no late-cancellation charge"
    )
    expected_fee_yen: StrictInt | None = Field(
        None,
        ge=0,
        description="the cancellation fee (`cancel_fee_yen`) shown on the confirmation step; when the "
        "fee due now differs, nothing is cancelled (409 `ride.fee_changed` with the new "
        "`cancel_fee_yen` and `cancel_fee_text`); leave it out not to check",
    )


@router.post(
    "/{ride_id}/cancel",
    response_model=RideOut,
    summary="Cancel a ride before pickup, with a reason for the log",
    responses={
        409: {
            "description": "The ride can no longer be cancelled, or the fee due now is not the "
            "`expected_fee_yen` shown (`ride.fee_changed`: nothing was cancelled)"
        }
    },
)
def cancel_ride(
    ride_id: RowId,
    body: CancelBody | None = None,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
    session: Session = Depends(get_session),
) -> dict[str, object]:
    _ride(session, p, ride_id)
    reason = body.reason.strip() if body and body.reason and body.reason.strip() else None
    ride = cancel(
        ctx,
        p.tenant_id,
        ride_id,
        p.actor,
        reason=reason,
        fee_waived=bool(body and body.fee_waived),
        expected_fee_yen=body.expected_fee_yen if body else None,
    )
    return _view(ctx, p, session, ride)


class WaiveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, description="why the fee is waived (on the statement)")


@router.post(
    "/{ride_id}/waive-fee",
    response_model=RideOut,
    summary="Waive the late-cancellation fee of a ride the resident cancelled (a credit on the statement)",
    responses={
        409: {
            "description": "No fee was charged for this ride (`ride.fee_not_due`), or the month is "
            "closed (`billing.month_closed`)"
        }
    },
)
def waive_ride_fee(
    ride_id: RowId,
    body: WaiveBody,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
    session: Session = Depends(get_session),
) -> dict[str, object]:
    _ride(session, p, ride_id)
    waive_fee(ctx, p.tenant_id, ride_id, p.actor, body.reason)
    with Session(ctx.engine) as fresh:  # read after the waiver's commit
        return _view(ctx, p, fresh, _ride(fresh, p, ride_id))


class ReviewBody(BaseModel):
    """How the operator settles a ride that needs review, as its driver says on the phone."""

    model_config = ConfigDict(extra="forbid")
    outcome: Literal["picked_up", "no_show", "cancelled"] = Field(
        description="picked_up: the rider is on board; no_show: the rider was not there; cancelled"
    )
    reason: str | None = Field(None, max_length=500, description="cancelled: why (kept in the event log)")
    fee_waived: StrictBool = Field(
        False, description="cancelled: the service's side failed, no late-cancellation charge"
    )


@router.post(
    "/{ride_id}/review",
    response_model=RideOut,
    summary="Settle a ride whose pickup window passed with no tap from the driver (確認が必要)",
)
def review_ride(
    ride_id: RowId,
    body: ReviewBody,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
    session: Session = Depends(get_session),
) -> dict[str, object]:
    _ride(session, p, ride_id)
    reason = body.reason.strip() if body.reason and body.reason.strip() else None
    ride = resolve(
        ctx, p.tenant_id, ride_id, body.outcome, p.actor, reason=reason, fee_waived=body.fee_waived
    )
    return _view(ctx, p, session, ride)
