"""`noriai tenant apply`: check a tenant file, say what it changes, then store it.

A server that is running notices the stored change within a few seconds (`tenant.config_version`,
read by `Dispatcher.config`) and reloads the rules, travel model and plan views it holds: no
restart. A new municipality is reachable at once on its own pages (/t/<id>/...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from dispatcher.db import session_scope
from dispatcher.events import record
from dispatcher.tenant_config import TenantConfig, load_tenant, osm_path
from dispatcher.tenants import TENANT_APPLIED, TenantChanges, plan_changes, sync_tenant


@dataclass(frozen=True)
class Applied:
    """A tenant file checked against the stored tenant; `applied` is False for a dry run."""

    path: Path
    config: TenantConfig
    changes: TenantChanges
    applied: bool


def apply_tenant_file(
    engine: Engine, path: Path, now: datetime, actor: str = "user:cli", dry_run: bool = False
) -> Applied:
    """Validate the file (TenantConfigError with every problem), compute what changes against the
    stored tenant and, unless `dry_run`, store it all in one transaction with its events
    (`tenant.applied` naming the file and the changes, besides `sync_tenant`'s own)."""
    cfg = load_tenant(path)
    osm = osm_path(cfg, path)
    if osm is not None and str(osm) != cfg.travel_time.file:
        # stored with the absolute path: a server resolves no path against a file it never read
        cfg = cfg.model_copy(
            update={"travel_time": cfg.travel_time.model_copy(update={"file": str(osm.resolve())})}
        )
    with session_scope(engine) as session:
        changes = plan_changes(session, cfg)
        if dry_run:
            session.rollback()
            return Applied(path, cfg, changes, applied=False)
        sync_tenant(session, cfg, now, actor)
        record(
            session,
            cfg.id,
            now,
            actor,
            TENANT_APPLIED,
            "tenant",
            cfg.id,
            after={"file": str(path), "changes": changes.lines() if not changes.empty else []},
        )
    return Applied(path, cfg, changes, applied=True)
