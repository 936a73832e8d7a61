"""What happens to a ride after booking: cancellation, drivers' reports, manifests, re-optimization.

Each state change runs under the tenant's write lock, checks the ride lifecycle (illegal transitions
are refused with 409), updates the live plan and records an event.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.db import RowId, lock_tenant
from dispatcher.errors import Conflict, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.models import RIDE_TRANSITIONS, Resident, Ride, RideStatus, Tenant, Vehicle
from dispatcher.rides.optimizer_status import record_fault, record_success
from dispatcher.rides.plan import PlanState, apply_route, build_problem, current_plan, plan_faults, save_plan
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import Instant, iso_local, local_date
from routing.geo import Point, haversine_m
from routing.insertion import Route
from routing.schedule import Stop, check, forecast, route_travel
from routing.search import SearchOptions, improve, objective

log = logging.getLogger(__name__)


def transition(ride: Ride, to: RideStatus) -> None:
    """Move a ride to a new status, or raise Conflict naming the illegal step."""
    current = RideStatus(ride.status)
    if to not in RIDE_TRANSITIONS[current]:
        raise Conflict(
            f"Ride {ride.id} is {current.value}; it cannot become {to.value}.",
            title="Illegal ride transition",
            ride_status=current.value,
        )
    ride.status = to.value


def _locked_ride(session: Session, tenant_id: str, ride_id: int) -> Ride:
    lock_tenant(session, tenant_id)
    ride = session.get(Ride, ride_id, populate_existing=True)
    if ride is None or ride.tenant_id != tenant_id:
        raise NotFound(f"No ride {ride_id}.")
    return ride


def replan_vehicle(
    ctx: Dispatcher,
    session: Session,
    cfg: TenantConfig,
    day: date,
    state: PlanState,
    now: datetime,
    vehicle_id: int,
) -> list[int]:
    """Recompute planned times of one vehicle after its stops or its whereabouts changed.

    Returns the ids of rides whose promise the vehicle can no longer keep in this order (empty
    when on time). A late vehicle's times become the forecast of when it will really get there,
    so manifests and residents' screens show the truth; re-optimization may then move riders."""
    problem = build_problem(ctx, session, cfg, day, state, now, only=vehicle_id)
    for v, route in zip(problem.vehicles, problem.routes, strict=True):
        if v.id != vehicle_id:
            continue
        sched = check(route.vehicle, route.stops, problem.travel)
        if sched.feasible:
            apply_route(cfg, state, vehicle_id, route.stops, sched, day, session)
            return []
        late_plan = forecast(route.vehicle, route.stops, problem.travel)
        apply_route(cfg, state, vehicle_id, route.stops, late_plan, day, session)
        late = sorted(
            {s.request_id for s, t in zip(route.stops, late_plan.times, strict=True) if t > s.latest + 1e-6}
        )
        if not late:  # a ride-time limit breaks rather than a window: every movable rider is at risk
            late = sorted({s.request_id for s in route.stops})
        log.warning("vehicle %s running late (%s): rides %s", vehicle_id, sched.reason, late)
        return late
    return []


