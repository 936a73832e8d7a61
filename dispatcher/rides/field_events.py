"""Drivers' reports: arrived, picked up, no-show, dropped off, a position or a delay.

Each report runs under the tenant's write lock, checks the ride lifecycle (illegal steps are
refused with 409), updates the ride, the vehicle and the live plan, and records an event. Cargo
(groceries in a taxi) is handed to the handler its owner registered (`dispatcher.rides.cargo`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session

from dispatcher.context import Dispatcher
from dispatcher.db import RowId, id_of, lock_tenant
from dispatcher.errors import Code, Conflict, InvalidRequest, NotFound
from dispatcher.events import record
from dispatcher.models import Ride, RideStatus, Vehicle
from dispatcher.rides import cargo, field_checks
from dispatcher.rides.kinds import REPORTED
from dispatcher.rides.lifecycle import remove_stops, replan_vehicle, transition
from dispatcher.rides.plan import PlanState, current_plan, kept_view, moved_view, remember, save_plan
from dispatcher.rides.positions import report_time_error, whereabouts
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import Instant, iso_local, local_date
from routing.geo import Point


def _move_to_front(state: PlanState, vehicle_id: int, ride_id: int, kind: str) -> None:
    """Put a pending stop first among the vehicle's pending stops (the vehicle is there now)."""
    stops = state.routes.get(vehicle_id, [])
    entry = next(
        (s for s in stops if s["ride_id"] == ride_id and s["kind"] == kind and not s.get("done")), None
    )
    if entry is None:
        return
    stops.remove(entry)
    stops.insert(sum(1 for s in stops if s.get("done")), entry)


def _mark_done(state: PlanState, vehicle_id: int, ride_id: int, kind: str, at: datetime) -> None:
    stops = state.routes.get(vehicle_id, [])
    entry = next((s for s in stops if s["ride_id"] == ride_id and s["kind"] == kind), None)
    if entry is None:
        return
    stops.remove(entry)
    entry = {**entry, "done": True, "done_at": at.isoformat()}
    n_done = sum(1 for s in stops if s.get("done"))
    stops.insert(n_done, entry)


