"""Vehicles, their manifests and drivers' reports."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session, col, select

from api.deps import get_ctx, get_principal, get_session, require
from api.schemas.vehicles import Manifest, PositionsReport, VehicleReport
from api.schemas.vehicles import Vehicle as VehicleOut
from dispatcher.context import Dispatcher
from dispatcher.db import RowId
from dispatcher.errors import Code, Forbidden, NotFound
from dispatcher.identity.auth import Principal
from dispatcher.models import Operator, Role, Vehicle
from dispatcher.rides.field_events import VehicleEvent, vehicle_event
from dispatcher.rides.manifests import manifest
from dispatcher.rides.positions import PositionBatch, report_positions
from dispatcher.timeline import Day, local_date

router = APIRouter(prefix="/api/v1/vehicles", tags=["vehicles"])


def _vehicle_for(session: Session, p: Principal, vehicle_id: int) -> Vehicle:
    v = session.get(Vehicle, vehicle_id)
    if v is None or v.tenant_id != p.tenant_id:
        raise NotFound(f"No vehicle {vehicle_id}.", code=Code.vehicle_not_found)
    if p.role == Role.driver and v.operator_id != p.operator_id:
        raise Forbidden("Drivers see only their own company's vehicles.", code=Code.vehicle_not_yours)
    return v


@router.get("", response_model=list[VehicleOut], summary="Active vehicles of the caller's municipality")
def list_vehicles(
    p: Principal = Depends(get_principal), session: Session = Depends(get_session)
) -> list[dict[str, object]]:
    ops = {o.id: o for o in session.exec(select(Operator).where(Operator.tenant_id == p.tenant_id))}
    rows = list(
        session.exec(
            select(Vehicle)
            .where(Vehicle.tenant_id == p.tenant_id, Vehicle.active == True)  # noqa: E712
            .order_by(col(Vehicle.id))
        )
    )
    if p.role == Role.driver:  # a driver sees the vehicles of the company it drives for
        rows = [v for v in rows if v.operator_id == p.operator_id]
    return [
        {
            "id": v.id,
            "key": v.key,
            "name": v.name,
            "operator": ops[v.operator_id].key,
            "operator_name": ops[v.operator_id].name,
            "seats": v.seats,
            "wheelchair_places": v.wheelchair_places,
            "depot": {"lat": v.depot_lat, "lon": v.depot_lon},
            "shift": {"start": v.shift_start, "end": v.shift_end},
        }
        for v in rows
    ]


@router.post(
    "/positions",
    response_model=PositionsReport,
    summary="Many vehicles' positions in one call (a fleet telematics feed)",
)
def post_positions(
    body: PositionBatch,
    p: Principal = Depends(require(Role.operator, Role.driver)),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    """Each position is applied as the vehicle's own position report would be (`POST
    /api/v1/vehicles/{id}/events` with type position), in the order sent, in one transaction. A
    position that cannot be taken (an unknown vehicle, another company's vehicle for a driver, a
    time in the future or before that vehicle's last report) is answered in `results` with its
    problem and changes nothing; the others are stored."""
    results = report_positions(
        ctx,
        p.tenant_id,
        body.positions,
        p.actor,
        operator_id=p.operator_id if p.role == Role.driver else None,
    )
    accepted = sum(1 for r in results if r["status"] == "accepted")
    return {"accepted": accepted, "rejected": len(results) - accepted, "results": results}


@router.get(
    "/{vehicle_id}/manifest", response_model=Manifest, summary="A vehicle's stops of a day in visiting order"
)
def get_manifest(
    vehicle_id: RowId,
    date_: Day | None = Query(None, alias="date", description="YYYY-MM-DD; default today"),
    p: Principal = Depends(require(Role.operator, Role.driver)),
    session: Session = Depends(get_session),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    _vehicle_for(session, p, vehicle_id)
    day = date_ or local_date(ctx.clock.now(), ctx.config(p.tenant_id).tz)
    return manifest(ctx, p.tenant_id, vehicle_id, day)


@router.post(
    "/{vehicle_id}/events",
    response_model=VehicleReport,
    summary="A driver's report: arrived, picked_up, no_show, dropped_off, position, delay (minutes)",
)
def post_event(
    vehicle_id: RowId,
    body: VehicleEvent,
    p: Principal = Depends(require(Role.operator, Role.driver)),
    session: Session = Depends(get_session),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    _vehicle_for(session, p, vehicle_id)
    result = vehicle_event(ctx, p.tenant_id, vehicle_id, body, p.actor)
    return result