def cancel(
    ctx: Dispatcher,
    tenant_id: str,
    ride_id: int,
    actor: str,
    reason: str | None = None,
    fee_waived: bool = False,
) -> Ride:
    """Cancel a confirmed ride and take its stops out of the plan; `reason` goes into the event, and
    `fee_waived` (the service's side cancels) keeps a late cancellation free of charge."""
    cfg = ctx.config(tenant_id)
    now = ctx.clock.now()
    with Session(ctx.engine, expire_on_commit=False) as session:
        ride = _locked_ride(session, tenant_id, ride_id)
        before = ride.status
        transition(ride, RideStatus.cancelled)
        ride.cancelled_at = now
        state = current_plan(session, tenant_id, ride.service_date)
        remove_stops(state, ride.id, kinds=("pickup", "dropoff"))  # type: ignore[arg-type]
        if ride.vehicle_id is not None:
            replan_vehicle(ctx, session, cfg, ride.service_date, state, now, ride.vehicle_id)
        save_plan(session, tenant_id, ride.service_date, state, f"ride {ride.id} cancelled", now, 0.0)
        record(
            session,
            tenant_id,
            now,
            actor,
            "ride.cancelled",
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
        return ride


def remove_stops(state: PlanState, ride_id: int, kinds: tuple[str, ...]) -> None:
    for vid, stops in state.routes.items():
        state.routes[vid] = [
            s for s in stops if not (s["ride_id"] == ride_id and s["kind"] in kinds and not s.get("done"))
        ]


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
    ctx: Dispatcher, tenant_id: str, vehicle_id: int, ev: VehicleEvent, actor: str
) -> dict[str, Any]:
    """Apply a driver's report to the ride, the vehicle and the plan."""
    cfg = ctx.config(tenant_id)
    with Session(ctx.engine, expire_on_commit=False) as session:
        # Every report bumps the sequence, a position too: the bookings' remembered view holds
        # where each vehicle is, and must be reloaded when that changes.
        lock_tenant(session, tenant_id)
        now = ctx.clock.now()
        at = ev.at.astimezone(now.tzinfo) if ev.at is not None else now
        vehicle = session.get(Vehicle, vehicle_id)
        if vehicle is None or vehicle.tenant_id != tenant_id:
            raise NotFound(f"No vehicle {vehicle_id}.")
        if at > now + timedelta(seconds=5):
            raise InvalidRequest(
                "The event time lies in the future.", [field_error("at", "must not be in the future")]
            )
        if vehicle.last_position_at is not None and at < vehicle.last_position_at:
            last = vehicle.last_position_at.astimezone(cfg.tz)
            raise InvalidRequest(
                "Reports of a vehicle must arrive in order.",
                [field_error("at", f"is earlier than this vehicle's last report ({last:%H:%M:%S})")],
            )
        if ev.type in ("position", "delay"):
            return _whereabouts(ctx, session, cfg, vehicle, ev, at, now, actor)
        ride = session.get(Ride, ev.ride_id, populate_existing=True)
        if ride is None or ride.tenant_id != tenant_id:
            raise NotFound(f"No ride {ev.ride_id}.")
        if ride.vehicle_id != vehicle_id:
            raise Conflict(f"Ride {ride.id} is not assigned to this vehicle.", title="Wrong vehicle")
        before_status = ride.status
        target = _EVENT_STATUS[ev.type]
        if ev.type == "dropped_off" and ride.status != RideStatus.on_board:
            raise Conflict(
                f"Ride {ride.id} is {ride.status}: a rider is dropped off only after being picked up.",
                title="Illegal ride transition",
                ride_status=ride.status,
            )
        if ev.type == "no_show":
            _may_give_up(cfg, ride, at)
        if ride.kind == "freight" and ev.type == "picked_up":
            _cargo_ready(session, ride)
        transition(ride, target)
        vehicle.delayed_until = None  # a reported stop supersedes an estimated delay
        state = current_plan(session, tenant_id, ride.service_date)
        if ev.type == "arrived":
            ride.arrived_at = at
            _move_to_front(state, vehicle_id, ride.id, "pickup")  # type: ignore[arg-type]
        elif ev.type == "picked_up":
            ride.picked_up_at = at
            _mark_done(state, vehicle_id, ride.id, "pickup", at)  # type: ignore[arg-type]
        elif ev.type == "no_show":
            remove_stops(state, ride.id, kinds=("pickup", "dropoff"))  # type: ignore[arg-type]
        else:
            ride.dropped_off_at = at
            _mark_done(state, vehicle_id, ride.id, "dropoff", at)  # type: ignore[arg-type]
        vehicle.last_lat, vehicle.last_lon = (
            (ride.destination_lat, ride.destination_lon)
            if ev.type == "dropped_off"
            else (ride.origin_lat, ride.origin_lon)
        )
        vehicle.last_position_at = at
        if ride.kind == "freight" and ev.type in ("picked_up", "dropped_off"):
            _carry(session, tenant_id, ride, ev.type, at, actor)
        late = replan_vehicle(ctx, session, cfg, ride.service_date, state, now, vehicle_id)
        save_plan(session, tenant_id, ride.service_date, state, f"ride {ride.id} {ev.type}", now, 0.0)
        record(
            session,
            tenant_id,
            at,
            actor,
            f"ride.{ev.type}",
            "ride",
            ride.id,
            before={"status": before_status},
            after={"status": ride.status, "vehicle_id": vehicle_id},
        )
        session.commit()
        return {
            "vehicle_id": vehicle_id,
            "type": ev.type,
            "ride_id": ride.id,
            "status": ride.status,
            "at": iso_local(at, cfg.tz),
            "late_rides": late,
        }


