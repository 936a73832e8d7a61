"""Rides' step of the retention purge (`dispatcher.platform.retention`): a passenger ride up to the
horizon loses where it went (homes, hospitals), its wheelchair flag, the alternatives offered and its
request hash; when, who, party, fare, vehicle and status stay. The day's plan versions go."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from dispatcher.db import changed_rows
from dispatcher.models import PlanRoute, PlanVersion, Ride
from dispatcher.residents.purge import REMOVED


def strip_rides(session: Session, tenant_id: str, through: date, counts: Counter[str]) -> None:
    old = (col(Ride.tenant_id) == tenant_id, col(Ride.service_date) <= through)
    counts["ride.stripped"] += changed_rows(
        session,
        update(Ride)
        .where(*old, col(Ride.kind) == "passenger", col(Ride.request_hash) != "")
        .values(
            origin_lat=REMOVED,
            origin_lon=REMOVED,
            destination_lat=REMOVED,
            destination_lon=REMOVED,
            origin_place_id=None,
            destination_place_id=None,
            wheelchair=False,
            alternatives=None,
            request_hash="",
        ),
    )
    counts["plan_version.deleted"] += changed_rows(
        session,
        delete(PlanVersion).where(
            col(PlanVersion.tenant_id) == tenant_id, col(PlanVersion.service_date) <= through
        ),
    )
    counts["plan_route.deleted"] += changed_rows(
        session,
        delete(PlanRoute).where(
            col(PlanRoute.tenant_id) == tenant_id, col(PlanRoute.service_date) <= through
        ),
    )


def riders_after(session: Session, tenant_id: str, through: date, residents: Iterable[int]) -> set[int]:
    """Those of `residents` with a ride after the horizon (they are not gone)."""
    return {
        rid
        for rid in session.exec(
            select(Ride.resident_id).where(
                Ride.tenant_id == tenant_id,
                col(Ride.service_date) > through,
                col(Ride.resident_id).in_(list(residents)),
            )
        )
        if rid is not None
    }


def first_service_day(session: Session, tenant_id: str) -> date | None:
    """The first service day with a ride booked (or asked for)."""
    return session.exec(select(func.min(Ride.service_date)).where(Ride.tenant_id == tenant_id)).one()
