"""Re-optimization: rebuild a day's pending plan and store it only when it keeps every promise
and is better, or repairs a plan that a late vehicle broke."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any, Literal

from sqlmodel import Session, select

from dispatcher.context import Dispatcher
from dispatcher.db import id_of, lock_tenant
from dispatcher.events import record
from dispatcher.models import Ride, Tenant, Vehicle
from dispatcher.rides.kinds import PLAN_REOPTIMIZED
from dispatcher.rides.optimizer_status import record_fault, record_success
from dispatcher.rides.plan import apply_route, build_problem, current_plan, plan_faults, save_plan
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import local_date
from routing.insertion import Route
from routing.schedule import Stop, check, route_travel
from routing.search import SearchOptions, improve, objective

log = logging.getLogger(__name__)

Status = Literal[
    "replaced",  # a better plan (or a repair) was stored
    "kept",  # the search found nothing better than the plan in force
    "unchanged",  # nothing changed since the last search: not searched again
    "nothing to do",  # no pending stop
    "plan changed meanwhile",  # a booking or a report came in during the solve: the result is thrown away
    "cannot repair",  # a late vehicle cannot keep its own riders' promises
    "no feasible plan found",  # some ride fits no vehicle
    "invalid plan",  # the solver's plan failed validation
    "plan went stale",  # time moved on during the solve and the plan no longer fits
]


@dataclass(frozen=True)
class Reoptimization:
    """What one re-optimization run did.

    version: the plan version in force afterwards; reason: the fault (a value of FAULTS) when the
    run failed, else None; detail: what failed, in words; vehicles: the keys of vehicles that cannot
    be repaired; travel_seconds: the driving time of the plan stored (replaced) or in force (s);
    before_seconds: the driving time before (s); objective, before_objective: the search's
    objective after and before (driving seconds plus weighted excess ride seconds; before is None
    for a repair); repaired_requests: requests taken off late vehicles and placed again.
    """

    status: Status
    version: int
    reason: str | None = None
    detail: str | None = None
    vehicles: tuple[str, ...] = ()
    travel_seconds: float | None = None
    before_seconds: float | None = None
    objective: float | None = None
    before_objective: float | None = None
    repaired_requests: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The fields that say something (for JSON and the scheduler's job log)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if v not in (None, ())
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
) -> Reoptimization:
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
    reason = FAULTS.get(out.status)
    if reason is not None:
        ctx.marks.pop(mark, None)
        out = replace(out, reason=reason)
        level = logging.ERROR if reason == "invalid_plan" else logging.WARNING
        log.log(
            level,
            "tenant %s: re-optimization of %s failed: %s (%s); the plan in force (version %s) stays",
            tenant_id,
            day,
            out.status,
            out.detail,
            out.version,
        )
        record_fault(ctx, tenant_id, day, actor, reason, out.detail or "")
    elif out.status in ("kept", "unchanged", "nothing to do"):
        record_success(ctx, tenant_id, day, actor, out.status)
    return out


def _search_and_store(
    ctx: Dispatcher,
    cfg: TenantConfig,
    day: date,
    time_limit_s: float,
    actor: str,
    seed: int,
    iterations: int | None,
) -> Reoptimization:
    tenant_id = cfg.id
    now = ctx.clock.now()
    with Session(ctx.engine, expire_on_commit=False) as session:
        snapshot_seq = session.exec(select(Tenant.lock_seq).where(Tenant.id == tenant_id)).one()
        state = current_plan(session, tenant_id, day)
        if not any(state.pending(v) for v in state.routes):
            return Reoptimization("nothing to do", state.version)
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
        return Reoptimization(
            "cannot repair",
            state.version,
            vehicles=tuple(broken),
            detail=f"vehicles {', '.join(broken)} cannot keep their riders' promises",
        )
    mark = (tenant_id, "reoptimize", day)
    if not unplaced and ctx.marks.get(mark) == snapshot_seq:
        # Nothing changed since the last search and every route still holds: time moving on only
        # takes options away, so the search would find nothing better than it did then.
        return Reoptimization("unchanged", state.version)
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
        return Reoptimization(
            "no feasible plan found",
            state.version,
            travel_seconds=before,
            detail=f"rides {', '.join(map(str, sorted(result.unserved)))} fit no vehicle",
        )
    invalid = _invalid_routes(problem.vehicles, routes, unplaced, result.stops, problem.travel)
    if invalid:  # the solver's own verification is not taken on trust
        return Reoptimization("invalid plan", state.version, detail=invalid)
    if not unplaced:  # every current route is feasible: compare objectives
        current = [check(r.vehicle, r.stops, problem.travel) for r in problem.routes]
        before_obj = objective([r.stops for r in problem.routes], current, problem.travel, weight)
        if objective(result.stops, result.schedules, problem.travel, weight) >= before_obj - 1.0:
            ctx.marks[mark] = snapshot_seq
            return Reoptimization("kept", state.version, travel_seconds=before)
    with Session(ctx.engine, expire_on_commit=False) as session:
        seq = lock_tenant(session, tenant_id)
        if seq != snapshot_seq + 1:
            session.rollback()
            return Reoptimization("plan changed meanwhile", state.version)
        stamp = ctx.clock.now()
        latest = current_plan(session, tenant_id, day)
        for v, stops in zip(problem.vehicles, result.stops, strict=True):
            vid = id_of(v)
            latest.routes[vid] = latest.done(vid) + [
                {"ride_id": s.request_id, "kind": s.kind, "done": False} for s in stops
            ]
        fresh = build_problem(ctx, session, cfg, day, latest, stamp)
        for v, route in zip(fresh.vehicles, fresh.routes, strict=True):
            sched = check(route.vehicle, route.stops, fresh.travel)
            if not sched.feasible:  # time moved on during the solve and the plan no longer fits
                session.rollback()
                return Reoptimization("plan went stale", state.version, detail=f"{v.key}: {sched.reason}")
            apply_route(cfg, latest, id_of(v), route.stops, sched, day, session)
        rides = session.exec(
            select(Ride.id, Ride.status, Ride.vehicle_id).where(
                Ride.tenant_id == tenant_id, Ride.service_date == day
            )
        )
        faults = plan_faults(latest, {rid: (status, vid) for rid, status, vid in rides if rid is not None})
        if faults:
            session.rollback()
            return Reoptimization("invalid plan", state.version, detail="; ".join(faults[:5]))
        pv = save_plan(session, tenant_id, day, latest, "re-optimized", stamp, result.travel)
        record(
            session,
            tenant_id,
            stamp,
            actor,
            PLAN_REOPTIMIZED,
            "plan",
            f"{day}/{pv.version}",
            before={"travel_seconds": round(before, 1), "version": state.version, "repaired": len(unplaced)},
            after={"travel_seconds": round(result.travel, 1), "version": pv.version},
        )
        session.commit()
        ctx.marks[mark] = seq  # only once stored: a failed commit must not hide the next change
        return Reoptimization(
            "replaced",
            pv.version,
            travel_seconds=result.travel,
            before_seconds=before,
            objective=objective(result.stops, result.schedules, problem.travel, weight),
            before_objective=None if unplaced else before_obj,
            repaired_requests=len(unplaced),
        )


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
