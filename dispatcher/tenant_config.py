"""The tenant file: one municipality's whole configuration, validated with every error located.

The format is documented field by field in `docs/tenant.md`. `load_tenant(path)` returns a
`TenantConfig` or raises `TenantConfigError` whose `.problems` are lines such as
`operators[1].vehicles[0].seats: must be ≥ 1`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import Polygon
from shapely.ops import unary_union

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# eligibility categories every tenant knows: age from the birth date, and two kinds of evidence
CATEGORIES = ("age_65_plus", "licence_surrendered", "disability")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LatLon(Strict):
    lat: float = Field(ge=-90, le=90, description="latitude, WGS84 degrees")
    lon: float = Field(ge=-180, le=180, description="longitude, WGS84 degrees")


class Area(Strict):
    name: str = Field(min_length=1)
    polygon: list[tuple[float, float]] = Field(
        min_length=3, description="[lat, lon] corners in degrees, in order"
    )


class Hours(Strict):
    start: time
    end: time


class MaxRide(Strict):
    factor: float = Field(ge=1.0, description="times the direct driving time")
    plus_minutes: float = Field(ge=0, description="minutes added to factor x direct time")


class Alternatives(Strict):
    step_minutes: int = Field(default=15, ge=5, le=120)
    max_offset_minutes: int = Field(default=90, ge=0, le=600)
    count: int = Field(default=4, ge=0, le=10)


class Booking(Strict):
    same_day_only: bool = True
    min_lead_minutes: int = Field(default=15, ge=0, le=24 * 60)
    pickup_window_minutes: int = Field(default=15, ge=5, le=120)
    max_ride: MaxRide = MaxRide(factor=1.5, plus_minutes=10)
    max_party_size: int = Field(default=4, ge=1, le=20)
    boarding_minutes: float = Field(default=2.0, ge=0, le=30)
    wheelchair_boarding_minutes: float = Field(default=5.0, ge=0, le=60)
    alighting_minutes: float = Field(default=1.0, ge=0, le=30)
    alternatives: Alternatives = Alternatives()
    excess_ride_weight: float = Field(default=0.1, ge=0, le=10)
    reshuffle_rounds: int = Field(
        default=100,
        ge=0,
        le=1000,
        description="search rounds a booking may spend moving rides to make room (0: insertion only)",
    )
    no_show_wait_minutes: int = Field(
        default=5, ge=0, le=60, description="how long a driver waits at the pickup before a no-show"
    )


class ReducedFare(Strict):
    category: str = Field(min_length=1, description="a built-in category or one of eligibility.categories")
    yen: int = Field(ge=0)


class Fares(Strict):
    standard_yen: int = Field(ge=0, description="yen per person per ride")
    companion_yen: int = Field(ge=0, description="yen per accompanying person per ride")
    reduced: list[ReducedFare] = []
    payment: Literal["on_board", "monthly"] = Field(
        default="monthly",
        description="on_board: the rider pays the driver, rides stay off the monthly statement; "
        "monthly: nothing is paid in the vehicle, rides are billed with the month's statement",
    )


class Category(Strict):
    """A category of the tenant's own (e.g. 要介護認定), proven by a document the operator records."""

    id: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=40, description="what people call it, in Japanese")
    document: str = Field(default="", max_length=40, description="the document that proves it")
    document_number_required: bool = False
    expires: bool = Field(default=False, description="its evidence must carry an expiry date")


class Eligibility(Strict):
    any_of: list[str] = Field(min_length=1, description="categories any of which lets a resident ride")
    min_age: int = Field(default=65, ge=0, le=120)
    categories: list[Category] = Field(default=[], description="the tenant's own categories")

    def known(self) -> set[str]:
        """Every category this tenant's residents may hold: the built-in ones and its own."""
        return set(CATEGORIES) | {c.id for c in self.categories}

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)


