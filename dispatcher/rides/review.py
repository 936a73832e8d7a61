"""Rides that need the operator's review (確認が必要): the pickup window passed, and the driver
never said whether the rider got in.

An overdue pickup — a pending pickup whose window has ended — can no longer be kept by any vehicle,
so a re-optimization that had to place it would find no plan at all. Instead the re-optimization
keeps the vehicle that holds it exactly as it is, with all its riders, and plans the rest of the
fleet around it (`dispatcher.rides.reoptimize`); the booking path takes no new ride onto that
vehicle until the ride is settled (its route fails the checker).

The operator's board lists the rides to review with the phone numbers to call (the drivers of the
vehicle's company, then the company's office: the data model ties drivers to companies, not to
vehicles). The operator settles each one as the driver says: picked up, no-show, or cancelled
(`resolve`). Settling is the ride's ordinary lifecycle step, recorded as its ordinary event with
the operator as actor and `"review": true`; the ride then leaves the list, since the list is
derived from the rides' state and the clock, never stored apart from them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.errors import Code, Conflict, NotFound
from dispatcher.models import Driver, Operator, Resident, Ride, RideStatus, Vehicle
from dispatcher.rides.cancellation import cancel
from dispatcher.rides.field_events import VehicleEvent, vehicle_event
from dispatcher.rides.place_names import name_stop
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import iso_local, local_date
from routing.geo import Point

Outcome = Literal["picked_up", "no_show", "cancelled"]


def pickup_overdue(status: str, window_end: datetime | None, now: datetime) -> bool:
    """Whether a ride's pickup is still pending although its window has ended (the re-optimization
    plans around its vehicle)."""
    return (
        status in (RideStatus.confirmed, RideStatus.vehicle_arrived)
        and window_end is not None
        and window_end < now
    )


def needs_review(cfg: TenantConfig, ride: Ride, now: datetime) -> bool:
    """Whether the operator should settle the ride: confirmed and its pickup window over with no
    tap; or the driver arrived, and both the window and the no-show waiting time are over with no
    second tap (until then the driver is simply waiting for the rider)."""
    if not pickup_overdue(ride.status, ride.pickup_window_end, now):
        return False
    if ride.status == RideStatus.vehicle_arrived:
        start = max(ride.arrived_at or now, ride.pickup_window_start or now)
        return start + timedelta(minutes=cfg.booking.no_show_wait_minutes) < now
    return True


def to_review(ctx: Dispatcher, tenant_id: str, day: date | None = None) -> list[dict[str, Any]]:
    """The rides of the day the operator should settle, earliest window first: the ride, its rider,
    the window missed, the vehicle and the numbers to call (`phones`: label and number)."""
    cfg = ctx.config(tenant_id)
    now = ctx.clock.now()
    day = day or local_date(now, cfg.tz)
    with Session(ctx.engine) as session:
        rides = [
            r
            for r in session.exec(
                select(Ride)
                .where(
                    Ride.tenant_id == tenant_id,
                    Ride.service_date == day,
                    col(Ride.status).in_((RideStatus.confirmed.value, RideStatus.vehicle_arrived.value)),
                    col(Ride.pickup_window_end) < now,
                )
                .order_by(col(Ride.pickup_window_end), col(Ride.id))
            )
            if needs_review(cfg, r, now)
        ]
        if not rides:
            return []
        vehicles = {
            v.id: v
            for v in session.exec(select(Vehicle).where(col(Vehicle.id).in_({r.vehicle_id for r in rides})))
        }
        op_ids = {v.operator_id for v in vehicles.values()}
        operators = {o.id: o for o in session.exec(select(Operator).where(col(Operator.id).in_(op_ids)))}
        drivers = list(
            session.exec(select(Driver).where(col(Driver.operator_id).in_(op_ids)).order_by(col(Driver.id)))
        )
        riders = list(
            session.exec(
                select(Resident).where(col(Resident.id).in_({r.resident_id for r in rides if r.resident_id}))
            )
        )
        names = {p.id: f"{p.family_name} {p.given_name}" for p in riders}
        homes = {p.id: Point(p.lat, p.lon) for p in riders}
    out = []
    for r in rides:
        v = vehicles.get(r.vehicle_id)
        op = operators.get(v.operator_id) if v is not None else None
        phones = [
            {"label": f"運転手 {d.name}", "number": d.phone}
            for d in drivers
            if v is not None and d.operator_id == v.operator_id and d.phone
        ]
        if op is not None and op.phone:
            phones.append({"label": f"{op.name}（事業者）", "number": op.phone})
        out.append(
            {
                "ride_id": r.id,
                "status": r.status,
                "kind": r.kind,
                "resident_id": r.resident_id,
                "rider": names.get(r.resident_id, "") if r.resident_id else "",
                # both ends named as on every page: the drone base for a freight pickup
                "origin_name": name_stop(
                    cfg, r.origin_place_id, r.origin_lat, r.origin_lon, homes.get(r.resident_id or 0)
                ).name,
                "destination_name": name_stop(
                    cfg,
                    r.destination_place_id,
                    r.destination_lat,
                    r.destination_lon,
                    homes.get(r.resident_id or 0),
                ).name,
                "pickup_window": {
                    "start": iso_local(r.pickup_window_start, cfg.tz),
                    "end": iso_local(r.pickup_window_end, cfg.tz),
                },
                "overdue_minutes": int((now - r.pickup_window_end).total_seconds() // 60)
                if r.pickup_window_end
                else 0,
                "vehicle_id": r.vehicle_id,
                "vehicle": (v.name or v.key) if v is not None else "",
                "operator": op.name if op is not None else "",
                "phones": phones,
            }
        )
    return out


def resolve(
    ctx: Dispatcher,
    tenant_id: str,
    ride_id: int,
    outcome: Outcome,
    actor: str,
    reason: str | None = None,
    fee_waived: bool = False,
) -> Ride:
    """Settle a ride that needs review, as its driver says: `picked_up` (the rider is on board),
    `no_show` (the rider was not there) or `cancelled` (with `reason` and `fee_waived` as any
    cancellation). Each is the ride's ordinary lifecycle step (`field_events.vehicle_event` in
    review mode, `cancellation.cancel`), recorded as its event with the operator as actor; a
    re-optimization is asked for. Conflict (`ride.not_for_review`) when the ride does not need
    review (any more): somebody else settled it, or the driver tapped meanwhile."""
    cfg = ctx.config(tenant_id)
    with Session(ctx.engine) as session:
        ride = session.get(Ride, ride_id)
        if ride is None or ride.tenant_id != tenant_id:
            raise NotFound(f"No ride {ride_id}.", code=Code.ride_not_found)
        if not needs_review(cfg, ride, ctx.clock.now()):
            raise Conflict(
                f"Ride {ride_id} ({ride.status}) does not need review.",
                title="Nothing to review",
                ride_status=ride.status,
                code=Code.ride_not_for_review,
            )
        vehicle_id = ride.vehicle_id
    if outcome == "cancelled" or vehicle_id is None:
        why = f"確認の結果: {reason}" if reason else "確認の結果"
        return cancel(ctx, tenant_id, ride_id, actor, reason=why, fee_waived=fee_waived)
    # The lifecycle step runs under the tenant lock and re-checks the ride's state there: a tap
    # that came in meanwhile makes it an illegal step (409), never a second transition.
    vehicle_event(ctx, tenant_id, vehicle_id, VehicleEvent(type=outcome, ride_id=ride_id), actor, review=True)
    with Session(ctx.engine) as session:
        done = session.get(Ride, ride_id)
        assert done is not None
        return done
