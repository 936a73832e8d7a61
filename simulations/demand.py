"""Demand generators calibrated on the reference deployment (Ina City, FY2019 programme).

Calibration (`Profile`, every number can be overridden):
- rides: 109 rides a day from 2,276 registered riders on a full weekday (8 hours or more of
  service); a shorter day (Saturday morning) gets its share by hours. A municipality with another
  number of registered riders gets the same rate per rider. Rain adds a tenth, a storm takes 15% off.
- trip purposes: hospital, clinic, supermarket, station, public office and other errands, each with
  how long people stay and how often they come back by the same service the same day.
- time of day: outward trips are morning-heavy (a third of them leave between 09:00 and 10:59),
  a small afternoon bump; returns follow from the outward trip and the time spent there.
- booking lead times: about a third of the day's requests are made when the phone lines open in the
  morning for later that day, the others 20-90 minutes ahead; half of the returns are booked
  together with the outward ride, the others by phone shortly before leaving.
- parties: 85% alone, 12% two, 3% three; wheelchair users where registered as such.
- appointments: half of the hospital and clinic visits give an arrival time instead of a pickup time.
- a few riders use the service much more than others (a lognormal weight per resident).
- cancellations (4% of confirmed rides) and no-shows (2%); 80% of those refused take the first
  alternative time offered.
- shopping: about 2% of member households are active shoppers who order once or twice a week
  (Ina: about 1,200 orders in 18 months from some 700 registered households), 1-6 items,
  from 07:00 until the cut-off; bad weather brings more orders.
- weather: fine, cloudy, rain or storm days with a wind speed (m/s); drones stay down when the
  wind or rain is beyond their limits (the delivery planner decides, as in service).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import at_local, ceil_minute
from routing.geo import Point

# (place kind, share of outward trips, minutes spent there (low, high), share coming back the same way)
PURPOSES: tuple[tuple[str, float, tuple[int, int], float], ...] = (
    ("hospital", 0.25, (90, 180), 0.8),
    ("clinic", 0.20, (40, 90), 0.8),
    ("supermarket", 0.25, (30, 60), 0.85),
    ("station", 0.08, (120, 300), 0.2),
    ("city_hall", 0.10, (30, 60), 0.8),
    ("other", 0.12, (45, 120), 0.7),  # post office, bank, library, welfare centre, ...
)
OTHER_KINDS = ("post_office", "bank", "other", "school")
# local hour -> weight of outward departures in it (morning-heavy)
HOURLY = {7: 0.02, 8: 0.15, 9: 0.19, 10: 0.17, 11: 0.11, 12: 0.06, 13: 0.10, 14: 0.10, 15: 0.07, 16: 0.03}


MIN_STAY = timedelta(minutes=15)  # the least time anyone spends where an errand takes them
CLASH = timedelta(hours=2)  # pickups of one person this close could overlap (see `_free`)


@dataclass(frozen=True)
class Profile:
    """Demand parameters (defaults calibrated on Ina City; see the module docstring)."""

    reference_riders: int = 2276
    reference_rides_per_day: float = 109.0
    full_day_hours: float = 8.0
    morning_booking_share: float = 0.33
    lead_minutes: tuple[int, int] = (20, 90)
    return_booked_with_outward: float = 0.5
    party_sizes: tuple[tuple[int, float], ...] = ((1, 0.85), (2, 0.12), (3, 0.03))
    appointment_share: float = 0.5
    cancel_rate: float = 0.04
    no_show_rate: float = 0.02
    accept_alternative: float = 0.8
    heavy_user_sigma: float = 0.8
    active_shopper_share: float = 0.02
    orders_per_active_week: tuple[float, float] = (1.0, 2.0)
    items_per_order: tuple[int, int] = (1, 6)


@dataclass(frozen=True)
class Weather:
    """A day's weather: kind (fine, cloudy, rain, storm), wind (m/s), rain or not."""

    kind: str
    wind_ms: float
    rain: bool

    @property
    def ride_factor(self) -> float:
        return {"rain": 1.1, "storm": 0.85}.get(self.kind, 1.0)

    @property
    def order_factor(self) -> float:
        return {"rain": 1.2, "storm": 1.3}.get(self.kind, 1.0)

    def slots(self) -> list[dict[str, Any]]:
        """The forecast as the delivery planner reads it (one slot for the whole day)."""
        return [{"start": "00:00", "end": "23:59", "wind_ms": round(self.wind_ms, 1), "rain": self.rain}]