PlaceKind = Literal[
    "hospital",
    "clinic",
    "supermarket",
    "station",
    "city_hall",
    "community_hall",
    "post_office",
    "bank",
    "school",
    "other",
]


class Place(Strict):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    kana: str = ""
    kind: PlaceKind
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    pickup_note: str = Field(
        default="",
        max_length=40,
        description="where riders wait, read before 「お待ちください」 (「正面玄関前の乗り場で」)",
    )


class Shift(Strict):
    start: time
    end: time


class Vehicle(Strict):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = ""
    seats: int = Field(ge=1, le=60, description="seats for riders (driver excluded)")
    wheelchair_places: int = Field(default=0, ge=0, le=10)
    depot: LatLon
    shift: Shift


class Operator(Strict):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    phone: str = ""
    vehicles: list[Vehicle] = Field(min_length=1)


class Seller(Strict):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    place_id: str | None = None


class Shopping(Strict):
    """Shopping with delivery: ordering rules and who sells."""

    cutoff: time = Field(default=time(11, 0), description="orders for today close at this local time")
    delivery_deadline: time = Field(default=time(17, 0), description="goods reach the hall by then")
    delivery_days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default=["mon", "tue", "wed", "thu", "fri", "sat"], min_length=1
    )
    membership_yen_per_month: int = Field(default=1000, ge=0)
    seller_commission_percent: float = Field(default=10.0, ge=0, le=100)
    max_lines_per_order: int = Field(default=30, ge=1, le=200)
    max_quantity_per_line: int = Field(default=20, ge=1, le=999)
    sellers: list[Seller] = Field(default=[], description="supermarkets selling through the service")


class Drone(Strict):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = ""
    payload_kg: float = Field(gt=0, le=100)
    cruise_speed_ms: float = Field(gt=0, le=60, description="m/s")
    endurance_min: float = Field(gt=0, le=300, description="minutes of flight on a full battery")
    reserve_min: float = Field(ge=0, le=120, description="minutes that must remain on landing back")
    turnaround_min: float = Field(ge=0, le=240, description="battery swap and loading between flights")
    max_wind_ms: float = Field(default=10.0, gt=0, le=40, description="no flight above this wind (m/s)")
    flies_in_rain: bool = False


class DroneHall(Strict):
    place_id: str = Field(min_length=1, description="a place of kind community_hall")
    landing: LatLon


class Corridor(Strict):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    from_: str = Field(alias="from", min_length=1, description="'base' or a hall's place_id")
    to: str = Field(min_length=1)
    altitude_m: float = Field(gt=0, le=150, description="metres above ground")
    path: list[tuple[float, float]] = Field(min_length=2, description="[lat, lon] points from 'from' to 'to'")


class NoFly(Strict):
    name: str = Field(min_length=1)
    polygon: list[tuple[float, float]] = Field(min_length=3, description="[lat, lon] corners")


class Drones(Strict):
    """Drone delivery: the base, the drones, the halls they land at, corridors, no-fly zones."""

    base: Place
    fleet: list[Drone] = Field(min_length=1)
    halls: list[DroneHall] = Field(min_length=1)
    corridors: list[Corridor] = Field(min_length=1)
    no_fly: list[NoFly] = []


class Collector(Strict):
    """The cable-TV company collecting for the city by direct debit (委託者 in the Zengin file)."""

    name_kana: str = Field(min_length=1, max_length=40, description="as registered with the bank, katakana")
    consignor_code: str = Field(pattern=r"^[0-9]{10}$", description="委託者コード from the bank")
    bank_code: str = Field(pattern=r"^[0-9]{4}$")
    bank_name_kana: str = Field(default="", max_length=15)
    branch_code: str = Field(pattern=r"^[0-9]{3}$")
    branch_name_kana: str = Field(default="", max_length=15)
    account_type: Literal[1, 2, 4, 9] = 1
    account_number: str = Field(pattern=r"^[0-9]{1,7}$")


