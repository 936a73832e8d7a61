"""Billing's scheduled job: on the 1st of each month at 04:00, close the month before."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from dispatcher.billing.statements import close_month, month_of
from dispatcher.context import Dispatcher
from dispatcher.jobs import JobSpec
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import local_date


def run_billing_close(ctx: Dispatcher, tenant_id: str, due: datetime) -> dict[str, Any] | None:
    cfg = ctx.config(tenant_id)
    month = month_of(local_date(due, cfg.tz).replace(day=1) - timedelta(days=1))
    out = close_month(ctx, tenant_id, month, "system:billing")
    return {"month": month, "status": out["status"], "total_yen": out["totals"]["total_yen"]}


def jobs(ctx: Dispatcher, cfg: TenantConfig) -> list[JobSpec]:
    return [
        JobSpec(
            "billing-close",
            CronTrigger(day=1, hour=4, minute=0, timezone=cfg.tz),
            timedelta(days=10),
            run_billing_close,
            "monthly on the 1st at 04:00 (the month before)",
        )
    ]
