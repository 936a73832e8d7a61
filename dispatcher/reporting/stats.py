"""The municipality's statistics, computed from the event log (what happened), not from plans.

Every figure is rebuilt from events: `ride.requested/confirmed/refused/cancelled/arrived/picked_up/
no_show/dropped_off`, `vehicle.position`, `order.placed/cancelled/at_hall/handed_over`. Tables are
read only for what a request *was* (party size, direct driving time, requested time, the rider's
age and settlement, an order's lines). Definitions, with units, are in `docs/statistics.md`:

- trips: completed passenger bookings; passengers: their party sizes; riders: distinct residents.
- sharing rate: completed trips whose time on board (picked up -> dropped off) overlapped, for a
  positive time, another rider's booking's time on board in the same vehicle, over all trips (a
  resident's own two bookings never share with each other: a day with one rider shares 0%).
- field data checks (`dispatcher.rides.field_checks`): a ride with a flagged report the operator
  has not reviewed yet is left out of every figure, and so are its reports from the vehicles' hours
  and km; a flagged position is left out until confirmed (for good when discarded). The figures
  say how many: `unreviewed_rides`, `unreviewed_positions`, `unreviewed_records` (their sum). A
  corrected report counts with the operator's time.
- on-time pickup: the vehicle arrived (the `arrived` report, else `picked_up`) no later than the
  end of the promised pickup window; the rate is over rides with a reported arrival.
- wait: minutes from the requested pickup time to the vehicle's arrival (pickup_after requests);
  arrival margin: minutes the rider arrived before the requested arrival (arrive_by requests).
- detour factor: ride time (picked up -> dropped off) over the direct driving time, averaged.
- vehicle-hours: per vehicle and day, first to last located report (stops and positions).
- km and empty km: the travel model's distance between consecutive located reports of a vehicle;
  empty when nobody and nothing was on board.
- breakdowns by person attributes (age band, settlement) hide every cell of fewer than
  MIN_CELL persons (and one more cell when a single hidden one could be worked out from the total).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlmodel import Session, col, func, select

from dispatcher.context import Dispatcher
from dispatcher.db import id_of
from dispatcher.errors import Code, InvalidRequest, field_error
from dispatcher.events import chunks, events_of
from dispatcher.models import DailyStats, Event, Household, Membership, OrderLine, Resident, Ride, ShopOrder
from dispatcher.rides.booking import cancelled_by_change
from dispatcher.rides.field_checks import discarded_positions, unreviewed
from dispatcher.rides.kinds import (
    RIDE_ARRIVED,
    RIDE_CANCELLED,
    RIDE_CONFIRMED,
    RIDE_DROPPED_OFF,
    RIDE_NO_SHOW,
    RIDE_PICKED_UP,
    RIDE_REFUSED,
    RIDE_REPORT_FLAGGED,
    RIDE_REPORT_REVIEWED,
    RIDE_REQUESTED,
    VEHICLE_POSITION,
    VEHICLE_POSITION_FLAGGED,
    VEHICLE_POSITION_REVIEWED,
)
from dispatcher.shopping.kinds import ORDER_AT_HALL, ORDER_CANCELLED, ORDER_HANDED_OVER, ORDER_PLACED
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import at_local, midnight
from routing.geo import Point, haversine_m

MIN_CELL = 5  # persons: smaller cells of a breakdown by person attributes are suppressed
MAX_DAYS = 800  # the longest range one request may ask for
POSITION_STEP_M = 300.0  # a position report counts for distance once this far from the last point
Group = Literal["day", "week", "month", "area", "age"]
WEEKDAY_JA = "月火水木金土日"
AGE_BANDS: tuple[tuple[str, str, int, int], ...] = (
    ("under_65", "65歳未満", 0, 64),
    ("65_74", "65〜74歳", 65, 74),
    ("75_84", "75〜84歳", 75, 84),
    ("85_plus", "85歳以上", 85, 200),
)
OTHER_AREA = "その他の地域"


# ---------------------------------------------------------------------------------------- facts


@dataclass
class RideFact:
    """One passenger booking as the events tell it."""

    id: int
    resident_id: int | None
    service_date: date
    party_size: int
    direct_s: float
    requested_pickup: datetime | None = None
    requested_arrival: datetime | None = None
    confirmed: bool = False
    refused_reason: str | None = None
    cancelled: bool = False
    replaced: bool = False  # cancelled because the ride was changed into a new booking
    no_show: bool = False
    window_end: datetime | None = None
    arrived_at: datetime | None = None
    picked_up_at: datetime | None = None
    dropped_off_at: datetime | None = None
    vehicle_id: int | None = None
    open_flags: set[int] = field(default_factory=set)  # ids of its flags not reviewed yet
    corrected: dict[str, datetime] = field(default_factory=dict)  # ride event kind -> operator's time

    @property
    def held(self) -> bool:
        """A flagged report awaits the operator's review: the ride stays out of the figures."""
        return bool(self.open_flags)

    @property
    def completed(self) -> bool:
        return self.dropped_off_at is not None

    @property
    def arrival(self) -> datetime | None:
        """When the vehicle reached the rider (reported arrival, else boarding)."""
        return self.arrived_at or self.picked_up_at