class Billing(Strict):
    """Monthly billing: charges for no-shows and late cancellations, the debit day, the collector."""

    no_show_charge: Literal["fare", "none"] = Field(default="none", description="what a no-show costs")
    late_cancel_minutes: int = Field(
        default=0,
        ge=0,
        le=24 * 60,
        description="a cancellation closer than this to the pickup window is late",
    )
    late_cancel_charge: Literal["fare", "none"] = "none"
    debit_day: int = Field(default=27, ge=1, le=28, description="day of the month after that the bank debits")
    collector: Collector | None = None


class Publishing(Strict):
    """When the scheduler publishes work and figures (local times)."""

    morning_minutes_before: int = Field(
        default=30, ge=0, le=600, description="manifests go out this many minutes before service starts"
    )
    statistics_at: time = Field(default=time(2, 0), description="the previous day is closed then")


class Retention(Strict):
    """How long personal data is kept (the municipality's personal-information protection rules).

    Service days older than `personal_data_days` lose their personal data at `purge_at` each night,
    keeping the figures (see dispatcher/platform/retention.py and docs/retention.md). null: never purged."""

    personal_data_days: int | None = Field(
        default=400,
        ge=90,
        le=3653,
        description="days a ride's or an order's personal details are kept (13 months: a year's report "
        "and billing questions can still be answered); null keeps them for ever",
    )
    purge_at: time = Field(default=time(3, 30), description="local time of the nightly purge")


class TravelMargin(Strict):
    """The margin planned on top of the road model's driving times (percent of each leg), learned
    from drivers' reports (`dispatcher.rides.margin`) and kept between `min_percent` and
    `max_percent`; `prior_percent` until `min_reports` legs of a kind have been reported."""

    prior_percent: float = Field(
        default=5.0, ge=0, le=100, description="margin used until enough legs are reported (percent)"
    )
    min_percent: float = Field(default=0.0, ge=0, le=100, description="the learned margin's floor (percent)")
    max_percent: float = Field(default=30.0, ge=0, le=100, description="the learned margin's cap (percent)")
    cover_percent: float = Field(
        default=65.0,
        ge=50,
        le=99,
        description="share of reported legs the learned margin covers (the quantile of real over road time)",
    )
    min_reports: int = Field(
        default=30, ge=1, le=100000, description="reported legs of a kind before they replace the prior"
    )


class TravelTime(Strict):
    model: Literal["straight_line", "osm"] = "straight_line"
    profile: Literal["urban", "rural", "mountain"] = "rural"
    speed_kmh: float | None = Field(default=None, gt=0, le=130)
    circuity: float | None = Field(default=None, ge=1.0, le=3.0)
    file: str | None = Field(default=None, description="OSM file, relative to the tenant file")
    margin: TravelMargin = TravelMargin()


class FieldChecks(Strict):
    """Drivers' reports that cannot be true: accepted (the driver is the truth on the road) but
    flagged for the operator's review, and left out of the statistics until reviewed
    (`dispatcher.rides.field_checks`, docs/statistics.md)."""

    pickup_early_minutes: int = Field(
        default=30,
        ge=5,
        le=240,
        description="a pickup tapped more than this many minutes before its window opens is flagged",
    )
    dropoff_min_percent: float = Field(
        default=50.0,
        ge=0,
        le=100,
        description="a drop-off tapped sooner after the pickup than this share (percent) of the road "
        "model's direct driving time is flagged",
    )
    max_speed_kmh: float = Field(
        default=120.0,
        gt=0,
        le=500,
        description="a position whose straight-line distance from the last report implies a speed "
        "above this (km/h) is flagged",
    )


class Costs(Strict):
    """What the service costs the municipality, for simulations' cost per ride (integer yen)."""

    vehicle_hour_yen: int = Field(
        default=3500, ge=0, description="paid to a taxi company per contracted vehicle-hour (shift)"
    )
    km_yen: int = Field(default=0, ge=0, description="paid per km driven, on top of the hours")
    drone_flight_yen: int = Field(default=0, ge=0, description="per drone flight flown")


