"""Ending a registration and everything that hangs on it, across rooms.

The person may not book from the end date on (`residents.registry.end`). Their rides not yet
begun are cancelled by the service (no late-cancellation fee), each cancellation an event the
household's TV and phone show as a notice and the drivers' manifests follow. When nobody registered
is left in the household, its orders that can still be cancelled are cancelled, its shopping
membership ends on the last day before the end, and its watch-over is switched off. What was used
before the end stays billed: rides taken and the membership months that ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import Session, col, select

from dispatcher.care.watchover import stop as stop_watch
from dispatcher.context import Dispatcher
from dispatcher.db import id_of, session_scope
from dispatcher.errors import DomainError
from dispatcher.models import OrderStatus, Ride, RideStatus, ShopOrder
from dispatcher.residents.registry import EndReason, active_members, end
from dispatcher.rides.cancellation import cancel
from dispatcher.shopping.memberships import end_membership
from dispatcher.shopping.orders import cancel_order
from dispatcher.timeline import local_date

ENDED_REASON = "registration ended"  # the reason the cancellations carry (notices and manifests)


@dataclass
class Offboarded:
    """What ending a registration did: rides and orders cancelled, orders kept (already being
    prepared: their goods still go to the hall), whether the household is left empty, memberships
    ended and whether its watch-over was switched off."""

    resident_id: int
    ended_on: date
    rides_cancelled: list[int] = field(default_factory=list)
    orders_cancelled: list[int] = field(default_factory=list)
    orders_kept: list[int] = field(default_factory=list)
    household_left_empty: bool = False
    memberships_ended: int = 0
    watch_stopped: bool = False


def end_registration(
    ctx: Dispatcher, tenant_id: str, resident_id: int, on: date, reason: EndReason, note: str, actor: str
) -> Offboarded:
    """End a registration from `on` (between the registration date and today) with everything
    that hangs on it.

    The end itself, the membership and the watch-over change in one transaction; only then are
    the rides and orders cancelled, each in its own (a booking can no longer slip in between: the
    person is not registered any more). A ride or order that moved on meanwhile (the rider got in,
    the goods are being picked) is left to run and reported."""
    cfg = ctx.config(tenant_id)
    now = ctx.clock.now()
    today = local_date(now, cfg.tz)
    out = Offboarded(resident_id, on)
    with session_scope(ctx.engine) as session:
        r = end(session, cfg, resident_id, on, reason, note, now, actor)
        session.flush()
        household_id = r.household_id
        if household_id is not None and not active_members(session, household_id):
            out.household_left_empty = True
            out.memberships_ended = end_membership(
                session, tenant_id, household_id, on - timedelta(days=1), now, actor, ENDED_REASON
            )
            out.watch_stopped = stop_watch(session, tenant_id, household_id, now, actor, ENDED_REASON)
    with Session(ctx.engine) as session:
        rides = [
            id_of(x)
            for x in session.exec(
                select(Ride).where(
                    Ride.tenant_id == tenant_id,
                    Ride.resident_id == resident_id,
                    col(Ride.service_date) >= today,
                    col(Ride.status).in_([RideStatus.confirmed.value, RideStatus.vehicle_arrived.value]),
                )
            )
        ]
        orders = (
            [
                id_of(o)
                for o in session.exec(
                    select(ShopOrder).where(
                        ShopOrder.tenant_id == tenant_id,
                        ShopOrder.household_id == household_id,
                        col(ShopOrder.delivery_date) >= today,
                        col(ShopOrder.status).in_(
                            [
                                s.value
                                for s in OrderStatus
                                if s not in (OrderStatus.cancelled, OrderStatus.handed_over)
                            ]
                        ),
                    )
                )
            ]
            if out.household_left_empty
            else []
        )
    for ride_id in rides:
        try:
            cancel(ctx, tenant_id, ride_id, actor, reason=ENDED_REASON, fee_waived=True)
            out.rides_cancelled.append(ride_id)
        except DomainError:
            continue  # it moved on meanwhile (the rider got in): it runs as planned
    for order_id in orders:
        try:
            cancel_order(ctx, tenant_id, order_id, actor)
            out.orders_cancelled.append(order_id)
        except DomainError:
            out.orders_kept.append(order_id)
    return out
