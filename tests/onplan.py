"""A day driven by vehicles that keep exactly to their plan and report it as phones do.

Every vehicle follows the stored plan of the day: it drives straight to its next stop (along the
great circle, at the travel model's speed), waits there for the planned start of service, boards or
drops its riders and taps the driver's buttons when the plan says (`arrived` on arrival at a
pickup, `picked_up` at the end of boarding, `dropped_off` at the end of alighting). Before every
booking each vehicle reports its position at that moment, where the plan puts it, as a phone would
send it: moved by up to `noise_deg` degrees (1e-6: about 11 cm) and then sent with full precision,
or rounded to 7 or 6 decimals (about 1 cm and 11 cm). None of it is lateness: a route that the
checker then finds infeasible is blocked by rounding, and a rider the plan relaxes as late was
never late.

Boarding and alighting are left out: a vehicle serving a stop at the moment of a check looks as if
service started then (the checker serves no stop before now, and a drop-off has no "arrived" tap),
a modelling limit of the checker, not rounding. Bookings therefore come at moments when no vehicle
is boarding or alighting (the clock moves on a step at a time until then).
"""

from __future__ import annotations

import logging
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.models import Resident, Ride, Vehicle
from dispatcher.rides.booking import Location, RideRequest, book
from dispatcher.rides.field_events import VehicleEvent, vehicle_event
from dispatcher.rides.plan import build_problem, current_plan, service_seconds
from dispatcher.rides.reoptimize import reoptimize
from dispatcher.timeline import at_local, from_seconds, parse_hhmm, to_seconds
from routing.geo import Point, along
from routing.schedule import FLOAT_TOLERANCE, check

TENANT = "ina-demo"
PLACES = [
    "central-hospital",
    "super-ina",
    "city-hall",
    "inashi-station",
    "takato-clinic",
    "misuzu-clinic",
    "super-takato",
    "hall-tera",
    "hall-hase",
    "hall-nishiminowa",
    "hall-misuzu",
    "hall-tomigata",
    "super-minami",
    "nishiharu-clinic",
]


@dataclass
class DayStats:
    """What a driven day saw.

    blocked: (booking number, vehicle key, reason) of every on-plan route the checker refused just
    before a booking; tight: booking numbers before which a route was infeasible with no tolerance
    but float rounding's (what the rounding did); relaxed: the log lines of riders the plan relaxed
    as late (`relax_broken_promises`); late_reports: rides a driver's report declared late; reoptimized:
    statuses of the re-optimization runs."""

    bookings: int = 0
    confirmed: int = 0
    reports: int = 0
    blocked: list[tuple[int, str, str]] = field(default_factory=list)
    tight: list[int] = field(default_factory=list)
    relaxed: list[str] = field(default_factory=list)
    late_reports: list[int] = field(default_factory=list)
    reoptimized: Counter[str] = field(default_factory=Counter)


