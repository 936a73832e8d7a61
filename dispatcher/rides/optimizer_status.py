"""How the day's re-optimization is faring: its faults, its recoveries, and what the board shows.

A re-optimization that fails (the solver raised, found no plan that keeps every promise, or gave a
plan that failed validation) leaves the plan in force untouched and records a
`plan.reoptimize_failed` event with the reason; bookings go on by insertion into that plan. The
next run that succeeds clears the fault: a replaced plan records `plan.reoptimized` as always, a run
that finds the plan in force best records `plan.reoptimize_recovered` (only after a fault, so a
healthy day adds no event per run). A fault that repeats on the same plan version (same reason and
detail) is not recorded again: the event keeps the time it began.

A search whose plan is not stored records `plan.reoptimize_discarded` with its reason:
`not_better` (nothing better than the plan in force was found), `no_gain` (merged with the
bookings and reports made while it solved, it was no longer better) or `merge_conflict` (a ride
booked meanwhile fits no vehicle of its plan). So every search leaves an event; runs that do not
search (nothing changed since the last one, or nothing to plan) leave none. The board shows when
the plan was last improved and by how much driving time, and the newest outcome.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from dispatcher.context import Dispatcher
from dispatcher.events import record
from dispatcher.models import Event, PlanVersion
from dispatcher.rides.kinds import (
    PLAN_REOPTIMIZE_DISCARDED,
    PLAN_REOPTIMIZE_FAILED,
    PLAN_REOPTIMIZE_RECOVERED,
    PLAN_REOPTIMIZED,
)
from dispatcher.timeline import iso_local

FAILED = PLAN_REOPTIMIZE_FAILED
RECOVERED = PLAN_REOPTIMIZE_RECOVERED
SUCCEEDED = (PLAN_REOPTIMIZED, RECOVERED)
DISCARDED = PLAN_REOPTIMIZE_DISCARDED
OUTCOMES = (FAILED, DISCARDED, *SUCCEEDED)


def _newest(session: Session, tenant_id: str, day: date, kinds: tuple[str, ...]) -> Event | None:
    """The newest of these events about the day's plan. Plan events are keyed "<day>/<version>",
    so the (tenant, entity, entity_id) index finds the day's few among a busy day's many events
    (bounded by the next day's key: the order holds in any collation, punctuation ignored or not)."""
    return session.exec(
        select(Event)
        .where(
            Event.tenant_id == tenant_id,
            Event.entity == "plan",
            col(Event.entity_id) >= f"{day.isoformat()}/",
            col(Event.entity_id) < f"{(day + timedelta(days=1)).isoformat()}/",
            col(Event.kind).in_(kinds),
        )
        .order_by(col(Event.id).desc())
        .limit(1)
    ).first()


def record_fault(
    ctx: Dispatcher, tenant_id: str, day: date, actor: str, reason: str, detail: str
) -> Event | None:
    """Record a failed re-optimization of the day (None when the same fault is already the newest
    outcome on the same plan version)."""
    now = ctx.clock.now()
    with Session(ctx.engine, expire_on_commit=False) as session:
        version = session.exec(
            select(func.max(PlanVersion.version)).where(
                PlanVersion.tenant_id == tenant_id, PlanVersion.service_date == day
            )
        ).one()
        after = {"reason": reason, "detail": detail[:500], "version": version or 0}
        last = _newest(session, tenant_id, day, (FAILED, *SUCCEEDED))
        if last is not None and last.kind == FAILED and last.after == after:
            return None
        ev = record(session, tenant_id, now, actor, FAILED, "plan", f"{day}/{version or 0}", after=after)
        session.commit()
        return ev


def record_success(ctx: Dispatcher, tenant_id: str, day: date, actor: str, status: str) -> Event | None:
    """After a run that kept the plan in force (it was the best found, or there was nothing to do):
    if the day's newest outcome is a fault, record the recovery."""
    with Session(ctx.engine, expire_on_commit=False) as session:
        last = _newest(session, tenant_id, day, (FAILED, *SUCCEEDED))
        if last is None or last.kind != FAILED:
            return None
        ev = record(
            session,
            tenant_id,
            ctx.clock.now(),
            actor,
            RECOVERED,
            "plan",
            last.entity_id,
            before={"reason": (last.after or {}).get("reason")},
            after={"status": status},
        )
        session.commit()
        return ev


def record_discarded(
    ctx: Dispatcher, tenant_id: str, day: date, actor: str, reason: str, detail: str, clears_fault: bool
) -> Event | None:
    """Record a search whose plan was not stored, with its reason. clears_fault: the search itself
    worked (it found nothing better): after a fault, that is the recovery (`record_success`)."""
    if clears_fault and record_success(ctx, tenant_id, day, actor, "kept") is not None:
        return None
    with Session(ctx.engine, expire_on_commit=False) as session:
        version = session.exec(
            select(func.max(PlanVersion.version)).where(
                PlanVersion.tenant_id == tenant_id, PlanVersion.service_date == day
            )
        ).one()
        ev = record(
            session,
            tenant_id,
            ctx.clock.now(),
            actor,
            DISCARDED,
            "plan",
            f"{day}/{version or 0}",
            after={"reason": reason, "detail": detail[:500], "version": version or 0},
        )
        session.commit()
        return ev


def optimizer_status(ctx: Dispatcher, tenant_id: str, day: date) -> dict[str, Any]:
    """The day's re-optimization for the board: `failed` while the newest outcome is a fault (the
    plan in force stays), else `ok`; local times of the newest success and fault, and the fault's
    reason: error (the solver raised), no_solution (no plan keeps every promise), cannot_repair (a
    late vehicle cannot keep its riders' promises whatever the plan), invalid_plan (the solver's
    plan failed validation), stale (time moved on during the solve and its plan no longer fits).

    last_improved_at: when a re-optimization last stored a better plan, and
    last_improvement_seconds: the driving time it saved (s; negative for a repair that had to
    drive more); last_run_at, last_outcome (replaced, discarded, failed, recovered) and
    last_outcome_reason: the newest search's outcome."""
    tz = ctx.config(tenant_id).tz
    with Session(ctx.engine) as session:
        ok = _newest(session, tenant_id, day, SUCCEEDED)
        bad = _newest(session, tenant_id, day, (FAILED,))
        better = _newest(session, tenant_id, day, (PLAN_REOPTIMIZED,))
        last = _newest(session, tenant_id, day, OUTCOMES)
    failed = bad is not None and (ok is None or (bad.id or 0) > (ok.id or 0))
    saved = None
    if better is not None:
        b, a = (better.before or {}).get("travel_seconds"), (better.after or {}).get("travel_seconds")
        if isinstance(b, int | float) and isinstance(a, int | float):
            saved = round(float(b) - float(a), 1)
    outcome = {
        PLAN_REOPTIMIZED: "replaced",
        DISCARDED: "discarded",
        FAILED: "failed",
        RECOVERED: "recovered",
    }
    return {
        "status": "failed" if failed else "ok",
        "last_success_at": iso_local(ok.at, tz) if ok else None,
        "last_failure_at": iso_local(bad.at, tz) if bad else None,
        "reason": (bad.after or {}).get("reason") if failed and bad else None,
        "last_improved_at": iso_local(better.at, tz) if better else None,
        "last_improvement_seconds": saved,
        "last_run_at": iso_local(last.at, tz) if last else None,
        "last_outcome": outcome[last.kind] if last else None,
        "last_outcome_reason": (last.after or {}).get("reason")
        if last and last.kind in (FAILED, DISCARDED)
        else None,
    }
