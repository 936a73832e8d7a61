"""Cancelling a confirmed ride: its stops leave the plan, the vehicle is rescheduled, and a
re-optimization is asked for (a freed seat may let the plan improve)."""

from __future__ import annotations

from sqlmodel import Session

from dispatcher.context import Dispatcher
from dispatcher.db import id_of
from dispatcher.events import record
from dispatcher.models import Ride, RideStatus
from dispatcher.rides.kinds import RIDE_CANCELLED
from dispatcher.rides.lifecycle import locked_ride, remove_stops, replan_vehicle, transition
from dispatcher.rides.plan import current_plan, save_plan


def cancel(
    ctx: Dispatcher,
    tenant_id: str,
    ride_id: int,
    actor: str,
    reason: str | None = None,
    fee_waived: bool = False,
) -> Ride:
    """Cancel a confirmed ride and take its stops out of the plan; `reason` goes into the event, and
    `fee_waived` (the service's side cancels) keeps a late cancellation free of charge. A freed
    seat may let the plan improve: a re-optimization is asked for (`Dispatcher.after_change`)."""
    cfg = ctx.config(tenant_id)
    now = ctx.clock.now()
    with Session(ctx.engine, expire_on_commit=False) as session:
        ride = locked_ride(session, tenant_id, ride_id)
        before = ride.status
        transition(ride, RideStatus.cancelled)
        ride.cancelled_at = now
        state = current_plan(session, tenant_id, ride.service_date)
        remove_stops(state, id_of(ride), kinds=("pickup", "dropoff"))
        if ride.vehicle_id is not None:
            replan_vehicle(ctx, session, cfg, ride.service_date, state, now, ride.vehicle_id)
        save_plan(session, tenant_id, ride.service_date, state, f"ride {ride.id} cancelled", now, 0.0)
        record(
            session,
            tenant_id,
            now,
            actor,
            RIDE_CANCELLED,
            "ride",
            ride.id,
            before={"status": before},
            after={
                "status": ride.status,
                **({"reason": reason} if reason else {}),
                **({"fee_waived": True} if fee_waived else {}),
            },
        )
        session.commit()
    ctx.after_change(tenant_id)
    return ride