class BusLine(Strict):
    """A fixed-route bus to compare with (e.g. the line the on-demand service replaced)."""

    name: str = Field(min_length=1)
    stops: list[str] = Field(min_length=2, description="place ids in running order, outward")
    departures: list[time] = Field(min_length=1, description="outward runs: departures from the first stop")
    return_departures: list[time] = Field(default=[], description="runs back: departures from the last stop")
    speed_kmh: float = Field(default=25.0, gt=0, le=80, description="average speed, stops included")
    cost_per_run_yen: int = Field(default=0, ge=0, description="what one run (one way) costs")
    stop_every_m: float = Field(
        default=400.0,
        ge=0,
        le=5000,
        description="more stops between the listed ones, this far apart (0: none)",
    )
    walk_m: float = Field(
        default=500.0, gt=0, le=3000, description="farthest an elderly rider walks to a stop"
    )


class Simulation(Strict):
    """Inputs of `noriai simulate` that only a simulation needs."""

    costs: Costs = Costs()
    bus_line: BusLine | None = None


class TenantConfig(Strict):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    municipality_code: str = Field(pattern=r"^[0-9]{6}$")
    timezone: str = "Asia/Tokyo"
    call_centre_phone: str = Field(
        default="",
        max_length=32,
        description="the number residents call for an operator (shown on their pages)",
    )
    website: str = Field(
        default="",
        max_length=300,
        pattern=r"^(https?://\S+)?$",
        description="the municipality's page about the service (open data: GTFS agency_url)",
    )
    service_area: list[Area] = Field(min_length=1)
    service_hours: dict[str, Hours | None]
    closed_dates: list[date] = []
    booking: Booking = Booking()
    fares: Fares
    eligibility: Eligibility
    places: list[Place] = []
    operators: list[Operator] = Field(min_length=1)
    travel_time: TravelTime = TravelTime()
    shopping: Shopping | None = None
    drones: Drones | None = None
    publishing: Publishing = Publishing()
    billing: Billing = Billing()
    retention: Retention = Retention()
    simulation: Simulation = Simulation()
    field_checks: FieldChecks = FieldChecks()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Asia/Tokyo)") from e
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def hours_on(self, day: date) -> Hours | None:
        """Service hours of a date (None: no service — a weekday without hours or a closed date)."""
        if day in self.closed_dates:
            return None
        return self.service_hours.get(WEEKDAYS[day.weekday()])

    def area_shape(self) -> Any:
        """The service area as one shapely geometry in (lon, lat) order."""
        return unary_union([_polygon(a.polygon) for a in self.service_area])

    def place(self, place_id: str) -> Place | None:
        return next((p for p in self.places if p.id == place_id), None)


class TenantConfigError(Exception):
    """A tenant file with problems; `problems` holds one located message each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _polygon(corners: list[tuple[float, float]]) -> Polygon:
    return Polygon([(lon, lat) for lat, lon in corners])


def location(loc: tuple[Any, ...]) -> str:
    """('operators', 1, 'vehicles', 0, 'seats') -> 'operators[1].vehicles[0].seats'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)"


_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "greater_than_equal": lambda c: f"must be ≥ {c['ge']}",
    "greater_than": lambda c: f"must be > {c['gt']}",
    "less_than_equal": lambda c: f"must be ≤ {c['le']}",
    "less_than": lambda c: f"must be < {c['lt']}",
    "missing": lambda c: "is required",
    "extra_forbidden": lambda c: "is not a known field (check the spelling in docs/tenant.md)",
    "too_short": lambda c: f"needs at least {c['min_length']} entries",
    "string_too_short": lambda c: "must not be empty",
    "string_pattern_mismatch": lambda c: (
        "must be lower-case letters, digits and '-'"
        if "a-z" in c["pattern"]
        else "must be a web address starting with https://"
        if "https?" in c["pattern"]
        else f"must match {c['pattern']}"
    ),
    "time_parsing": lambda c: "must be a time of day such as 08:30",
    "time_type": lambda c: "must be a time of day such as 08:30",
}


