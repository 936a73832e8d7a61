"""The rides' scheduled jobs: re-optimization every few minutes in service hours, and each night
the travel margin learned from the previous day's driver reports (`dispatcher.rides.margin`)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from dispatcher.context import Dispatcher
from dispatcher.jobs import JobSpec, every, in_service_hours
from dispatcher.rides.margin import learn_pending
from dispatcher.rides.reoptimize import reoptimize
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import local_date


def run_reoptimize(ctx: Dispatcher, tenant_id: str, due: datetime) -> dict[str, Any] | None:
    """Re-optimize today's plan when in service hours (None: nothing to do or nothing changed)."""
    if not in_service_hours(ctx.config(tenant_id), ctx.clock.now()):
        return None
    result = reoptimize(ctx, tenant_id, time_limit_s=ctx.solver_seconds, iterations=ctx.solver_iterations)
    if result.status in ("nothing to do", "unchanged"):
        return None
    return {"status": result.status, "version": result.version}


def run_travel_margin(ctx: Dispatcher, tenant_id: str, due: datetime) -> dict[str, Any] | None:
    """Learn the travel margin from the reports of the days not yet learned, up to yesterday."""
    cfg = ctx.config(tenant_id)
    yesterday = local_date(due, cfg.tz) - timedelta(days=1)
    learned = learn_pending(ctx, tenant_id, yesterday, "system:travel-margin")
    return {"days": learned} if learned else None


def jobs(ctx: Dispatcher, cfg: TenantConfig) -> list[JobSpec]:
    # at night, a quarter of an hour after the statistics: the day's late reports are in
    m = cfg.publishing.statistics_at.hour * 60 + cfg.publishing.statistics_at.minute + 15
    at = time(m // 60 % 24, m % 60)
    out = [
        JobSpec(
            "travel-margin",
            CronTrigger(hour=at.hour, minute=at.minute, timezone=cfg.tz),
            timedelta(hours=24),
            run_travel_margin,
            f"daily at {at:%H:%M}",
        )
    ]
    minutes = ctx.reoptimize_minutes
    if minutes <= 0:  # 0: no periodic re-optimization (a simulation's "insertion only" variant)
        return out
    return [
        *out,
        JobSpec(
            "reoptimize",
            every(cfg.tz, minutes=minutes),
            timedelta(minutes=minutes),
            run_reoptimize,
            f"every {minutes:g} min in service hours",
        ),
    ]
