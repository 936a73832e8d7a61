"""Where vehicles are: a driver's position or delay report, and a fleet's positions in one call
(a telematics feed).

A position moves where the vehicle's route starts; its pending stops are retimed from there, and
the new times are stored as a plan version only when they move by PLAN_SHIFT_SECONDS or more (a
fleet reporting every 30 s does not flood the plan history). A delay always stores them. Either way
the live plan view (`dispatcher.rides.plan.LiveView`) moves on with the vehicle instead of being
read again from the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.db import RowId, id_of, lock_tenant
from dispatcher.errors import Code, field_error
from dispatcher.events import record
from dispatcher.models import Vehicle
from dispatcher.rides import field_checks
from dispatcher.rides.kinds import VEHICLE_DELAY, VEHICLE_POSITION
from dispatcher.rides.lifecycle import retime
from dispatcher.rides.plan import LiveView, PlanState, apply_route, live_view, moved_view, remember, save_plan
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import Instant, iso_local, local_date, to_seconds
from routing.geo import Point, haversine_m

PLAN_SHIFT_SECONDS = 120  # a position report stores a new plan version only when times move this much

MOVING_METRES = 150  # a position this far from the last one means the vehicle is moving

MAX_BATCH = 1000  # positions in one bulk report


def report_time_error(
    cfg: TenantConfig, vehicle: Vehicle, at: datetime, now: datetime
) -> dict[str, Any] | None:
    """What is wrong with the time of a vehicle's report (a field error for `at`), or None: it lies
    in the future (beyond 5 s of clock skew), or before the vehicle's last report."""
    if at > now + timedelta(seconds=5):
        return field_error("at", "must not be in the future", code=Code.time_in_future)
    if vehicle.last_position_at is not None and at < vehicle.last_position_at:
        last = vehicle.last_position_at.astimezone(cfg.tz)
        return field_error(
            "at",
            f"is earlier than this vehicle's last report ({last:%H:%M:%S})",
            code=Code.report_out_of_order,
        )
    return None


def whereabouts(
    ctx: Dispatcher,
    session: Session,
    cfg: TenantConfig,
    state: PlanState,
    vehicle: Vehicle,
    at: datetime,
    now: datetime,
    actor: str,
    position: Point | None = None,
    delay_minutes: int | None = None,
    view: LiveView | None = None,
) -> list[int]:
    """A position report (`position`) or a reported delay (`delay_minutes` from `at`) of a vehicle,
    inside the caller's locked transaction: the vehicle's whereabouts, its pending stops retimed in
    `state` (stored as a new plan version when a delay, or when times moved by PLAN_SHIFT_SECONDS
    or more), the event, and a flag for the operator when the position jumped faster than driving.

    Returns the rides the vehicle can no longer serve in time (only when its times were stored).
    view: the live view as the transaction found it (the retiming then reads no ride again)."""
    vid = id_of(vehicle)
    day = local_date(now, cfg.tz)
    if position is not None:
        finding = field_checks.position_check(cfg, vehicle, position.lat, position.lon, at)
        before: dict[str, Any] = {"lat": vehicle.last_lat, "lon": vehicle.last_lon}
        moving = (
            vehicle.last_lat is not None
            and vehicle.last_lon is not None
            and haversine_m(Point(vehicle.last_lat, vehicle.last_lon), position) > MOVING_METRES
        )
        vehicle.last_lat, vehicle.last_lon, vehicle.last_position_at = position.lat, position.lon, at
        if moving:
            vehicle.delayed_until = None  # on the move again: the position tells where it is now
        after: dict[str, Any] = {"lat": position.lat, "lon": position.lon}
    else:
        finding = None
        before = {"delayed_until": iso_local(vehicle.delayed_until, cfg.tz)}
        vehicle.delayed_until = at + timedelta(minutes=delay_minutes or 0)
        after = {"delayed_until": iso_local(vehicle.delayed_until, cfg.tz), "minutes": delay_minutes}
    session.add(vehicle)
    session.flush()
    old = {
        (e["ride_id"], e["kind"]): to_seconds(datetime.fromisoformat(e["planned_time"]), day, cfg.tz)
        for e in state.pending(vid)
    }
    late: list[int] = []
    retimed = retime(ctx, session, cfg, day, state, now, vid, view) if old else None
    if retimed is not None:
        moved = max(
            (
                abs(t - was)
                for s, t in zip(retimed.stops, retimed.schedule.times, strict=True)
                if (was := old.get((s.request_id, s.kind))) is not None
            ),
            default=0.0,
        )
        if delay_minutes is not None or moved >= PLAN_SHIFT_SECONDS:
            apply_route(cfg, state, vid, retimed.stops, retimed.schedule, day, session)
            save_plan(
                session,
                cfg.id,
                day,
                state,
                f"vehicle {vid} {'delay' if position is None else 'position'}",
                now,
                0.0,
            )
            late = retimed.late
    reported = record(
        session,
        cfg.id,
        at,
        actor,
        VEHICLE_DELAY if position is None else VEHICLE_POSITION,
        "vehicle",
        vid,
        before=before,
        after={**after, "late_rides": late} if late else after,
    )
    if finding is not None:  # a jump faster than driving: kept, flagged for the operator's review
        session.flush()
        field_checks.flag_position(session, cfg, vid, id_of(reported), finding, at, actor)
    return late


