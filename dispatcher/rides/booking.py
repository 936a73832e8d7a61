"""Booking a same-day ride: check the request, find it a place in the plan (`placement`), commit.

One call to `book` runs in one transaction holding the tenant's write lock, so the plan it inserts
into is the plan it stores, and concurrent bookings queue rather than overwrite each other. Every
promise already given stays feasible: the new plan of the chosen vehicle passes the exact checker.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator
from shapely.geometry import Point as ShapelyPoint
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.db import RowId, id_of, lock_tenant, sent_under_key
from dispatcher.errors import Code, Conflict, DomainError, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.models import Resident, Ride, RideStatus, Vehicle
from dispatcher.residents.eligibility import categories_on, eligibility_refusal, verdict
from dispatcher.rides.fares import Cancelled, fare_fields, fare_text
from dispatcher.rides.kinds import RIDE_CANCELLED, RIDE_REFUSED, RIDE_REQUESTED
from dispatcher.rides.lifecycle import remove_stops, replan_vehicle
from dispatcher.rides.place_names import name_stop
from dispatcher.rides.placement import commit_placement, place, planned_pickup, try_insert
from dispatcher.rides.plan import (
    LiveView,
    Problem,
    build_problem,
    current_plan,
    live_problem,
    moved_view,
    remember,
    seats_needed,
)
from dispatcher.tenant_config import Booking, Hours, TenantConfig
from dispatcher.timeline import (
    Day,
    Instant,
    at_local,
    ceil_minute,
    floor_minute,
    from_seconds,
    iso_local,
    local_date,
)
from routing.geo import Point, haversine_m


class Location(BaseModel):
    """Either coordinates or a named place of the tenant."""

    model_config = ConfigDict(extra="forbid")
    lat: float | None = Field(default=None, ge=-90, le=90, description="latitude, degrees")
    lon: float | None = Field(default=None, ge=-180, le=180, description="longitude, degrees")
    place_id: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_form(self) -> Location:
        coords = self.lat is not None or self.lon is not None
        if self.place_id is not None and coords:
            raise ValueError("give either lat and lon, or place_id, not both")
        if self.place_id is None and (self.lat is None or self.lon is None):
            raise ValueError("give both lat and lon, or a place_id")
        return self


class RideRequest(BaseModel):
    """A ride request. Exactly one of pickup_after and arrive_by; instants with an offset."""

    model_config = ConfigDict(extra="forbid")
    resident_id: RowId
    origin: Location
    destination: Location
    pickup_after: Instant | None = None
    arrive_by: Instant | None = None
    party_size: int = Field(default=1, ge=1, le=99, description="persons riding, rider included")
    wheelchair: StrictBool = False

    @model_validator(mode="after")
    def _one_time(self) -> RideRequest:
        if (self.pickup_after is None) == (self.arrive_by is None):
            raise ValueError("give exactly one of pickup_after or arrive_by")
        return self

    def fingerprint(self) -> str:
        """A hash of the request's meaning, to recognise a replay under the same Idempotency-Key."""
        data = self.model_dump(mode="json")
        for k in ("pickup_after", "arrive_by"):
            v = getattr(self, k)
            data[k] = None if v is None else v.timestamp()
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


PAST_GRACE_MINUTES = 10


def booked_with(session: Session, tenant_id: str, key: str, actor: str) -> bool:
    """Whether `actor` already sent a ride request under this Idempotency-Key (a retry, which
    `book` answers from what is stored)."""
    return sent_under_key(session, Ride, tenant_id, key, actor)


@dataclass
class Booked:
    """The outcome of `book`: the ride, and whether it replays an earlier request."""

    ride: Ride
    replayed: bool


def fare_yen(resident: Resident, cfg: TenantConfig, on: date, party_size: int) -> int:
    """Fare of one ride (yen): the rider's best applicable fare plus companions' fares."""
    cats = categories_on(resident, cfg, on)
    own = min([cfg.fares.standard_yen] + [r.yen for r in cfg.fares.reduced if r.category in cats])
    return own + (party_size - 1) * cfg.fares.companion_yen


def _resolve(loc: Location, cfg: TenantConfig, field: str, errors: list[dict[str, str]]) -> Point | None:
    if loc.place_id is not None:
        place = cfg.place(loc.place_id)
        if place is None:
            errors.append(
                field_error(
                    f"{field}.place_id",
                    f"unknown place {loc.place_id!r}; GET /api/v1/places lists them",
                    code=Code.place_unknown,
                )
            )
            return None
        return Point(place.lat, place.lon)
    assert loc.lat is not None and loc.lon is not None
    p = Point(loc.lat, loc.lon)
    if not cfg.area_shape().covers(ShapelyPoint(p.lon, p.lat)):
        errors.append(
            field_error(
                field,
                f"({p.lat}, {p.lon}) is outside the service area of {cfg.name}",
                code=Code.place_outside_area,
            )
        )
        return None
    return p


@dataclass
class Checked:
    """A request that passed every rule, with its derived promise parameters."""

    resident: Resident
    origin: Point
    destination: Point
    day: date
    window_start: datetime
    window_end: datetime
    latest_arrival: datetime
    direct_s: float
    max_ride_s: float
    fare: int