def _message(err: ErrorDetails) -> str:
    fn = _MESSAGES.get(err["type"])
    if fn is not None:
        try:
            return fn(err.get("ctx", {}))
        except KeyError:
            pass
    msg = err["msg"]
    return msg.removeprefix("Value error, ")


def _semantic_problems(cfg: TenantConfig, base_dir: Path | None) -> list[str]:
    problems: list[str] = []
    for i, a in enumerate(cfg.service_area):
        poly = _polygon(a.polygon)
        if not poly.is_valid:
            problems.append(f"service_area[{i}].polygon: edges cross each other (list corners in order)")
    for day in cfg.service_hours:
        if day not in WEEKDAYS:
            problems.append(f"service_hours.{day}: unknown weekday (use {', '.join(WEEKDAYS)})")
    for day, h in cfg.service_hours.items():
        if h is not None and h.start >= h.end:
            problems.append(f"service_hours.{day}: start must be before end")
    known = cfg.eligibility.known()
    for i, c in enumerate(cfg.eligibility.categories):
        if c.id in CATEGORIES:
            problems.append(f"eligibility.categories[{i}].id: {c.id!r} is built in; choose another id")
    for i, cat in enumerate(cfg.eligibility.any_of):
        if cat not in known:
            problems.append(
                f"eligibility.any_of[{i}]: unknown category {cat!r} "
                f"(use {', '.join(sorted(known))}, or define it under eligibility.categories)"
            )
    for i, r in enumerate(cfg.fares.reduced):
        if r.category not in known:
            problems.append(f"fares.reduced[{i}].category: unknown category {r.category!r}")
    area = None if any(p.startswith("service_area") for p in problems) else cfg.area_shape()
    seen: dict[str, str] = {}

    def unique(kind: str, ident: str, where: str) -> None:
        if ident in seen:
            problems.append(f"{where}.id: {ident!r} is already used by {seen[ident]}")
        else:
            seen[ident] = where

    for i, p in enumerate(cfg.places):
        unique("place", p.id, f"places[{i}]")
        if area is not None and not area.covers(ShapelyPoint(p.lon, p.lat)):
            problems.append(f"places[{i}]: ({p.lat}, {p.lon}) lies outside the service area")
    for i, op in enumerate(cfg.operators):
        unique("operator", op.id, f"operators[{i}]")
        for j, v in enumerate(op.vehicles):
            where = f"operators[{i}].vehicles[{j}]"
            unique("vehicle", v.id, where)
            if v.shift.start >= v.shift.end:
                problems.append(f"{where}.shift: start must be before end")
            if area is not None and not area.covers(ShapelyPoint(v.depot.lon, v.depot.lat)):
                problems.append(f"{where}.depot: lies outside the service area")
    if cfg.shopping is not None:
        sh = cfg.shopping
        if sh.cutoff >= sh.delivery_deadline:
            problems.append("shopping.cutoff: must be before delivery_deadline")
        for i, sel in enumerate(sh.sellers):
            unique("seller", sel.id, f"shopping.sellers[{i}]")
            if sel.place_id is not None and cfg.place(sel.place_id) is None:
                problems.append(f"shopping.sellers[{i}].place_id: unknown place {sel.place_id!r}")
    if cfg.drones is not None:
        problems += _airspace_problems(cfg, cfg.drones)
    line = cfg.simulation.bus_line
    if line is not None:
        for i, stop in enumerate(line.stops):
            if cfg.place(stop) is None:
                problems.append(f"simulation.bus_line.stops[{i}]: unknown place {stop!r}")
    collector = cfg.billing.collector
    if collector is not None:
        from dispatcher.zengin import TooLong, fit

        for name, width in (("name_kana", 40), ("bank_name_kana", 15), ("branch_name_kana", 15)):
            try:
                fit(getattr(collector, name), width)
            except TooLong:
                problems.append(f"billing.collector.{name}: at most {width} half-width characters")
            except ValueError:
                problems.append(f"billing.collector.{name}: must be katakana (the bank's name for it)")
    for i, r in enumerate(cfg.fares.reduced):
        if r.yen > cfg.fares.standard_yen:
            problems.append(f"fares.reduced[{i}].yen: must not exceed standard_yen")
    tt = cfg.travel_time
    m = tt.margin
    if m.min_percent > m.max_percent:
        problems.append(
            f"travel_time.margin.min_percent: {m.min_percent:g} is above max_percent ({m.max_percent:g})"
        )
    elif not m.min_percent <= m.prior_percent <= m.max_percent:
        problems.append(
            f"travel_time.margin.prior_percent: {m.prior_percent:g} must lie between min_percent "
            f"({m.min_percent:g}) and max_percent ({m.max_percent:g})"
        )
    if tt.model == "osm":
        if not tt.file:
            problems.append("travel_time.file: is required when model is osm")
        else:
            path = Path(tt.file)
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            if not path.exists():
                problems.append(f"travel_time.file: {tt.file} does not exist")
            elif not path.name.lower().endswith((".osm", ".osm.bz2", ".osm.pbf", ".xml")):
                problems.append("travel_time.file: must be .osm, .osm.bz2 or .osm.pbf")
    if not any(h is not None for h in cfg.service_hours.values()):
        problems.append("service_hours: at least one weekday needs hours")
    return problems


