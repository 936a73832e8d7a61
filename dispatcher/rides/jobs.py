"""The rides' scheduled job: re-optimization every few minutes in service hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dispatcher.context import Dispatcher
from dispatcher.jobs import JobSpec, every, in_service_hours
from dispatcher.rides.reoptimize import reoptimize
from dispatcher.tenant_config import TenantConfig


def run_reoptimize(ctx: Dispatcher, tenant_id: str, due: datetime) -> dict[str, Any] | None:
    """Re-optimize today's plan when in service hours (None: nothing to do or nothing changed)."""
    if not in_service_hours(ctx.config(tenant_id), ctx.clock.now()):
        return None
    result = reoptimize(ctx, tenant_id, time_limit_s=ctx.solver_seconds, iterations=ctx.solver_iterations)
    if result.status in ("nothing to do", "unchanged"):
        return None
    return {"status": result.status, "version": result.version}


def jobs(ctx: Dispatcher, cfg: TenantConfig) -> list[JobSpec]:
    minutes = ctx.reoptimize_minutes
    if minutes <= 0:  # 0: no periodic re-optimization (a simulation's "insertion only" variant)
        return []
    return [
        JobSpec(
            "reoptimize",
            every(cfg.tz, minutes=minutes),
            timedelta(minutes=minutes),
            run_reoptimize,
            f"every {minutes:g} min in service hours",
        )
    ]
