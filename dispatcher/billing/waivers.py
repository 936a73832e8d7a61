"""Waiving a late-cancellation fee after the cancellation: the resident cancelled on the TV or the
phone past the cut-off, and the operator decides the service was at fault (a vehicle that could not
have come, a road closed). The fee stays on the statement as it was charged (`late_cancel`), and a
credit of the same amount (an `Adjustment`, with the operator's reason) cancels it out on the
current month's statement; the ride records `ride.fee_waived`, so every page then says
「取消し料は免除されました」 (`dispatcher.rides.cancellation.cancellations`)."""

from __future__ import annotations

from sqlmodel import Session

from dispatcher.billing.statements import adjust_open_month, month_of
from dispatcher.context import Dispatcher
from dispatcher.db import id_of
from dispatcher.errors import Code, Conflict, InvalidRequest, field_error
from dispatcher.events import record
from dispatcher.models import Adjustment, Resident
from dispatcher.rides.cancellation import cancellations
from dispatcher.rides.kinds import RIDE_FEE_WAIVED
from dispatcher.rides.lifecycle import locked_ride
from dispatcher.timeline import local_date


def waive_fee(ctx: Dispatcher, tenant_id: str, ride_id: int, actor: str, reason: str) -> Adjustment:
    """Credit back the late-cancellation fee charged for the cancelled ride `ride_id`, with `reason`.
    Refuses (`ride.fee_not_due`) a ride with no fee charged: not cancelled, cancelled in time,
    or waived already; and (`billing.month_closed`) when the current month is closed."""
    cfg = ctx.config(tenant_id)
    now = ctx.clock.now()
    if not reason.strip():
        raise InvalidRequest(
            "Say why the fee is waived.", [field_error("reason", "say why the fee is waived")]
        )
    with Session(ctx.engine, expire_on_commit=False) as session:
        ride = locked_ride(session, tenant_id, ride_id)
        gone = cancellations(session, cfg, [ride]).get(ride_id)
        rider = session.get(Resident, ride.resident_id) if ride.resident_id is not None else None
        if gone is None or gone.charged_yen <= 0 or rider is None or rider.household_id is None:
            raise Conflict(
                f"Ride {ride_id} has no cancellation fee charged; nothing to waive.",
                title="No fee to waive",
                code=Code.ride_fee_not_due,
            )
        month = month_of(local_date(now, cfg.tz))
        charged = month_of(ride.service_date)
        day = ride.service_date
        a = adjust_open_month(
            session,
            tenant_id,
            rider.household_id,
            month,
            -gone.charged_yen,
            f"取消し料の免除 {day.month}/{day.day}（No.{ride_id}）: {reason.strip()}",
            charged if charged != month else None,
            now,
            actor,
        )
        record(
            session,
            tenant_id,
            now,
            actor,
            RIDE_FEE_WAIVED,
            "ride",
            id_of(ride),
            after={"fee_yen": gone.charged_yen, "adjustment_id": a.id, "reason": reason.strip()},
        )
        session.commit()
        return a
