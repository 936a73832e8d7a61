"""Building a dispatcher from the settings: engine, migrations, clock and the tenant files."""

from __future__ import annotations

import logging
from typing import Literal

from sqlmodel import select

import dispatcher.shopping  # noqa: F401  (registers the freight cargo handler with rides)
from dispatcher.clock import Clock
from dispatcher.context import Dispatcher
from dispatcher.db import make_engine, migrate, session_scope
from dispatcher.identity import passwords
from dispatcher.models import Tenant
from dispatcher.settings import Settings
from dispatcher.tenant_config import load_tenants
from dispatcher.tenants import plan_changes, sync_tenant

log = logging.getLogger(__name__)


def build_dispatcher(
    settings: Settings, clock: Clock | None = None, sync: bool | Literal["missing", "if_empty"] = True
) -> Dispatcher:
    """Engine, clock and tenant registry from the settings; migrates the database and loads every
    tenant file NORIAI_TENANT_FILE names (one file, a folder, or a list: `tenant_paths`).

    Every file is validated before any is stored: a problem raises TenantConfigError naming the
    file. sync=False (commands that change tenants themselves, such as `noriai tenant apply`)
    leaves the database's tenants as they are and only notes where each file is; sync="missing"
    (`noriai seed-demo`) stores only the towns the database does not have yet, so it never undoes
    a `noriai tenant apply` of a file kept elsewhere; sync="if_empty" (a server whose
    NORIAI_TENANT_FILE is the default, the demo towns) stores them only into a database that holds
    no town at all, so a production database never gains the demo towns by accident."""
    # the process's argon2 cost and cap on concurrent password and PIN checks (per process)
    passwords.configure(
        passwords.Cost(settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism),
        settings.sign_in_concurrency,
    )
    engine = make_engine(
        settings.database_url,
        statement_timeout_s=settings.db_statement_timeout_seconds,
        connect_timeout_s=settings.db_connect_timeout_seconds,
    )
    migrate(engine)
    ctx = Dispatcher(
        engine=engine,
        clock=clock or settings.clock(),
        cache_dir=settings.cache_dir,
        token_hours=settings.token_hours,
        reoptimize_minutes=settings.reoptimize_minutes,
        solver_seconds=settings.reoptimize_seconds_limit,
        mail=settings.mail(),
        public_url=settings.public_url or f"http://{settings.host}:{settings.port}",
        webhook_allow_hosts=settings.webhook_hosts(),
        webhook_ca_file=settings.webhook_ca_file or None,
    )
    loaded = load_tenants(settings.tenant_file)
    for path, cfg in loaded:
        ctx.tenant_files[cfg.id] = path
    if sync == "if_empty":
        with session_scope(engine) as session:
            sync = session.exec(select(Tenant.id).limit(1)).first() is None
    if sync:
        now = ctx.clock.now()
        with session_scope(engine) as session:
            for path, cfg in loaded:
                if sync == "missing" and session.get(Tenant, cfg.id) is not None:
                    continue
                changes = plan_changes(session, cfg)
                if not changes.empty:
                    log.info("tenant file %s: %s", path, "; ".join(changes.lines()))
                sync_tenant(session, cfg, now)
    return ctx
