"""Care's scheduled job: every five minutes, the watch-over check (silent TVs, unanswered alerts)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dispatcher.care.watchover import check
from dispatcher.context import Dispatcher
from dispatcher.jobs import JobSpec, every
from dispatcher.tenant_config import TenantConfig


def run_watch_over(ctx: Dispatcher, tenant_id: str, due: datetime) -> dict[str, Any] | None:
    out = check(ctx, tenant_id)
    return out if any(out.values()) else None


def jobs(ctx: Dispatcher, cfg: TenantConfig) -> list[JobSpec]:
    return [
        JobSpec(
            "watch-over",
            every(cfg.tz, minutes=5),
            timedelta(hours=1),
            run_watch_over,
            "every 5 min: silent TVs, unanswered alerts",
        )
    ]
