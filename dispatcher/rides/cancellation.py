"""Cancelling a confirmed ride: its stops leave the plan, the vehicle is rescheduled, and a
re-optimization is asked for (a freed seat may let the plan improve).

A fee is charged only as announced: a caller that showed a cancellation fee on its confirmation
step passes it as `expected_fee_yen`, and when the fee due at the moment of the cancellation differs
(the cut-off passed while the confirmation was open) nothing is cancelled: `ride.fee_changed`
(409) names the fee due now, for the page to show and ask again."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from dispatcher.context import Dispatcher
from dispatcher.db import id_of, lock_seq
from dispatcher.errors import Code, Conflict
from dispatcher.events import events_of, record
from dispatcher.models import Event, Ride, RideStatus
from dispatcher.rides.booking import cancelled_by_change
from dispatcher.rides.fares import Cancelled, cancel_fee_text, cancel_fee_yen, late_fee_yen
from dispatcher.rides.kinds import RIDE_CANCELLED, RIDE_FEE_WAIVED
from dispatcher.rides.lifecycle import locked_ride, remove_stops, replan_vehicle, transition
from dispatcher.rides.plan import current_plan, moved_view, remember, save_plan
from dispatcher.tenant_config import TenantConfig


def cancel(
    ctx: Dispatcher,
    tenant_id: str,
    ride_id: int,
    actor: str,
    reason: str | None = None,
    fee_waived: bool = False,
    expected_fee_yen: int | None = None,
) -> Ride:
    """Cancel a confirmed ride and take its stops out of the plan; `reason` goes into the event, and
    `fee_waived` (the service's side cancels) keeps a late cancellation free of charge. A freed
    seat may let the plan improve: a re-optimization is asked for (`Dispatcher.after_change`).
    `expected_fee_yen`: the fee the person was shown (None: not checked); another fee due now
    refuses with `ride.fee_changed` and changes nothing."""
    cfg = ctx.config(tenant_id)
    now = ctx.clock.now()
    with Session(ctx.engine, expire_on_commit=False) as session:
        ride = locked_ride(session, tenant_id, ride_id)
        before = ride.status
        if expected_fee_yen is not None and ride.status == RideStatus.confirmed:
            due = cancel_fee_yen(cfg, ride, now)
            if due != expected_fee_yen:
                raise Conflict(
                    f"The cancellation fee is now {due} yen, not the {expected_fee_yen} yen shown; "
                    "nothing was cancelled. Show the new fee and ask again.",
                    code=Code.ride_fee_changed,
                    cancel_fee_yen=due,
                    cancel_fee_text=cancel_fee_text(cfg, due),
                    expected_fee_yen=expected_fee_yen,
                )
        transition(ride, RideStatus.cancelled)
        ride.cancelled_at = now
        state = current_plan(session, tenant_id, ride.service_date, only=ride.vehicle_id)
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
        seq = lock_seq(session, tenant_id)
        moved = moved_view(ctx, session, cfg, ride.service_date, seq, state)
        session.commit()
        remember(ctx, cfg, moved)
    ctx.after_change(tenant_id)
    return ride


def cancellations(session: Session, cfg: TenantConfig, rides: Iterable[Ride]) -> dict[int, Cancelled]:
    """What each cancelled ride among `rides` cost, by ride id, from its `ride.cancelled` event as
    the monthly statement reads it: the late fee due at the moment of the cancellation (none for the
    old half of a change), waived when the operator cancelling said so or waived it afterwards."""
    gone = {id_of(r): r for r in rides if r.status == RideStatus.cancelled}
    out: dict[int, Cancelled] = {}
    for e in events_of(session, cfg.id, "ride", gone, (RIDE_CANCELLED, RIDE_FEE_WAIVED)):  # oldest first
        ride = gone[int(e.entity_id)]
        if e.kind == RIDE_FEE_WAIVED:  # waived afterwards (`dispatcher.billing.waivers`)
            if id_of(ride) in out:
                out[id_of(ride)] = Cancelled(out[id_of(ride)].due_yen, True)
            continue
        out[id_of(ride)] = cancelled_by(cfg, ride, e)
    return out


def cancelled_by(cfg: TenantConfig, ride: Ride, e: Event) -> Cancelled:
    """What the `ride.cancelled` event `e` of `ride` cost: the late fee due at that moment (none for
    the old half of a change), waived when the operator cancelling said so."""
    after = e.after or {}
    due = 0 if cancelled_by_change(after) else late_fee_yen(cfg, ride, e.at)
    return Cancelled(due, bool(after.get("fee_waived")))
