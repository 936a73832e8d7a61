"""Reporting's scheduled job: each night, close the previous day's figures (and any missed day)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from dispatcher.context import Dispatcher
from dispatcher.jobs import JobSpec
from dispatcher.reporting.daily_stats import close_pending_days
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import local_date


def run_statistics(ctx: Dispatcher, tenant_id: str, due: datetime) -> dict[str, Any] | None:
    cfg = ctx.config(tenant_id)
    yesterday = local_date(due, cfg.tz) - timedelta(days=1)
    return {"days": close_pending_days(ctx, tenant_id, yesterday)}


def jobs(ctx: Dispatcher, cfg: TenantConfig) -> list[JobSpec]:
    at = cfg.publishing.statistics_at
    return [
        JobSpec(
            "statistics",
            CronTrigger(hour=at.hour, minute=at.minute, timezone=cfg.tz),
            timedelta(hours=24),
            run_statistics,
            f"daily at {at:%H:%M}",
        )
    ]
