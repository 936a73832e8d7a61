"""Replaying simulated service days through the real dispatcher, on a simulated clock.

Everything goes through the same code the service runs: residents book with `booking.book` (and
take an offered alternative or give up when refused, cancel with `rides.cancellation.cancel`), households
order with `shopping.place_order`, the scheduler's runner (`scheduler.run_due`) fires every job at
its time (re-optimization, the delivery cut-off, publishing, statistics, billing), drivers report
each stop with `rides.field_events.vehicle_event`, sellers mark their pick lists ready, the drone operator
flies the planned flights with `flight_ops.flight_step` and support workers hand the goods over.

Only the people are simulated:
- drivers follow their manifest: they leave for the next stop in time for its planned time with
  a margin (LEAVE_MARGIN times the planned driving time, when they are free that early), drive
  the road model's time (`Dispatcher.road`, without the planner's travel margin) times a noise
  factor (lognormal, `noise_sigma`), wait for the planned start of boarding (never before the
  pickup window opens), board (the tenant's boarding minutes), and report a no-show after the
  tenant's waiting time when the rider does not come out; they report their position at the depot
  when their shift starts and when they are back after the day's last stop;
- the weather of each day goes into the delivery forecast; the delivery planner decides whether
  drones fly; flights land at each hall at the planned time with a little noise;
- support workers make a round every 30 minutes and hand over what has arrived at their hall.

Every random choice comes from the seed (and the day), and the optimizer runs a fixed number of
iterations instead of a time limit, so the same seed gives the same numbers.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import math
import random
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import id_of, session_scope
from dispatcher.errors import Code, DomainError
from dispatcher.models import (
    Membership,
    OrderStatus,
    PlanRoute,
    Product,
    Resident,
    Ride,
    ShopOrder,
    Vehicle,
)
from dispatcher.platform.demo import seed_demo
from dispatcher.platform.scheduler import run_due
from dispatcher.residents.eligibility import categories_on
from dispatcher.rides.booking import RideRequest, TripQuestion, book, time_limits
from dispatcher.rides.cancellation import cancel
from dispatcher.rides.field_events import VehicleEvent, vehicle_event
from dispatcher.rides.plan import service_seconds
from dispatcher.rides.positions import PositionReport, report_positions
from dispatcher.shopping.delivery import PICKING_MINUTES, flights, set_forecast
from dispatcher.shopping.flight_ops import CHECKLIST, FlightStep, flight_step
from dispatcher.shopping.orders import LineRequest, OrderRequest, place_order
from dispatcher.shopping.picking import confirm_handover, mark_ready
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import at_local, parse_hhmm
from routing.geo import Point, along
from simulations.demand import Order, Profile, RideDemand, Rider, Trip, Weather, shopping_orders, weather_of

log = logging.getLogger(__name__)
ACTOR = "simulation"
RETRY_MINUTES = 5  # a driver whose report was refused tries again after this long ...
MAX_RETRIES = 24  # ... this many times (two hours), then leaves it to the operator
LEAVE_MARGIN = 1.15  # drivers leave this many times the model's driving time before a planned stop


def _after_overlap(e: DomainError, outward: int) -> datetime | None:
    """For a way back refused as overlapping the rider's ride there, ride `outward`
    (`ride.overlaps`, e.g. the outward trip moved to a later time): the time a resident would ask
    for instead, the end of that ride's promise (its latest arrival) rounded up to the next 5
    minutes. None for any other refusal (another ride of the same person is another errand)."""
    existing = e.extra.get("existing_ride") if e.code == Code.ride_overlaps else None
    if not isinstance(existing, dict) or existing.get("id") != outward or "latest_arrival" not in existing:
        return None
    at = datetime.fromisoformat(existing["latest_arrival"])
    late = (-at.minute) % 5 or (5 if at.second or at.microsecond else 0)
    return at.replace(second=0, microsecond=0) + timedelta(minutes=late)


def within_pickers(ctx: Dispatcher, tenant_id: str, trip: Trip) -> None:
    """The time a resident can pick: the TV and phone pickers stop at the latest pickup (and
    arrival) the rules allow for the trip now (`time_limits`), so a later wish becomes that
    latest time. Nothing changes when no time is left at all: the booking then says why."""
    body = trip.body
    question = TripQuestion.model_validate(
        {k: body[k] for k in ("resident_id", "origin", "destination", "party_size", "wheelchair")}
    )
    try:
        limits = time_limits(ctx, tenant_id, question)
    except DomainError:
        return  # a trip the rules refuse outright: the booking says why
    for key, latest in (("pickup_after", "latest_pickup"), ("arrive_by", "latest_arrival")):
        last = limits[latest]
        if (
            key in body
            and last is not None
            and datetime.fromisoformat(str(body[key])) > datetime.fromisoformat(last)
        ):
            body[key] = last


def _why(e: DomainError) -> str:
    """A refusal's fields and messages, e.g. "pickup_after: is after the last pickup time"."""
    errors = "; ".join(f"{x['field']}: {x['message']}" for x in getattr(e, "errors", []) or [])
    return errors or e.detail


