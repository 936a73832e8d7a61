"""The operator's live board of a day: every vehicle's next stops with late risks, the requests
that could not be served (unmet demand the operator may call back about), the rides whose pickup
window passed with no tap from the driver (確認が必要, `dispatcher.rides.review`), the drivers'
reports that cannot be true (確認が必要な記録, `dispatcher.rides.field_checks`), and how the
re-optimization is faring: whether it is failing (the plan in force then stays, bookings go on by
insertion), when it last improved the plan and by how much."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from dispatcher.care.watchover import alerts
from dispatcher.context import Dispatcher
from dispatcher.db import id_of
from dispatcher.models import Operator, Resident, Ride, RideStatus, ShopOrder, Vehicle
from dispatcher.rides import field_checks
from dispatcher.rides.manifests import manifest
from dispatcher.rides.optimizer_status import optimizer_status
from dispatcher.rides.review import to_review
from dispatcher.timeline import iso_local, local_date

LATE_RISK_MINUTES = 5  # a stop planned less than this before its promise ends is at risk
STALE_POSITION_MINUTES = 10  # a vehicle with work and no report for this long is flagged


def board(ctx: Dispatcher, tenant_id: str, next_stops: int = 3) -> dict[str, Any]:
    cfg = ctx.config(tenant_id)
    tz = cfg.tz
    now = ctx.clock.now()
    day = local_date(now, tz)
    with Session(ctx.engine) as session:
        vehicles = session.exec(
            select(Vehicle)
            .where(Vehicle.tenant_id == tenant_id, col(Vehicle.active).is_(True))
            .order_by(col(Vehicle.id))
        ).all()
        operators = {
            o.id: o.name for o in session.exec(select(Operator).where(Operator.tenant_id == tenant_id))
        }
        refused = session.exec(
            select(Ride)
            .where(
                Ride.tenant_id == tenant_id, Ride.service_date == day, Ride.status == RideStatus.refused.value
            )
            .order_by(col(Ride.created_at).desc(), col(Ride.id).desc())
        ).all()
        names = {
            r.id: f"{r.family_name} {r.given_name}"
            for r in session.exec(
                select(Resident).where(
                    col(Resident.id).in_({x.resident_id for x in refused if x.resident_id})
                )
            )
        }
    rows = []
    for v in vehicles:
        m = manifest(ctx, tenant_id, id_of(v), day)
        pending = [s for s in m["stops"] if not s["done"]]
        for s in pending:
            s["address"] = None  # the board names places; addresses go to the drivers who go there
            planned = datetime.fromisoformat(s["planned_time"])
            limit = datetime.fromisoformat(s["window"]["end"])
            s["slack_minutes"] = round((limit - planned).total_seconds() / 60)
            # (a window already over: a pickup to review, or a rider on board past the promise)
            s["late_risk"] = s["slack_minutes"] < LATE_RISK_MINUTES or limit < now
        stale = (
            bool(pending)
            and any(s["done"] for s in m["stops"])
            and (
                v.last_position_at is None
                or (now - v.last_position_at).total_seconds() > 60 * STALE_POSITION_MINUTES
            )
        )
        rows.append(
            {
                "id": v.id,
                "key": v.key,
                "name": v.name,
                "operator": operators.get(v.operator_id, ""),
                "last_position_at": iso_local(v.last_position_at, tz),
                "position_stale": stale,
                "pending": len(pending),
                "done": len(m["stops"]) - len(pending),
                "late_risk": any(s["late_risk"] for s in pending),
                "next_stops": pending[:next_stops],
            }
        )
    return {
        "date": day.isoformat(),
        "now": iso_local(now, tz),
        "vehicles": rows,
        "optimizer": optimizer_status(ctx, tenant_id, day),
        "review": to_review(ctx, tenant_id, day),
        "field_flags": field_checks.to_review(ctx, tenant_id),
        "deliveries": _deliveries(ctx, tenant_id, day),
        "watch": alerts(ctx, tenant_id),
        "refused": [
            {
                "ride_id": r.id,
                "resident_id": r.resident_id,
                "rider": names.get(r.resident_id, ""),
                "asked_pickup_from": iso_local(r.pickup_window_start, tz),
                "reason": r.refusal_reason,
                "alternatives": [a["pickup_after"] for a in r.alternatives or []],
                "at": iso_local(r.created_at, tz),
            }
            for r in refused
        ],
    }


# what the board shows of a flight
BOARD_FLIGHT_KEYS = (
    "id",
    "number",
    "drone",
    "drone_name",
    "status",
    "departure",
    "return",
    "took_off",
    "halls",
    "landed",
)


def _deliveries(ctx: Dispatcher, tenant_id: str, day: date) -> dict[str, Any] | None:
    """The delivery afternoon: flights with their status, sellers ready, orders by status."""
    cfg = ctx.config(tenant_id)
    if cfg.shopping is None:
        return None
    from dispatcher.shopping.delivery import flights
    from dispatcher.shopping.picking import ready_sellers

    with Session(ctx.engine) as session:
        counts: dict[str, int] = {}
        for status in session.exec(
            select(ShopOrder.status).where(ShopOrder.tenant_id == tenant_id, ShopOrder.delivery_date == day)
        ):
            counts[status] = counts.get(status, 0) + 1
    return {
        "flights": [
            {k: f[k] for k in BOARD_FLIGHT_KEYS}
            for f in (flights(ctx, tenant_id, day) if cfg.drones is not None else [])
        ],
        "sellers_ready": ready_sellers(ctx, tenant_id, day),
        "sellers": [s.id for s in cfg.shopping.sellers],
        "orders_by_status": counts,
    }