class VehicleEvent(BaseModel):
    """A driver's report. ride_id is needed for ride events; lat and lon for a position."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["arrived", "picked_up", "no_show", "dropped_off", "position", "delay"]
    ride_id: RowId | None = None
    minutes: int | None = Field(
        default=None, ge=1, le=180, strict=True, description="delay: minutes behind, from now"
    )
    lat: float | None = Field(default=None, ge=-90, le=90, strict=True)  # a number, not true/false
    lon: float | None = Field(default=None, ge=-180, le=180, strict=True)
    at: Instant | None = None

    @model_validator(mode="after")
    def _needs(self) -> VehicleEvent:
        if self.type == "position" and (self.lat is None or self.lon is None):
            raise ValueError("a position report needs lat and lon")
        if self.type == "delay" and self.minutes is None:
            raise ValueError("a delay report needs minutes")
        if self.type not in ("position", "delay") and self.ride_id is None:
            raise ValueError(f"a {self.type} report needs ride_id")
        return self


_EVENT_STATUS = {
    "arrived": RideStatus.vehicle_arrived,
    "picked_up": RideStatus.on_board,
    "no_show": RideStatus.no_show,
    "dropped_off": RideStatus.completed,
}


def vehicle_event(
    ctx: Dispatcher, tenant_id: str, vehicle_id: int, ev: VehicleEvent, actor: str, review: bool = False
) -> dict[str, Any]:
    """Apply a driver's report to the ride, the vehicle and the plan. A no-show (a freed seat) or
    rides the vehicle can no longer serve in time (`late_rides`) ask for a re-optimization.

    review: the operator settles a ride that needs review (`dispatcher.rides.review`) on the
    driver's word by phone: a no-show needs no arrival and no waiting time (the pickup window has
    passed), the vehicle's position stays its last report (the operator does not know where it is
    now), the event says `"review": true`, and a re-optimization is asked for."""
    out = _report(ctx, tenant_id, vehicle_id, ev, actor, review)
    if ev.type == "no_show" or out["late_rides"] or review:
        ctx.after_change(tenant_id)
    return out


def _report(
    ctx: Dispatcher, tenant_id: str, vehicle_id: int, ev: VehicleEvent, actor: str, review: bool = False
) -> dict[str, Any]:
    cfg = ctx.config(tenant_id)
    with Session(ctx.engine, expire_on_commit=False) as session:
        # Every report bumps the lock sequence, a position too: the bookings' remembered view holds
        # where each vehicle is, and must be reloaded when that changes. Only ride reports bump the
        # plan sequence: a position or a delay changes no ride and no promise, so a re-optimization
        # solving meanwhile is merged with it rather than thrown away.
        seq = lock_tenant(session, tenant_id, plan=ev.type not in ("position", "delay"))
        now = ctx.clock.now()
        at = ev.at.astimezone(now.tzinfo) if ev.at is not None else now
        vehicle = session.get(Vehicle, vehicle_id)
        if vehicle is None or vehicle.tenant_id != tenant_id:
            raise NotFound(f"No vehicle {vehicle_id}.", code=Code.vehicle_not_found)
        problem = report_time_error(cfg, vehicle, at, now)
        if problem is not None:
            raise InvalidRequest(
                "The event time lies in the future."
                if problem["code"] == Code.time_in_future
                else "Reports of a vehicle must arrive in order.",
                [problem],
            )
        if ev.type in ("position", "delay"):
            day = local_date(now, cfg.tz)
            view = kept_view(ctx, session, cfg, day, seq)
            state = view.plan() if view else current_plan(session, tenant_id, day, only=vehicle_id)
            late = whereabouts(
                ctx,
                session,
                cfg,
                state,
                vehicle,
                at,
                now,
                actor,
                position=Point(ev.lat, ev.lon) if ev.lat is not None and ev.lon is not None else None,
                delay_minutes=ev.minutes if ev.type == "delay" else None,
                view=view,
            )
            moved = moved_view(ctx, session, cfg, day, seq, state, [vehicle_id], view, positions=[vehicle_id])
            session.commit()
            remember(ctx, cfg, moved)
            return {
                "vehicle_id": vehicle_id,
                "type": ev.type,
                "at": iso_local(at, cfg.tz),
                "late_rides": late,
            }
        ride = session.get(Ride, ev.ride_id, populate_existing=True)
        if ride is None or ride.tenant_id != tenant_id:
            raise NotFound(f"No ride {ev.ride_id}.", code=Code.ride_not_found)
        if ride.vehicle_id != vehicle_id:
            raise Conflict(
                f"Ride {ride.id} is not assigned to this vehicle.",
                title="Wrong vehicle",
                code=Code.ride_wrong_vehicle,
            )
        before_status = ride.status
        target = _EVENT_STATUS[ev.type]
        if ev.type == "dropped_off" and ride.status != RideStatus.on_board:
            raise Conflict(
                f"Ride {ride.id} is {ride.status}: a rider is dropped off only after being picked up.",
                title="Illegal ride transition",
                ride_status=ride.status,
                code=Code.report_out_of_step,
            )
        if ev.type == "no_show" and not review:
            _may_give_up(cfg, ride, at)
        goods = cargo.handler_for(ride)
        if goods is not None and ev.type == "picked_up":
            goods.check_loadable(session, ride)
        transition(ride, target, Code.report_out_of_step)
        vehicle.delayed_until = None  # a reported stop supersedes an estimated delay
        state = current_plan(session, tenant_id, ride.service_date, only=vehicle_id)
        ride_id = id_of(ride)
        finding = None  # a tap that cannot be true: accepted, flagged for the operator's review
        if not review and ev.type == "picked_up":
            finding = field_checks.pickup_check(cfg, ride, at)
        elif not review and ev.type == "dropped_off":
            finding = field_checks.dropoff_check(cfg, ctx.road(tenant_id), ride, at)
        if ev.type == "arrived":
            ride.arrived_at = at
            _move_to_front(state, vehicle_id, ride_id, "pickup")
        elif ev.type == "picked_up":
            ride.picked_up_at = at
            _mark_done(state, vehicle_id, ride_id, "pickup", at)
        elif ev.type == "no_show":
            remove_stops(state, ride_id, kinds=("pickup", "dropoff"))
        else:
            ride.dropped_off_at = at
            _mark_done(state, vehicle_id, ride_id, "dropoff", at)
        if not review:
            vehicle.last_lat, vehicle.last_lon = (
                (ride.destination_lat, ride.destination_lon)
                if ev.type == "dropped_off"
                else (ride.origin_lat, ride.origin_lon)
            )
            vehicle.last_position_at = at
        if goods is not None and (ev.type == "picked_up" or ev.type == "dropped_off"):
            goods.carried(session, tenant_id, ride, ev.type, at, actor)
        late = replan_vehicle(ctx, session, cfg, ride.service_date, state, now, vehicle_id)
        save_plan(session, tenant_id, ride.service_date, state, f"ride {ride.id} {ev.type}", now, 0.0)
        record(
            session,
            tenant_id,
            at,
            actor,
            REPORTED[ev.type],
            "ride",
            ride.id,
            before={"status": before_status},
            after={"status": ride.status, "vehicle_id": vehicle_id, **({"review": True} if review else {})},
        )
        if finding is not None:
            field_checks.flag_report(session, cfg, ride, vehicle_id, finding, at, actor)
        moved = moved_view(ctx, session, cfg, ride.service_date, seq, state, [vehicle_id])
        session.commit()
        remember(ctx, cfg, moved)
        return {
            "vehicle_id": vehicle_id,
            "type": ev.type,
            "ride_id": ride.id,
            "status": ride.status,
            "at": iso_local(at, cfg.tz),
            "late_rides": late,
        }


def _may_give_up(cfg: TenantConfig, ride: Ride, at: datetime) -> None:
    """A no-show is accepted only after the driver arrived and waited the tenant's no-show time
    from arrival (or from the start of the pickup window, when the driver came early)."""
    if ride.status != RideStatus.vehicle_arrived or ride.arrived_at is None:
        raise Conflict(
            f"Ride {ride.id} is {ride.status}: report arrival at the pickup first, then wait.",
            title="Illegal ride transition",
            ride_status=ride.status,
            code=Code.arrive_first if ride.status == RideStatus.confirmed else Code.report_out_of_step,
        )
    start = max(ride.arrived_at, ride.pickup_window_start or ride.arrived_at)
    wait_until = start + timedelta(minutes=cfg.booking.no_show_wait_minutes)
    if at < wait_until:
        raise Conflict(
            f"Wait for the rider until {wait_until.astimezone(cfg.tz):%H:%M} "
            f"({cfg.booking.no_show_wait_minutes} minutes) before reporting a no-show.",
            title="Too early for a no-show",
            wait_until=iso_local(wait_until, cfg.tz),
            code=Code.no_show_too_early,
        )