@dataclass
class Located:
    """A report that says where a vehicle was: at (UTC), point, load change after it."""

    at: datetime
    point: Point
    load_change: int  # +1 picked up, -1 dropped off, 0 otherwise
    stop: bool  # a ride report (arrived, picked up, no-show, dropped off), not a position


@dataclass
class VehicleDay:
    """What one vehicle did on one day: hours on duty and km, split into loaded and empty."""

    hours: float = 0.0
    km: float = 0.0
    km_empty: float = 0.0
    held: int = 0  # flagged positions not reviewed yet, left out of hours and km
    held_rides: int = 0  # freight jobs with a flagged report not reviewed yet, left out of hours and km


@dataclass
class OrderFact:
    """One grocery order as the events tell it."""

    id: int
    household_id: int
    delivery_date: date
    total_yen: int
    items: int
    cancelled: bool = False
    at_hall_at: datetime | None = None
    by_drone: bool = False
    handed_over_at: datetime | None = None

    @property
    def delivered(self) -> bool:
        return self.at_hall_at is not None or self.handed_over_at is not None


@dataclass
class Facts:
    """Everything the figures of a date range are computed from."""

    cfg: TenantConfig
    start: date
    end: date
    now: datetime
    rides: list[RideFact] = field(default_factory=list)
    vehicle_days: dict[tuple[int, date], VehicleDay] = field(default_factory=dict)
    orders: list[OrderFact] = field(default_factory=list)
    ages: dict[int, int] = field(default_factory=dict)  # resident -> age (years) at the range's end
    areas: dict[int, str] = field(default_factory=dict)  # resident -> settlement name
    household_areas: dict[int, str] = field(default_factory=dict)
    registered: int = 0
    members: int = 0
    shared: set[int] = field(default_factory=set)  # ids of completed rides that shared


