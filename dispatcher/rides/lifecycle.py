"""The shared steps of a ride's life after booking: legal status changes, taking its stops out of
the plan, and rescheduling one vehicle after its stops or whereabouts changed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from dispatcher.context import Dispatcher
from dispatcher.db import lock_tenant
from dispatcher.errors import Code, Conflict, NotFound
from dispatcher.models import RIDE_TRANSITIONS, Ride, RideStatus, Vehicle
from dispatcher.rides.plan import (
    SCHEDULE_TOLERANCE_S,
    LiveView,
    PlanState,
    apply_route,
    build_problem,
    view_route,
)
from dispatcher.tenant_config import TenantConfig
from routing.insertion import Route
from routing.schedule import Schedule, Stop, TravelMatrix, check, forecast

log = logging.getLogger(__name__)


def transition(ride: Ride, to: RideStatus, code: Code = Code.ride_illegal_transition) -> None:
    """Move a ride to a new status, or raise Conflict naming the illegal step (with `code`: a
    driver's report out of step reads differently from a booking that can no longer change)."""
    current = RideStatus(ride.status)
    if to not in RIDE_TRANSITIONS[current]:
        raise Conflict(
            f"Ride {ride.id} is {current.value}; it cannot become {to.value}.",
            title="Illegal ride transition",
            ride_status=current.value,
            code=code,
        )
    ride.status = to.value


def locked_ride(session: Session, tenant_id: str, ride_id: int) -> Ride:
    lock_tenant(session, tenant_id)
    ride = session.get(Ride, ride_id, populate_existing=True)
    if ride is None or ride.tenant_id != tenant_id:
        raise NotFound(f"No ride {ride_id}.", code=Code.ride_not_found)
    return ride


@dataclass(frozen=True)
class Retimed:
    """A vehicle's pending stops with the times it can keep now (`schedule`: the checker's, or the
    forecast of a late vehicle) and the rides it can no longer serve in time (`late`)."""

    vehicle_id: int
    stops: tuple[Stop, ...]
    schedule: Schedule
    late: list[int]


def retime(
    ctx: Dispatcher,
    session: Session,
    cfg: TenantConfig,
    day: date,
    state: PlanState,
    now: datetime,
    vehicle_id: int,
    view: LiveView | None = None,
) -> Retimed | None:
    """The planned times of one vehicle's pending stops after its stops or its whereabouts changed,
    without storing them (None: the vehicle is not planned). A late vehicle's times become the
    forecast of when it will really get there.

    view: the live view as this transaction found it, when only the vehicle's whereabouts changed
    (its rides are then as the view read them, and its legs are already on the view's matrix)."""
    route: Route | None = None
    if view is not None:
        route = view_route(session, cfg, view, state, session.get_one(Vehicle, vehicle_id), now)
        travel: TravelMatrix = view.builder.matrix
    if route is None:
        problem = build_problem(ctx, session, cfg, day, state, now, only=vehicle_id)
        planned = zip(problem.vehicles, problem.routes, strict=True)
        route = next((r for v, r in planned if v.id == vehicle_id), None)
        travel = problem.travel
        if route is None:
            return None
    sched = check(route.vehicle, route.stops, travel)
    if sched.feasible:
        return Retimed(vehicle_id, route.stops, sched, [])
    late_plan = forecast(route.vehicle, route.stops, travel)
    late = sorted(  # late: beyond the tolerance the checker allows (the rounding of reports)
        {
            s.request_id
            for s, t in zip(route.stops, late_plan.times, strict=True)
            if t > s.latest + SCHEDULE_TOLERANCE_S
        }
    )
    if not late:  # a ride-time limit breaks rather than a window: every movable rider is at risk
        late = sorted({s.request_id for s in route.stops})
    log.warning("vehicle %s running late (%s): rides %s", vehicle_id, sched.reason, late)
    return Retimed(vehicle_id, route.stops, late_plan, late)


def replan_vehicle(
    ctx: Dispatcher,
    session: Session,
    cfg: TenantConfig,
    day: date,
    state: PlanState,
    now: datetime,
    vehicle_id: int,
) -> list[int]:
    """Recompute and stamp the planned times of one vehicle after its stops or its whereabouts
    changed (`retime`), on the plan and on the rides.

    Returns the ids of rides whose promise the vehicle can no longer keep in this order (empty
    when on time), so manifests and residents' screens show the truth; re-optimization may then
    move riders."""
    retimed = retime(ctx, session, cfg, day, state, now, vehicle_id)
    if retimed is None:
        return []
    apply_route(cfg, state, vehicle_id, retimed.stops, retimed.schedule, day, session)
    return retimed.late


def remove_stops(state: PlanState, ride_id: int, kinds: tuple[str, ...]) -> None:
    for vid, stops in state.routes.items():
        state.routes[vid] = [
            s for s in stops if not (s["ride_id"] == ride_id and s["kind"] in kinds and not s.get("done"))
        ]
