"""What every dispatcher operation needs: the database, the clock and each tenant's rules."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from dispatcher.clock import Clock
from dispatcher.errors import Code, InvalidRequest, NotFound, field_error
from dispatcher.mailer import MailSettings
from dispatcher.models import Tenant, TravelMargin
from dispatcher.tenant_config import TenantConfig, osm_path, parse_tenant
from routing.margin import Cell, planning_margins
from routing.roadnetwork import RoadNetwork
from routing.traveltime import Padded, StraightLine, TravelTimes

CONFIG_RECHECK_SECONDS = 2.0  # how stale a process's copy of a tenant's rules may be (real seconds)


@dataclass
class _Cached:
    """A tenant's rules as parsed from `tenant.config` at `version`; `checked` is when (monotonic
    seconds) the version was last compared with the database."""

    config: TenantConfig
    version: int
    checked: float


@dataclass
class _Planning:
    """A tenant's planning model, the rules and learned-margin stamp it was built from, and when
    (monotonic seconds) the stamp was last compared with the database."""

    model: Padded
    config: TenantConfig
    stamp: datetime | None
    checked: float


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
    # webhooks: hosts (as written in URLs) that may be non-public, and a partner CA to trust
    webhook_allow_hosts: frozenset[str] = frozenset()
    webhook_ca_file: str | None = None
    on_change: Callable[[str], None] | None = None
    tenant_files: dict[str, Path] = field(default_factory=dict)
    views: dict[tuple[str, object], object] = field(default_factory=dict)  # plan.LiveView by (tenant, day)
    # what a periodic job last saw, by (tenant, job, day): it skips its work while nothing changed
    marks: dict[tuple[str, str, object], object] = field(default_factory=dict)
    config_recheck_seconds: float = CONFIG_RECHECK_SECONDS
    _configs: dict[str, _Cached] = field(default_factory=dict)
    _travel: dict[str, TravelTimes] = field(default_factory=dict)  # road models
    _planning: dict[str, _Planning] = field(default_factory=dict)  # road models with the margin
    # asks for an immediate re-optimization (after_change) and the one run that serves them
    reoptimize_asked: threading.Event = field(default_factory=threading.Event)
    reoptimizing: threading.Lock = field(default_factory=threading.Lock)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def config(self, tenant_id: str, session: Session | None = None) -> TenantConfig:
        """The tenant's validated configuration, cached in this process.

        A changed tenant (`noriai tenant apply` in another process) is noticed without a restart:
        at most every `config_recheck_seconds` one primary-key read of `tenant.config_version`; when
        it moved, the configuration is parsed again and the travel model and plan views built from
        the old one are dropped (see `forget`)."""
        cached = self._configs.get(tenant_id)
        now = time.monotonic()
        if cached is not None and now - cached.checked < self.config_recheck_seconds:
            return cached.config
        if session is None:
            with Session(self.engine) as s:
                return self._load(tenant_id, s, cached, now)
        return self._load(tenant_id, session, cached, now)

    def _load(self, tenant_id: str, session: Session, cached: _Cached | None, now: float) -> TenantConfig:
        if cached is not None:
            version = session.exec(select(Tenant.config_version).where(col(Tenant.id) == tenant_id)).first()
            if version == cached.version:
                cached.checked = now
                return cached.config
        tenant = session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound(f"unknown tenant {tenant_id}", code=Code.tenant_unknown)
        cfg = parse_tenant(tenant.config)
        if cached is not None:
            self.forget(tenant_id)
        with self._lock:
            self._configs[tenant_id] = _Cached(cfg, tenant.config_version, now)
        return cfg

    def tenants(self) -> list[tuple[str, str]]:
        """(id, name) of every municipality in the database, by id."""
        with Session(self.engine) as s:
            return [(t, n) for t, n in s.exec(select(Tenant.id, Tenant.name).order_by(col(Tenant.id)))]

    def default_tenant(self) -> str:
        """The tenant a page or command serves when none is named: the only one there is (in the
        database, where `noriai tenant apply` may have added towns since the start)."""
        with Session(self.engine) as s:
            ids = list(s.exec(select(Tenant.id)))
        if len(ids) == 1:
            return ids[0]
        if not ids and len(self.tenant_files) == 1:
            return next(iter(self.tenant_files))
        raise InvalidRequest(
            "This server serves several municipalities; name one.",
            [field_error("tenant_id", "is required", code=Code.field_required)],
        )

    def forget(self, tenant_id: str) -> None:
        """Drop what this process built from a tenant's configuration (its rules, travel model and
        plan views) after the configuration changed."""
        with self._lock:
            self._configs.pop(tenant_id, None)
            self._travel.pop(tenant_id, None)
            self._planning.pop(tenant_id, None)
            for key in [k for k in self.views if k[0] == tenant_id]:
                self.views.pop(key, None)

    def after_change(self, tenant_id: str) -> None:
        """Tell whoever listens (the scheduler) that a tenant's plan lost stops."""
        if self.on_change is not None:
            self.on_change(tenant_id)

    def travel(self, tenant_id: str, session: Session | None = None) -> TravelTimes:
        """The tenant's planning model: the road model's driving times plus the travel margin
        (`routing.margin`, learned by `dispatcher.rides.margin`). Quotes, bookings,
        re-optimization, the schedule checks and the drivers' retiming all use this one model, so
        a promise made is one the plan can keep.

        Learned margins change at night; like the rules, they are re-read at most every
        `config_recheck_seconds` (one aggregate read), and the day's plan views built with the old
        margins are dropped when they changed.

        A caller inside a transaction passes its `session`: the read then uses that connection, and
        a writer holding the tenant's lock never waits for a second connection from a pool the
        writers queued behind it have taken (on SQLite, 20 simultaneous bookings stalled 30 s)."""
        now = time.monotonic()
        cached = self._planning.get(tenant_id)
        if cached is not None and now - cached.checked < self.config_recheck_seconds:
            return cached.model
        if session is None:
            with Session(self.engine) as s:
                return self._plan_model(tenant_id, s, cached, now)
        return self._plan_model(tenant_id, session, cached, now)

    def _plan_model(self, tenant_id: str, s: Session, cached: _Planning | None, now: float) -> TravelTimes:
        """`travel`'s reading and building, on the given session."""
        cfg = self.config(tenant_id, s)
        stamp = s.exec(
            select(func.max(TravelMargin.updated_at)).where(TravelMargin.tenant_id == tenant_id)
        ).one()
        if cached is not None and cached.stamp == stamp and cached.config is cfg:
            cached.checked = now
            return cached.model
        rows = s.exec(select(TravelMargin).where(TravelMargin.tenant_id == tenant_id))
        cells = [Cell(r.hour, r.band, r.weight, list(r.histogram)) for r in rows]
        margins = planning_margins(cfg.travel_time.margin, cells)
        model = Padded(self.road(tenant_id), margins)
        with self._lock:
            if cached is not None:  # plans in memory were timed with the old margins
                for key in [k for k in self.views if k[0] == tenant_id]:
                    self.views.pop(key, None)
            self._planning[tenant_id] = _Planning(model, cfg, stamp, now)
        return model

    def road(self, tenant_id: str) -> TravelTimes:
        """The tenant's road model (straight line or road network) without margin, built once: what
        a drive takes on a clear road. For distances, maps and measuring drivers' reports."""
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