def _instant(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(UTC)


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def check_range(start: date, end: date, max_days: int = MAX_DAYS) -> None:
    """Refuse a reversed or too long date range with the field to fix."""
    if end < start:
        raise InvalidRequest(
            "The range ends before it starts.",
            [field_error("to", "must not be before from", code=Code.period_reversed)],
        )
    if (end - start).days + 1 > max_days:
        raise InvalidRequest(
            f"Ask for at most {max_days} days at a time.",
            [
                field_error(
                    "to", f"at most {max_days} days after from", code=Code.period_too_long, days=str(max_days)
                )
            ],
        )


def load_facts(ctx: Dispatcher, tenant_id: str, start: date, end: date) -> Facts:
    """Read the events (and the request data they refer to) of service days start..end inclusive."""
    check_range(start, end)
    cfg = ctx.config(tenant_id)
    facts = Facts(cfg=cfg, start=start, end=end, now=ctx.clock.now())
    with Session(ctx.engine) as session:
        _ride_facts(session, cfg, facts)
        _vehicle_facts(ctx, session, cfg, facts)
        _order_facts(session, cfg, facts)
        _people(session, cfg, facts)
    facts.shared = _shared_rides(facts.rides, cfg.tz)
    return facts


def _ride_facts(session: Session, cfg: TenantConfig, facts: Facts) -> None:
    rides = session.exec(
        select(Ride).where(
            Ride.tenant_id == cfg.id,
            Ride.kind == "passenger",
            col(Ride.service_date) >= facts.start,
            col(Ride.service_date) <= facts.end,
        )
    ).all()
    by_id = _facts_of(session, cfg, rides)
    facts.rides = sorted(by_id.values(), key=lambda f: f.id)


def _facts_of(session: Session, cfg: TenantConfig, rides: Iterable[Ride]) -> dict[int, RideFact]:
    """The facts of these rides from their events, with the operator's corrections applied."""
    by_id: dict[int, RideFact] = {}
    for r in rides:
        rid = id_of(r)
        by_id[rid] = RideFact(
            id=rid,
            resident_id=r.resident_id,
            service_date=r.service_date,
            party_size=r.party_size,
            direct_s=r.direct_seconds,
        )
    for ev in events_of(session, cfg.id, "ride", by_id):
        f = by_id[int(ev.entity_id)]
        after = ev.after or {}
        if ev.kind == RIDE_REQUESTED:
            f.requested_pickup = _instant(after.get("pickup_after"))
            f.requested_arrival = _instant(after.get("arrive_by"))
        elif ev.kind == RIDE_CONFIRMED:
            f.confirmed = True
            window = after.get("pickup_window") or [None, None]
            f.window_end = _instant(window[1])
            f.vehicle_id = after.get("vehicle_id", f.vehicle_id)
        elif ev.kind == RIDE_REFUSED:
            f.refused_reason = after.get("reason") or "unknown"
        elif ev.kind == RIDE_CANCELLED:
            f.cancelled = True
            f.replaced = cancelled_by_change(after)
        elif ev.kind == RIDE_ARRIVED:
            f.arrived_at = ev.at
        elif ev.kind == RIDE_PICKED_UP:
            f.picked_up_at = ev.at
            f.vehicle_id = after.get("vehicle_id", f.vehicle_id)
        elif ev.kind == RIDE_NO_SHOW:
            f.no_show = True
        elif ev.kind == RIDE_DROPPED_OFF:
            f.dropped_off_at = ev.at
            f.vehicle_id = after.get("vehicle_id", f.vehicle_id)
        elif ev.kind == RIDE_REPORT_FLAGGED:
            f.open_flags.add(id_of(ev))
        elif ev.kind == RIDE_REPORT_REVIEWED:
            f.open_flags.discard(int(after.get("flag_id", 0)))
            if after.get("decision") == "corrected" and (at := _instant(after.get("at"))) is not None:
                kind = RIDE_PICKED_UP if after.get("report") == "picked_up" else RIDE_DROPPED_OFF
                f.corrected[kind] = at
    for f in by_id.values():  # the operator's corrections stand for the driver's taps
        f.picked_up_at = f.corrected.get(RIDE_PICKED_UP, f.picked_up_at)
        f.dropped_off_at = f.corrected.get(RIDE_DROPPED_OFF, f.dropped_off_at)
    return by_id


def _purged_vehicle_days(session: Session, cfg: TenantConfig, facts: Facts) -> dict[date, list[Any]]:
    """Each vehicle's figures of the days whose positions and addresses the retention purge removed,
    as the purge stored them (dispatcher/platform/retention.py), by day, in the order they were computed."""
    rows = session.exec(
        select(col(DailyStats.service_date), col(DailyStats.vehicles)).where(
            DailyStats.tenant_id == cfg.id,
            col(DailyStats.service_date) >= facts.start,
            col(DailyStats.service_date) <= facts.end,
            col(DailyStats.purged_at).is_not(None),
        )
    ).all()
    return {
        day: [(int(v["vehicle_id"]), VehicleDay(v["hours"], v["km"], v["km_empty"])) for v in vehicles or []]
        for day, vehicles in rows
    }


def _vehicle_facts(ctx: Dispatcher, session: Session, cfg: TenantConfig, facts: Facts) -> None:
    """Hours and km of each vehicle and day from its located reports (purged days: as stored)."""
    t0 = midnight(facts.start, cfg.tz)
    t1 = midnight(facts.end + timedelta(days=1), cfg.tz)
    purged = _purged_vehicle_days(session, cfg, facts)
    events = session.exec(
        select(Event)
        .where(
            Event.tenant_id == cfg.id,
            col(Event.at) >= t0,
            col(Event.at) < t1,
            col(Event.kind).in_(
                (VEHICLE_POSITION, RIDE_ARRIVED, RIDE_PICKED_UP, RIDE_NO_SHOW, RIDE_DROPPED_OFF)
            ),
        )
        .order_by(col(Event.at), col(Event.id))
    ).all()
    if purged:
        events = [e for e in events if e.at.astimezone(cfg.tz).date() not in purged]
    # field data checks: rides awaiting review stay out, corrected taps count at the operator's time,
    # flagged positions count once confirmed (reviews may come days later: no end to their range).
    # Freight jobs (goods in a taxi) are no passenger figures, but their taps are the vehicle's
    # hours and km: theirs are checked the same way, and counted as unreviewed rides of the vehicle.
    rides_of_range = {f.id: f for f in facts.rides}
    others = {int(e.entity_id) for e in events if e.entity == "ride"} - rides_of_range.keys()
    goods: list[Ride] = []
    for part in chunks(sorted(others)):
        goods += session.exec(select(Ride).where(col(Ride.id).in_(part), Ride.kind != "passenger")).all()
    freight = _facts_of(session, cfg, goods)
    rides_of_range |= freight
    held_rides = {f.id for f in rides_of_range.values() if f.held}
    held_freight: dict[tuple[int, date], int] = defaultdict(int)
    for f in freight.values():
        if f.held and f.vehicle_id is not None:
            held_freight[(f.vehicle_id, f.service_date)] += 1
    flags = session.exec(
        select(Event)
        .where(
            Event.tenant_id == cfg.id,
            col(Event.at) >= t0,
            col(Event.kind).in_((VEHICLE_POSITION_FLAGGED, VEHICLE_POSITION_REVIEWED)),
        )
        .order_by(col(Event.at), col(Event.id))
    ).all()
    held_positions = {int((e.after or {})["event_id"]): e for e in unreviewed(flags).values() if e.at < t1}
    skipped = held_positions.keys() | discarded_positions(flags)
    events = [
        e
        for e in events
        if not (e.entity == "ride" and int(e.entity_id) in held_rides) and id_of(e) not in skipped
    ]
    ride_ids = {int(e.entity_id) for e in events if e.entity == "ride"}
    where: dict[int, tuple[Point, Point]] = {}
    for part in chunks(sorted(ride_ids)):
        for r in session.exec(select(Ride).where(col(Ride.id).in_(part))):
            where[id_of(r)] = (Point(r.origin_lat, r.origin_lon), Point(r.destination_lat, r.destination_lon))
    reports: dict[tuple[int, date], list[Located]] = defaultdict(list)
    for e in events:
        after = e.after or {}
        at = e.at
        if e.entity == "ride" and (fact := rides_of_range.get(int(e.entity_id))) is not None:
            at = fact.corrected.get(e.kind, at)
        if e.kind == VEHICLE_POSITION:
            if after.get("lat") is None:
                continue
            vid, point, change = int(e.entity_id), Point(after["lat"], after["lon"]), 0
        else:
            served_by = after.get("vehicle_id")
            if served_by is None or int(e.entity_id) not in where:
                continue
            vid = int(served_by)
            origin, dest = where[int(e.entity_id)]
            point = dest if e.kind == RIDE_DROPPED_OFF else origin
            change = {RIDE_PICKED_UP: 1, RIDE_DROPPED_OFF: -1}.get(e.kind, 0)
        day = e.at.astimezone(cfg.tz).date()
        reports[(vid, day)].append(Located(at, point, change, e.entity == "ride"))
    held_by_day: dict[tuple[int, date], int] = defaultdict(int)
    for e in held_positions.values():
        held_by_day[(int(e.entity_id), e.at.astimezone(cfg.tz).date())] += 1
    travel = ctx.road(cfg.id)  # distances: the road's
    for key, located in reports.items():
        located.sort(key=lambda rep: rep.at)  # (stable: a corrected tap moves, the rest keep their order)
        vd = VehicleDay(
            hours=(located[-1].at - located[0].at).total_seconds() / 3600,
            held=held_by_day[key],
            held_rides=held_freight[key],
        )
        last, load = located[0], max(0, located[0].load_change)
        for rep in located[1:]:
            step = haversine_m(last.point, rep.point)
            if rep.stop or step >= POSITION_STEP_M:  # stops always; positions once they moved on
                if step > 0:
                    km = float(travel.distance_matrix([last.point, rep.point])[0, 1]) / 1000
                    vd.km += km
                    if load == 0:
                        vd.km_empty += km
                last = rep
            load = max(0, load + rep.load_change)
        facts.vehicle_days[key] = vd
    for key in held_by_day.keys() | held_freight.keys():
        if key not in facts.vehicle_days:
            facts.vehicle_days[key] = VehicleDay(held=held_by_day[key], held_rides=held_freight[key])
    if purged:  # day by day, in the order computed, so that sums add up in the same order as before
        stored = [((vid, day), vd) for day, vds in purged.items() for vid, vd in vds]
        facts.vehicle_days = dict(sorted([*facts.vehicle_days.items(), *stored], key=lambda kv: kv[0][1]))


def _order_facts(session: Session, cfg: TenantConfig, facts: Facts) -> None:
    orders = session.exec(
        select(ShopOrder).where(
            ShopOrder.tenant_id == cfg.id,
            col(ShopOrder.delivery_date) >= facts.start,
            col(ShopOrder.delivery_date) <= facts.end,
        )
    ).all()
    items: dict[int, int] = defaultdict(int)
    ids = [id_of(o) for o in orders]
    for part in chunks(ids):
        for line in session.exec(select(OrderLine).where(col(OrderLine.order_id).in_(part))):
            items[line.order_id] += line.quantity
    by_id = {
        oid: OrderFact(
            oid,
            o.household_id,
            o.delivery_date,
            o.total_yen,
            items[oid] if o.item_count is None else o.item_count,
        )
        for oid, o in zip(ids, orders, strict=True)
    }
    for ev in events_of(session, cfg.id, "order", by_id):
        f = by_id[int(ev.entity_id)]
        after = ev.after or {}
        if ev.kind == ORDER_PLACED and "total_yen" in after:
            f.total_yen = int(after["total_yen"])
        elif ev.kind == ORDER_CANCELLED:
            f.cancelled = True
        elif ev.kind == ORDER_AT_HALL:
            f.at_hall_at = ev.at
            f.by_drone = after.get("flight_id") is not None
        elif ev.kind == ORDER_HANDED_OVER:
            f.handed_over_at = ev.at
    facts.orders = sorted(by_id.values(), key=lambda f: f.id)


def _people(session: Session, cfg: TenantConfig, facts: Facts) -> None:
    """Ages and settlements of the residents who rode; registered users and shopping members."""
    end_of_range = at_local(facts.end, datetime.max.time(), cfg.tz)
    facts.registered = session.exec(
        select(func.count())
        .select_from(Resident)
        .where(
            Resident.tenant_id == cfg.id,
            col(Resident.active).is_(True),
            col(Resident.registered_at) <= end_of_range,
        )
    ).one()
    facts.members = session.exec(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.tenant_id == cfg.id,
            col(Membership.starts_on) <= facts.end,
            (col(Membership.ends_on).is_(None)) | (col(Membership.ends_on) >= facts.end),
        )
    ).one()
    names = {p.id: p.name for p in cfg.places}
    ids = sorted({f.resident_id for f in facts.rides if f.resident_id is not None})
    households: set[int] = {o.household_id for o in facts.orders}
    residents: list[Resident] = []
    for part in chunks(ids):
        residents += session.exec(select(Resident).where(col(Resident.id).in_(part))).all()
    households |= {r.household_id for r in residents if r.household_id is not None}
    hall_of: dict[int, str | None] = {}
    for part in chunks(sorted(households)):
        for h in session.exec(select(Household).where(col(Household.id).in_(part))):
            hall_of[id_of(h)] = h.hall_id
    for r in residents:
        facts.ages[id_of(r)] = _age(r.birth_date, facts.end)
        hall = hall_of.get(r.household_id) if r.household_id is not None else None
        facts.areas[id_of(r)] = names.get(hall, OTHER_AREA) if hall else OTHER_AREA
    for hid, hall in hall_of.items():
        facts.household_areas[hid] = names.get(hall, OTHER_AREA) if hall else OTHER_AREA


