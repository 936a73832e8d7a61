"""Scenarios: the same simulated demand replayed under different service designs.

- day: the tenant as configured (its numbers, day by day);
- fleet: fleet sizes (vehicles taken from the tenant's operators in turn, or copies of them added
  in turn), served share and cost per ride for each;
- window: pickup window widths promised to residents (minutes);
- reoptimize: the scheduler's re-optimization interval (minutes; 0 = insertion only);
- bus: the configured day, with the fixed-route bus baseline on the same trips.

Each variant runs in its own fresh database with the same seed, so residents, demand and weather
are the same and only the design differs.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import make_engine, migrate
from dispatcher.tenant_config import TenantConfig, parse_tenant
from dispatcher.timeline import at_local
from simulations.metrics import summarize
from simulations.replay import DayRecord, ReplayOptions, prepare, replay

SCENARIOS = ("day", "fleet", "window", "reoptimize", "bus")


@dataclass(frozen=True)
class Run:
    """What to simulate: tenant, first day, number of days, seed, residents, replay options."""

    cfg: TenantConfig
    tenant_file: Path | None
    start: date
    days: int
    seed: int
    residents: int
    options: ReplayOptions
    database_url: str | None = None
    hourly: bool = False  # report progress every simulated hour (long city-scale days)


def with_fleet(cfg: TenantConfig, size: int) -> TenantConfig:
    """The tenant with `size` vehicles: its own taken from the operators in turn, then copies."""
    data = cfg.model_dump(mode="json", by_alias=True)
    ops = data["operators"]
    order: list[tuple[int, dict[str, Any]]] = []
    for k in range(max(len(o["vehicles"]) for o in ops)):
        order += [(i, o["vehicles"][k]) for i, o in enumerate(ops) if k < len(o["vehicles"])]
    chosen = [order[k % len(order)] for k in range(size)]
    for o in ops:
        o["vehicles"] = []
    for k, (i, v) in enumerate(chosen):
        copy = dict(v)
        if k >= len(order):
            copy["id"] = f"{v['id']}-x{k // len(order)}"
            copy["name"] = f"{v.get('name') or v['id']}（増車{k // len(order)}）"
        ops[i]["vehicles"].append(copy)
    data["operators"] = [o for o in ops if o["vehicles"]]
    return parse_tenant(data)


def with_window(cfg: TenantConfig, minutes: int) -> TenantConfig:
    data = cfg.model_dump(mode="json", by_alias=True)
    data["booking"]["pickup_window_minutes"] = minutes
    return parse_tenant(data)


def fleet_size(cfg: TenantConfig) -> int:
    return sum(len(o.vehicles) for o in cfg.operators)


def default_values(scenario: str, cfg: TenantConfig) -> list[float]:
    """The variants a scenario compares unless others are given."""
    if scenario == "fleet":
        n = fleet_size(cfg)
        return sorted({max(1, round(n * f)) for f in (0.5, 0.75, 1.0, 1.25, 1.5)})
    if scenario == "window":
        return [10, 15, 20, 30]
    if scenario == "reoptimize":
        return [0, 2, 5, 15]
    return [0]


def simulate_one(
    run: Run,
    cfg: TenantConfig,
    opt: ReplayOptions,
    progress: Callable[[DayRecord], None] | None,
    hourly: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """One variant in a fresh database; returns its summary."""
    with tempfile.TemporaryDirectory() as tmp:
        url = run.database_url or f"sqlite:///{Path(tmp) / 'simulation.db'}"
        engine = make_engine(url)
        if engine.dialect.name == "sqlite":  # a throwaway database: no need to wait for the disk

            @event.listens_for(engine, "connect")
            def _fast(dbapi_conn: sqlite3.Connection, _record: object) -> None:
                dbapi_conn.execute("PRAGMA synchronous=OFF")

        migrate(engine)
        clock = SimClock(at_local(run.start, time(5, 0), cfg.tz))
        files = {cfg.id: run.tenant_file} if run.tenant_file is not None else {}
        ctx = Dispatcher(engine=engine, clock=clock, tenant_files=files)
        try:
            world = prepare(ctx, clock, cfg, run.residents, run.seed)
            result = replay(world, run.start, run.days, run.seed, opt, progress, hourly)
            return summarize(ctx, result)
        finally:
            engine.dispose()


def simulate(
    run: Run, scenario: str, values: list[float] | None = None, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run a scenario's variants; returns every variant's summary and the comparison table."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    if run.database_url is not None and scenario in ("fleet", "window", "reoptimize"):
        raise ValueError(
            f"the {scenario} scenario runs each variant in its own SQLite file; leave out --database-url"
        )
    values = values or default_values(scenario, run.cfg)
    variants = []
    started = datetime.now()
    for value in values:
        cfg, opt, label = run.cfg, run.options, "as configured"
        if scenario == "fleet":
            cfg, label = with_fleet(run.cfg, int(value)), f"{int(value)} vehicles"
        elif scenario == "window":
            cfg, label = with_window(run.cfg, int(value)), f"{int(value)} min window"
        elif scenario == "reoptimize":
            opt = replace(opt, reoptimize_minutes=float(value))
            label = "insertion only" if value == 0 else f"every {value:g} min"

        def day_done(d: DayRecord, label: str = label) -> None:
            if progress is not None:
                progress(
                    f"{label}: {d.day} {d.weather.kind}, {d.trips} outward trips, {d.wall_seconds:.1f} s"
                )

        summary = simulate_one(run, cfg, opt, day_done, progress if run.hourly else None)
        variants.append({"label": label, "value": value, "summary": summary})
    return {
        "scenario": scenario,
        "tenant": run.cfg.id,
        "tenant_name": run.cfg.name,
        "from": run.start.isoformat(),
        "days": run.days,
        "seed": run.seed,
        "residents": run.residents,
        "options": {
            "reoptimize_minutes": run.options.reoptimize_minutes,
            "solver_iterations": run.options.solver_iterations,
            "noise_sigma": run.options.noise_sigma,
            "requests_per_day": run.options.requests_per_day,
            "weather": run.options.weather,
        },
        "costs": run.cfg.simulation.costs.model_dump(),
        "variants": variants,
        "table": table(variants),
        "started_at": started.isoformat(timespec="seconds"),
    }


TABLE_COLUMNS = (
    ("variant", "variant"),
    ("vehicles", "vehicles"),
    ("trips asked", "demand.eligible_trips"),
    ("served", "demand.served"),
    ("served share", "demand.served_share"),
    ("sharing rate", "ridership.sharing_rate"),
    ("on-time pickups", "ridership.on_time_rate"),
    ("wait p50 (min)", "distributions.wait_minutes.p50"),
    ("wait p90 (min)", "distributions.wait_minutes.p90"),
    ("ride p50 (min)", "distributions.ride_minutes.p50"),
    ("vehicle-hours", "costs.contracted_vehicle_hours"),
    ("vehicle-hours driven", "ridership.vehicle_hours"),
    ("km", "ridership.km"),
    ("cost per ride (yen)", "costs.cost_per_ride_yen"),
    ("net of fares (yen)", "costs.net_cost_per_ride_yen"),
)


def _get(d: dict[str, Any], path: str) -> Any:
    node: Any = d
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def table(variants: list[dict[str, Any]]) -> dict[str, Any]:
    """One row per variant with the columns a municipality compares."""
    rows = []
    for v in variants:
        row = {"variant": v["label"]}
        for title, path in TABLE_COLUMNS[1:]:
            row[title] = _get(v["summary"], path)
        rows.append(row)
    return {"columns": [t for t, _ in TABLE_COLUMNS], "rows": rows}