def new_ride(
    tenant_id: str, req: RideRequest, checked: Checked, now: datetime, key: str, fingerprint: str, actor: str
) -> Ride:
    """A requested ride with the promise parameters its check derived (not yet stored)."""
    return Ride(
        tenant_id=tenant_id,
        resident_id=req.resident_id,
        service_date=checked.day,
        status=RideStatus.requested.value,
        origin_lat=checked.origin.lat,
        origin_lon=checked.origin.lon,
        origin_place_id=req.origin.place_id,
        destination_lat=checked.destination.lat,
        destination_lon=checked.destination.lon,
        destination_place_id=req.destination.place_id,
        pickup_after=req.pickup_after,
        arrive_by=req.arrive_by,
        party_size=req.party_size,
        wheelchair=req.wheelchair,
        direct_seconds=checked.direct_s,
        max_ride_seconds=checked.max_ride_s,
        pickup_window_start=checked.window_start,
        pickup_window_end=checked.window_end,
        latest_arrival=checked.latest_arrival,
        fare_yen=checked.fare,
        idempotency_key=key,
        request_hash=fingerprint,
        created_by=actor,
        created_at=now,
    )


LIVE_STATUSES = (RideStatus.confirmed.value, RideStatus.vehicle_arrived.value, RideStatus.on_board.value)


@dataclass(frozen=True)
class TimeRefusal:
    """Why a requested time cannot be promised: `too_soon` (an arrival the direct ride cannot
    make from now; `soonest` is the earliest that can), `before_open` or `after_close`."""

    kind: str
    soonest: datetime | None = None


@dataclass(frozen=True)
class Promise:
    """What asking a time promises: pickup window start and end, latest arrival."""

    start: datetime
    end: datetime
    latest: datetime


@dataclass(frozen=True)
class TimeLimits:
    """The asked times a trip can be booked with on one day (whole minutes, None: none)."""

    earliest_pickup: datetime | None  # the earliest pickup window start
    latest_pickup: datetime | None  # the latest pickup_after accepted
    earliest_arrival: datetime | None  # the earliest arrive_by accepted
    latest_arrival: datetime | None  # the latest arrive_by accepted