@dataclass(frozen=True)
class ReplayOptions:
    """How a replay runs (not what the tenant file says).

    reoptimize_minutes: the scheduler's re-optimization interval (0: none, insertion only);
    solver_iterations: search iterations of each re-optimization (fixed, so runs repeat exactly);
    noise_sigma: spread of real driving times around the travel model (lognormal sigma);
    requests_per_day: expected ride requests of a full service day (None: calibrated on Ina);
    weather: force every day's weather kind (fine, cloudy, rain, storm); None draws it;
    shopping: households order groceries (False: rides only, as `noriai replay` of a file);
    position_minutes: drivers on duty also report where they are every this many minutes of
    simulated time (0: only at the depot when the shift starts and when back)."""

    reoptimize_minutes: float = 5.0
    solver_iterations: int = 200
    noise_sigma: float = 0.12
    requests_per_day: float | None = None
    weather: str | None = None
    profile: Profile = Profile()
    shopping: bool = True
    position_minutes: float = 0.0


class DemandSource(Protocol):
    """Where a day's ride requests come from: `RideDemand` generates them, `noriai replay` reads
    them from a file (simulations.file_replay)."""

    def day(self, day: date, weather: Weather, seed: int, per_day: float | None = None) -> list[Trip]: ...


@dataclass
class TripOutcome:
    """What became of one resident's trip request."""

    key: str
    day: date
    purpose: str
    outcome: str  # served | refused | invalid
    tries: int
    ride_id: int | None = None
    detail: str = ""


@dataclass
class DayRecord:
    """One simulated day: its weather, counts of what the simulated people did, replay speed."""

    day: date
    weather: Weather
    trips: int = 0
    orders_placed: int = 0
    orders_refused: int = 0
    flights_flown: int = 0
    driver_reports: int = 0
    scheduler_runs: int = 0
    wall_seconds: float = 0.0
    simulated_seconds: float = 0.0


@dataclass
class _RideInfo:
    origin: Point
    destination: Point
    window_start: datetime
    board_s: float
    alight_s: float
    absent: bool


@dataclass
class _Driver:
    """Where a simulated vehicle is and what it is doing."""

    vid: int
    depot: Point
    shift_start: datetime
    loc: Point
    free_at: datetime
    heading: tuple[int, str] | None = None
    depart_at: datetime | None = None
    arrived: int | None = None
    arrived_at: datetime | None = None
    boards_at: datetime | None = None  # when the rider at the arrived-at pickup starts boarding
    retry_at: datetime | None = None
    retries: int = 0
    gave_up: tuple[str, int | None] | None = None
    home: bool = False
    started: bool = False
    action: tuple[datetime, VehicleEvent] | None = None
    dirty: bool = True


