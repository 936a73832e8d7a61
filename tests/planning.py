"""Test helpers that verify a stored plan with the exact checker."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from dispatcher.context import Dispatcher
from dispatcher.models import OPEN_RIDE_STATUSES, Ride, RideStatus
from dispatcher.rides.plan import build_problem, current_plan, plan_faults
from routing.schedule import check


def verify_plan(ctx: Dispatcher, tenant_id: str, day: date) -> dict[str, int]:
    """Assert the stored plan is valid; return counts.

    Every open ride appears exactly once as a pickup (unless on board) and once as a drop-off, in
    that order, in the route of the vehicle it is assigned to; every vehicle's pending route passes
    the exact checker; nothing else is in the plan (`dispatcher.rides.plan.plan_faults`, which the
    re-optimization applies before it stores a plan).
    """
    cfg = ctx.config(tenant_id)
    with Session(ctx.engine) as session:
        state = current_plan(session, tenant_id, day)
        rides = {
            r.id: r
            for r in session.exec(select(Ride).where(Ride.tenant_id == tenant_id, Ride.service_date == day))
        }
        problem = build_problem(ctx, session, cfg, day, state, ctx.clock.now())
    faults = plan_faults(state, {rid: (r.status, r.vehicle_id) for rid, r in rides.items()})
    assert not faults, faults
    open_ids = {rid for rid, r in rides.items() if r.status in OPEN_RIDE_STATUSES}
    completed = {rid for rid, r in rides.items() if r.status == RideStatus.completed}
    for v, route in zip(problem.vehicles, problem.routes, strict=True):
        sched = check(route.vehicle, route.stops, problem.travel)
        assert sched.feasible, f"vehicle {v.key}: {sched.reason}"
    return {"open": len(open_ids), "completed": len(completed), "vehicles": len(problem.routes)}
