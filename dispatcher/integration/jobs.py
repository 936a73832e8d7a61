"""Integration's scheduled job: every 30 s, deliver the webhooks and e-mails that are due (on its
own lane, so that a slow partner cannot hold up the dispatch jobs)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dispatcher.context import Dispatcher
from dispatcher.integration.outbox import deliver_due
from dispatcher.jobs import JobSpec, every
from dispatcher.tenant_config import TenantConfig


def run_outbox(ctx: Dispatcher, tenant_id: str, due: datetime) -> dict[str, Any] | None:
    counts = deliver_due(ctx, tenant_id)
    return counts if any(counts.values()) else None


def jobs(ctx: Dispatcher, cfg: TenantConfig) -> list[JobSpec]:
    return [
        JobSpec(
            "outbox", every(cfg.tz, seconds=30), timedelta(hours=1), run_outbox, "every 30 s", lane="outbox"
        )
    ]
