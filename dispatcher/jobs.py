"""What a scheduled job is: its trigger, how late a missed fire time may still run, and the work.

Each context declares its own jobs beside its commands (`<context>/jobs.py`, a function
`jobs(ctx, cfg) -> list[JobSpec]`); `dispatcher.platform.scheduler` collects them and runs what is
due. Triggers are APScheduler's, in the tenant's time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from dispatcher.context import Dispatcher
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import at_local

Run = Callable[[Dispatcher, str, datetime], dict[str, Any] | None]


@dataclass(frozen=True)
class JobSpec:
    """One job of a tenant: its trigger, how late a missed fire time may still run, the work.

    run(ctx, tenant_id, due_at) returns what it did, or None when there was nothing to do."""

    name: str
    trigger: BaseTrigger
    grace: timedelta
    run: Run
    describe: str
    lane: str = "dispatch"  # dispatch | outbox: the outbox has its own thread (slow partners wait there)


def every(tz: Any, **interval: float) -> IntervalTrigger:
    """Every so often in local time, on round marks (every 5 minutes: :00, :05, ...)."""
    return IntervalTrigger(**interval, start_date=datetime(2020, 1, 1, tzinfo=tz), timezone=tz)


def minus(t: time, minutes: int) -> time:
    """A time of day `minutes` earlier (not before midnight)."""
    m = max(0, t.hour * 60 + t.minute - minutes)
    return time(m // 60, m % 60)


def in_service_hours(cfg: TenantConfig, now: datetime) -> bool:
    """Whether `now` lies within the tenant's service hours of that day."""
    local = now.astimezone(cfg.tz)
    hours = cfg.hours_on(local.date())
    if hours is None:
        return False
    return at_local(local.date(), hours.start, cfg.tz) <= now <= at_local(local.date(), hours.end, cfg.tz)
