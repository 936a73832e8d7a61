"""Mixed passenger-and-freight (貨客混載): groceries that cannot fly ride in a taxi's idle time.

A freight job is a ride without a rider: picked up at the drone base (where the goods are
consolidated) after picking, dropped at the community hall before the delivery deadline. It is
inserted into the live taxi plan through the same locked quote-and-commit path as a booking, so
the exact checker decides and every rider's promise stays kept. Freight takes no seat.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlmodel import Session

from dispatcher.context import Dispatcher
from dispatcher.db import lock_tenant
from dispatcher.events import record
from dispatcher.models import Ride, RideStatus
from dispatcher.rides.kinds import RIDE_REQUESTED
from dispatcher.rides.place_names import name_stop
from dispatcher.rides.placement import commit_placement, place
from dispatcher.rides.plan import live_problem, moved_view, remember
from dispatcher.timeline import ceil_minute, floor_minute
from routing.geo import Point


def book_freight(
    ctx: Dispatcher,
    tenant_id: str,
    day: date,
    pickup: Point,
    hall_id: str,
    order_ids: list[int],
    weight_kg: float,
    ready_at: datetime,
    deadline: datetime,
    actor: str,
) -> Ride | None:
    """Insert a freight job into the taxi plan; the confirmed ride, or None when no taxi has the
    idle time (nothing is stored then)."""
    cfg = ctx.config(tenant_id)
    hall = cfg.place(hall_id)
    if hall is None:
        return None
    drop = Point(hall.lat, hall.lon)
    # the pickup is named as the place it is (the drone base) on every page and in plan show
    origin = name_stop(cfg, None, pickup.lat, pickup.lon, None).place_id
    direct = ctx.travel(tenant_id).duration(pickup, drop)
    loading = 60 * cfg.booking.boarding_minutes
    key = f"freight:{uuid.uuid4()}"
    with Session(ctx.engine, expire_on_commit=False) as session:
        seq = lock_tenant(session, tenant_id)
        now = ctx.clock.now()
        start = ceil_minute(max(ready_at, now))
        end = floor_minute(deadline - timedelta(seconds=loading + direct))
        if end <= start:
            session.rollback()
            return None
        ride = Ride(
            tenant_id=tenant_id,
            resident_id=None,
            kind="freight",
            service_date=day,
            cargo={"orders": sorted(order_ids), "hall_id": hall_id, "weight_kg": round(weight_kg, 2)},
            status=RideStatus.requested.value,
            origin_lat=pickup.lat,
            origin_lon=pickup.lon,
            origin_place_id=origin,
            destination_lat=drop.lat,
            destination_lon=drop.lon,
            destination_place_id=hall_id,
            party_size=0,
            wheelchair=False,
            direct_seconds=direct,
            max_ride_seconds=(deadline - start).total_seconds(),  # goods mind only the deadline
            pickup_window_start=start,
            pickup_window_end=end,
            latest_arrival=deadline,
            fare_yen=0,
            idempotency_key=key,
            request_hash=key,
            created_by=actor,
            created_at=now,
        )
        session.add(ride)
        session.flush()
        assert ride.id is not None
        view, state, problem = live_problem(ctx, session, cfg, day, seq, now, [pickup, drop])
        placement = place(cfg, problem, ride)
        if placement is None:
            session.rollback()
            return None
        record(session, tenant_id, now, actor, RIDE_REQUESTED, "ride", ride.id, after=ride.cargo)
        commit_placement(session, cfg, day, state, problem, placement, ride, now, actor)
        moved = moved_view(ctx, session, cfg, day, seq, state, basis=view)
        session.commit()
        remember(ctx, cfg, moved)
        return ride