def _airspace_problems(cfg: TenantConfig, dr: Drones) -> list[str]:
    from routing.airspace import Corridor as Path_
    from routing.airspace import NoFlyZone, crossed_zones, flight_range_m
    from routing.geo import Point as GeoPoint
    from routing.geo import haversine_m

    problems: list[str] = []
    ends = {"base": GeoPoint(dr.base.lat, dr.base.lon)}
    for i, h in enumerate(dr.halls):
        place = cfg.place(h.place_id)
        if place is None or place.kind != "community_hall":
            problems.append(f"drones.halls[{i}].place_id: {h.place_id!r} is not a community_hall in places")
        ends[h.place_id] = GeoPoint(h.landing.lat, h.landing.lon)
    zones = [NoFlyZone(z.name, tuple(GeoPoint(a, b) for a, b in z.polygon)) for z in dr.no_fly]
    for i, z in enumerate(zones):
        if not z.polygon().is_valid:
            problems.append(f"drones.no_fly[{i}].polygon: edges cross each other (list corners in order)")
    best_range = max(flight_range_m(d.cruise_speed_ms, d.endurance_min, d.reserve_min) for d in dr.fleet)
    seen: set[str] = set()
    for i, c in enumerate(dr.corridors):
        where = f"drones.corridors[{i}]"
        if c.id in seen:
            problems.append(f"{where}.id: {c.id!r} is already used")
        seen.add(c.id)
        path = tuple(GeoPoint(a, b) for a, b in c.path)
        for end, field, point in ((c.from_, "from", path[0]), (c.to, "to", path[-1])):
            if end not in ends:
                problems.append(f"{where}.{field}: {end!r} is neither 'base' nor a hall in drones.halls")
            elif haversine_m(ends[end], point) > 30:
                problems.append(f"{where}.path: must start and end at the landing points of 'from' and 'to'")
        corridor = Path_(c.id, c.from_, c.to, c.altitude_m, path)
        crossed = crossed_zones(corridor, zones) if all(z.polygon().is_valid for z in zones) else []
        if crossed:
            problems.append(f"{where} ({c.id}): crosses the no-fly zone {', '.join(crossed)}")
        if 2 * corridor.length_m > best_range:
            problems.append(
                f"{where} ({c.id}): {corridor.length_m / 1000:.1f} km each way exceeds every drone's range "
                f"with its reserve ({best_range / 1000:.1f} km in all)"
            )
    return problems