def _cargo_ready(session: Session, ride: Ride) -> None:
    """A taxi loads groceries only when their sellers have picked them."""
    from dispatcher.models import OrderStatus, ShopOrder

    ids = (ride.cargo or {}).get("orders", [])
    waiting = [
        o.id
        for o in (session.exec(select(ShopOrder).where(col(ShopOrder.id).in_(ids))) if ids else [])
        if o.status == OrderStatus.locked
    ]
    if waiting:
        raise Conflict(
            f"Orders {waiting} are not picked yet: their seller has not marked them ready.",
            title="Illegal ride transition",
            orders=waiting,
        )


def _carry(session: Session, tenant_id: str, ride: Ride, step: str, at: datetime, actor: str) -> None:
    """Groceries riding in a taxi: loaded at the base they are on the road, unloaded at the hall
    they are at the hall (ready for the support worker)."""
    from dispatcher.models import OrderStatus, ShopOrder

    moves = (
        {OrderStatus.picked: OrderStatus.on_the_road, OrderStatus.at_base: OrderStatus.on_the_road}
        if step == "picked_up"
        else {OrderStatus.on_the_road: OrderStatus.at_hall}
    )
    ids = (ride.cargo or {}).get("orders", [])
    for order in session.exec(select(ShopOrder).where(col(ShopOrder.id).in_(ids))) if ids else []:
        to = moves.get(OrderStatus(order.status))
        if to is None:
            continue
        before = order.status
        order.status = to.value
        session.add(order)
        record(
            session,
            tenant_id,
            at,
            actor,
            f"order.{to.value}",
            "order",
            order.id,
            before={"status": before},
            after={"status": to.value, "freight_ride_id": ride.id},
        )


def _may_give_up(cfg: TenantConfig, ride: Ride, at: datetime) -> None:
    """A no-show is accepted only after the driver arrived and waited the tenant's no-show time
    from arrival (or from the start of the pickup window, when the driver came early)."""
    if ride.status != RideStatus.vehicle_arrived or ride.arrived_at is None:
        raise Conflict(
            f"Ride {ride.id} is {ride.status}: report arrival at the pickup first, then wait.",
            title="Illegal ride transition",
            ride_status=ride.status,
        )
    start = max(ride.arrived_at, ride.pickup_window_start or ride.arrived_at)
    wait_until = start + timedelta(minutes=cfg.booking.no_show_wait_minutes)
    if at < wait_until:
        raise Conflict(
            f"Wait for the rider until {wait_until.astimezone(cfg.tz):%H:%M} "
            f"({cfg.booking.no_show_wait_minutes} minutes) before reporting a no-show.",
            title="Too early for a no-show",
            wait_until=iso_local(wait_until, cfg.tz),
        )


PLAN_SHIFT_SECONDS = 120  # a position report stores a new plan version only when times move this much
MOVING_METRES = 150  # a position this far from the last one means the vehicle is moving


