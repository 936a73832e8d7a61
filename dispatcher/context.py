"""What every dispatcher operation needs: the database, the clock and each tenant's rules."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from dispatcher.clock import Clock
from dispatcher.errors import Code, InvalidRequest, NotFound, field_error
from dispatcher.mailer import MailSettings
from dispatcher.models import Tenant
from dispatcher.tenant_config import TenantConfig, osm_path, parse_tenant
from routing.roadnetwork import RoadNetwork
from routing.traveltime import StraightLine, TravelTimes


@dataclass
class Dispatcher:
    """The dispatcher's shared state: engine, clock and caches of tenant rules and travel models.

    tenant_files: where each tenant's configuration came from (to resolve an OSM file path).
    """

    engine: Engine
    clock: Clock
    cache_dir: Path | None = None
    token_hours: float = 12.0
    reoptimize_minutes: float = 5.0  # the scheduler's re-optimization interval
    solver_seconds: float = 5.0  # time limit of one scheduled re-optimization
    solver_iterations: int | None = None  # instead of the time limit: a fixed search (repeatable runs)
    mail: MailSettings | None = None  # the SMTP server (None: e-mail is not configured)
    public_url: str = "http://127.0.0.1:8000"  # where people reach this server (links in e-mails)
    on_change: Callable[[str], None] | None = None
    tenant_files: dict[str, Path] = field(default_factory=dict)
    views: dict[tuple[str, object], object] = field(default_factory=dict)  # plan.LiveView by (tenant, day)
    # what a periodic job last saw, by (tenant, job, day): it skips its work while nothing changed
    marks: dict[tuple[str, str, object], object] = field(default_factory=dict)
    _configs: dict[str, TenantConfig] = field(default_factory=dict)
    _travel: dict[str, TravelTimes] = field(default_factory=dict)
    # asks for an immediate re-optimization (after_change) and the one run that serves them
    reoptimize_asked: threading.Event = field(default_factory=threading.Event)
    reoptimizing: threading.Lock = field(default_factory=threading.Lock)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def config(self, tenant_id: str, session: Session | None = None) -> TenantConfig:
        """The tenant's validated configuration (cached)."""
        cfg = self._configs.get(tenant_id)
        if cfg is not None:
            return cfg
        if session is None:
            with Session(self.engine) as s:
                return self.config(tenant_id, s)
        tenant = session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound(f"unknown tenant {tenant_id}", code=Code.tenant_unknown)
        cfg = parse_tenant(tenant.config)
        with self._lock:
            self._configs[tenant_id] = cfg
        return cfg

    def default_tenant(self) -> str:
        """The tenant a page serves when none is named: the one this server was started with."""
        if len(self.tenant_files) == 1:
            return next(iter(self.tenant_files))
        with Session(self.engine) as s:
            ids = list(s.exec(select(Tenant.id)))
        if len(ids) == 1:
            return ids[0]
        raise InvalidRequest(
            "This server serves several municipalities; name one.",
            [field_error("tenant_id", "is required", code=Code.field_required)],
        )

    def forget(self, tenant_id: str) -> None:
        """Drop cached rules after the tenant's configuration changed."""
        with self._lock:
            self._configs.pop(tenant_id, None)
            self._travel.pop(tenant_id, None)

    def after_change(self, tenant_id: str) -> None:
        """Tell whoever listens (the scheduler) that a tenant's plan lost stops."""
        if self.on_change is not None:
            self.on_change(tenant_id)

    def travel(self, tenant_id: str) -> TravelTimes:
        """The tenant's travel-time model (straight line or road network), built once."""
        model = self._travel.get(tenant_id)
        if model is not None:
            return model
        cfg = self.config(tenant_id)
        tt = cfg.travel_time
        path = osm_path(cfg, self.tenant_files.get(tenant_id))
        if path is not None:
            model = RoadNetwork(path, cache_dir=self.cache_dir)
        else:
            base = StraightLine.for_profile(tt.profile)
            model = StraightLine(
                speed_kmh=tt.speed_kmh or base.speed_kmh, circuity=tt.circuity or base.circuity
            )
        with self._lock:
            self._travel[tenant_id] = model
        return model
