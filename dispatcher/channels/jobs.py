"""Publishing's scheduled jobs: every vehicle's manifest and the flight plans before service
starts (publish-morning), then every minute what really changed (publish-changes)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from sqlmodel import Session, func, select

from dispatcher.channels.publishing import publish, started
from dispatcher.context import Dispatcher
from dispatcher.jobs import JobSpec, every, minus
from dispatcher.models import Event
from dispatcher.tenant_config import WEEKDAYS, TenantConfig
from dispatcher.timeline import local_date


def run_publish_morning(ctx: Dispatcher, tenant_id: str, due: datetime) -> dict[str, Any] | None:
    cfg = ctx.config(tenant_id)
    day = local_date(due, cfg.tz)
    if cfg.hours_on(day) is None:
        return None
    return {"date": day.isoformat(), **publish(ctx, tenant_id, day, "morning")}


def run_publish_changes(ctx: Dispatcher, tenant_id: str, due: datetime) -> dict[str, Any] | None:
    cfg = ctx.config(tenant_id)
    day = local_date(ctx.clock.now(), cfg.tz)
    mark = (tenant_id, "publish-changes", day)
    latest = last_event_id(ctx, tenant_id)
    if ctx.marks.get(mark) == latest:
        return None  # no event since the last look (and no e-mail held back then): nothing changed
    if not started(ctx, tenant_id, day):
        return None  # the morning publication comes first
    out = publish(ctx, tenant_id, day, "changed")
    ctx.marks[mark] = None if out["emails_held"] else latest
    if not (out["manifests"] or out["flightplan"] or out["emails"]):
        return None
    return {"date": day.isoformat(), **out}


def last_event_id(ctx: Dispatcher, tenant_id: str) -> int | None:
    """The newest event of a tenant: every change of state records one."""
    with Session(ctx.engine) as session:
        return session.exec(select(func.max(Event.id)).where(Event.tenant_id == tenant_id)).one()


def jobs(ctx: Dispatcher, cfg: TenantConfig) -> list[JobSpec]:
    tz = cfg.tz
    before = cfg.publishing.morning_minutes_before
    mornings: dict[time, list[str]] = {}
    for day in WEEKDAYS:
        h = cfg.service_hours.get(day)
        if h is not None:
            mornings.setdefault(minus(h.start, before), []).append(day)
    crons = [
        CronTrigger(day_of_week=",".join(days), hour=t.hour, minute=t.minute, timezone=tz)
        for t, days in mornings.items()
    ]
    return [
        JobSpec(
            "publish-morning",
            crons[0] if len(crons) == 1 else OrTrigger(crons),
            timedelta(hours=12),
            run_publish_morning,
            "; ".join(f"{t:%H:%M} on {','.join(days)}" for t, days in mornings.items()),
        ),
        JobSpec(
            "publish-changes",
            every(tz, minutes=1),
            timedelta(hours=1),
            run_publish_changes,
            "every minute after the morning publication",
        ),
    ]