def _whereabouts(
    ctx: Dispatcher,
    session: Session,
    cfg: TenantConfig,
    vehicle: Vehicle,
    ev: VehicleEvent,
    at: datetime,
    now: datetime,
    actor: str,
) -> dict[str, Any]:
    """A position report or a reported delay: the vehicle's pending stops get new planned times.

    A delay, or a position that moves planned times by PLAN_SHIFT_SECONDS or more, stores a new plan
    version (and bumps the tenant's lock sequence); the rides the vehicle can no longer serve in
    time are returned so the caller can re-optimize. Any other position report stores just the
    position: the plan and the rides' times stay as they were, so a fleet's reports every 30 s do
    not flood the plan history."""
    assert vehicle.id is not None
    day = local_date(now, cfg.tz)
    delayed_before = vehicle.delayed_until
    if ev.type == "position":
        before: dict[str, Any] = {"lat": vehicle.last_lat, "lon": vehicle.last_lon}
        moving = vehicle.last_lat is not None and (
            haversine_m(Point(vehicle.last_lat, vehicle.last_lon), Point(ev.lat, ev.lon)) > MOVING_METRES  # type: ignore[arg-type]
        )
        vehicle.last_lat, vehicle.last_lon, vehicle.last_position_at = ev.lat, ev.lon, at
        if moving:
            vehicle.delayed_until = None  # on the move again: the position tells where it is now
        after: dict[str, Any] = {"lat": ev.lat, "lon": ev.lon}
    else:
        before = {"delayed_until": iso_local(vehicle.delayed_until, cfg.tz)}
        vehicle.delayed_until = at + timedelta(minutes=ev.minutes or 0)
        after = {"delayed_until": iso_local(vehicle.delayed_until, cfg.tz), "minutes": ev.minutes}
    session.add(vehicle)
    session.flush()
    state = current_plan(session, cfg.id, day)
    old_times = {(e["ride_id"], e["kind"]): e["planned_time"] for e in state.pending(vehicle.id)}
    late: list[int] = []
    save = False
    if old_times:
        late = replan_vehicle(ctx, session, cfg, day, state, now, vehicle.id)
        moved = max(
            (
                abs((datetime.fromisoformat(e["planned_time"]) - datetime.fromisoformat(old)).total_seconds())
                for e in state.pending(vehicle.id)
                if (old := old_times.get((e["ride_id"], e["kind"]))) is not None
            ),
            default=0.0,
        )
        save = ev.type == "delay" or moved >= PLAN_SHIFT_SECONDS
    if save:
        save_plan(session, cfg.id, day, state, f"vehicle {vehicle.id} {ev.type}", now, 0.0)
    else:  # keep only the position: undo the replanned times on the rides
        late = []
        session.rollback()
        lock_tenant(session, cfg.id)  # (the rollback let go of it)
        vehicle = session.get(Vehicle, vehicle.id, populate_existing=True)  # type: ignore[assignment]
        vehicle.last_lat, vehicle.last_lon, vehicle.last_position_at = ev.lat, ev.lon, at
        if delayed_before is not None and ev.type == "position" and moving:
            vehicle.delayed_until = None
        session.add(vehicle)
    record(
        session,
        cfg.id,
        at,
        actor,
        f"vehicle.{ev.type}" if ev.type == "delay" else "vehicle.position",
        "vehicle",
        vehicle.id,
        before=before,
        after={**after, "late_rides": late} if late else after,
    )
    session.commit()
    return {"vehicle_id": vehicle.id, "type": ev.type, "at": iso_local(at, cfg.tz), "late_rides": late}