@dataclass(frozen=True)
class TimeRules:
    """The service-hour rules of one trip on one day: one place that both decides a request
    (`promise`) and tells the pickers how far they may go (`limits`), so they cannot disagree.

    direct_s: direct driving time, seconds; now: the moment of booking."""

    b: Booking
    day: date
    hours: Hours
    tz: ZoneInfo
    now: datetime
    direct_s: float
    wheelchair: bool

    @property
    def open_at(self) -> datetime:
        return at_local(self.day, self.hours.start, self.tz)

    @property
    def close_at(self) -> datetime:
        return at_local(self.day, self.hours.end, self.tz)

    @property
    def earliest(self) -> datetime:
        """The first whole minute a pickup window may start: now plus the booking lead."""
        return ceil_minute(self.now + timedelta(minutes=self.b.min_lead_minutes))

    @property
    def boarding_s(self) -> float:
        return 60 * (self.b.wheelchair_boarding_minutes if self.wheelchair else self.b.boarding_minutes)

    def shared_end(self, latest: datetime) -> datetime:
        """The end of the pickup window that leaves a shared ride (direct x factor) time to arrive
        by `latest`; an arrival whose shared end lies before `earliest` is picked up at once."""
        return floor_minute(
            latest - timedelta(seconds=self.boarding_s + self.direct_s * self.b.max_ride.factor)
        )

    def promise(
        self, pickup_after: datetime | None, arrive_by: datetime | None
    ) -> tuple[datetime, datetime, datetime] | TimeRefusal:
        """(pickup window start, end, latest arrival) for exactly one of the two asked times."""
        b, direct = self.b, self.direct_s
        earliest = self.earliest
        max_ride = direct * b.max_ride.factor + 60 * b.max_ride.plus_minutes
        boarding = self.boarding_s
        window = timedelta(minutes=b.pickup_window_minutes)
        if pickup_after is not None:
            start = max(ceil_minute(pickup_after), earliest)
            end = start + window
            latest = ceil_minute(end + timedelta(seconds=boarding + max_ride))
        else:
            assert arrive_by is not None
            # Pick up early enough for a shared ride (direct x factor); when that moment has passed
            # (or comes before opening: an early appointment), as soon as possible, provided a
            # direct ride from then still arrives in time.
            latest = floor_minute(arrive_by)
            first = max(earliest, self.open_at)  # nobody is picked up before opening
            end = self.shared_end(latest)
            start = end - window
            if end < first:
                start, end = first, first + window
                soonest = ceil_minute(first + timedelta(seconds=boarding + direct))
                if soonest > latest:  # bound by the opening time, or by now and the lead time
                    return TimeRefusal("before_open" if earliest < self.open_at else "too_soon", soonest)
                end = min(end, floor_minute(latest - timedelta(seconds=boarding + direct)))
            start = max(start, first)
        open_at, close_at = self.open_at, self.close_at
        if start < open_at or latest > close_at:
            return TimeRefusal("before_open" if start < open_at else "after_close")
        return start, end, latest

    def limits(self) -> TimeLimits:
        """The first and last whole minutes `promise` accepts for each kind of asked time, between
        the open (or now) and the close, found by asking it: binary searches over those minutes (a
        few dozen checks, not one a minute; tests/test_time_limits.py holds them to asking every one).

        Asked pickups are refused only for arriving after the close, and a later one arrives no
        earlier: the accepted ones are a first run of minutes. Asked arrivals fall in two runs:
        picked up at once, until the minute whose shared pickup end (`shared_end`) reaches
        `earliest`; then picked up in time to share. Within each run the accepted arrivals are a
        last run of its minutes (the refused ones are too soon). Since an early appointment is
        picked up from the open in either way, the two runs meet (no gap for a picker to offer:
        tests/test_time_limits.py), but each is still searched on its own, which holds either way."""
        lo = max(self.open_at, ceil_minute(self.now))
        n = max(0, int((self.close_at - lo).total_seconds() // 60) + 1)  # the minutes lo, lo + 1 min, ..

        def at(k: int) -> datetime:
            return lo + timedelta(minutes=k)

        def first(ok: Callable[[int], bool], a: int, z: int) -> int:
            """The first k in [a, z) with ok(k), for `ok` false and then true over it; else z."""
            while a < z:
                m = (a + z) // 2
                if ok(m):
                    z = m
                else:
                    a = m + 1
            return a

        def pickup_refused(k: int) -> bool:
            return isinstance(self.promise(at(k), None), TimeRefusal)

        def arrival_ok(k: int) -> bool:
            return not isinstance(self.promise(None, at(k)), TimeRefusal)

        def shares(k: int) -> bool:  # as `promise` decides between its two ways of picking up
            return self.shared_end(floor_minute(at(k))) >= self.earliest

        refused = first(pickup_refused, 0, n)
        latest_pickup = at(refused - 1) if refused > 0 else None
        got = self.promise(lo, None) if latest_pickup is not None else None
        split = first(shares, 0, n)
        at_once, shared = first(arrival_ok, 0, split), first(arrival_ok, split, n)
        first_arrival = at_once if at_once < split else shared if shared < n else None
        last_arrival = n - 1 if shared < n else split - 1 if at_once < split else None
        return TimeLimits(
            got[0] if isinstance(got, tuple) else None,
            latest_pickup,
            None if first_arrival is None else at(first_arrival),
            None if last_arrival is None else at(last_arrival),
        )


def clock(instant: datetime | None, tz: ZoneInfo) -> str:
    """'9:05' (local), as people write it; '' for None."""
    if instant is None:
        return ""
    t = instant.astimezone(tz)
    return f"{t.hour}:{t.minute:02d}"


def time_refusal_error(refusal: TimeRefusal, rules: TimeRules, field: str) -> dict[str, Any]:
    """The field error for a time the service-hour rules refuse, naming the real rule and the
    nearest time that would do."""
    tz, hours = rules.tz, rules.hours
    if refusal.kind == "too_soon":
        assert refusal.soonest is not None
        return field_error(
            "arrive_by",
            f"too soon: the earliest possible arrival is {refusal.soonest.astimezone(tz):%H:%M}",
            code=Code.time_too_soon,
            earliest=f"{refusal.soonest.astimezone(tz):%H:%M}",
        )
    limits = rules.limits()
    if refusal.kind == "after_close" and field == "pickup_after":
        last = limits.latest_pickup
        return field_error(
            field,
            f"the ride must end by closing time {hours.end:%H:%M}: "
            + (
                f"the latest pickup for this trip is {last.astimezone(tz):%H:%M}"
                if last
                else "no pickup fits any more"
            ),
            code=Code.time_after_last_pickup,
            close=clock(rules.close_at, tz),
            last_pickup=clock(last, tz),
        )
    if refusal.kind == "before_open" and field == "arrive_by" and limits.earliest_arrival is not None:
        first = limits.earliest_arrival
        return field_error(
            field,
            f"service starts at {hours.start:%H:%M}: "
            f"the earliest arrival for this trip is {first.astimezone(tz):%H:%M}",
            code=Code.time_before_first_arrival,
            open=clock(rules.open_at, tz),
            earliest_arrival=clock(first, tz),
        )
    return field_error(
        field,
        f"the ride must lie within service hours {hours.start:%H:%M}–{hours.end:%H:%M}",
        code=Code.time_outside_hours,
        hours=f"{hours.start:%H:%M}–{hours.end:%H:%M}",
    )


def check_request(
    ctx: Dispatcher, session: Session, cfg: TenantConfig, req: RideRequest, now: datetime
) -> Checked:
    """Apply the tenant's booking rules; raises InvalidRequest naming every bad field."""
    tz = cfg.tz
    errors: list[dict[str, str]] = []
    today = local_date(now, tz)
    resident = session.get(Resident, req.resident_id)
    asked_at = req.pickup_after if req.pickup_after is not None else req.arrive_by
    ride_day = local_date(asked_at, tz) if asked_at is not None else today
    if resident is not None and resident.tenant_id == cfg.id and not resident.active:
        errors.append(
            field_error(
                "resident_id",
                f"the registration of resident {req.resident_id} ended"
                + (f" on {resident.ended_on.isoformat()}" if resident.ended_on else ""),
                code=Code.resident_ended,
            )
        )
        resident = None
    elif resident is None or resident.tenant_id != cfg.id:
        errors.append(
            field_error(
                "resident_id",
                f"no registered resident with id {req.resident_id}",
                code=Code.resident_not_registered,
            )
        )
        resident = None
    elif resident.paused_on is not None and resident.paused_on <= ride_day:
        errors.append(
            field_error(
                "resident_id",
                f"the registration is paused since {resident.paused_on.isoformat()}"
                + (f" ({resident.pause_reason})" if resident.pause_reason else ""),
                code=Code.resident_paused,
                since=resident.paused_on.isoformat(),
            )
        )
    else:
        v = verdict(resident, cfg, ride_day)
        if not v.registered:
            errors.append(
                field_error(
                    "resident_id",
                    f"the registration ends before {ride_day.isoformat()}",
                    code=Code.resident_not_registered,
                )
            )
        elif not v.eligible:
            errors.append(eligibility_refusal(v, cfg))
    origin = _resolve(req.origin, cfg, "origin", errors)
    destination = _resolve(req.destination, cfg, "destination", errors)
    if origin and destination and haversine_m(origin, destination) < 50:
        errors.append(field_error("destination", "is the same place as the origin", code=Code.place_same))

    b = cfg.booking
    if req.party_size > b.max_party_size:
        errors.append(
            field_error(
                "party_size", f"at most {b.max_party_size} persons per booking", code=Code.party_too_large
            )
        )
    else:
        seats, chairs = seats_needed(req.party_size, req.wheelchair)
        takes = session.exec(
            select(Vehicle.id)
            .where(
                Vehicle.tenant_id == cfg.id,
                Vehicle.active == True,  # noqa: E712
                col(Vehicle.seats) >= seats,
                col(Vehicle.wheelchair_places) >= chairs,
            )
            .limit(1)
        ).first()
        if takes is None:
            what = "a wheelchair and " if chairs else ""
            errors.append(
                field_error(
                    "party_size", f"no vehicle takes {what}{seats} seated persons", code=Code.party_no_vehicle
                )
            )

    field = "pickup_after" if req.pickup_after is not None else "arrive_by"
    asked = req.pickup_after if req.pickup_after is not None else req.arrive_by
    assert asked is not None  # a RideRequest has exactly one of the two
    day = local_date(asked, tz)
    hours = cfg.hours_on(day)
    # "Now" chosen on a screen a few minutes ago still means now (the window starts at the
    # earliest bookable minute anyway); an arrival deadline in the past is an error.
    grace = timedelta(minutes=PAST_GRACE_MINUTES if req.pickup_after is not None else 1)
    if asked < now - grace:
        errors.append(
            field_error(
                field,
                f"{asked.astimezone(tz):%H:%M} is in the past; it is now {now.astimezone(tz):%H:%M}",
                code=Code.time_in_past,
            )
        )
    elif b.same_day_only and day != today:
        errors.append(
            field_error(
                field, f"rides can be booked for today ({today.isoformat()}) only", code=Code.time_not_today
            )
        )
    elif hours is None:
        errors.append(
            field_error(field, f"there is no service on {day.isoformat()}", code=Code.time_no_service)
        )
    if errors:
        raise InvalidRequest("The ride request has problems; correct the fields listed in errors.", errors)
    assert resident and origin and destination and hours

    direct = float(ctx.travel(cfg.id, session).matrix([origin, destination])[0, 1])
    max_ride = direct * b.max_ride.factor + 60 * b.max_ride.plus_minutes
    rules = TimeRules(b, day, hours, tz, now, direct, req.wheelchair)
    got = rules.promise(req.pickup_after, req.arrive_by)
    if isinstance(got, TimeRefusal):
        raise InvalidRequest(
            "The ride request has problems; correct the fields listed in errors.",
            [time_refusal_error(got, rules, field)],
        )
    start, end, latest = got
    return Checked(
        resident,
        origin,
        destination,
        day,
        start,
        end,
        latest,
        direct,
        max_ride,
        fare_yen(resident, cfg, day, req.party_size),
    )


def _place_name(
    cfg: TenantConfig, place_id: str | None, lat: float, lon: float, rider: Resident | None
) -> str:
    if place_id and (place := cfg.place(place_id)) is not None:
        return place.name
    if rider is not None and haversine_m(Point(rider.lat, rider.lon), Point(lat, lon)) < 50:
        return "自宅"
    return "指定の場所"


CHAIN_METRES = 50.0  # a ride "starts where another ends" within this distance (m)


def _chained(ride: Ride, checked: Checked) -> bool:
    """Whether the request follows `ride` or leads into it: the way back from where the rider is
    taken (or the way to where the rider is fetched), starting no earlier than the rider can be
    there. The rider is there from the planned drop-off (else the window's start plus the direct
    drive); the request's own rider arrives at the earliest at its window start plus its direct
    drive (s). Such a pair is a day's errand, not a double booking, even though the first ride's
    latest arrival (its promise) lies after the second's pickup."""
    assert ride.pickup_window_start is not None
    if haversine_m(Point(ride.destination_lat, ride.destination_lon), checked.origin) < CHAIN_METRES:
        there = ride.planned_dropoff or ride.pickup_window_start + timedelta(seconds=ride.direct_seconds or 0)
        return checked.window_start >= there
    if haversine_m(checked.destination, Point(ride.origin_lat, ride.origin_lon)) < CHAIN_METRES:
        return checked.window_start + timedelta(seconds=checked.direct_s) <= ride.pickup_window_start
    return False


def check_overlap(
    session: Session,
    cfg: TenantConfig,
    checked: Checked,
    exclude: int | None = None,
    book_anyway: bool = False,
) -> None:
    """One rider, one ride at a time: refuse a request whose pickup window .. latest arrival
    overlaps a live ride of the same rider (confirmed, vehicle arrived or on board), naming it.

    The same trip (same origin and destination) at an overlapping time is refused always
    (`ride.duplicate`); another overlapping ride only unless an operator books anyway
    (`ride.overlaps`). `exclude`: the ride a change replaces."""
    rider = checked.resident
    rides = session.exec(
        select(Ride).where(
            Ride.tenant_id == cfg.id,
            Ride.resident_id == rider.id,
            Ride.kind == "passenger",
            Ride.service_date == checked.day,
            Ride.status.in_(LIVE_STATUSES),  # type: ignore[attr-defined]
        )
    ).all()
    clashes = [
        r
        for r in rides
        if r.id != exclude
        and r.pickup_window_start is not None
        and r.latest_arrival is not None
        and r.pickup_window_start < checked.latest_arrival
        and checked.window_start < r.latest_arrival
        and not _chained(r, checked)
    ]
    if not clashes:
        return

    def same_trip(r: Ride) -> bool:
        return (
            haversine_m(Point(r.origin_lat, r.origin_lon), checked.origin) < 50
            and haversine_m(Point(r.destination_lat, r.destination_lon), checked.destination) < 50
        )

    duplicate = next((r for r in clashes if same_trip(r)), None)
    if duplicate is None and book_anyway:
        return
    ride = duplicate or clashes[0]
    tz = cfg.tz
    assert ride.pickup_window_start is not None and ride.pickup_window_end is not None
    pickup = f"{clock(ride.pickup_window_start, tz)}〜{clock(ride.pickup_window_end, tz)}"
    to = _place_name(cfg, ride.destination_place_id, ride.destination_lat, ride.destination_lon, rider)
    existing = {
        "id": ride.id,
        "status": ride.status,
        "pickup_window": {
            "start": iso_local(ride.pickup_window_start, tz),
            "end": iso_local(ride.pickup_window_end, tz),
        },
        "latest_arrival": iso_local(ride.latest_arrival, tz),
        "destination": to,
    }
    # Both problems name the ride in the way with the same members.
    named: dict[str, Any] = {
        "existing_ride": existing,
        "existing_ride_id": ride.id,
        "existing_pickup": pickup,
        "existing_to": to,
    }
    if duplicate is not None:
        raise Conflict(
            f"Resident {rider.id} already has this trip booked (ride {ride.id}, pickup {pickup}); "
            "the same trip is not booked twice.",
            title="Same ride already booked",
            code=Code.ride_duplicate,
            **named,
        )
    raise Conflict(
        f"Resident {rider.id} already has ride {ride.id} (pickup {pickup}, to {to}) at an overlapping "
        "time; one rider takes one ride at a time. An operator may book anyway (book_anyway).",
        title="Overlaps a ride of the same rider",
        code=Code.ride_overlaps,
        **named,
    )


def _alternatives(
    cfg: TenantConfig,
    problem: Problem,
    ride: Ride,
    checked: Checked,
    now: datetime,
) -> list[dict[str, Any]]:
    """Nearby pickup windows that do fit, nearest to the requested one first."""
    tz = cfg.tz
    alt = cfg.booking.alternatives
    hours = cfg.hours_on(checked.day)
    assert hours is not None
    open_at, close_at = at_local(checked.day, hours.start, tz), at_local(checked.day, hours.end, tz)
    earliest = ceil_minute(now + timedelta(minutes=cfg.booking.min_lead_minutes))
    found: list[dict[str, Any]] = []
    offsets = []
    for k in range(1, alt.max_offset_minutes // alt.step_minutes + 1):
        offsets += [k * alt.step_minutes, -k * alt.step_minutes]
    for minutes in offsets:
        if len(found) >= alt.count:
            break
        delta = timedelta(minutes=minutes)
        start, end, latest = (
            checked.window_start + delta,
            checked.window_end + delta,
            checked.latest_arrival + delta,
        )
        if start < max(earliest, open_at) or latest > close_at:
            continue
        ride.pickup_window_start, ride.pickup_window_end, ride.latest_arrival = start, end, latest
        if try_insert(cfg, problem, ride) is not None:
            found.append(
                {
                    "pickup_window": {"start": iso_local(start, tz), "end": iso_local(end, tz)},
                    "latest_arrival": iso_local(latest, tz),
                    "pickup_after": iso_local(start, tz),
                }
            )
    found.sort(key=lambda a: a["pickup_after"])
    return found


def book(
    ctx: Dispatcher,
    tenant_id: str,
    req: RideRequest,
    idempotency_key: str,
    actor: str,
    replaces: int | None = None,
    reason: str = "",
    book_anyway: bool = False,
) -> Booked:
    """Check, quote and commit a ride request in one locked transaction.

    Returns the confirmed (or refused) ride; raises InvalidRequest for bad input (nothing stored),
    Conflict when the key was used for a different request.

    With `replaces` (a change of a confirmed ride), the old ride's stops are taken out before the
    new request is inserted, and the old ride is cancelled (with `reason`) in the same transaction
    only when the new one is confirmed; a refused change leaves the old ride as it was.

    A request overlapping a live ride of the same rider raises Conflict (`check_overlap`) unless
    `book_anyway` (operators only) and it is not the same trip; a replay of a stored request is
    answered from what is stored before any check.
    """
    fingerprint = req.fingerprint()
    if replaces is not None:
        fingerprint = hashlib.sha256(f"{fingerprint}:replaces:{replaces}".encode()).hexdigest()
    cfg = ctx.config(tenant_id)
    with Session(ctx.engine, expire_on_commit=False) as session:
        try:
            seq = lock_tenant(session, tenant_id)
            now = ctx.clock.now()  # read under the lock: queued bookings see the time they run
            previous = session.exec(
                select(Ride).where(Ride.tenant_id == tenant_id, Ride.idempotency_key == idempotency_key)
            ).first()
            if previous is not None:
                session.rollback()
                if previous.request_hash != fingerprint:
                    raise InvalidRequest(
                        "This Idempotency-Key was already used for a different ride request; "
                        "send a new key for a new request.",
                        [
                            field_error(
                                "Idempotency-Key",
                                "reused with a different body",
                                code=Code.idempotency_key_reused,
                            )
                        ],
                    )
                return Booked(previous, True)
            old = _replaceable(session, tenant_id, replaces, req) if replaces is not None else None
            checked = check_request(ctx, session, cfg, req, now)
            check_overlap(session, cfg, checked, exclude=replaces, book_anyway=book_anyway)
            ride = new_ride(tenant_id, req, checked, now, idempotency_key, fingerprint, actor)
            session.add(ride)
            session.flush()  # assigns ride.id
            assert ride.id is not None
            record(
                session,
                tenant_id,
                now,
                actor,
                RIDE_REQUESTED,
                "ride",
                ride.id,
                # an operator's override of the one-ride-at-a-time rule stays on record
                after=req.model_dump(mode="json") | ({"book_anyway": True} if book_anyway else {}),
            )
            view: LiveView | None = None
            if old is None:
                view, state, problem = live_problem(
                    ctx, session, cfg, checked.day, seq, now, [checked.origin, checked.destination]
                )
            else:  # the plan without the ride being changed
                state = current_plan(session, tenant_id, checked.day)
                remove_stops(state, id_of(old), ("pickup", "dropoff"))
                if old.vehicle_id is not None:
                    replan_vehicle(ctx, session, cfg, checked.day, state, now, old.vehicle_id)
                problem = build_problem(
                    ctx, session, cfg, checked.day, state, now, [checked.origin, checked.destination]
                )
            placement = place(cfg, problem, ride)
            if placement is None:
                alternatives = _alternatives(cfg, problem, ride, checked, now)
                ride.pickup_window_start, ride.pickup_window_end = checked.window_start, checked.window_end
                ride.latest_arrival = checked.latest_arrival
                ride.status = RideStatus.refused.value
                ride.fare_yen = None
                ride.refusal_reason = "no_vehicle_available"
                ride.alternatives = alternatives
                if old is not None:
                    # A refused change stores nothing: the old ride and the plan stay as they were.
                    answer = Ride(**{**ride.model_dump(), "id": None})
                    session.rollback()
                    return Booked(answer, False)
                record(
                    session,
                    tenant_id,
                    now,
                    actor,
                    RIDE_REFUSED,
                    "ride",
                    ride.id,
                    before={"status": "requested"},
                    after={"status": "refused", "reason": ride.refusal_reason, "alternatives": alternatives},
                )
            else:
                if old is not None:
                    before = old.status
                    old.status = RideStatus.cancelled.value
                    old.cancelled_at = now
                    session.add(old)
                    record(
                        session,
                        tenant_id,
                        now,
                        actor,
                        RIDE_CANCELLED,
                        "ride",
                        old.id,
                        before={"status": before},
                        after={
                            "status": old.status,
                            "reason": f"changed to ride {ride.id}: {reason}",
                            "replaced_by": ride.id,
                        },
                    )
                commit_placement(session, cfg, checked.day, state, problem, placement, ride, now, actor)
            moved = moved_view(ctx, session, cfg, checked.day, seq, state, basis=view)
            session.commit()
            remember(ctx, cfg, moved)
            return Booked(ride, False)
        except BaseException:
            session.rollback()
            raise


def cancelled_by_change(after: dict[str, Any] | None) -> bool:
    """Whether a `ride.cancelled` event is the old half of a change (the ride was replaced by a new
    booking, see `book` with `replaces`); events from before `replaced_by` say so in their reason."""
    after = after or {}
    return "replaced_by" in after or str(after.get("reason", "")).startswith("changed to ride")


def quote(ctx: Dispatcher, tenant_id: str, req: RideRequest, book_anyway: bool = False) -> dict[str, Any]:
    """What booking `req` now would promise, without storing anything.

    {"available": True, "pickup_window", "latest_arrival", "fare_yen", "planned_pickup"} or
    {"available": False, "alternatives": [...]}. Bad input raises InvalidRequest as `book` does. The
    booking itself may still differ if someone else books in between; `book` decides. A request
    overlapping a live ride of the rider raises Conflict as `book` does.
    """
    cfg = ctx.config(tenant_id)
    tz = cfg.tz
    with Session(ctx.engine) as session:
        now = ctx.clock.now()
        checked = check_request(ctx, session, cfg, req, now)
        check_overlap(session, cfg, checked, book_anyway=book_anyway)
        ride = new_ride(tenant_id, req, checked, now, "", "", "")
        ride.id = -1  # never stored: a stand-in id for the stops
        # Built afresh: a quote holds no lock, so it must not touch the view bookings reuse.
        problem = build_problem(
            ctx,
            session,
            cfg,
            checked.day,
            current_plan(session, tenant_id, checked.day),
            now,
            [checked.origin, checked.destination],
        )
        placement = place(cfg, problem, ride)
        if placement is None:
            return {"available": False, "alternatives": _alternatives(cfg, problem, ride, checked, now)}
        pickup = planned_pickup(placement, -1)
        return {
            "available": True,
            "pickup_window": {
                "start": iso_local(checked.window_start, tz),
                "end": iso_local(checked.window_end, tz),
            },
            "latest_arrival": iso_local(checked.latest_arrival, tz),
            "fare_yen": checked.fare,
            "fare_text": fare_text(cfg, checked.fare),
            "planned_pickup": iso_local(from_seconds(pickup, checked.day, tz), tz),
            "direct_minutes": round(checked.direct_s / 60, 1),
        }


class TripQuestion(BaseModel):
    """A trip without a time: which times may be asked for it (`time_limits`)."""

    model_config = ConfigDict(extra="forbid")
    resident_id: RowId
    origin: Location
    destination: Location
    party_size: int = Field(default=1, ge=1, le=99, description="persons riding, rider included")
    wheelchair: StrictBool = False
    date: Day | None = Field(default=None, description="YYYY-MM-DD; default today")


def time_limits(ctx: Dispatcher, tenant_id: str, q: TripQuestion) -> dict[str, Any]:
    """The times a trip can be asked for on a day, by the same rules `check_request` applies.

    {"date", "service_hours": {"start", "end"} | None, "earliest_pickup", "latest_pickup",
    "earliest_arrival", "latest_arrival", "direct_minutes"}: local times with offset, null when
    no such time is left (or no service that day). The pickers offer nothing beyond these; a
    booking may still be refused when no vehicle is free.
    """
    cfg = ctx.config(tenant_id)
    tz = cfg.tz
    now = ctx.clock.now()
    day = q.date or local_date(now, tz)
    hours = cfg.hours_on(day)
    errors: list[dict[str, str]] = []
    with Session(ctx.engine) as session:
        resident = session.get(Resident, q.resident_id)
        if resident is None or resident.tenant_id != cfg.id:
            errors.append(
                field_error(
                    "resident_id",
                    f"no registered resident with id {q.resident_id}",
                    code=Code.resident_not_registered,
                )
            )
        origin = _resolve(q.origin, cfg, "origin", errors)
        destination = _resolve(q.destination, cfg, "destination", errors)
        if errors:
            raise InvalidRequest("The trip has problems; correct the fields listed in errors.", errors)
        assert origin is not None and destination is not None
        direct = float(ctx.travel(cfg.id, session).matrix([origin, destination])[0, 1])
    out: dict[str, Any] = {
        "date": day.isoformat(),
        "service_hours": None,
        "earliest_pickup": None,
        "latest_pickup": None,
        "earliest_arrival": None,
        "latest_arrival": None,
        "direct_minutes": round(direct / 60, 1),
    }
    if hours is None or (cfg.booking.same_day_only and day != local_date(now, tz)):
        return out
    limits = TimeRules(cfg.booking, day, hours, tz, now, direct, q.wheelchair).limits()
    return out | {
        "service_hours": {"start": f"{hours.start:%H:%M}", "end": f"{hours.end:%H:%M}"},
        "earliest_pickup": iso_local(limits.earliest_pickup, tz),
        "latest_pickup": iso_local(limits.latest_pickup, tz),
        "earliest_arrival": iso_local(limits.earliest_arrival, tz),
        "latest_arrival": iso_local(limits.latest_arrival, tz),
    }


def refusal_error(ride: Ride, cfg: TenantConfig) -> DomainError:
    """The 409 problem for a refused ride, with its alternatives."""
    tz = cfg.tz
    start, end = ride.pickup_window_start, ride.pickup_window_end
    assert start is not None and end is not None  # a refused ride keeps the window it was refused
    when = f"{start.astimezone(tz):%H:%M}–{end.astimezone(tz):%H:%M}"
    alts = ride.alternatives or []
    hint = (
        " Other pickup windows that fit are listed in alternatives."
        if alts
        else " No nearby pickup window fits either; try another time or call the operator."
    )
    return Conflict(
        f"No vehicle can take this ride with pickup {when} while keeping every promise already given.{hint}",
        title="No vehicle available",
        reason="no_vehicle_available",
        ride_id=ride.id,
        alternatives=alts,
        code=Code.no_vehicle_available,
    )


def ride_view(
    ride: Ride,
    cfg: TenantConfig,
    vehicle_key: str | None = None,
    now: datetime | None = None,
    home: Point | None = None,
    cancelled: Cancelled | None = None,
) -> dict[str, Any]:
    """The API representation of a ride (local times with offset), with the fare in words, the
    fee a cancellation at `now` (default: the wall clock) would cost, and both ends named as every
    page names a stop (`name_stop`; `home`: the rider's, None for freight or when not known).
    `cancelled`: what a cancelled ride's cancellation cost (`cancellation.cancellations`)."""
    tz = cfg.tz
    origin = name_stop(cfg, ride.origin_place_id, ride.origin_lat, ride.origin_lon, home)
    destination = name_stop(cfg, ride.destination_place_id, ride.destination_lat, ride.destination_lon, home)
    return {
        "id": ride.id,
        "status": ride.status,
        "resident_id": ride.resident_id,
        "service_date": ride.service_date.isoformat(),
        "origin": {"lat": ride.origin_lat, "lon": ride.origin_lon, "place_id": ride.origin_place_id},
        "destination": {
            "lat": ride.destination_lat,
            "lon": ride.destination_lon,
            "place_id": ride.destination_place_id,
        },
        "origin_name": origin.name,
        "destination_name": destination.name,
        "pickup_after": iso_local(ride.pickup_after, tz),
        "arrive_by": iso_local(ride.arrive_by, tz),
        "party_size": ride.party_size,
        "wheelchair": ride.wheelchair,
        "pickup_window": {
            "start": iso_local(ride.pickup_window_start, tz),
            "end": iso_local(ride.pickup_window_end, tz),
        },
        "latest_arrival": iso_local(ride.latest_arrival, tz),
        "fare_yen": ride.fare_yen,
        **fare_fields(cfg, ride, now if now is not None else datetime.now(UTC), cancelled),
        "vehicle_id": ride.vehicle_id,
        "vehicle": vehicle_key,
        "planned_pickup": iso_local(ride.planned_pickup, tz),
        "planned_dropoff": iso_local(ride.planned_dropoff, tz),
        "direct_minutes": round(ride.direct_seconds / 60, 1),
        "refusal_reason": ride.refusal_reason,
        "created_at": iso_local(ride.created_at, tz),
    }


def _replaceable(session: Session, tenant_id: str, ride_id: int, req: RideRequest) -> Ride:
    """The confirmed ride a change replaces (same rider), else a clear refusal."""
    old = session.get(Ride, ride_id)
    if old is None or old.tenant_id != tenant_id or old.kind != "passenger":
        raise NotFound(f"No ride {ride_id}.", code=Code.ride_not_found)
    if old.status != RideStatus.confirmed:
        raise Conflict(
            f"Ride {ride_id} is {old.status}; only a confirmed ride before pickup can be changed.",
            code=Code.ride_not_changeable,
        )
    if old.resident_id != req.resident_id:
        raise InvalidRequest(
            "A change keeps the rider.",
            [field_error("resident_id", f"must be {old.resident_id}", code=Code.change_keeps_rider)],
        )
    return old


def change_ride(
    ctx: Dispatcher,
    tenant_id: str,
    ride_id: int,
    req: RideRequest,
    idempotency_key: str,
    actor: str,
    reason: str,
    book_anyway: bool = False,
) -> Booked:
    """Change a confirmed ride to a new request in one transaction (see `book` with `replaces`).

    A retry with the same key returns the first outcome. A change that went through freed the old
    ride's place in the plan: a re-optimization is asked for (`Dispatcher.after_change`)."""
    booked = book(
        ctx, tenant_id, req, idempotency_key, actor, replaces=ride_id, reason=reason, book_anyway=book_anyway
    )
    if booked.ride.status == RideStatus.confirmed and not booked.replayed:
        ctx.after_change(tenant_id)
    return booked