def _shared_rides(rides: list[RideFact], tz: Any) -> set[int]:
    """Completed rides whose time on board overlapped another rider's booking in the same vehicle
    on the same day (a resident's own bookings never share with each other; a booking without a
    resident is a rider of its own). A ride picked up without a reported drop-off counts as aboard
    until the end of its service day, never longer. Rides awaiting review take no part."""
    by_vehicle: dict[tuple[int, date], list[tuple[datetime, datetime, int, int]]] = defaultdict(list)
    for f in rides:
        if f.picked_up_at is not None and f.vehicle_id is not None and not f.held:
            end = f.dropped_off_at or midnight(f.service_date + timedelta(days=1), tz)
            rider = f.resident_id if f.resident_id is not None else -f.id
            by_vehicle[(f.vehicle_id, f.service_date)].append((f.picked_up_at, end, f.id, rider))
    shared: set[int] = set()
    for spans in by_vehicle.values():
        spans.sort()
        for i, (a0, a1, a, who_a) in enumerate(spans):
            for b0, b1, b, who_b in spans[i + 1 :]:
                if b0 >= a1:
                    break
                if who_a != who_b and min(a1, b1) > max(a0, b0):
                    shared.update((a, b))
    return {f.id for f in rides if f.completed and f.id in shared}