@dataclass
class World:
    """The simulated municipality in its database: the people the generators draw from."""

    ctx: Dispatcher
    clock: SimClock
    cfg: TenantConfig
    riders: list[Rider]
    shoppers: list[int]
    products: list[int]
    vehicles: dict[int, Vehicle]


def prepare(ctx: Dispatcher, clock: SimClock, cfg: TenantConfig, residents: int, seed: int) -> World:
    """Load the tenant and `residents` generated residents (households around its halls) into the
    empty database, with memberships and the catalogue; returns who can ride and shop."""
    with session_scope(ctx.engine) as s:
        seed_demo(s, cfg, clock.now(), residents=residents, seed=seed)
    today = clock.now().astimezone(cfg.tz).date()
    with Session(ctx.engine) as s:
        wanted = set(cfg.eligibility.any_of)
        riders = []
        for r in s.exec(select(Resident).where(Resident.tenant_id == cfg.id).order_by(col(Resident.id))):
            if categories_on(r, cfg, today) & wanted:
                assert r.household_id is not None  # seed_demo puts everyone in a household
                riders.append(Rider(id_of(r), r.household_id, r.lat, r.lon, r.wheelchair))
        shoppers = sorted(
            {m.household_id for m in s.exec(select(Membership).where(Membership.tenant_id == cfg.id))}
        )
        products = [
            id_of(p)
            for p in s.exec(select(Product).where(Product.tenant_id == cfg.id).order_by(col(Product.id)))
            if p.available and p.weight_g <= 2000
        ]
        vehicles = {
            id_of(v): v
            for v in s.exec(
                select(Vehicle)
                .where(Vehicle.tenant_id == cfg.id, col(Vehicle.active).is_(True))
                .order_by(col(Vehicle.id))
            )
        }
    return World(ctx, clock, cfg, riders, shoppers, products, vehicles)