WEATHER_KINDS = (("fine", 0.5, (0.0, 5.0)), ("cloudy", 0.25, (1.0, 7.0)), ("rain", 0.2, (2.0, 9.0)))
STORM = ("storm", 0.05, (9.0, 16.0))


def weather_of(rng: random.Random, forced: str | None = None) -> Weather:
    """A day's weather drawn from the kinds' shares (or the forced kind)."""
    kinds = (*WEATHER_KINDS, STORM)
    if forced is not None:
        kind = next(k for k in kinds if k[0] == forced)
    else:
        kind = rng.choices(kinds, [k[1] for k in kinds])[0]
    lo, hi = kind[2]
    return Weather(kind[0], rng.uniform(lo, hi), kind[0] in ("rain", "storm"))


@dataclass(frozen=True)
class Rider:
    """What the generator knows of a registered, eligible resident (no name)."""

    id: int
    household_id: int
    lat: float
    lon: float
    wheelchair: bool


@dataclass
class Trip:
    """One ride request the way a resident will make it.

    book_at: when the resident calls; body: the request (RideRequest fields); return_of: the
    outward trip a return belongs to (booked only if that one was served); cancel_at: the resident
    cancels then (if still confirmed); absent: the rider will not come out (no-show)."""

    key: str
    book_at: datetime
    body: dict[str, Any]
    purpose: str
    return_of: str | None = None
    cancel_at: datetime | None = None
    absent: bool = False
    tries: int = 0  # how many times it was asked (alternatives taken count)
    returns: list[Trip] = field(default_factory=list)


@dataclass
class Order:
    """A grocery order: when it is placed, for which household, which products and quantities."""

    place_at: datetime
    household_id: int
    lines: list[tuple[int, int]]


def service_seconds(cfg: TenantConfig, day: date) -> float:
    """How long the service runs on a day (s); 0 without service."""
    hours = cfg.hours_on(day)
    if hours is None:
        return 0.0
    return (datetime.combine(day, hours.end) - datetime.combine(day, hours.start)).total_seconds()


