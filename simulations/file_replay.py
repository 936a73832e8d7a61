"""`noriai replay`: a day of ride requests read from a file, replayed through the real booking path.

Each row of the file is booked with `booking.book` at its request time on a simulated clock; the
simulated drivers of `simulations.replay.DayReplay` follow the plan (with lognormal noise on the
driving times) and report their stops (and, every `position_minutes`, where they are). Nothing
else of the simulation takes part: no generated demand, no shopping, no cancellations, no
no-shows, and a refused request is not asked again at an alternative time.

The format of the file and of the outputs is in docs/replay.md.
"""

from __future__ import annotations

import csv
import json
import math
import random
import sqlite3
import tempfile
import time as _time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from shapely.geometry import Point as ShapelyPoint
from sqlalchemy import event
from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import id_of, make_engine, migrate, session_scope
from dispatcher.errors import DomainError
from dispatcher.models import Resident, Ride, Vehicle
from dispatcher.reporting.stats import load_facts, ride_figures
from dispatcher.rides.booking import RideRequest, book
from dispatcher.rides.plan import SCHEDULE_TOLERANCE_S, current_plan, service_seconds
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import at_local, iso_local
from routing.geo import Point
from simulations.demand import Trip, Weather
from simulations.metrics import peak_memory_mib, plan_history
from simulations.replay import DayReplay, ReplayOptions, TripOutcome, World, _why, prepare

ACTOR = "replay"
# The columns of a request file (docs/replay.md); pickup_after or arrive_by must be there too.
REQUIRED = ("id", "request_time", "origin_lat", "origin_lon", "dest_lat", "dest_lon", "party_size")
OPTIONAL = ("pickup_after", "arrive_by", "wheelchair", "resident_id")
TEMPLATE_RESIDENTS = 30  # generated residents loaded with the tenant: the registered riders copy one
OUTCOME_COLUMNS = (
    "id",
    "status",
    "reason",
    "ride_id",
    "vehicle",
    "window_start",
    "window_end",
    "latest_arrival",
    "planned_pickup",
    "planned_dropoff",
    "actual_arrival",
    "actual_pickup",
    "actual_dropoff",
    "ride_status",
    "latency_ms",
)
ROUTE_COLUMNS = (
    "date",
    "vehicle",
    "seq",
    "request_id",
    "ride_id",
    "kind",
    "planned_time",
    "actual_time",
    "done",
)