class _Relaxed(logging.Handler):
    def __init__(self, out: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        if "is late; dropping off first" in record.getMessage():
            self.out.append(record.getMessage())


@dataclass
class _Driver:
    """Where a vehicle truly is: at `point` at `t` (s since midnight), then on to its next stop."""

    vehicle_id: int
    point: Point
    t: float
    arrived: float = 0.0  # when it reached the stop it is at
    serving: tuple[int | None, str] | None = None  # (ride id, kind) of that stop until it is done


def _report_point(rng: random.Random, p: Point, noise_deg: float) -> tuple[float, float]:
    lat = p.lat + rng.uniform(-noise_deg, noise_deg)
    lon = p.lon + rng.uniform(-noise_deg, noise_deg)
    decimals = rng.choice([None, 7, 6])
    if decimals is not None:
        lat, lon = round(lat, decimals), round(lon, decimals)
    return lat, lon


class OnPlanDay:
    """Drive a day: `step` moves the clock, lets every vehicle keep to its plan and report."""

    def __init__(self, ctx: Dispatcher, seed: int, noise_deg: float = 1e-6) -> None:
        self.ctx = ctx
        self.cfg = ctx.config(TENANT)
        self.rng = random.Random(seed)
        self.noise_deg = noise_deg
        self.duration = ctx.travel(TENANT).duration
        self.stats = DayStats()
        tz = self.cfg.tz
        self.day = ctx.clock.now().astimezone(tz).date()
        with Session(ctx.engine) as s:
            vehicles = s.exec(
                select(Vehicle).where(Vehicle.tenant_id == TENANT).order_by(col(Vehicle.id))
            ).all()
            residents = s.exec(
                select(Resident).where(Resident.tenant_id == TENANT).order_by(col(Resident.id))
            ).all()
        self.keys = {v.id: v.key for v in vehicles}
        self.drivers = [
            _Driver(
                v.id or 0,
                Point(v.depot_lat, v.depot_lon),
                to_seconds(at_local(self.day, parse_hhmm(v.shift_start), tz), self.day, tz),
            )
            for v in vehicles
        ]
        self.residents = [r for r in residents if r.evidence or r.birth_date.year <= 1960]
        self.handler = _Relaxed(self.stats.relaxed)
        logging.getLogger("dispatcher.rides.plan").addHandler(self.handler)

    def close(self) -> None:
        logging.getLogger("dispatcher.rides.plan").removeHandler(self.handler)

    def _s(self, instant: datetime) -> float:
        return to_seconds(instant, self.day, self.cfg.tz)

    def _at(self, seconds: float) -> datetime:
        return from_seconds(seconds, self.day, self.cfg.tz)

    def _send(self, vid: int, ev: VehicleEvent) -> None:
        out = vehicle_event(self.ctx, TENANT, vid, ev, "driver")
        self.stats.reports += 1
        self.stats.late_reports += out["late_rides"]

    def _heads(self) -> dict[int, tuple[dict[str, Any], Ride]]:
        """Each vehicle's next pending stop and its ride, from the stored plan."""
        with Session(self.ctx.engine) as s:
            state = current_plan(s, TENANT, self.day)
            heads = {
                d.vehicle_id: state.pending(d.vehicle_id)[0]
                for d in self.drivers
                if state.pending(d.vehicle_id)
            }
            ids = {e["ride_id"] for e in heads.values()}
            rides = {r.id: r for r in s.exec(select(Ride).where(col(Ride.id).in_(ids)))} if ids else {}
        return {vid: (e, rides[e["ride_id"]]) for vid, e in heads.items()}

    def _there(self, entry: dict[str, Any], ride: Ride) -> Point:
        if entry["kind"] == "pickup":
            return Point(ride.origin_lat, ride.origin_lon)
        return Point(ride.destination_lat, ride.destination_lon)

    def _next(self, d: _Driver, entry: dict[str, Any], ride: Ride) -> tuple[float, str]:
        """When the vehicle next does something at its next stop, and what: `reach` it, or end
        boarding (`picked_up`) or alighting (`dropped_off`)."""
        kind = entry["kind"]
        if d.serving != (ride.id, kind):
            return d.t + self.duration(d.point, self._there(entry, ride)), "reach"
        start = d.arrived
        if kind == "pickup":  # boarding starts at the planned time (the window may not be open yet)
            start = max(start, self._s(datetime.fromisoformat(entry["planned_time"])))
        return start + service_seconds(
            self.cfg, ride, kind
        ), "picked_up" if kind == "pickup" else "dropped_off"

    def keep_to_plan(self, now: float) -> bool:
        """Every vehicle does what its plan says up to `now`, each tap sent at the moment it
        happens (the clock is set to it), then reports where it is at `now`. Returns whether some
        vehicle is boarding or alighting at `now` (see the module's note)."""
        clock = self.ctx.clock
        while True:
            heads = self._heads()
            due = [(*self._next(d, *heads[d.vehicle_id]), d) for d in self.drivers if d.vehicle_id in heads]
            due = [x for x in due if x[0] <= now]
            if not due:
                break
            t, what, d = min(due, key=lambda x: x[0])
            entry, ride = heads[d.vehicle_id]
            clock.set(self._at(t))  # type: ignore[attr-defined]
            if what == "reach":
                d.point, d.arrived, d.serving = self._there(entry, ride), t, (ride.id, entry["kind"])
                if entry["kind"] == "pickup":
                    self._send(d.vehicle_id, VehicleEvent(type="arrived", ride_id=ride.id, at=self._at(t)))
            else:
                self._send(d.vehicle_id, VehicleEvent(type=what, ride_id=ride.id, at=self._at(t)))  # type: ignore[arg-type]
                d.t, d.serving = t, None
        clock.set(self._at(now))  # type: ignore[attr-defined]
        heads = self._heads()
        for d in self.drivers:
            if d.vehicle_id in heads:
                entry, ride = heads[d.vehicle_id]
                if d.serving == (ride.id, entry["kind"]):
                    t, _ = self._next(d, entry, ride)
                    if t - service_seconds(self.cfg, ride, entry["kind"]) <= now:
                        return True  # boarding or alighting
        for d in self.drivers:
            if d.vehicle_id not in heads:  # nothing to do: it stays where it is
                d.t = max(d.t, now)
            else:
                entry, ride = heads[d.vehicle_id]
                if d.serving != (ride.id, entry["kind"]):  # on the road, where the plan puts it now
                    there = self._there(entry, ride)
                    d.point, d.t = along(d.point, there, (now - d.t) / self.duration(d.point, there)), now
            lat, lon = _report_point(self.rng, d.point, self.noise_deg)
            self._send(d.vehicle_id, VehicleEvent(type="position", lat=lat, lon=lon, at=self._at(now)))
        return False

    def blocked_now(self, booking: int) -> None:
        """Record every route the checker refuses now (with the plan as it stands)."""
        with Session(self.ctx.engine) as s:
            state = current_plan(s, TENANT, self.day)
            problem = build_problem(self.ctx, s, self.cfg, self.day, state, self.ctx.clock.now())
        for v, route in zip(problem.vehicles, problem.routes, strict=True):
            if route.stops:
                sched = check(route.vehicle, route.stops, problem.travel)
                if not sched.feasible:
                    self.stats.blocked.append((booking, v.key, sched.reason))
                exact = replace(route.vehicle, tolerance=FLOAT_TOLERANCE)
                if not check(exact, route.stops, problem.travel).feasible:
                    self.stats.tight.append(booking)

    def book_one(self, now: datetime) -> None:
        rng = self.rng
        res = self.residents[rng.randrange(len(self.residents))]
        dest = rng.choice(PLACES)
        origin = (
            Location(lat=res.lat, lon=res.lon)
            if rng.random() < 0.5
            else Location(place_id=rng.choice(PLACES))
        )
        if origin.place_id == dest:
            return
        when = now + timedelta(minutes=rng.randint(16, 100))
        req = RideRequest(
            resident_id=res.id,
            origin=origin,
            destination=Location(place_id=dest),
            party_size=rng.choice([1, 1, 1, 2]),
            wheelchair=res.wheelchair,
            **({"arrive_by": when + timedelta(minutes=30)} if rng.random() < 0.3 else {"pickup_after": when}),
        )
        self.stats.bookings += 1
        try:
            out = book(self.ctx, TENANT, req, str(uuid.uuid4()), "on-plan-test", book_anyway=True)
        except Exception as e:  # a request outside the rules (hours, too soon) is a 422; the
            # same trip of one person twice at once (the draw does not avoid it) a 409; other
            # overlaps are booked anyway, as an operator may, so the day stays the tested one
            overlap = str(getattr(e, "code", "")) in ("ride.overlaps", "ride.duplicate")
            assert getattr(e, "status", None) == 422 or overlap, e
            return
        if out.ride.status == "confirmed":
            self.stats.confirmed += 1


def drive_day(
    ctx: Dispatcher,
    clock: Any,
    seed: int,
    bookings: int,
    step_s: float,
    reoptimize_every: int = 0,
    iterations: int = 30,
    noise_deg: float = 1e-6,
) -> DayStats:
    """`bookings` bookings, one every `step_s` seconds (or more, past any boarding), each after
    every vehicle kept to its plan and reported its position; a re-optimization (`iterations`
    ALNS iterations) after every `reoptimize_every` bookings."""
    day = OnPlanDay(ctx, seed, noise_deg)
    try:
        for k in range(bookings):
            clock.advance(timedelta(seconds=step_s))
            now = day._s(clock.now())
            while day.keep_to_plan(now):
                clock.advance(timedelta(seconds=step_s))
                now = day._s(clock.now())
            day.blocked_now(k)
            day.book_one(clock.now())
            if reoptimize_every and (k + 1) % reoptimize_every == 0:
                out = reoptimize(ctx, TENANT, iterations=iterations, time_limit_s=2.0)
                day.stats.reoptimized[out.status] += 1
        return day.stats
    finally:
        day.close()
