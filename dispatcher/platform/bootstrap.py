"""Building a dispatcher from the settings: engine, migrations, clock and the tenant file."""

from __future__ import annotations

from datetime import datetime

import dispatcher.shopping  # noqa: F401  (registers the freight cargo handler with rides)
from dispatcher.clock import Clock
from dispatcher.context import Dispatcher
from dispatcher.db import make_engine, migrate, session_scope
from dispatcher.settings import Settings
from dispatcher.tenant_config import load_tenant
from dispatcher.tenants import sync_tenant


def build_dispatcher(settings: Settings, clock: Clock | None = None) -> Dispatcher:
    """Engine, clock and tenant registry from the settings; migrates and loads the tenant file."""
    engine = make_engine(settings.database_url)
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
    )
    cfg = load_tenant(settings.tenant_file)
    ctx.tenant_files[cfg.id] = settings.tenant_file
    now: datetime = ctx.clock.now()
    with session_scope(engine) as session:
        sync_tenant(session, cfg, now)
    return ctx