# -------------------------------------------------------------------------------------- figures


def _mean(values: list[float], digits: int = 1) -> float | None:
    return round(statistics.fmean(values), digits) if values else None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def ride_figures(rides: list[RideFact], shared: set[int], vdays: Iterable[VehicleDay]) -> dict[str, Any]:
    """The ridership figures of a set of bookings and the vehicle days that served them."""
    held = [f for f in rides if not f.replaced and f.held]  # awaiting the operator's review
    counted = [f for f in rides if not f.replaced and not f.held]
    done = [f for f in counted if f.completed]
    # (the vehicle's arrival, the end of the promised window) of the rides with a reported arrival
    arrived = [
        (a, f.window_end) for f in counted if (a := f.arrival) is not None and f.window_end is not None
    ]
    on_time = [a for a, end in arrived if a <= end]
    waits = [_minutes(f.requested_pickup, f.arrival) for f in counted if f.requested_pickup and f.arrival]
    margins = [
        _minutes(f.dropped_off_at, f.requested_arrival)
        for f in done
        if f.requested_arrival and f.dropped_off_at
    ]
    # (done rides are dropped off)
    ride_min = [
        _minutes(f.picked_up_at, f.dropped_off_at) for f in done if f.picked_up_at and f.dropped_off_at
    ]
    detours = [
        (f.dropped_off_at - f.picked_up_at).total_seconds() / f.direct_s
        for f in done
        if f.picked_up_at and f.dropped_off_at and f.direct_s > 0
    ]
    vdays = list(vdays)
    hours = sum(v.hours for v in vdays)
    km = sum(v.km for v in vdays)
    km_empty = sum(v.km_empty for v in vdays)
    passengers = sum(f.party_size for f in done)
    n_shared = sum(1 for f in done if f.id in shared)
    return {
        "requests": len(counted),
        "confirmed": sum(1 for f in counted if f.confirmed),
        "refused": sum(1 for f in counted if f.refused_reason),
        "cancelled": sum(1 for f in counted if f.cancelled),
        "no_shows": sum(1 for f in counted if f.no_show),
        "trips": len(done),
        "passengers": passengers,
        "riders": len({f.resident_id for f in done}),
        "shared_trips": n_shared,
        "sharing_rate": _rate(n_shared, len(done)),
        "on_time_pickups": len(on_time),
        "on_time_rate": _rate(len(on_time), len(arrived)),
        "wait_minutes_mean": _mean(waits),
        "arrival_margin_minutes_mean": _mean(margins),
        "ride_minutes_mean": _mean(ride_min),
        "direct_minutes_mean": _mean([f.direct_s / 60 for f in done]),
        "detour_factor": _mean(detours, 2),
        "vehicle_hours": round(hours, 2),
        "passengers_per_vehicle_hour": round(passengers / hours, 2) if hours > 0 else None,
        "km": round(km, 1),
        "km_empty": round(km_empty, 1),
        "empty_km_share": _rate(round(km_empty * 1000), round(km * 1000)),
        "unreviewed_rides": len(held) + sum(v.held_rides for v in vdays),
        "unreviewed_positions": sum(v.held for v in vdays),
        "unreviewed_records": len(held) + sum(v.held_rides + v.held for v in vdays),
    }


