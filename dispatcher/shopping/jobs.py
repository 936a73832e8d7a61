"""Shopping's scheduled job: at the cut-off of a delivery day, lock the orders and plan the
deliveries (flights, taxi freight, car runs). Runs once a day: a day planned already is left."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlmodel import Session, select

from dispatcher.context import Dispatcher
from dispatcher.jobs import JobSpec
from dispatcher.models import Event
from dispatcher.shopping.delivery import plan_delivery
from dispatcher.shopping.kinds import DELIVERY_PLANNED
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import local_date


def delivery_planned(ctx: Dispatcher, tenant_id: str, day: date) -> bool:
    """Whether the day's delivery was planned already."""
    with Session(ctx.engine) as session:
        return (
            session.exec(
                select(Event.id).where(
                    Event.tenant_id == tenant_id,
                    Event.kind == DELIVERY_PLANNED,
                    Event.entity_id == day.isoformat(),
                )
            ).first()
            is not None
        )


def run_cutoff(ctx: Dispatcher, tenant_id: str, due: datetime) -> dict[str, Any] | None:
    cfg = ctx.config(tenant_id)
    day = local_date(due, cfg.tz)
    if delivery_planned(ctx, tenant_id, day):
        return {"status": "already planned", "date": day.isoformat()}
    summary = plan_delivery(ctx, tenant_id, day, actor="system:cutoff")
    return {"status": "planned", "date": day.isoformat(), "orders": summary.get("orders")}


def jobs(ctx: Dispatcher, cfg: TenantConfig) -> list[JobSpec]:
    if cfg.shopping is None or cfg.drones is None:
        return []
    sh = cfg.shopping
    deadline = datetime.combine(datetime.min, sh.delivery_deadline) - datetime.combine(
        datetime.min, sh.cutoff
    )
    return [
        JobSpec(
            "delivery-cutoff",
            CronTrigger(
                day_of_week=",".join(sh.delivery_days),
                hour=sh.cutoff.hour,
                minute=sh.cutoff.minute,
                timezone=cfg.tz,
            ),
            deadline,
            run_cutoff,
            f"{sh.cutoff:%H:%M} on {','.join(sh.delivery_days)}",
        )
    ]
