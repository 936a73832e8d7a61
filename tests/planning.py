"""Test helpers that verify a stored plan with the exact checker."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlmodel import Session, select

from dispatcher.context import Dispatcher
from dispatcher.models import OPEN_RIDE_STATUSES, Ride, RideStatus
from dispatcher.plan import build_problem, current_plan
from routing.schedule import check


def verify_plan(ctx: Dispatcher, tenant_id: str, day: date) -> dict[str, int]:
    """Assert the stored plan is valid; return counts.

    Every open ride appears exactly once as a pickup (unless on board) and once as a drop-off, in
    that order, in the route of the vehicle it is assigned to; every vehicle's pending route passes
    the exact checker; nothing else is in the plan.
    """
    cfg = ctx.config(tenant_id)
    with Session(ctx.engine) as session:
        state = current_plan(session, tenant_id, day)
        rides = {
            r.id: r
            for r in session.exec(select(Ride).where(Ride.tenant_id == tenant_id, Ride.service_date == day))
        }
        problem = build_problem(ctx, session, cfg, day, state, ctx.clock.now())
    seen: Counter[tuple[int, str]] = Counter()
    for vid, stops in state.routes.items():
        order: dict[int, list[str]] = {}
        for s in stops:
            seen[(s["ride_id"], s["kind"])] += 1
            order.setdefault(s["ride_id"], []).append(s["kind"])
            assert rides[s["ride_id"]].vehicle_id == vid, f"ride {s['ride_id']} planned on the wrong vehicle"
        for rid, kinds in order.items():
            assert kinds == ["pickup", "dropoff"], f"ride {rid}: stops {kinds} on vehicle {vid}"
    open_ids = {rid for rid, r in rides.items() if r.status in OPEN_RIDE_STATUSES}
    for rid in open_ids:
        assert seen[(rid, "dropoff")] == 1, f"ride {rid}: drop-off planned {seen[(rid, 'dropoff')]} times"
        assert seen[(rid, "pickup")] == 1, f"ride {rid}: pickup planned {seen[(rid, 'pickup')]} times"
    completed = {rid for rid, r in rides.items() if r.status == RideStatus.completed}
    for (rid, _kind), _n in seen.items():
        assert rid in open_ids or rid in completed, f"ride {rid} ({rides[rid].status}) is still in the plan"
    for v, route in zip(problem.vehicles, problem.routes, strict=True):
        sched = check(route.vehicle, route.stops, problem.travel)
        assert sched.feasible, f"vehicle {v.key}: {sched.reason}"
    return {"open": len(open_ids), "completed": len(completed), "vehicles": len(problem.routes)}