def manifest(
    ctx: Dispatcher, tenant_id: str, vehicle_id: int, day: date, state: PlanState | None = None
) -> dict[str, Any]:
    """A vehicle's stops of the day in visiting order, done ones first (from `state`, the day's
    plan when the caller read it already for every vehicle, else the newest version)."""
    cfg = ctx.config(tenant_id)
    tz = cfg.tz
    with Session(ctx.engine) as session:
        vehicle = session.get(Vehicle, vehicle_id)
        if vehicle is None or vehicle.tenant_id != tenant_id:
            raise NotFound(f"No vehicle {vehicle_id}.")
        if state is None:
            state = current_plan(session, tenant_id, day)
        entries = state.routes.get(vehicle_id, [])
        ids = {e["ride_id"] for e in entries}
        rides = {r.id: r for r in session.exec(select(Ride).where(col(Ride.id).in_(ids)))} if ids else {}
        residents = (
            {
                p.id: p
                for p in session.exec(
                    select(Resident).where(col(Resident.id).in_({r.resident_id for r in rides.values()}))
                )
            }
            if rides
            else {}
        )
        places = {p.id: p for p in cfg.places}
        stops = []
        for e in entries:
            r = rides[e["ride_id"]]
            res = residents.get(r.resident_id)
            pickup = e["kind"] == "pickup"
            place_id = r.origin_place_id if pickup else r.destination_place_id
            stops.append(
                {
                    "ride_id": r.id,
                    "kind": e["kind"],
                    "lat": r.origin_lat if pickup else r.destination_lat,
                    "lon": r.origin_lon if pickup else r.destination_lon,
                    "place_id": place_id,
                    "place_name": places[place_id].name if place_id in places else None,
                    "planned_time": iso_local(datetime.fromisoformat(e["planned_time"]), tz),
                    "window": {
                        "start": iso_local(r.pickup_window_start, tz) if pickup else None,
                        "end": iso_local(r.pickup_window_end if pickup else r.latest_arrival, tz),
                    },
                    "party_size": r.party_size,
                    "wheelchair": r.wheelchair,
                    "ride_kind": r.kind,
                    "cargo": r.cargo,
                    "rider": f"{res.family_name} {res.given_name}" if res else None,
                    "phone": res.phone if res else None,
                    "notes": res.notes if res else "",
                    "ride_status": r.status,
                    "arrived_at": iso_local(r.arrived_at, tz),
                    "done": bool(e.get("done")),
                }
            )
        return {
            "vehicle_id": vehicle_id,
            "vehicle": vehicle.key,
            "date": day.isoformat(),
            "now": iso_local(ctx.clock.now(), tz),
            "plan_version": state.version,
            "no_show_wait_minutes": cfg.booking.no_show_wait_minutes,
            "delayed_until": iso_local(vehicle.delayed_until, tz)
            if vehicle.delayed_until is not None and vehicle.delayed_until > ctx.clock.now()
            else None,
            "stops": stops,
        }


# What a failed run's status means: the reason recorded with plan.reoptimize_failed.
FAULTS = {
    "cannot repair": "cannot_repair",
    "no feasible plan found": "no_solution",
    "invalid plan": "invalid_plan",
    "plan went stale": "stale",
}


def reoptimize(
    ctx: Dispatcher,
    tenant_id: str,
    day: date | None = None,
    time_limit_s: float = 5.0,
    actor: str = "system:reoptimizer",
    seed: int = 1,
    iterations: int | None = None,
) -> dict[str, Any]:
    """Rebuild the day's pending plan (`routing.search.improve`); store it only if it keeps every
    promise and is cheaper, or repairs a plan that a late vehicle made infeasible.

    iterations: a fixed amount of search (ALNS iterations, no OR-Tools polish) instead of the time
    limit, so that the same inputs give the same plan (simulations).

    The solve runs outside the lock on a snapshot. The result is stored only if nothing changed
    meanwhile (the tenant's lock sequence, which every plan-changing or position-reporting
    transaction bumps) and after it passed validation at the time of storing: every route the
    checker accepts, every open ride planned exactly once on its vehicle (`plan_faults`).

    A run that fails leaves the plan in force untouched — the solver raised (re-raised once
    recorded), found no plan that keeps every promise (`cannot repair`, `no feasible plan found`),
    or gave one that failed validation (`invalid plan`, `plan went stale`) — and records
    `plan.reoptimize_failed` with the reason (`dispatcher.rides.optimizer_status`), which the operator's
    board shows until a run succeeds. A time limit too short to improve anything is no fault: the
    search starts from the plan in force, which is then kept.
    """
    cfg = ctx.config(tenant_id)
    day = day or local_date(ctx.clock.now(), cfg.tz)
    mark = (tenant_id, "reoptimize", day)
    try:
        out = _search_and_store(ctx, cfg, day, time_limit_s, actor, seed, iterations)
    except Exception as e:
        ctx.marks.pop(mark, None)  # the next run searches again
        detail = f"{type(e).__name__}: {e}"
        log.error(
            "tenant %s: re-optimization of %s failed (%s); the plan in force stays", tenant_id, day, detail
        )
        try:
            record_fault(ctx, tenant_id, day, actor, "error", detail)
        except Exception:  # the database may be what failed: the original error matters more
            log.exception("tenant %s: the re-optimization's failure could not be recorded", tenant_id)
        raise
    reason = FAULTS.get(out["status"])
    if reason is not None:
        ctx.marks.pop(mark, None)
        out["reason"] = reason
        level = logging.ERROR if reason == "invalid_plan" else logging.WARNING
        log.log(
            level,
            "tenant %s: re-optimization of %s failed: %s (%s); the plan in force (version %s) stays",
            tenant_id,
            day,
            out["status"],
            out["detail"],
            out["version"],
        )
        record_fault(ctx, tenant_id, day, actor, reason, out["detail"])
    elif out["status"] in ("kept", "unchanged", "nothing to do"):
        record_success(ctx, tenant_id, day, actor, out["status"])
    return out


