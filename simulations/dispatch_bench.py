"""`noriai bench dispatch`: quote latency of the booking path at fleet scale.

A generated town (the demo's area and places, `vehicles` taxis spread over its three operators)
takes `bookings` requests one by one through `dispatcher.rides.booking.book` — the very quote-and-commit
path of `POST /api/v1/rides`, in process, with a real database. Every request is booked before
service starts for a pickup during the day, so each quote searches the whole day's pending plan
(the heaviest case). Prints the latency distribution and the share confirmed, and checks the
final plan with the exact checker.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import make_engine, migrate, session_scope
from dispatcher.models import Resident
from dispatcher.platform.demo import generate_residents
from dispatcher.residents.eligibility import categories_on
from dispatcher.rides.booking import Location, RideRequest, book
from dispatcher.rides.plan import build_problem, current_plan
from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import TenantConfig, parse_tenant
from dispatcher.tenants import sync_tenant
from routing.schedule import check
from simulations.metrics import peak_memory_mib

START = "2026-11-24T07:30:00+09:00"  # a Tuesday, before service


def bench_tenant(vehicles: int) -> TenantConfig:
    """The demo municipality with `vehicles` taxis over its three operators."""
    data: dict[str, Any] = yaml.safe_load(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    data["id"], data["name"] = "bench-town", "ベンチマーク市"
    ops = data["operators"]
    depots = [op["vehicles"][0]["depot"] for op in ops]
    for op in ops:
        op["vehicles"] = []
    for k in range(vehicles):
        op = ops[k % len(ops)]
        chair = k % 10 == 3
        op["vehicles"].append(
            {
                "id": f"{op['id']}-{k + 1}",
                "name": f"{k + 1}号",
                "seats": 3 if chair else 4,
                "wheelchair_places": 1 if chair else 0,
                "depot": depots[k % len(ops)],
                "shift": {"start": "07:45", "end": "17:30"},
            }
        )
    return parse_tenant(data)


@dataclass
class DispatchBench:
    latencies: list[float]  # every booking's answer time (s)
    refusals: list[float]  # those of the refused ones (s): a vehicle searched for in vain
    confirmed: int
    refused: int
    invalid: int
    plan_ok: bool
    vehicles: int
    wall_seconds: float = 0.0  # the whole run, set-up included


def run(vehicles: int, bookings: int, seed: int, database_url: str | None = None) -> DispatchBench:
    rng = random.Random(seed)
    wall0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        migrate(engine)
        clock = SimClock(datetime.fromisoformat(START))
        ctx = Dispatcher(engine=engine, clock=clock)
        cfg = bench_tenant(vehicles)
        today = clock.now().astimezone(cfg.tz).date()
        with session_scope(engine) as s:
            sync_tenant(s, cfg, clock.now())
            s.flush()
            for hh, members in generate_residents(cfg, max(300, bookings), seed, today):
                s.add(hh)
                s.flush()
                for m in members:
                    m.household_id = hh.id
                    s.add(m)
        with Session(engine) as s:
            residents = [
                r
                for r in s.exec(select(Resident).where(Resident.tenant_id == cfg.id))
                if categories_on(r, cfg, today) & set(cfg.eligibility.any_of)
            ]
        places = [p for p in cfg.places]
        latencies: list[float] = []
        refusals: list[float] = []
        counts = {"confirmed": 0, "refused": 0, "invalid": 0}
        day_start = clock.now().replace(second=0, microsecond=0)
        for _ in range(bookings):
            res = rng.choice(residents)
            place = rng.choice(places)
            home = Location(lat=res.lat, lon=res.lon)
            there = Location(place_id=place.id)
            origin, dest = (home, there) if rng.random() < 0.6 else (there, home)
            pickup = day_start + timedelta(minutes=rng.uniform(45, 510))
            req = RideRequest(
                resident_id=res.id,
                origin=origin,
                destination=dest,
                pickup_after=pickup,
                party_size=rng.choices([1, 2, 3], [0.85, 0.12, 0.03])[0],
                wheelchair=res.wheelchair,
            )
            t0 = time.perf_counter()
            try:
                out = book(ctx, cfg.id, req, str(uuid.uuid4()), "bench")
                counts["confirmed" if out.ride.status == "confirmed" else "refused"] += 1
                if out.ride.status != "confirmed":
                    refusals.append(time.perf_counter() - t0)
            except Exception as e:  # bad input for a generated rider (e.g. same place twice), or a
                # second ride of one generated rider at an overlapping time (ride.overlaps, 409)
                overlap = str(getattr(e, "code", "")) in ("ride.overlaps", "ride.duplicate")
                if getattr(e, "status", None) != 422 and not overlap:
                    raise
                counts["invalid"] += 1
                continue
            finally:
                latencies.append(time.perf_counter() - t0)
        with Session(engine) as s:
            state = current_plan(s, cfg.id, today)
            problem = build_problem(ctx, s, cfg, today, state, clock.now())
        plan_ok = all(check(r.vehicle, r.stops, problem.travel).feasible for r in problem.routes)
        engine.dispose()
    return DispatchBench(
        latencies,
        refusals,
        counts["confirmed"],
        counts["refused"],
        counts["invalid"],
        plan_ok,
        vehicles,
        time.perf_counter() - wall0,
    )


def report(b: DispatchBench) -> str:
    lat = sorted(b.latencies)
    q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] * 1000  # noqa: E731
    answered = b.confirmed + b.refused
    return (
        f"{len(lat)} bookings on {b.vehicles} vehicles: confirmed {b.confirmed} "
        f"({100 * b.confirmed / max(1, answered):.1f}% of valid requests), refused {b.refused}, "
        f"invalid {b.invalid}\n"
        f"quote latency: p50 {q(0.5):.0f} ms, p95 {q(0.95):.0f} ms, max {lat[-1] * 1000:.0f} ms, "
        f"mean {statistics.mean(lat) * 1000:.0f} ms\n"
        + (
            f"refusals' answer time (a vehicle searched for in vain): median "
            f"{statistics.median(b.refusals) * 1000:.0f} ms, max {max(b.refusals) * 1000:.0f} ms\n"
            if b.refusals
            else ""
        )
        + f"final plan accepted by the checker: {'yes' if b.plan_ok else 'NO'}\n"
        f"peak memory {peak_memory_mib()} MiB; wall time {b.wall_seconds:.0f} s"
    )
