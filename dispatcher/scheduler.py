"""The daily timeline: periodic re-optimization during service hours (APScheduler).

Jobs are idempotent: re-optimizing twice in a row keeps the better plan and changes nothing else.
Later issues add the shopping cut-off, publishing, statistics, billing and watch-over jobs here.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import Session, select

from dispatcher.context import Dispatcher
from dispatcher.models import Tenant
from dispatcher.operations import reoptimize
from dispatcher.timeline import at_local

log = logging.getLogger(__name__)


def in_service_hours(ctx: Dispatcher, tenant_id: str, now: datetime) -> bool:
    cfg = ctx.config(tenant_id)
    local = now.astimezone(cfg.tz)
    hours = cfg.hours_on(local.date())
    if hours is None:
        return False
    return at_local(local.date(), hours.start, cfg.tz) <= now <= at_local(local.date(), hours.end, cfg.tz)


def reoptimize_all(ctx: Dispatcher, time_limit_s: float) -> dict[str, object]:
    """Re-optimize today's plan of every tenant that is in service hours now."""
    now = ctx.clock.now()
    with Session(ctx.engine) as session:
        tenants = list(session.exec(select(Tenant.id)))
    out: dict[str, object] = {}
    for tid in tenants:
        if not in_service_hours(ctx, tid, now):
            out[tid] = "outside service hours"
            continue
        try:
            out[tid] = reoptimize(ctx, tid, time_limit_s=time_limit_s)
        except Exception:  # one tenant's failure must not stop the others
            log.exception("re-optimization failed for tenant %s", tid)
            out[tid] = "failed"
    return out


def plan_deliveries_due(ctx: Dispatcher) -> dict[str, object]:
    """The cut-off job: for every tenant with shopping and drones whose cut-off has passed today,
    plan today's deliveries once (re-planning later is a deliberate operator action)."""
    from dispatcher.delivery import plan_delivery

    now = ctx.clock.now()
    with Session(ctx.engine) as session:
        tenants = list(session.exec(select(Tenant.id)))
    out: dict[str, object] = {}
    for tid in tenants:
        cfg = ctx.config(tid)
        if cfg.shopping is None or cfg.drones is None:
            continue
        today = now.astimezone(cfg.tz).date()
        if now < at_local(today, cfg.shopping.cutoff, cfg.tz) or _delivery_planned(ctx, tid, today):
            out[tid] = "not due"
            continue
        try:
            out[tid] = plan_delivery(ctx, tid, today, actor="system:cutoff")
        except Exception:  # one tenant's failure must not stop the others
            log.exception("delivery planning failed for tenant %s", tid)
            out[tid] = "failed"
    return out


def _delivery_planned(ctx: Dispatcher, tenant_id: str, day: date) -> bool:
    from dispatcher.models import Event

    with Session(ctx.engine) as session:
        return (
            session.exec(
                select(Event.id).where(
                    Event.tenant_id == tenant_id,
                    Event.kind == "delivery.planned",
                    Event.entity_id == day.isoformat(),
                )
            ).first()
            is not None
        )


def start_scheduler(ctx: Dispatcher, every_minutes: float, time_limit_s: float) -> BackgroundScheduler:
    """Start the background scheduler with the re-optimization job."""
    sched = BackgroundScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
    )
    sched.add_job(
        reoptimize_all,
        "interval",
        minutes=every_minutes,
        args=[ctx, time_limit_s],
        id="reoptimize",
        replace_existing=True,
    )
    # checks every minute; plans each tenant's delivery day once, right after its cut-off
    sched.add_job(
        plan_deliveries_due, "interval", minutes=1, args=[ctx], id="delivery-cutoff", replace_existing=True
    )
    sched.start()
    return sched


def trigger_reoptimization(sched: BackgroundScheduler | None, ctx: Dispatcher, time_limit_s: float) -> None:
    """Run a re-optimization soon (after a cancellation or a no-show), without blocking the caller."""
    if sched is not None and sched.running:
        sched.add_job(reoptimize_all, args=[ctx, time_limit_s], id="reoptimize-now", replace_existing=True)