class PositionReport(BaseModel):
    """One vehicle's position in a bulk report; `at` defaults to when the call is received."""

    model_config = ConfigDict(extra="forbid")
    vehicle_id: RowId
    lat: float = Field(ge=-90, le=90, strict=True)
    lon: float = Field(ge=-180, le=180, strict=True)
    at: Instant | None = None


class PositionBatch(BaseModel):
    """A bulk position report: many vehicles' positions in one call."""

    model_config = ConfigDict(extra="forbid")
    positions: list[PositionReport] = Field(min_length=1, max_length=MAX_BATCH)


def report_positions(
    ctx: Dispatcher,
    tenant_id: str,
    reports: Sequence[PositionReport],
    actor: str,
    operator_id: int | None = None,
) -> list[dict[str, Any]]:
    """Many vehicles' positions in one transaction under one lock (a fleet telematics feed), each
    applied as a driver's position report would be, in the order given.

    Returns one outcome per report, in order: accepted (with `late_rides`), or rejected with the
    problem (an unknown vehicle, another company's vehicle when `operator_id` is given (a driver's
    call), a time in the future or before the vehicle's last report). A rejected report changes
    nothing; the others are stored."""
    cfg = ctx.config(tenant_id)
    out: list[dict[str, Any]] = []
    late_any = False
    with Session(ctx.engine, expire_on_commit=False) as session:
        seq = lock_tenant(session, tenant_id, plan=False)  # positions change no ride and no promise
        now = ctx.clock.now()
        day = local_date(now, cfg.tz)
        ids = {r.vehicle_id for r in reports}
        vehicles = {
            id_of(v): v
            for v in session.exec(
                select(Vehicle).where(Vehicle.tenant_id == tenant_id, col(Vehicle.id).in_(ids))
            )
        }
        view = live_view(ctx, session, cfg, day, seq)  # a fleet's feed: worth reading the day once
        state = view.plan()
        touched: set[int] = set()
        for r in reports:
            vehicle = vehicles.get(r.vehicle_id)
            at = r.at.astimezone(now.tzinfo) if r.at is not None else now
            problem: dict[str, Any] | None = None
            if vehicle is None:
                problem = field_error("vehicle_id", "is no vehicle of this town", code=Code.vehicle_not_found)
            elif operator_id is not None and vehicle.operator_id != operator_id:
                problem = field_error(
                    "vehicle_id", "is another company's vehicle", code=Code.vehicle_not_yours
                )
            else:
                problem = report_time_error(cfg, vehicle, at, now)
            if vehicle is None or problem is not None:
                out.append({"vehicle_id": r.vehicle_id, "status": "rejected", "errors": [problem]})
                continue
            late = whereabouts(
                ctx, session, cfg, state, vehicle, at, now, actor, position=Point(r.lat, r.lon), view=view
            )
            touched.add(r.vehicle_id)
            late_any = late_any or bool(late)
            out.append(
                {
                    "vehicle_id": r.vehicle_id,
                    "status": "accepted",
                    "at": iso_local(at, cfg.tz),
                    "late_rides": late,
                }
            )
        moved = moved_view(ctx, session, cfg, day, seq, state, touched, basis=view, positions=touched)
        session.commit()
        remember(ctx, cfg, moved)
    if late_any:
        ctx.after_change(tenant_id)
    return out