def order_figures(orders: list[OrderFact], cfg: TenantConfig, now: datetime) -> dict[str, Any]:
    """The shopping figures of a set of orders."""
    live = [o for o in orders if not o.cancelled]
    delivered = [o for o in live if o.delivered]
    drone = [o for o in delivered if o.by_drone]
    deadline = cfg.shopping.delivery_deadline if cfg.shopping else datetime.max.time()

    def due(o: OrderFact) -> datetime:
        return at_local(o.delivery_date, deadline, cfg.tz)

    settled = [o for o in live if o.delivered or due(o) <= now]  # delivered, or its deadline passed
    on_time = [o for o in settled if (o.at_hall_at or o.handed_over_at or now) <= due(o)]
    return {
        "orders": len(live),
        "cancelled_orders": sum(1 for o in orders if o.cancelled),
        "households": len({o.household_id for o in live}),
        "items": sum(o.items for o in live),
        "sales_yen": sum(o.total_yen for o in live),
        "delivered": len(delivered),
        "by_drone": len(drone),
        "by_ground": len(delivered) - len(drone),
        "drone_share": _rate(len(drone), len(delivered)),
        "on_time_deliveries": len(on_time),
        "on_time_delivery_rate": _rate(len(on_time), len(settled)),
    }


def period_of(day: date, group: str) -> tuple[str, str]:
    """(key, Japanese label) of the day / ISO week (Monday) / month a date belongs to."""
    if group == "day":
        return day.isoformat(), f"{day.month}月{day.day}日（{WEEKDAY_JA[day.weekday()]}）"
    if group == "week":
        monday = day - timedelta(days=day.weekday())
        return monday.isoformat(), f"{monday.month}月{monday.day}日の週"
    return f"{day.year}-{day.month:02d}", f"{day.year}年{day.month}月"