def rides_per_day(cfg: TenantConfig, day: date, riders: int, profile: Profile, weather: Weather) -> float:
    """Expected ride requests of a service day (0 on a day without service)."""
    share = min(1.0, service_seconds(cfg, day) / 3600 / profile.full_day_hours)
    per_rider = profile.reference_rides_per_day / profile.reference_riders
    return per_rider * riders * share * weather.ride_factor


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (normal approximation for large means)."""
    if mean <= 0:
        return 0
    if mean > 60:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class RideDemand:
    """Generates each day's ride requests for the tenant's riders and places."""

    def __init__(
        self,
        cfg: TenantConfig,
        riders: list[Rider],
        profile: Profile,
        seed: int,
        duration: Callable[[Point, Point], float] | None = None,
    ) -> None:
        """duration: the tenant's driving time (s) between two points, so that nobody asks for a
        ride that could not end before closing time (without it, rides are assumed short)."""
        self.cfg, self.riders, self.profile, self.duration = cfg, riders, profile, duration
        weights_rng = random.Random(f"{seed}:heavy-users")
        self.weights = [weights_rng.lognormvariate(0, profile.heavy_user_sigma) for _ in riders]
        self.by_kind: dict[str, list[Any]] = {}
        for p in cfg.places:
            kind = "other" if p.kind in OTHER_KINDS else p.kind
            if kind != "community_hall":
                self.by_kind.setdefault(kind, []).append(p)
        if not self.by_kind:  # a tenant with only halls: trips between settlements
            self.by_kind["other"] = list(cfg.places)
        self.purposes = [p for p in PURPOSES if p[0] in self.by_kind]

    def day(self, day: date, weather: Weather, seed: int, per_day: float | None = None) -> list[Trip]:
        """The requests of one service day, sorted by booking time (empty without service)."""
        cfg, prof = self.cfg, self.profile
        hours = cfg.hours_on(day)
        if hours is None or not self.riders or not self.purposes:
            return []
        rng = random.Random(f"{seed}:{day.isoformat()}:rides")
        tz = cfg.tz
        opens, closes = at_local(day, hours.start, tz), at_local(day, hours.end, tz)
        mean = per_day if per_day is not None else rides_per_day(cfg, day, len(self.riders), prof, weather)
        return_share = sum(p[1] * p[3] for p in self.purposes) / sum(p[1] for p in self.purposes)
        outward = _poisson(rng, mean / (1 + return_share))
        last_pickup = closes - timedelta(minutes=45)  # time left for the longest ride before closing
        first, last = opens.astimezone(tz).hour, closes.astimezone(tz).hour
        hours_w = {h: w for h, w in HOURLY.items() if first <= h < max(last, first + 1)}
        if not hours_w:  # service outside the usual day (an evening service): spread evenly
            hours_w = {h: 1.0 for h in range(first, max(last, first + 1))}
        trips: list[Trip] = []
        busy: dict[int, list[datetime]] = {}  # resident id -> pickups asked for (outward and back)
        lead_min = max(prof.lead_minutes[0], cfg.booking.min_lead_minutes + 5)
        for k in range(outward):
            rider = rng.choices(self.riders, self.weights)[0]
            kind, _, stay, back = rng.choices(self.purposes, [p[1] for p in self.purposes])[0]
            place = rng.choice(self.by_kind[kind])
            hour = rng.choices(list(hours_w), list(hours_w.values()))[0]
            want = at_local(day, time(hour), tz) + timedelta(minutes=rng.uniform(0, 60))
            want = min(max(want, opens + timedelta(minutes=10)), last_pickup).replace(second=0, microsecond=0)
            if rng.random() < prof.morning_booking_share:
                book_at = opens - timedelta(minutes=rng.uniform(0, 30))
            else:
                book_at = want - timedelta(minutes=rng.uniform(lead_min, max(lead_min, prof.lead_minutes[1])))
            book_at = max(book_at, opens - timedelta(minutes=30))
            if want - book_at < timedelta(minutes=cfg.booking.min_lead_minutes + 2):
                want = (book_at + timedelta(minutes=cfg.booking.min_lead_minutes + 5)).replace(
                    second=0, microsecond=0
                )
                if want > last_pickup:
                    continue
            party = rng.choices([p for p, _ in prof.party_sizes], [w for _, w in prof.party_sizes])[0]
            home_pt, place_pt = Point(rider.lat, rider.lon), Point(place.lat, place.lon)
            want = min(want, self._latest_pickup(closes, home_pt, place_pt))
            if want - book_at < timedelta(minutes=cfg.booking.min_lead_minutes + 2) or want < opens:
                continue  # too late in the day for this trip
            home = {"lat": rider.lat, "lon": rider.lon}
            body: dict[str, Any] = {
                "resident_id": rider.id,
                "origin": home,
                "destination": {"place_id": place.id},
                "party_size": party,
                "wheelchair": rider.wheelchair,
            }
            if kind in ("hospital", "clinic") and rng.random() < prof.appointment_share:
                body["arrive_by"] = min(want + timedelta(minutes=45), closes).isoformat()
            else:
                body["pickup_after"] = want.isoformat()
            trip = Trip(f"{day.isoformat()}/{k}", book_at, body, kind)
            self._fate(rng, trip, want)
            if rng.random() < back:
                ret_at = want + timedelta(minutes=30 + rng.uniform(*stay))
                latest_back = self._latest_pickup(closes, place_pt, home_pt)
                # People plan their errand so that they can still be driven home before closing,
                # after a while there at least (a far village's rider spends the ride's time on
                # the road, not at the hospital): a late errand starts sooner if the booking's
                # lead time leaves room, else there is no way back by this service.
                back_from = self._back_from(want, body, home_pt, place_pt)
                if back_from > latest_back:
                    sooner = (want - (back_from - latest_back)).replace(second=0, microsecond=0)
                    if sooner >= opens + timedelta(minutes=10) and sooner - book_at >= timedelta(
                        minutes=cfg.booking.min_lead_minutes + 2
                    ):
                        want = sooner
                        if "arrive_by" in body:
                            body["arrive_by"] = min(want + timedelta(minutes=45), closes).isoformat()
                        else:
                            body["pickup_after"] = want.isoformat()
                        back_from = self._back_from(want, body, home_pt, place_pt)
                ret_at = min(max(ret_at, back_from), latest_back).replace(second=0, microsecond=0)
                if ret_at >= max(want + timedelta(minutes=30), back_from):
                    if rng.random() < prof.return_booked_with_outward:
                        ret_book = book_at
                    else:
                        ret_book = ret_at - timedelta(minutes=rng.uniform(lead_min, lead_min + 25))
                    ret = Trip(
                        f"{trip.key}/back",
                        max(ret_book, book_at),
                        {**body, "origin": {"place_id": place.id}, "destination": home}
                        | {"pickup_after": ret_at.isoformat()},
                        kind,
                        return_of=trip.key,
                    )
                    ret.body.pop("arrive_by", None)
                    self._fate(rng, ret, ret_at)
                    trip.returns.append(ret)
            backs = [datetime.fromisoformat(r.body["pickup_after"]) for r in trip.returns]
            pickups = [want, *backs]

            def fits(
                r: Rider, want: datetime = want, backs: list[datetime] = backs, at: Point = place_pt
            ) -> bool:
                """Whether the errand's times work from r's home too: each ride ends by closing,
                and the way back starts once the ride there is typically over."""
                home = Point(r.lat, r.lon)
                there = want + self._there(home, at)
                return want <= self._latest_pickup(closes, home, at) and all(
                    there <= b <= self._latest_pickup(closes, at, home) for b in backs
                )

            other = self._free(rider, pickups, busy, fits)
            if other is not rider:
                _hand_over(trip, other)
            busy.setdefault(other.id, []).extend(pickups)
            trips.append(trip)
        trips.sort(key=lambda t: (t.book_at, t.key))
        return trips

    def _free(
        self,
        rider: Rider,
        pickups: list[datetime],
        busy: dict[int, list[datetime]],
        fits: Callable[[Rider], bool],
    ) -> Rider:
        """One person, one ride at a time (the booking refuses a second one): an errand whose
        pickups fall within `CLASH` of another errand's of the same person goes to the next resident
        free then and for whom its times work (`fits`: from another home, the ride there and back
        must still end by closing), chosen without drawing, so every other trip of the day stays as
        it was."""

        def free(r: Rider) -> bool:
            return all(abs(p - t) >= CLASH for p in pickups for t in busy.get(r.id, []))

        if free(rider):
            return rider
        k = self.riders.index(rider)
        return next((r for r in self.riders[k + 1 :] + self.riders[:k] if free(r) and fits(r)), rider)

    def _there(self, a: Point, b: Point) -> timedelta:
        """Typical time from the pickup asked for a ride from a to b to the arrival: half the
        pickup window, boarding, and the drive padded by the tenant's prior travel margin and by a
        sixth for riders picked up on the way."""
        bk = self.cfg.booking
        direct = self.duration(a, b) if self.duration is not None else 0.0
        direct *= (1 + self.cfg.travel_time.margin.prior_percent / 100) * 7 / 6
        return timedelta(minutes=bk.pickup_window_minutes / 2 + bk.boarding_minutes, seconds=direct)

    def _back_from(self, want: datetime, body: dict[str, Any], home: Point, place: Point) -> datetime:
        """The earliest a way back is asked for an outward ride asked for `want`: typically there
        (by the appointment at the latest), plus `MIN_STAY`."""
        there = want + self._there(home, place)
        if "arrive_by" in body:
            there = min(there, datetime.fromisoformat(body["arrive_by"]))
        return ceil_minute(there + MIN_STAY)

    def _span(self, a: Point, b: Point) -> timedelta:
        """From the pickup time asked for a ride from a to b to the latest arrival the booking
        promises: pickup window, boarding and longest allowed ride time (on the drive padded by
        the tenant's prior travel margin), plus 2 minutes."""
        bk = self.cfg.booking
        direct = self.duration(a, b) if self.duration is not None else 0.0
        direct *= 1 + self.cfg.travel_time.margin.prior_percent / 100
        slack = 60 * (
            bk.pickup_window_minutes + bk.wheelchair_boarding_minutes + bk.max_ride.plus_minutes + 2
        )
        return timedelta(seconds=slack + bk.max_ride.factor * direct)

    def _latest_pickup(self, closes: datetime, a: Point, b: Point) -> datetime:
        """The last pickup time the booking rules accept for a ride from a to b: its pickup
        window, boarding and longest allowed ride time must end by closing time."""
        return (closes - self._span(a, b)).replace(second=0, microsecond=0)

    def _fate(self, rng: random.Random, trip: Trip, want: datetime) -> None:
        """Whether the resident will cancel (and when) or not come out."""
        if rng.random() < self.profile.cancel_rate:
            span = max(0.0, (want - trip.book_at).total_seconds() - 600)
            trip.cancel_at = trip.book_at + timedelta(seconds=60 + rng.uniform(0, span))
        elif rng.random() < self.profile.no_show_rate:
            trip.absent = True


def _hand_over(trip: Trip, rider: Rider) -> None:
    """The errand `trip` (and its way back) made by `rider` instead, from and to his home."""
    home = {"lat": rider.lat, "lon": rider.lon}
    trip.body |= {"resident_id": rider.id, "wheelchair": rider.wheelchair, "origin": home}
    for ret in trip.returns:
        ret.body |= {"resident_id": rider.id, "wheelchair": rider.wheelchair, "destination": home}


def shopping_orders(
    cfg: TenantConfig,
    day: date,
    households: list[int],
    products: list[int],
    profile: Profile,
    weather: Weather,
    seed: int,
) -> list[Order]:
    """The day's grocery orders from the active member households (none on a non-delivery day)."""
    from dispatcher.shopping.orders import is_delivery_day

    if cfg.shopping is None or not households or not products or not is_delivery_day(cfg, day):
        return []
    pick = random.Random(f"{seed}:active-shoppers")
    active = [h for h in households if pick.random() < profile.active_shopper_share] or households[:1]
    rate = {h: pick.uniform(*profile.orders_per_active_week) for h in active}
    days_a_week = len(cfg.shopping.delivery_days)
    rng = random.Random(f"{seed}:{day.isoformat()}:orders")
    tz = cfg.tz
    opens = at_local(day, time(7, 0), tz)
    cutoff = at_local(day, cfg.shopping.cutoff, tz)
    span = max(60.0, (cutoff - opens).total_seconds() - 300)
    out = []
    for h in active:
        if rng.random() < min(1.0, rate[h] / days_a_week * weather.order_factor):
            n = rng.randint(*profile.items_per_order)
            lines = [(pid, rng.choice((1, 1, 1, 2))) for pid in rng.sample(products, min(n, len(products)))]
            out.append(Order(opens + timedelta(seconds=rng.uniform(0, span)), h, lines))
    out.sort(key=lambda o: (o.place_at, o.household_id))
    return out