class RequestFileError(Exception):
    """A request file with problems; `problems` holds one message each, naming row and column."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class RequestRow:
    """One request of the file."""

    line: int  # the file's line number (the header is line 1)
    id: str
    request_time: datetime
    origin: Point
    destination: Point
    party_size: int
    pickup_after: datetime | None = None
    arrive_by: datetime | None = None
    wheelchair: bool = False
    resident_id: int | None = None

    @property
    def wanted(self) -> datetime:
        at = self.pickup_after or self.arrive_by
        assert at is not None  # read_requests checks exactly one is given
        return at


def _instant(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError("has no UTC offset (write e.g. 2026-11-24T09:00:00+09:00)")
    return at


def read_requests(path: Path) -> list[RequestRow]:
    """Every row of a request file, checked; RequestFileError lists every problem found."""
    problems: list[str] = []
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as e:
        raise RequestFileError([f"{path}: cannot be read ({e.strerror})"]) from None
    rows: list[RequestRow] = []
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise RequestFileError([f"{path}: the header lacks column(s) {', '.join(missing)}"])
        if "pickup_after" not in header and "arrive_by" not in header:
            raise RequestFileError([f"{path}: the header needs a pickup_after or an arrive_by column"])
        unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
        if unknown:
            raise RequestFileError([f"{path}: unknown column(s) {', '.join(unknown)}"])
        seen: dict[str, int] = {}
        for raw in reader:
            cells = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            row = _row(path, reader.line_num, cells, seen, problems)
            if row is not None:
                rows.append(row)
    if problems:
        raise RequestFileError(problems)
    if not rows:
        raise RequestFileError([f"{path}: no requests"])
    return rows


def _row(
    path: Path, line: int, cells: dict[str, str], seen: dict[str, int], problems: list[str]
) -> RequestRow | None:
    """One row of the file, or None after adding its problems (one per column) to `problems`."""
    where = f"{path}: line {line}" + (f" (id {cells['id']})" if cells.get("id") else "")
    found: list[str] = []

    def bad(column: str, why: str) -> None:
        found.append(f"{where}, column {column}: {why}")

    def get(column: str, convert: Any, optional: bool = False) -> Any:
        text = cells.get(column, "")
        if text == "":
            if not optional:
                bad(column, "is empty")
            return None
        try:
            return convert(text)
        except ValueError as e:
            bad(column, f"{text!r} {e}" if "offset" in str(e) else f"{text!r} is not {convert.__doc__}")
            return None

    rid = cells.get("id", "")
    if not rid:
        bad("id", "is empty")
    elif len(rid) > 100:
        bad("id", "is longer than 100 characters")
    elif rid in seen:
        bad("id", f"{rid!r} was already used on line {seen[rid]}")
    else:
        seen[rid] = line
    asked = get("request_time", _iso)
    pickup = get("pickup_after", _iso, optional=True)
    arrive = get("arrive_by", _iso, optional=True)
    if cells.get("pickup_after", "") == "" and cells.get("arrive_by", "") == "":
        bad("pickup_after", "give pickup_after or arrive_by")
    elif cells.get("pickup_after", "") and cells.get("arrive_by", ""):
        bad("arrive_by", "give pickup_after or arrive_by, not both")
    coords = {c: get(c, _number) for c in ("origin_lat", "origin_lon", "dest_lat", "dest_lon")}
    for c, v in coords.items():
        limit = 90 if c.endswith("lat") else 180
        if v is not None and not -limit <= v <= limit:
            bad(c, f"{v} is not a {'latitude' if limit == 90 else 'longitude'}")
    party = get("party_size", _count)
    chair = get("wheelchair", _flag, optional=True)
    resident = get("resident_id", _count, optional=True)
    if found:
        problems += found
        return None
    return RequestRow(
        line,
        rid,
        asked,
        Point(coords["origin_lat"], coords["origin_lon"]),
        Point(coords["dest_lat"], coords["dest_lon"]),
        party,
        pickup,
        arrive,
        bool(chair),
        resident,
    )


def _iso(text: str) -> datetime:
    """an ISO 8601 time with its UTC offset (e.g. 2026-11-24T09:00:00+09:00)"""
    return _instant(text)


def _number(text: str) -> float:
    """a number"""
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(text)
    return v


def _count(text: str) -> int:
    """a whole number of at least 1"""
    v = int(text)
    if v < 1:
        raise ValueError(text)
    return v


def _flag(text: str) -> int:
    """0 or 1"""
    if text not in ("0", "1"):
        raise ValueError(text)
    return int(text)


# ------------------------------------------------------------------------------- the replay


@dataclass
class RowOutcome:
    """What the booking answered to one row, and how long it took."""

    status: str  # confirmed | refused | invalid
    reason: str = ""
    ride_id: int | None = None
    latency_ms: float = 0.0


class FileDemand:
    """A demand source (`simulations.replay.DemandSource`) that yields the file's rows: each row
    becomes a trip asked at its request time, for the service day of its wished time."""

    def __init__(self, cfg: TenantConfig, rows: list[RequestRow], riders: dict[str, int]) -> None:
        self.cfg, self.rows, self.riders = cfg, rows, riders

    def day(self, day: date, weather: Weather, seed: int, per_day: float | None = None) -> list[Trip]:
        trips = []
        for r in self.rows:
            if r.wanted.astimezone(self.cfg.tz).date() != day:
                continue
            body: dict[str, Any] = {
                "resident_id": self.riders[r.id],
                "origin": {"lat": r.origin.lat, "lon": r.origin.lon},
                "destination": {"lat": r.destination.lat, "lon": r.destination.lon},
                "party_size": r.party_size,
                "wheelchair": r.wheelchair,
            }
            if r.pickup_after is not None:
                body["pickup_after"] = r.pickup_after.isoformat()
            else:
                assert r.arrive_by is not None
                body["arrive_by"] = r.arrive_by.isoformat()
            trips.append(Trip(r.id, r.request_time, body, "file"))
        return sorted(trips, key=lambda t: t.book_at)


class FileDayReplay(DayReplay):
    """A `DayReplay` whose residents ask once, exactly what the file says: no alternative time is
    taken, nothing is cancelled, everyone comes out."""

    answers: dict[str, RowOutcome]

    def _on_book(self, trip: Trip) -> None:
        trip.tries += 1
        started = _time.perf_counter()
        try:
            booked = book(
                self.ctx, self.tid, RideRequest.model_validate(trip.body), f"replay-{trip.key}", ACTOR
            )
        except DomainError as e:
            ms = (_time.perf_counter() - started) * 1000
            self.answers[trip.key] = RowOutcome("invalid", f"{e.code}: {_why(e)}", None, ms)
            self.outcomes.append(TripOutcome(trip.key, self.day, trip.purpose, "invalid", 1, None, _why(e)))
            return
        ms = (_time.perf_counter() - started) * 1000
        ride = booked.ride
        if ride.status == "confirmed":
            assert ride.id is not None
            self.ride_trip[ride.id] = trip
            self.answers[trip.key] = RowOutcome("confirmed", "", ride.id, ms)
            self.outcomes.append(TripOutcome(trip.key, self.day, trip.purpose, "served", 1, ride.id))
        else:
            self.answers[trip.key] = RowOutcome("refused", ride.refusal_reason or "", ride.id, ms)
            self.outcomes.append(TripOutcome(trip.key, self.day, trip.purpose, "refused", 1, ride.id))


@dataclass
class FileReplayResult:
    """Everything written to the output folder, and the figures for the command to print."""

    summary: dict[str, Any]
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield url or f"sqlite:///{Path(tmp) / 'replay.db'}"


def register_riders(ctx: Dispatcher, world: World, rows: list[RequestRow]) -> dict[str, int]:
    """A resident for every row without a resident_id: a copy of an eligible generated resident
    (same birth date, evidence and household) living at the row's origin, in a wheelchair when the
    row says so. Returns row id -> resident id."""
    out = {r.id: r.resident_id for r in rows if r.resident_id is not None}
    todo = [r for r in rows if r.resident_id is None]
    if not todo:
        return out
    if not world.riders:
        raise RequestFileError(["the tenant has no eligible resident to register riders like"])
    with session_scope(ctx.engine) as s:
        model = s.get(Resident, world.riders[0].id)
        assert model is not None
        made = []
        for r in todo:
            person = Resident(
                tenant_id=model.tenant_id,
                household_id=model.household_id,
                family_name="再生",
                given_name=r.id[:40],
                birth_date=model.birth_date,
                lat=r.origin.lat,
                lon=r.origin.lon,
                evidence=model.evidence,
                wheelchair=r.wheelchair,
                registered_at=model.registered_at,
            )
            s.add(person)
            made.append((r.id, person))
        s.flush()
        out |= {key: id_of(p) for key, p in made}
    return out


def run_file_replay(
    cfg: TenantConfig,
    tenant_file: Path | None,
    rows: list[RequestRow],
    opt: ReplayOptions,
    seed: int = 1,
    database_url: str | None = None,
) -> FileReplayResult:
    """Replay the rows day by day in a fresh (or the given) database; returns the outputs."""
    opt = replace(opt, shopping=False, weather=opt.weather or "fine")
    days = sorted({r.wanted.astimezone(cfg.tz).date() for r in rows})
    wall0 = _time.perf_counter()
    with _database(database_url) as url:
        engine = make_engine(url)
        if engine.dialect.name == "sqlite" and database_url is None:

            @event.listens_for(engine, "connect")
            def _fast(dbapi_conn: sqlite3.Connection, _record: object) -> None:
                dbapi_conn.execute("PRAGMA synchronous=OFF")

        migrate(engine)
        first = min(min(r.request_time for r in rows), at_local(days[0], time(5, 0), cfg.tz))
        clock = SimClock(first)
        files = {cfg.id: tenant_file} if tenant_file is not None else {}
        ctx = Dispatcher(engine=engine, clock=clock, tenant_files=files)
        ctx.reoptimize_minutes = opt.reoptimize_minutes
        ctx.solver_iterations = opt.solver_iterations
        try:
            world = prepare(ctx, clock, cfg, TEMPLATE_RESIDENTS, seed)
            riders = register_riders(ctx, world, rows)
            demand = FileDemand(cfg, rows, riders)
            answers: dict[str, RowOutcome] = {}
            simulated = 0.0
            for day in days:
                rep = FileDayReplay(world, day, seed, opt, demand)
                rep.answers = answers
                rec = rep.run()
                simulated += rec.simulated_seconds
            result = _outputs(ctx, cfg, rows, days, answers)
            result.summary["replay"] = {
                "days": [d.isoformat() for d in days],
                "wall_seconds": round(_time.perf_counter() - wall0, 1),
                "seed": seed,
                "noise_sigma": opt.noise_sigma,
                "reoptimize_minutes": opt.reoptimize_minutes,
                "solver_iterations": opt.solver_iterations,
                "position_minutes": opt.position_minutes,
                "vehicles": len(world.vehicles),
                "peak_memory_mib": peak_memory_mib(),
                "plan_history": {d.isoformat(): plan_history(ctx, cfg.id, d) for d in days},
            }
            return result
        finally:
            engine.dispose()


def _iso_local(at: datetime | None, cfg: TenantConfig) -> str:
    """A CSV cell: the local time with its offset, '' for none."""
    return iso_local(at, cfg.tz) or ""


def _quantile(values: list[float], f: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, math.ceil(f * len(v)) - 1)], 2)


def _outputs(
    ctx: Dispatcher,
    cfg: TenantConfig,
    rows: list[RequestRow],
    days: list[date],
    answers: dict[str, RowOutcome],
) -> FileReplayResult:
    with Session(ctx.engine) as s:
        ids = [a.ride_id for a in answers.values() if a.ride_id is not None]
        rides = {id_of(r): r for r in s.exec(select(Ride).where(col(Ride.id).in_(ids)))} if ids else {}
        vehicles = {id_of(v): v.key for v in s.exec(select(Vehicle).where(Vehicle.tenant_id == cfg.id))}
        plans: dict[date, dict[str, Any]] = {}
        for day in days:
            in_force = current_plan(s, cfg.id, day).routes
            if in_force:
                plans[day] = {str(vid): stops for vid, stops in in_force.items() if stops}
    key_of = {a.ride_id: k for k, a in answers.items() if a.ride_id is not None}
    outcomes = []
    for row in rows:
        a = answers.get(row.id) or RowOutcome("invalid", "not asked (the replay's day ended first)")
        r = rides.get(a.ride_id) if a.ride_id is not None else None
        confirmed = a.status == "confirmed" and r is not None
        outcomes.append(
            {
                "id": row.id,
                "status": a.status,
                "reason": a.reason,
                "ride_id": a.ride_id or "",
                "vehicle": vehicles.get(r.vehicle_id, "") if confirmed and r and r.vehicle_id else "",
                "window_start": _iso_local(r.pickup_window_start if confirmed and r else None, cfg),
                "window_end": _iso_local(r.pickup_window_end if confirmed and r else None, cfg),
                "latest_arrival": _iso_local(r.latest_arrival if confirmed and r else None, cfg),
                "planned_pickup": _iso_local(r.planned_pickup if confirmed and r else None, cfg),
                "planned_dropoff": _iso_local(r.planned_dropoff if confirmed and r else None, cfg),
                "actual_arrival": _iso_local(r.arrived_at if r else None, cfg),
                "actual_pickup": _iso_local(r.picked_up_at if r else None, cfg),
                "actual_dropoff": _iso_local(r.dropped_off_at if r else None, cfg),
                "ride_status": r.status if r else "",
                "latency_ms": round(a.latency_ms, 2),
            }
        )
    routes = []
    for day, plan in plans.items():
        for vid in sorted(plan, key=lambda v: vehicles.get(int(v), v)):
            for seq, stop in enumerate(plan[vid], start=1):
                ride = rides.get(stop["ride_id"])
                actual = None
                if ride is not None:
                    actual = ride.picked_up_at if stop["kind"] == "pickup" else ride.dropped_off_at
                routes.append(
                    {
                        "date": day.isoformat(),
                        "vehicle": vehicles.get(int(vid), vid),
                        "seq": seq,
                        "request_id": key_of.get(stop["ride_id"], ""),
                        "ride_id": stop["ride_id"],
                        "kind": stop["kind"],
                        "planned_time": _iso_local(datetime.fromisoformat(stop["planned_time"]), cfg),
                        "actual_time": _iso_local(actual, cfg),
                        "done": int(bool(stop.get("done"))),
                    }
                )
    return FileReplayResult(_summary(ctx, cfg, days, outcomes, rides), outcomes, routes)


def promises_kept(cfg: TenantConfig, r: Ride) -> dict[str, bool]:
    """Whether what happened kept each promise of a ride, as the planner promised it: the vehicle
    arrived (its `arrived` tap, else the pickup) by the end of the pickup window; the rider arrived
    (the `dropped_off` tap less the alighting minutes: the tap ends the alighting, the promise
    bounds its start) by the latest arrival; the time on board, from the end of boarding (the
    `picked_up` tap) to the start of alighting, stayed within the ride's limit. A time within the
    planner's tolerance (`SCHEDULE_TOLERANCE_S`, s) of its limit counts as kept, as in the plans.
    A step not (yet) done breaks nothing here (`not_completed` counts those rides)."""
    tol = timedelta(seconds=SCHEDULE_TOLERANCE_S)
    came = r.arrived_at or r.picked_up_at
    there = (
        r.dropped_off_at - timedelta(seconds=service_seconds(cfg, r, "dropoff"))
        if r.dropped_off_at is not None
        else None
    )
    on_board = (there - r.picked_up_at).total_seconds() if there and r.picked_up_at else None
    return {
        "pickup": came is None or r.pickup_window_end is None or came <= r.pickup_window_end + tol,
        "arrival": there is None or r.latest_arrival is None or there <= r.latest_arrival + tol,
        "ride_time": on_board is None or on_board <= r.max_ride_seconds + tol.total_seconds(),
    }


def _summary(
    ctx: Dispatcher,
    cfg: TenantConfig,
    days: list[date],
    outcomes: list[dict[str, Any]],
    rides: dict[int, Ride],
) -> dict[str, Any]:
    lat = [float(o["latency_ms"]) for o in outcomes]  # every booking call, whatever it answered
    confirmed = [o for o in outcomes if o["status"] == "confirmed"]
    refused = [o for o in outcomes if o["status"] == "refused"]
    invalid = [o for o in outcomes if o["status"] == "invalid"]
    eligible = len(confirmed) + len(refused)
    facts = load_facts(ctx, cfg.id, days[0], days[-1])
    mine = {int(o["ride_id"]) for o in confirmed}
    passenger = [f for f in facts.rides if f.id in mine]
    fig = ride_figures(passenger, facts.shared, facts.vehicle_days.values())
    done = [f for f in passenger if f.completed and f.picked_up_at and f.dropped_off_at]
    excess = [((f.dropped_off_at - f.picked_up_at).total_seconds() - f.direct_s) / 60 for f in done]  # type: ignore[operator]
    late_pickups, late_dropoffs, long_rides, unfinished = [], [], [], []
    for o in confirmed:
        r = rides[int(o["ride_id"])]
        kept = promises_kept(cfg, r)
        if r.dropped_off_at is None:
            unfinished.append(o["id"])
        if not kept["pickup"]:
            late_pickups.append(o["id"])
        if not kept["arrival"]:
            late_dropoffs.append(o["id"])
        if not kept["ride_time"]:
            long_rides.append(o["id"])
    broken = set(late_pickups) | set(late_dropoffs) | set(long_rides)
    return {
        "tenant": cfg.id,
        "requests": len(outcomes),
        "confirmed": len(confirmed),
        "refused": len(refused),
        "invalid": len(invalid),
        "served_share": round(len(confirmed) / eligible, 4) if eligible else None,
        "served_share_of_all": round(len(confirmed) / len(outcomes), 4) if outcomes else None,
        "booking_latency_ms": {
            "count": len(lat),
            "p50": _quantile(lat, 0.5),
            "p95": _quantile(lat, 0.95),
            "max": round(max(lat), 2) if lat else None,
            "mean": round(sum(lat) / len(lat), 2) if lat else None,
        },
        "completed": fig["trips"],
        "vehicle_km": fig["km"],
        "vehicle_hours": fig["vehicle_hours"],
        "sharing_rate": fig["sharing_rate"],
        "on_time_rate": fig["on_time_rate"],
        "detour_factor": fig["detour_factor"],
        "mean_excess_ride_minutes": round(sum(excess) / len(excess), 2) if excess else None,
        # reports the field data checks flagged (e.g. a position reached faster than driving):
        # left out of km and hours until an operator reviews them
        "flagged_reports": fig["unreviewed_records"],
        "promises": {
            "checked": len(confirmed),
            "kept": len(confirmed) - len(broken | set(unfinished)),
            "pickups_after_window": len(late_pickups),
            "dropoffs_after_latest_arrival": len(late_dropoffs),
            "rides_over_max_ride": len(long_rides),
            "not_completed": len(unfinished),
            "late_ids": sorted(broken),
            "not_completed_ids": unfinished,
        },
    }


def write_outputs(result: FileReplayResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, cols, items in (
        ("outcomes.csv", OUTCOME_COLUMNS, result.outcomes),
        ("routes.csv", ROUTE_COLUMNS, result.routes),
    ):
        with (out / name).open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(cols))
            w.writeheader()
            w.writerows(items)
    (out / "summary.json").write_text(
        json.dumps(result.summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


# ---------------------------------------------------------------------------- the generator


def generate_requests(cfg: TenantConfig, n: int, day: date, seed: int) -> list[dict[str, str]]:
    """`n` requests of one service day spread over the tenant's service area (uniform points at
    least 1 km apart, a quarter to or from one of its places), asked 15 to 90 minutes (and never
    less than the booking lead plus 5) ahead, one in seven as an arrive-by; rows as written to a
    request file."""
    hours = cfg.hours_on(day)
    if hours is None:
        raise ValueError(f"{cfg.id} has no service on {day}")
    rng = random.Random(f"{seed}:{day.isoformat()}:requests")
    tz = cfg.tz
    area = cfg.area_shape()
    minx, miny, maxx, maxy = area.bounds
    opens, closes = at_local(day, hours.start, tz), at_local(day, hours.end, tz)
    lead = cfg.booking.min_lead_minutes + 5
    last = closes - timedelta(minutes=60)

    def spot() -> Point:
        while True:
            lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if area.covers(ShapelyPoint(lon, lat)):
                return Point(round(lat, 5), round(lon, 5))

    out = []
    for k in range(n):
        a = spot()
        while True:
            b = spot()
            if rng.random() < 0.25 and cfg.places:
                p = rng.choice(cfg.places)
                b = Point(p.lat, p.lon)
            if math.dist((a.lat, a.lon), (b.lat, b.lon)) > 0.01:
                break
        if rng.random() < 0.5:
            a, b = b, a
        want = opens + timedelta(minutes=10 + rng.uniform(0, (last - opens).total_seconds() / 60 - 10))
        want = want.replace(second=0, microsecond=0)
        asked = max(opens - timedelta(minutes=30), want - timedelta(minutes=rng.uniform(lead, max(lead, 90))))
        asked = asked.replace(microsecond=0)
        row = {
            "id": f"r{k + 1:05d}",
            "request_time": asked.isoformat(),
            "pickup_after": "",
            "arrive_by": "",
            "origin_lat": f"{a.lat}",
            "origin_lon": f"{a.lon}",
            "dest_lat": f"{b.lat}",
            "dest_lon": f"{b.lon}",
            "party_size": str(rng.choices([1, 2, 3], [85, 12, 3])[0]),
            "wheelchair": "1" if rng.random() < 0.03 else "0",
        }
        if rng.random() < 1 / 7:
            row["arrive_by"] = min(want + timedelta(minutes=40), closes).isoformat()
        else:
            row["pickup_after"] = want.isoformat()
        out.append(row)
    return sorted(out, key=lambda r: r["request_time"])


def write_requests(rows: list[dict[str, str]], path: Path) -> None:
    cols = ["id", "request_time", "pickup_after", "arrive_by", "origin_lat", "origin_lon"]
    cols += ["dest_lat", "dest_lon", "party_size", "wheelchair"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
