"""Re-optimization: rebuild a day's pending plan and store it only when it keeps every promise
and is better, or repairs a plan that a late vehicle broke."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any, Literal

from sqlmodel import Session, select

from dispatcher.context import Dispatcher
from dispatcher.db import id_of, lock_tenant, plan_seq
from dispatcher.events import record
from dispatcher.models import Ride
from dispatcher.rides.kinds import PLAN_REOPTIMIZED
from dispatcher.rides.merge import merge
from dispatcher.rides.optimizer_status import record_discarded, record_fault, record_success
from dispatcher.rides.plan import (
    Problem,
    apply_route,
    build_problem,
    current_plan,
    invalid_routes,
    moved_view,
    plan_faults,
    remember,
    save_plan,
)
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
    "discarded",  # the solve's plan, merged with what changed meanwhile, was no better or no plan
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
    merged_rides: tuple[int, ...] = ()
    held: tuple[str, ...] = ()
    review: tuple[int, ...] = ()

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

    The solve runs outside the lock on a snapshot. Under the lock its plan is merged with what
    changed meanwhile (`dispatcher.rides.merge`: current positions and stops done, rides booked
    meanwhile inserted, cancelled ones dropped) and stored only if it passed validation at the
    time of storing — every route the checker accepts, every open ride planned exactly once on its
    vehicle (`plan_faults`) — and is still better than the plan in force then. Otherwise the run
    is `discarded` with its reason: `merge_conflict` (a ride booked meanwhile fits no vehicle of
    the new plan) or `no_gain` (what changed meanwhile took the gain). The tenant's plan sequence
    (bumped by bookings, cancellations and ride reports, not by position reports) tells whether
    anything changed; position reports alone never discard a solve.

    A vehicle holding an overdue pickup (its window ended with no tap from the driver) is kept as
    it is, riders and all, and the search plans the other vehicles around it (`held`, with the
    rides in `review`); the operator settles those rides (`dispatcher.rides.review`).

    Every search's outcome is an event (`dispatcher.rides.optimizer_status`): `plan.reoptimized`
    (replaced), `plan.reoptimize_discarded` (kept as not better, or discarded, with the reason) or
    `plan.reoptimize_failed`.

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
    elif out.status == "kept":
        record_discarded(ctx, tenant_id, day, actor, "not_better", "", clears_fault=True)
    elif out.status == "discarded":
        assert out.reason is not None
        ctx.marks.pop(mark, None)
        log.info(
            "tenant %s: re-optimization of %s discarded: %s (%s)", tenant_id, day, out.reason, out.detail
        )
        record_discarded(
            ctx, tenant_id, day, actor, out.reason, out.detail or "", clears_fault=out.reason == "no_gain"
        )
    elif out.status in ("unchanged", "nothing to do"):
        record_success(ctx, tenant_id, day, actor, out.status)
    return out


def overdue_vehicles(problem: Problem) -> dict[int, list[int]]:
    """Vehicles holding a pending pickup whose window has ended (`dispatcher.rides.review`), with
    those rides: no vehicle can keep that promise any more, so the vehicle is kept as it is until
    the operator settles the ride, and the rest of the fleet is planned around it."""
    out: dict[int, list[int]] = {}
    for v, r in zip(problem.vehicles, problem.routes, strict=True):
        late = [s.request_id for s in r.stops if s.kind == "pickup" and s.latest < r.vehicle.not_before]
        if late:
            out[id_of(v)] = late
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
        snapshot_seq = plan_seq(session, tenant_id)
        state = current_plan(session, tenant_id, day)
        if not any(state.pending(v) for v in state.routes):
            return Reoptimization("nothing to do", state.version)
        problem = build_problem(ctx, session, cfg, day, state, now)
    frozen = overdue_vehicles(problem)
    review = tuple(sorted(rid for rides in frozen.values() for rid in rides))
    held = tuple(v.key for v in problem.vehicles if id_of(v) in frozen)
    # the search sees the other vehicles only
    searched = [k for k, v in enumerate(problem.vehicles) if id_of(v) not in frozen]
    vehicles = [problem.vehicles[k] for k in searched]
    current_routes = [problem.routes[k] for k in searched]
    before = sum(route_travel(r.vehicle, r.stops, problem.travel) for r in current_routes)
    routes, unplaced = [], []
    broken = []
    for v, r in zip(vehicles, current_routes, strict=True):
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
            review=review,
            held=held,
        )
    mark = (tenant_id, "reoptimize", day)
    if not unplaced and ctx.marks.get(mark) == snapshot_seq:
        # Nothing changed since the last search and every route still holds: time moving on only
        # takes options away, so the search would find nothing better than it did then.
        return Reoptimization("unchanged", state.version, review=review, held=held)
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
            review=review,
            held=held,
        )
    invalid = invalid_routes(vehicles, routes, unplaced, result.stops, problem.travel)
    if invalid:  # the solver's own verification is not taken on trust
        return Reoptimization("invalid plan", state.version, detail=invalid, review=review, held=held)
    before_obj = None
    if not unplaced:  # every current route is feasible: compare objectives
        current = [check(r.vehicle, r.stops, problem.travel) for r in current_routes]
        before_obj = objective([r.stops for r in current_routes], current, problem.travel, weight)
        if objective(result.stops, result.schedules, problem.travel, weight) >= before_obj - 1.0:
            ctx.marks[mark] = snapshot_seq
            return Reoptimization("kept", state.version, travel_seconds=before, review=review, held=held)
    proposal = {
        id_of(v): [(s.request_id, s.kind) for s in stops]
        for v, stops in zip(vehicles, result.stops, strict=True)
    }
    out = _store(ctx, cfg, day, actor, snapshot_seq, state.version, proposal, len(unplaced))
    return replace(out, held=held, review=review) if out.status != "replaced" else out


def _store(
    ctx: Dispatcher,
    cfg: TenantConfig,
    day: date,
    actor: str,
    snapshot_seq: int,
    snapshot_version: int,
    proposal: Mapping[int, Sequence[tuple[int, str]]],
    repaired: int,
) -> Reoptimization:
    """Store the solve's plan, merged with what changed since the snapshot (`merge`), if it keeps
    every promise and is better than the plan in force now (or repairs it)."""
    tenant_id = cfg.id
    weight = cfg.booking.excess_ride_weight
    mark = (tenant_id, "reoptimize", day)
    with Session(ctx.engine, expire_on_commit=False) as session:
        locked = lock_tenant(session, tenant_id)
        seq = plan_seq(session, tenant_id)
        changed = seq != snapshot_seq + 1  # somebody changed rides or promises during the solve
        stamp = ctx.clock.now()
        latest = current_plan(session, tenant_id, day)
        fresh = build_problem(ctx, session, cfg, day, latest, stamp)
        frozen = overdue_vehicles(fresh)
        review = tuple(sorted(rid for rides in frozen.values() for rid in rides))
        held = {id_of(v) for v in fresh.vehicles if id_of(v) in frozen}
        merged = merge(fresh, proposal, held)
        if merged.failure is not None:
            session.rollback()
            if not changed:  # nothing but time moved on: the plan no longer fits
                return Reoptimization("plan went stale", latest.version, detail=merged.failure)
            return Reoptimization("discarded", latest.version, reason="merge_conflict", detail=merged.failure)
        # the plan in force now, on the same footing: the vehicles that are not held
        now_routes = [r for v, r in zip(fresh.vehicles, fresh.routes, strict=True) if id_of(v) not in held]
        now_scheds = [check(r.vehicle, r.stops, fresh.travel) for r in now_routes]
        now_travel = sum(route_travel(r.vehicle, r.stops, fresh.travel) for r in now_routes)
        new = [m for m in merged.routes if m is not None]
        new_travel = sum(sc.travel for _st, sc in new)
        new_obj = objective([st for st, _sc in new], [sc for _st, sc in new], fresh.travel, weight)
        now_obj = None
        if all(sc.feasible for sc in now_scheds):
            now_obj = objective([r.stops for r in now_routes], now_scheds, fresh.travel, weight)
            if new_obj >= now_obj - 1.0:  # what changed meanwhile took the gain
                session.rollback()
                ctx.marks[mark] = snapshot_seq
                return Reoptimization(
                    "discarded",
                    latest.version,
                    reason="no_gain",
                    detail=f"after merging: {new_obj:.0f} s against {now_obj:.0f} s in force",
                    travel_seconds=now_travel,
                    review=review,
                )
        for v, m in zip(fresh.vehicles, merged.routes, strict=True):
            if m is not None:
                apply_route(cfg, latest, id_of(v), m[0], m[1], day, session)
        rides = session.exec(
            select(Ride.id, Ride.status, Ride.vehicle_id).where(
                Ride.tenant_id == tenant_id, Ride.service_date == day
            )
        )
        faults = plan_faults(latest, {rid: (status, vid) for rid, status, vid in rides if rid is not None})
        if faults:
            session.rollback()
            return Reoptimization(
                "invalid plan", snapshot_version, detail="; ".join(faults[:5]), review=review
            )
        in_force = latest.version
        pv = save_plan(session, tenant_id, day, latest, "re-optimized", stamp, new_travel)
        key_of = {id_of(v): v.key for v in fresh.vehicles}
        merge_note = {
            "inserted": merged.inserted,
            "reverted": [key_of[vid] for vid in merged.reverted],
            "dropped_stops": merged.dropped,
        }
        held_keys = sorted(key_of[vid] for vid in held)
        record(
            session,
            tenant_id,
            stamp,
            actor,
            PLAN_REOPTIMIZED,
            "plan",
            f"{day}/{pv.version}",
            before={"travel_seconds": round(now_travel, 1), "version": in_force, "repaired": repaired},
            after={
                "travel_seconds": round(new_travel, 1),
                "version": pv.version,
                **({"merged": merge_note} if changed else {}),
                **({"held": held_keys, "review": list(review)} if held else {}),
            },
        )
        moved = moved_view(ctx, session, cfg, day, locked, latest)
        session.commit()
        remember(ctx, cfg, moved)
        ctx.marks[mark] = seq  # only once stored: a failed commit must not hide the next change
        return Reoptimization(
            "replaced",
            pv.version,
            travel_seconds=new_travel,
            before_seconds=now_travel,
            objective=new_obj,
            before_objective=now_obj,
            repaired_requests=repaired,
            merged_rides=tuple(merged.inserted),
            held=tuple(held_keys),
            review=review,
        )


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