class DayReplay:
    """One service day of a world, event by event in time order."""

    def __init__(
        self,
        world: World,
        day: date,
        seed: int,
        opt: ReplayOptions,
        demand: DemandSource,
        hourly: Callable[[str], None] | None = None,
    ) -> None:
        self.hourly, self.busy, self.t0 = hourly, False, _time.perf_counter()
        self.w, self.day, self.seed, self.opt = world, day, seed, opt
        self.ctx, self.clock, self.cfg = world.ctx, world.clock, world.cfg
        self.tid = self.cfg.id
        self.road = self.ctx.road(self.tid)  # what the roads really take (before the noise)
        self.queue: list[tuple[datetime, int, int, str, Any]] = []
        self.seq = itertools.count()
        self.rng = random.Random(f"{seed}:{day.isoformat()}:replay")
        self.weather = weather_of(random.Random(f"{seed}:{day.isoformat()}:weather"), opt.weather)
        self.record = DayRecord(day, self.weather)
        self.trips = demand.day(day, self.weather, seed, opt.requests_per_day)
        self.orders = (
            shopping_orders(self.cfg, day, world.shoppers, world.products, opt.profile, self.weather, seed)
            if opt.shopping
            else []
        )
        self.outcomes: list[TripOutcome] = []
        self.ride_trip: dict[int, Trip] = {}
        self.info: dict[int, _RideInfo] = {}
        self.plan_version = -1
        self.pending: dict[int, list[tuple[int, str, str]]] = {}
        self.closed = False
        self.closed_at = datetime.max.replace(tzinfo=UTC)
        tz = self.cfg.tz
        self.drivers: dict[int, _Driver] = {}
        for vid, v in world.vehicles.items():
            start = at_local(day, parse_hhmm(v.shift_start), tz)
            depot = Point(v.depot_lat, v.depot_lon)
            self.drivers[vid] = _Driver(vid, depot, start, depot, start)

    # ---------------------------------------------------------------------------- the queue

    def push(self, when: datetime, kind: str, payload: Any = None, prio: int = 1) -> None:
        heapq.heappush(self.queue, (when, prio, next(self.seq), kind, payload))

    def run(self) -> DayRecord:
        """Replay the day from 06:00 until 06:00 the next morning."""
        cfg, day, tz = self.cfg, self.day, self.cfg.tz
        t0 = self.t0 = _time.perf_counter()
        begin = at_local(day, time(6, 0), tz)
        self.opened = begin
        end = begin + timedelta(days=1)
        self.clock.set(max(self.clock.now(), begin))
        hours = cfg.hours_on(day)
        if cfg.drones is not None:
            set_forecast(self.ctx, self.tid, day, self.weather.slots(), f"{ACTOR}:weather")
        busy_from, busy_to = begin, begin
        if hours is not None:
            opens, closes = at_local(day, hours.start, tz), at_local(day, hours.end, tz)
            busy_from, busy_to = opens - timedelta(hours=1), closes + timedelta(hours=1)
            self.opened, self.busy = opens, True
            self.push(closes, "close")
            for vid, d in self.drivers.items():
                self.push(d.shift_start, "shift", vid)
            if self.opt.position_minutes > 0:
                step = timedelta(minutes=self.opt.position_minutes)
                p = min(d.shift_start for d in self.drivers.values()) + step if self.drivers else end
                while p < busy_to:
                    self.push(p, "positions", prio=2)
                    p += step
        t = begin
        while t < end:  # the scheduler's runner: every minute around service hours, else every 15
            self.push(t, "tick", prio=0)
            t += timedelta(minutes=1 if busy_from <= t < busy_to else 15)
        for trip in self.trips:
            self.push(trip.book_at, "book", trip)
        self.record.trips = len(self.trips)
        for order in self.orders:
            self.push(order.place_at, "order", order)
        if cfg.shopping is not None and cfg.drones is not None and self.orders:
            cutoff = at_local(day, cfg.shopping.cutoff, tz)
            self.push(cutoff + timedelta(minutes=PICKING_MINUTES - 15), "sellers")
            self.push(cutoff + timedelta(minutes=1), "flights")
            deadline = at_local(day, cfg.shopping.delivery_deadline, tz)
            r = cutoff + timedelta(minutes=60)
            while r <= deadline + timedelta(hours=2):
                self.push(r, "handover")
                r += timedelta(minutes=30)
        self._sync_plan()
        while True:
            act = self._earliest_action()
            if self.queue and (act is None or self.queue[0][0] <= act[0]):
                when, _p, _s, kind, payload = heapq.heappop(self.queue)
                if when > self.clock.now():
                    self.clock.set(when)
                getattr(self, f"_on_{kind}")(payload)
            elif act is not None:
                when, vid, ev = act
                if when > self.clock.now():
                    self.clock.set(when)
                self._report(vid, ev)
            else:
                break
            self._sync_plan()
        self.clock.set(max(self.clock.now(), end))
        self.record.wall_seconds = _time.perf_counter() - t0
        self.record.simulated_seconds = (end - begin).total_seconds()
        return self.record

    # ---------------------------------------------------------------------------- residents

    def _on_book(self, trip: Trip) -> None:
        trip.tries += 1
        within_pickers(self.ctx, self.tid, trip)
        key = f"sim-{self.seed}-{trip.key}-{trip.tries}"
        try:
            booked = book(self.ctx, self.tid, RideRequest.model_validate(trip.body), key, f"{ACTOR}:resident")
        except DomainError as e:
            outward = next((r for r, t in self.ride_trip.items() if t.key == trip.return_of), None)
            later = _after_overlap(e, outward) if outward is not None and trip.tries < 3 else None
            if later is not None:
                # the screen names the ride still under way: the resident asks to be fetched after it
                body = {k: v for k, v in trip.body.items() if k not in ("pickup_after", "arrive_by")}
                trip.body = body | {"pickup_after": later.isoformat()}
                self.push(self.clock.now() + timedelta(minutes=1), "book", trip)
                return
            # A first request the rules refuse is not eligible; an alternative time or a way back
            # home the rules refuse is a need the service left unmet.
            unmet = trip.tries > 1 or trip.return_of is not None
            outcome = "refused" if unmet else "invalid"
            self.outcomes.append(
                TripOutcome(trip.key, self.day, trip.purpose, outcome, trip.tries, None, _why(e))
            )
            return
        ride = booked.ride
        if ride.status == "confirmed":
            assert ride.id is not None
            self.ride_trip[ride.id] = trip
            self.outcomes.append(TripOutcome(trip.key, self.day, trip.purpose, "served", trip.tries, ride.id))
            if trip.cancel_at is not None:
                self.push(max(trip.cancel_at, self.clock.now()), "cancel", ride.id)
            for ret in trip.returns:
                self.push(max(ret.book_at, self.clock.now()), "book", ret)
            return
        alts = ride.alternatives or []
        if alts and trip.tries < 2 and self.rng.random() < self.opt.profile.accept_alternative:
            wanted = trip.body.get("pickup_after") or trip.body.get("arrive_by")
            assert wanted is not None  # a trip's request asks for one of the two
            at = datetime.fromisoformat(wanted)
            alt = min(
                alts, key=lambda a: abs((datetime.fromisoformat(a["pickup_after"]) - at).total_seconds())
            )
            body = {k: v for k, v in trip.body.items() if k not in ("pickup_after", "arrive_by")}
            trip.body = body | {"pickup_after": alt["pickup_after"]}
            self.push(self.clock.now() + timedelta(minutes=1), "book", trip)
            return
        self.outcomes.append(TripOutcome(trip.key, self.day, trip.purpose, "refused", trip.tries, ride.id))

    def _on_cancel(self, ride_id: int) -> None:
        with contextlib.suppress(DomainError):  # already under way or done: too late to cancel
            cancel(self.ctx, self.tid, ride_id, f"{ACTOR}:resident", reason="予定が変わった")

    def _on_order(self, order: Order) -> None:
        req = OrderRequest(
            household_id=order.household_id,
            lines=[LineRequest(product_id=p, quantity=q) for p, q in order.lines],
        )
        key = f"sim-{self.seed}-{self.day.isoformat()}-order-{order.household_id}"
        try:
            place_order(self.ctx, self.tid, req, key, f"{ACTOR}:household")
            self.record.orders_placed += 1
        except DomainError:
            self.record.orders_refused += 1

    # -------------------------------------------------------------------- the service side

    def _on_tick(self, _payload: Any) -> None:
        self.record.scheduler_runs += len(run_due(self.ctx))
        now = self.clock.now()
        if self.hourly is not None and now.minute == 0 and now.second == 0 and self.busy:
            wall = _time.perf_counter() - self.t0
            local = now.astimezone(self.cfg.tz)
            done = (now - self.opened).total_seconds()
            self.hourly(
                f"{local:%H:%M}: {len(self.outcomes)} trips answered, {self.record.driver_reports} driver "
                f"reports, {wall:.0f} s"
                + (f", {done / wall:.1f}x faster than real time so far" if done > 0 and wall > 0 else "")
            )

    def _on_close(self, _payload: Any) -> None:
        self.closed, self.closed_at = True, self.clock.now()
        for d in self.drivers.values():
            d.dirty = True

    def _on_shift(self, vid: int) -> None:
        d = self.drivers[vid]
        d.started, d.dirty = True, True  # stops booked before the shift: now he sets off
        self._post(vid, VehicleEvent(type="position", lat=d.depot.lat, lon=d.depot.lon))

    def _on_positions(self, _payload: Any) -> None:
        """Every driver on duty reports where he is: at his last stop, or on the straight line (the
        great circle) to the next one (or to the depot after closing) as far as the leg's driving
        time has gone.
        He drives on from there: a plan that sends him elsewhere turns him around where he is, not
        at his last stop (the rest of a leg takes the time of the rest). The fleet's positions go
        in one bulk report, as a telematics feed sends them."""
        now = self.clock.now()
        fleet: list[PositionReport] = []
        for vid, d in self.drivers.items():
            if not d.started or d.home:
                continue
            todo = self.pending.get(vid, [])
            leg: tuple[Point, datetime, float] | None = None  # (to, set off at, driving seconds)
            homeward = False
            if (
                d.heading is not None
                and d.depart_at is not None
                and d.depart_at < now
                and todo
                and todo[0][:2] == d.heading  # (a stop taken away meanwhile: he stopped)
            ):
                rid, kind = d.heading
                r = self._ride(rid)
                target = r.origin if kind == "pickup" else r.destination
                leg = target, d.depart_at, self.road.duration(d.loc, target) * self._factor(rid, kind)
            elif self.closed and not todo and d.free_at < now:  # on the way home (from closing)
                leg = d.depot, max(d.free_at, self.closed_at), self.road.duration(d.loc, d.depot)
                homeward = True
            at = d.loc
            if leg is not None:
                to, since, total = leg
                if total > 0 and (now - since).total_seconds() < total:  # on the road
                    f = (now - since).total_seconds() / total
                    # on the great circle, so that the rest of the leg takes the rest of its time
                    at = along(d.loc, to, f)
                    started = now
                else:  # there (getting out, or waiting for the pickup window)
                    at, started = to, since + timedelta(seconds=total)
                d.loc, d.dirty = at, True
                if homeward:
                    d.free_at = started
                else:
                    d.depart_at = started
            fleet.append(PositionReport(vehicle_id=vid, lat=round(at.lat, 6), lon=round(at.lon, 6)))
        if fleet:  # the fleet's telematics feed: one bulk report (POST /api/v1/vehicles/positions)
            out = report_positions(self.ctx, self.tid, fleet, f"{ACTOR}:telematics")
            self.record.driver_reports += sum(1 for r in out if r["status"] == "accepted")

    def _on_sellers(self, _payload: Any) -> None:
        for seller in self.cfg.shopping.sellers if self.cfg.shopping else []:
            with contextlib.suppress(DomainError):  # nothing to pick for this seller today
                mark_ready(self.ctx, self.tid, seller.id, self.day, f"{ACTOR}:seller")

    def _on_flights(self, _payload: Any) -> None:
        noise = random.Random(f"{self.seed}:{self.day.isoformat()}:drones")
        for f in flights(self.ctx, self.tid, self.day):
            dep = datetime.fromisoformat(f["departure"])
            self.push(dep - timedelta(minutes=10), "flight", (f["id"], FlightStep(action="loaded")))
            checks = dict.fromkeys(CHECKLIST, True)
            self.push(dep, "flight", (f["id"], FlightStep(action="departed", checklist=checks)))
            last = dep
            for hall in f["halls"]:
                planned = datetime.fromisoformat(f["arrivals"][hall])
                last = max(last, planned + (planned - dep) * noise.uniform(-0.05, 0.1))
                self.push(last, "flight", (f["id"], FlightStep(action="landed", hall_id=hall)))
            back = datetime.fromisoformat(f["return"])
            self.push(
                max(last, back + (back - dep) * noise.uniform(-0.05, 0.1)),
                "flight",
                (f["id"], FlightStep(action="returned")),
            )

    def _on_flight(self, payload: tuple[int, FlightStep]) -> None:
        fid, step = payload
        try:
            flight_step(self.ctx, self.tid, fid, step, f"{ACTOR}:drone-operator")
            self.record.flights_flown += step.action == "returned"
        except DomainError as e:
            log.warning("flight %s %s refused: %s", fid, step.action, e.detail)

    def _on_handover(self, _payload: Any) -> None:
        with Session(self.ctx.engine) as s:
            ids = list(
                s.exec(
                    select(ShopOrder.id).where(
                        ShopOrder.tenant_id == self.tid,
                        ShopOrder.delivery_date == self.day,
                        ShopOrder.status == OrderStatus.at_hall.value,
                    )
                )
            )
        for oid in ids:
            if oid is not None:
                confirm_handover(self.ctx, self.tid, oid, None, f"{ACTOR}:support-worker")

    # ----------------------------------------------------------------------------- drivers

    def _sync_plan(self) -> None:
        """Read the routes changed since the plan version last read; drivers whose stops changed
        re-decide."""
        with Session(self.ctx.engine) as s:
            changed = list(
                s.exec(
                    select(PlanRoute.vehicle_id, PlanRoute.stops, PlanRoute.version).where(
                        PlanRoute.tenant_id == self.tid,
                        PlanRoute.service_date == self.day,
                        PlanRoute.version > self.plan_version,
                    )
                )
            )
        if not changed:
            return
        self.plan_version = max(version for _vid, _stops, version in changed)
        for vid, stops, _version in changed:
            if vid not in self.drivers:
                continue
            pending = [(e["ride_id"], e["kind"], e["planned_time"]) for e in stops if not e.get("done")]
            if pending != self.pending.get(vid, []):
                self.pending[vid] = pending
                self.drivers[vid].dirty = True

    def _ride(self, ride_id: int) -> _RideInfo:
        info = self.info.get(ride_id)
        if info is None:
            with Session(self.ctx.engine) as s:
                r = s.get(Ride, ride_id)
                assert r is not None
                trip = self.ride_trip.get(ride_id)
                info = _RideInfo(
                    Point(r.origin_lat, r.origin_lon),
                    Point(r.destination_lat, r.destination_lon),
                    r.pickup_window_start or self.clock.now(),
                    service_seconds(self.cfg, r, "pickup"),
                    service_seconds(self.cfg, r, "dropoff"),
                    trip.absent if trip is not None else False,
                )
            self.info[ride_id] = info
        return info

    def _factor(self, ride_id: int, kind: str) -> float:
        """How much longer (or shorter) than the model this leg really takes."""
        r = random.Random(f"{self.seed}:{ride_id}:{kind}:drive")
        return min(1.6, max(0.75, math.exp(r.gauss(0.0, self.opt.noise_sigma))))

    def _decide(self, vid: int) -> tuple[datetime, VehicleEvent] | None:
        d = self.drivers[vid]
        now = self.clock.now()
        if not d.started:
            return None
        action = self._next(d, now)
        if action is None or d.retry_at is None:
            return action
        if d.gave_up == (action[1].type, action[1].ride_id):
            return None  # refused too often: left to the operator (and the re-optimization)
        return max(action[0], d.retry_at), action[1]

    def _next(self, d: _Driver, now: datetime) -> tuple[datetime, VehicleEvent] | None:
        """The driver's next report and its time, from his pending stops."""
        todo = self.pending.get(d.vid, [])
        if not todo:
            if self.closed and not d.home:
                back = d.free_at + timedelta(seconds=self.road.duration(d.loc, d.depot))
                return max(back, now), VehicleEvent(type="position", lat=d.depot.lat, lon=d.depot.lon)
            return None
        rid, kind, planned_iso = todo[0]
        r = self._ride(rid)
        wait = timedelta(minutes=self.cfg.booking.no_show_wait_minutes)
        if kind == "pickup" and d.arrived == rid and d.arrived_at is not None:
            ready = max(d.arrived_at, r.window_start)
            if not r.absent and (d.boards_at is None or d.boards_at > now):
                # the rider boards at the planned time, not before: a plan may start a pickup
                # after the window opens so that the rider's ride stays within its limit (the
                # drop-off cannot come sooner); once boarding has begun, it goes on
                d.boards_at = max(ready, datetime.fromisoformat(planned_iso), now)
                ready = d.boards_at
            elif d.boards_at is not None:
                ready = d.boards_at
            if r.absent:
                return max(ready + wait + timedelta(seconds=1), now), VehicleEvent(
                    type="no_show", ride_id=rid
                )
            return ready + timedelta(seconds=r.board_s), VehicleEvent(type="picked_up", ride_id=rid)
        target = r.origin if kind == "pickup" else r.destination
        leg = self.road.duration(d.loc, target)
        if d.heading != (rid, kind) or d.depart_at is None or d.depart_at > now:
            planned = datetime.fromisoformat(planned_iso)
            d.heading = (rid, kind)
            # the driver's app gives the planned drive (the planning model's, margin included)
            shown = self.ctx.travel(self.tid).duration(d.loc, target)
            d.depart_at = max(d.free_at, planned - timedelta(seconds=shown * LEAVE_MARGIN), now)
        arrival = d.depart_at + timedelta(seconds=leg * self._factor(rid, kind))
        if kind == "pickup":
            return max(arrival, r.window_start), VehicleEvent(type="arrived", ride_id=rid)
        return arrival + timedelta(seconds=r.alight_s), VehicleEvent(type="dropped_off", ride_id=rid)

    def _earliest_action(self) -> tuple[datetime, int, VehicleEvent] | None:
        best = None
        for vid, d in self.drivers.items():
            if d.dirty:
                d.action, d.dirty = self._decide(vid), False
            if d.action is not None and (best is None or d.action[0] < best[0]):
                best = (d.action[0], vid, d.action[1])
        return best

    def _post(self, vid: int, ev: VehicleEvent) -> dict[str, Any] | None:
        try:
            out = vehicle_event(self.ctx, self.tid, vid, ev, f"{ACTOR}:driver")
        except DomainError as e:
            return {"refused": e}
        self.record.driver_reports += 1
        return out

    def _report(self, vid: int, ev: VehicleEvent) -> None:
        d = self.drivers[vid]
        now = self.clock.now()
        d.dirty = True
        out = self._post(vid, ev)
        if out is not None and "refused" in out:
            # e.g. the cargo is not picked yet: the driver waits and tries again, then gives up
            d.retries += 1
            d.retry_at = now + timedelta(minutes=RETRY_MINUTES)
            if d.retries > MAX_RETRIES:
                d.gave_up = (ev.type, ev.ride_id)
                log.warning("vehicle %s: %s of ride %s refused %d times", vid, ev.type, ev.ride_id, d.retries)
            return
        d.retry_at, d.retries, d.gave_up = None, 0, None
        if ev.type == "position":
            d.home, d.loc, d.free_at = True, d.depot, now
            return
        assert ev.ride_id is not None  # a ride report
        r = self._ride(ev.ride_id)
        if ev.type == "arrived":
            d.loc, d.arrived, d.arrived_at, d.boards_at = r.origin, ev.ride_id, now, None
        elif ev.type in ("picked_up", "no_show"):
            d.free_at, d.arrived, d.arrived_at, d.boards_at = now, None, None, None
        else:
            d.loc, d.free_at = r.destination, now
        d.heading, d.depart_at, d.home = None, None, False


@dataclass
class ReplayResult:
    """A replay of consecutive days: per-day records and every trip's outcome."""

    tenant: str
    start: date
    days: list[DayRecord] = field(default_factory=list)
    outcomes: list[TripOutcome] = field(default_factory=list)

    @property
    def end(self) -> date:
        return self.days[-1].day if self.days else self.start


def replay(
    world: World,
    start: date,
    days: int,
    seed: int,
    opt: ReplayOptions,
    progress: Callable[[DayRecord], None] | None = None,
    hourly: Callable[[str], None] | None = None,
) -> ReplayResult:
    """Replay `days` consecutive calendar days from `start` (days without service pass quickly)."""
    ctx = world.ctx
    ctx.reoptimize_minutes = opt.reoptimize_minutes
    ctx.solver_iterations = opt.solver_iterations
    demand = RideDemand(world.cfg, world.riders, opt.profile, seed, ctx.road(world.cfg.id).duration)
    result = ReplayResult(world.cfg.id, start)
    for k in range(days):
        day = start + timedelta(days=k)
        rep = DayReplay(world, day, seed, opt, demand, hourly)
        result.days.append(rep.run())
        result.outcomes += rep.outcomes
        if progress is not None:
            progress(result.days[-1])
    return result