def parse_tenant(data: Any, base_dir: Path | None = None) -> TenantConfig:
    """Validate already-parsed tenant data; raises TenantConfigError with every problem."""
    if not isinstance(data, dict):
        raise TenantConfigError(["(file): must be a mapping of fields (see docs/tenant.md)"])
    try:
        cfg = TenantConfig.model_validate(data)
    except ValidationError as e:
        raise TenantConfigError([f"{location(err['loc'])}: {_message(err)}" for err in e.errors()]) from None
    problems = _semantic_problems(cfg, base_dir)
    if problems:
        raise TenantConfigError(problems)
    return cfg


def load_tenant(path: str | Path) -> TenantConfig:
    """Read and validate a tenant file (YAML, or JSON, which YAML reads too)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TenantConfigError([f"(file): {path} does not exist"]) from None
    except (IsADirectoryError, PermissionError) as e:
        raise TenantConfigError([f"(file): {path} cannot be read ({e.strerror})"]) from None
    except UnicodeDecodeError:
        raise TenantConfigError([f"(file): {path} is not UTF-8 text"]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise TenantConfigError([f"{where}: not valid YAML ({getattr(e, 'problem', e)})"]) from None
    return parse_tenant(data, path.parent)


TENANT_FILE_SUFFIXES = (".yaml", ".yml", ".json")


def tenant_paths(spec: str | Path) -> list[Path]:
    """The tenant files a setting names: one file, a folder (its *.yaml, *.yml and *.json files in
    name order), or several of either separated by the path separator (":" on Linux) or commas.

    A folder without tenant files or an empty setting raises TenantConfigError."""
    parts = [p.strip() for p in re.split(f"[,{re.escape(os.pathsep)}]", os.fspath(spec)) if p.strip()]
    if not parts:
        raise TenantConfigError(["NORIAI_TENANT_FILE: names no tenant file"])
    out: list[Path] = []
    for part in parts:
        path = Path(part)
        if path.is_dir():
            found = sorted(
                f
                for f in path.iterdir()
                if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in TENANT_FILE_SUFFIXES
            )
            if not found:
                raise TenantConfigError([f"{path}: a folder without tenant files (*.yaml, *.yml, *.json)"])
            out += found
        else:
            out.append(path)
    unique: dict[Path, Path] = {}
    for p in out:
        unique.setdefault(p.resolve(), p)
    return list(unique.values())


def load_tenants(spec: str | Path) -> list[tuple[Path, TenantConfig]]:
    """Read and validate every tenant file a setting names (see `tenant_paths`).

    Raises TenantConfigError listing every problem of every file, each line starting with the file's
    path, and a tenant id used by two files."""
    problems: list[str] = []
    loaded: list[tuple[Path, TenantConfig]] = []
    by_id: dict[str, Path] = {}
    for path in tenant_paths(spec):
        try:
            cfg = load_tenant(path)
        except TenantConfigError as e:
            problems += [f"{path}: {p}" for p in e.problems]
            continue
        if cfg.id in by_id:
            problems.append(f"{path}: id: {cfg.id!r} is already the id of {by_id[cfg.id]}")
            continue
        by_id[cfg.id] = path
        loaded.append((path, cfg))
    if problems:
        raise TenantConfigError(problems)
    return loaded


def osm_path(cfg: TenantConfig, tenant_file: Path | None) -> Path | None:
    """The OSM file of a tenant using the road-network model, resolved against its tenant file."""
    if cfg.travel_time.model != "osm" or not cfg.travel_time.file:
        return None
    p = Path(cfg.travel_time.file)
    if not p.is_absolute() and tenant_file is not None:
        p = tenant_file.parent / p
    return p