def _periods(start: date, end: date, group: str) -> list[tuple[str, str]]:
    """Every period of the range in order, also those with nothing in them."""
    out: dict[str, str] = {}
    d = start
    while d <= end:
        k, label = period_of(d, group)
        out.setdefault(k, label)
        d += timedelta(days=1)
    return list(out.items())


def suppress(rows: list[dict[str, Any]], count_key: str, value_keys: Sequence[str]) -> list[dict[str, Any]]:
    """Hide every value of rows counting fewer than MIN_CELL persons (a row with 0 is shown).

    When only one row would be hidden its value could be worked out from the total, so the next
    smallest row is hidden as well (complementary suppression) — an empty row when every other
    row is empty, so that the total no longer tells which row its persons are in."""
    small = [r for r in rows if 0 < r[count_key] < MIN_CELL]
    if len(small) == 1:  # the smallest other cell, an empty one when no other has anyone
        rest = sorted((r for r in rows if r is not small[0]), key=lambda r: (r[count_key] == 0, r[count_key]))
        small += rest[:1]
    hide = {id(r) for r in small}
    out = []
    for r in rows:
        if id(r) in hide:
            out.append({**r, **{k: None for k in value_keys}, "suppressed": True})
        else:
            out.append({**r, "suppressed": False})
    return out


def _by_person(facts: Facts, label_of: dict[int, str], order: Sequence[str]) -> list[dict[str, Any]]:
    """Riders, trips and passengers by a person attribute, small cells suppressed."""
    rows: dict[str, dict[str, Any]] = {
        k: {"key": k, "label": k, "riders": set(), "trips": 0, "passengers": 0} for k in order
    }
    for f in facts.rides:
        if f.replaced or f.held or not f.completed or f.resident_id is None:
            continue
        label = label_of.get(f.resident_id, OTHER_AREA)
        row = rows.setdefault(
            label, {"key": label, "label": label, "riders": set(), "trips": 0, "passengers": 0}
        )
        row["riders"].add(f.resident_id)
        row["trips"] += 1
        row["passengers"] += f.party_size
    out = [{**r, "riders": len(r["riders"])} for r in rows.values()]
    return suppress(out, "riders", ("riders", "trips", "passengers"))


def refused_by_reason(rides: list[RideFact]) -> dict[str, int]:
    """Requests no vehicle could take, counted by the reason given (unmet demand)."""
    refused: dict[str, int] = defaultdict(int)
    for f in rides:
        if f.refused_reason and not f.replaced and not f.held:
            refused[f.refused_reason] += 1
    return dict(sorted(refused.items()))