def _search_and_store(
    ctx: Dispatcher,
    cfg: TenantConfig,
    day: date,
    time_limit_s: float,
    actor: str,
    seed: int,
    iterations: int | None,
) -> dict[str, Any]:
    tenant_id = cfg.id
    now = ctx.clock.now()
    with Session(ctx.engine, expire_on_commit=False) as session:
        snapshot_seq = session.exec(select(Tenant.lock_seq).where(Tenant.id == tenant_id)).one()
        state = current_plan(session, tenant_id, day)
        if not any(state.pending(v) for v in state.routes):
            return {"status": "nothing to do", "version": state.version}
        problem = build_problem(ctx, session, cfg, day, state, now)
    before = sum(route_travel(r.vehicle, r.stops, problem.travel) for r in problem.routes)
    routes, unplaced = [], []
    broken = []
    for v, r in zip(problem.vehicles, problem.routes, strict=True):
        if v.active and check(r.vehicle, r.stops, problem.travel).feasible:
            routes.append(r)
            continue
        # a late (or withdrawn) vehicle: its movable requests go back into the pool
        onboard = {o.request_id for o in r.vehicle.onboard}
        keep = {s.request_id for k, s in enumerate(r.stops) if k < r.fixed or s.request_id in onboard}
        stripped = tuple(s for s in r.stops if s.request_id in keep)
        unplaced += _pairs(s for s in r.stops if s.request_id not in keep)
        if not check(r.vehicle, stripped, problem.travel).feasible:
            broken.append(v.key)
        routes.append(Route(r.vehicle, stripped, r.fixed))
    if broken:
        return {
            "status": "cannot repair",
            "vehicles": broken,
            "version": state.version,
            "detail": f"vehicles {', '.join(broken)} cannot keep their riders' promises",
        }
    mark = (tenant_id, "reoptimize", day)
    if not unplaced and ctx.marks.get(mark) == snapshot_seq:
        # Nothing changed since the last search and every route still holds: time moving on only
        # takes options away, so the search would find nothing better than it did then.
        return {"status": "unchanged", "version": state.version}
    weight = cfg.booking.excess_ride_weight
    result = improve(
        routes,
        problem.travel,
        unplaced=unplaced,
        options=SearchOptions(
            time_limit_s=time_limit_s,
            seed=seed,
            ride_weight=weight,
            iterations=iterations,
            polish_share=0.3 if iterations is None else 0.0,
        ),
    )
    if result.unserved:  # every request of a re-optimization is required: none may be dropped
        return {
            "status": "no feasible plan found",
            "version": state.version,
            "travel_seconds": before,
            "detail": f"rides {', '.join(map(str, sorted(result.unserved)))} fit no vehicle",
        }
    invalid = _invalid_routes(problem.vehicles, routes, unplaced, result.stops, problem.travel)
    if invalid:  # the solver's own verification is not taken on trust
        return {"status": "invalid plan", "version": state.version, "detail": invalid}
    if not unplaced:  # every current route is feasible: compare objectives
        current = [check(r.vehicle, r.stops, problem.travel) for r in problem.routes]
        before_obj = objective([r.stops for r in problem.routes], current, problem.travel, weight)
        if objective(result.stops, result.schedules, problem.travel, weight) >= before_obj - 1.0:
            ctx.marks[mark] = snapshot_seq
            return {"status": "kept", "version": state.version, "travel_seconds": before}
    with Session(ctx.engine, expire_on_commit=False) as session:
        seq = lock_tenant(session, tenant_id)
        if seq != snapshot_seq + 1:
            session.rollback()
            return {"status": "plan changed meanwhile", "version": state.version}
        stamp = ctx.clock.now()
        latest = current_plan(session, tenant_id, day)
        for v, stops in zip(problem.vehicles, result.stops, strict=True):
            latest.routes[v.id] = latest.done(v.id) + [  # type: ignore[index]
                {"ride_id": s.request_id, "kind": s.kind, "done": False} for s in stops
            ]
        fresh = build_problem(ctx, session, cfg, day, latest, stamp)
        for v, route in zip(fresh.vehicles, fresh.routes, strict=True):
            sched = check(route.vehicle, route.stops, fresh.travel)
            if not sched.feasible:  # time moved on during the solve and the plan no longer fits
                session.rollback()
                return {
                    "status": "plan went stale",
                    "version": state.version,
                    "detail": f"{v.key}: {sched.reason}",
                }
            apply_route(cfg, latest, v.id, route.stops, sched, day, session)  # type: ignore[arg-type]
        rides = session.exec(
            select(Ride.id, Ride.status, Ride.vehicle_id).where(
                Ride.tenant_id == tenant_id, Ride.service_date == day
            )
        )
        faults = plan_faults(latest, {rid: (status, vid) for rid, status, vid in rides})
        if faults:
            session.rollback()
            return {"status": "invalid plan", "version": state.version, "detail": "; ".join(faults[:5])}
        pv = save_plan(session, tenant_id, day, latest, "re-optimized", stamp, result.travel)
        record(
            session,
            tenant_id,
            stamp,
            actor,
            "plan.reoptimized",
            "plan",
            f"{day}/{pv.version}",
            before={"travel_seconds": round(before, 1), "version": state.version, "repaired": len(unplaced)},
            after={"travel_seconds": round(result.travel, 1), "version": pv.version},
        )
        session.commit()
        ctx.marks[mark] = seq  # only once stored: a failed commit must not hide the next change
        return {
            "status": "replaced",
            "version": pv.version,
            "travel_seconds": result.travel,
            "before_seconds": before,
            "objective": objective(result.stops, result.schedules, problem.travel, weight),
            "before_objective": None if unplaced else before_obj,
            "repaired_requests": len(unplaced),
        }