def ridership(
    ctx: Dispatcher, tenant_id: str, start: date, end: date, group: Group = "day"
) -> dict[str, Any]:
    """Ridership figures of service days start..end, in rows by `group`, with totals."""
    facts = load_facts(ctx, tenant_id, start, end)
    return ridership_from(facts, group)


def ridership_from(facts: Facts, group: Group) -> dict[str, Any]:
    totals = ride_figures(facts.rides, facts.shared, facts.vehicle_days.values())
    totals |= {
        "registered_users": facts.registered,
        "active_users": totals["riders"],
        "refused_by_reason": refused_by_reason(facts.rides),
    }
    if group in ("day", "week", "month"):
        rides: dict[str, list[RideFact]] = defaultdict(list)
        vdays: dict[str, list[VehicleDay]] = defaultdict(list)
        for f in facts.rides:
            rides[period_of(f.service_date, group)[0]].append(f)
        for (_vid, day), vd in facts.vehicle_days.items():
            vdays[period_of(day, group)[0]].append(vd)
        rows = [
            {"key": k, "label": label, **ride_figures(rides[k], facts.shared, vdays[k])}
            for k, label in _periods(facts.start, facts.end, group)
        ]
    elif group == "age":
        labels = {}
        for rid, age in facts.ages.items():
            labels[rid] = next(lab for _k, lab, lo, hi in AGE_BANDS if lo <= age <= hi)
        rows = _by_person(facts, labels, [lab for _k, lab, _lo, _hi in AGE_BANDS])
        keys = {lab: k for k, lab, _lo, _hi in AGE_BANDS}
        rows = [{**r, "key": keys.get(r["label"], r["key"])} for r in rows]
    elif group == "area":
        names = [p.name for p in facts.cfg.places if p.kind == "community_hall"]
        rows = _by_person(facts, facts.areas, [*names, OTHER_AREA])
    else:
        raise InvalidRequest("Unknown grouping.", [field_error("group", "day, week, month, area or age")])
    return _answer(facts, group, rows, totals)


def shopping(ctx: Dispatcher, tenant_id: str, start: date, end: date, group: Group = "day") -> dict[str, Any]:
    """Shopping figures of delivery days start..end, in rows by `group`, with totals."""
    return shopping_from(load_facts(ctx, tenant_id, start, end), group)


def shopping_from(facts: Facts, group: Group) -> dict[str, Any]:
    cfg, now = facts.cfg, facts.now
    totals = order_figures(facts.orders, cfg, now) | {"members": facts.members}
    if group in ("day", "week", "month"):
        by: dict[str, list[OrderFact]] = defaultdict(list)
        for o in facts.orders:
            by[period_of(o.delivery_date, group)[0]].append(o)
        rows = [
            {"key": k, "label": label, **order_figures(by[k], cfg, now)}
            for k, label in _periods(facts.start, facts.end, group)
        ]
    elif group == "area":
        by_area: dict[str, list[OrderFact]] = defaultdict(list)
        names = [p.name for p in cfg.places if p.kind == "community_hall"]
        for n in [*names, OTHER_AREA]:
            by_area[n] = []
        for o in facts.orders:
            by_area[facts.household_areas.get(o.household_id, OTHER_AREA)].append(o)
        plain = [
            {"key": k, "label": k, "_who": len({o.household_id for o in v}), **order_figures(v, cfg, now)}
            for k, v in by_area.items()
        ]
        values = [k for k in plain[0] if k not in ("key", "label", "_who")] if plain else []
        rows = [{k: v for k, v in r.items() if k != "_who"} for r in suppress(plain, "_who", values)]
    else:
        raise InvalidRequest("Unknown grouping.", [field_error("group", "day, week, month or area")])
    return _answer(facts, group, rows, totals)


def _answer(facts: Facts, group: str, rows: list[dict[str, Any]], totals: dict[str, Any]) -> dict[str, Any]:
    return {
        "tenant": facts.cfg.id,
        "from": facts.start.isoformat(),
        "to": facts.end.isoformat(),
        "group": group,
        "min_cell": MIN_CELL,
        "rows": rows,
        "totals": totals,
    }