def _invalid_routes(
    vehicles: list[Vehicle],
    routes: list[Route],
    unplaced: list[tuple[Stop, Stop]],
    stops: Sequence[Sequence[Stop]],
    travel: Any,
) -> str | None:
    """Why the solver's stop sequences are no plan of these routes and unplaced requests (None when
    they are one): a sequence per vehicle, every pending stop exactly once, each route accepted by
    the checker."""
    if len(stops) != len(routes):
        return f"{len(stops)} routes for {len(routes)} vehicles"
    want = Counter((s.request_id, s.kind) for r in routes for s in r.stops)
    want.update((s.request_id, s.kind) for pair in unplaced for s in pair)
    got = Counter((s.request_id, s.kind) for seq in stops for s in seq)
    if got != want:
        missing, extra = sorted((want - got).elements()), sorted((got - want).elements())
        return f"stops missing {missing[:5]}, extra {extra[:5]}"
    for v, r, seq in zip(vehicles, routes, stops, strict=True):
        sched = check(r.vehicle, seq, travel)
        if not sched.feasible:
            return f"{v.key}: {sched.reason}"
    return None


def _pairs(stops: Any) -> list[tuple[Stop, Stop]]:
    """(pickup, drop-off) pairs of a stop sequence that holds both stops of each request."""
    picks: dict[int, Stop] = {}
    out = []
    for s in stops:
        if s.kind == "pickup":
            picks[s.request_id] = s
        else:
            out.append((picks[s.request_id], s))
    return out
