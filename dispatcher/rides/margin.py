"""The travel margin: how much longer than the road model the planner assumes a drive takes,
learned from what drivers reported.

A plan timed with the road model's bare driving times has no slack: the ordinary spread of real
driving times (traffic lights, a tractor, a rider's slow steps to the car) makes the later stops of
a tight route late, and a promised pickup window is broken. The dispatcher therefore plans with
`routing.traveltime.Padded`: each leg's road time times (1 + margin), the margin depending on the
leg's length (`LEG_BANDS_S`: a short hop spreads differently from a half-hour drive). Every
planning path (quotes, bookings, re-optimization, the schedule checker, drivers' retiming) gets
that one model from `Dispatcher.travel`; the road model itself is `Dispatcher.road`.

Learning (nightly, `learn_day`, the `travel-margin` job): from the day's reports, each leg a
vehicle drove straight is measured: from the report where it set off (picked up, no-show,
dropped off, a position) to the report where it got there (arrived; dropped off minus the
alighting minutes). A report that failed the field checks (`dispatcher.rides.field_checks`) is
left out, reviewed or not. A pickup leg counts only when the plan had no reason to wait on the way (the
window opened no later than the road model's arrival), so idle time is not taken for driving.
The ratio real / road time goes into a histogram per hour of day and leg band, older days fading
by DECAY per learned day.

The margin of a kind of leg is the `cover_percent` quantile of its ratios minus one, kept between
the tenant's `travel_time.margin.min_percent` and `max_percent`. Until `min_reports` legs of an
hour and band are in, the band's legs of all hours count; until the band has that many, the prior
(`prior_percent`) applies. The schedule checker needs one duration per pair of points, so a day is
planned with, per band, the largest margin of its hours: the promise is the one the busiest hour
can keep.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, func, select

from dispatcher.events import record
from dispatcher.models import Event, Ride, TravelMargin
from dispatcher.rides.kinds import (
    RIDE_ARRIVED,
    RIDE_DROPPED_OFF,
    RIDE_NO_SHOW,
    RIDE_PICKED_UP,
    RIDE_REPORT_FLAGGED,
    TRAVEL_MARGIN_LEARNED,
    VEHICLE_POSITION,
    VEHICLE_POSITION_FLAGGED,
)
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import at_local
from routing.geo import Point
from routing.margin import BANDS, BINS, Cell, histogram, planning_margins
from routing.traveltime import BAND_NAMES, TravelTimes, leg_band

if TYPE_CHECKING:
    from dispatcher.context import Dispatcher

DECAY = 0.95  # weight a learned day keeps per later learned day (half after about two weeks)
MIN_LEG_S = 60.0  # legs shorter than this (same street) say nothing about the road's spread
CATCH_UP_DAYS = 7  # after downtime, the nightly job learns at most this many missed days


@dataclass(frozen=True)
class Leg:
    """One leg a driver reported: the hour (local) it started, the road model's seconds and the
    seconds it really took."""

    hour: int
    road_s: float
    real_s: float

    @property
    def band(self) -> int:
        return leg_band(self.road_s)

    @property
    def ratio(self) -> float:
        return self.real_s / self.road_s


def cells_of(rows: Iterable[TravelMargin]) -> list[Cell]:
    """Stored rows as the cells `routing.margin.planning_margins` reads."""
    return [Cell(r.hour, r.band, r.weight, list(r.histogram)) for r in rows]


def cells(session: Session, tenant_id: str) -> list[Cell]:
    """What the tenant's drivers' reports taught so far, by hour and band."""
    return cells_of(session.exec(select(TravelMargin).where(TravelMargin.tenant_id == tenant_id)))


def learned_through(session: Session, tenant_id: str) -> date | None:
    """The last service day learned (None: none yet)."""
    return session.exec(
        select(func.max(TravelMargin.learned_through)).where(TravelMargin.tenant_id == tenant_id)
    ).one()


# ------------------------------------------------------------------------------ the day's legs

_DEPARTURES = (RIDE_PICKED_UP, RIDE_NO_SHOW, RIDE_DROPPED_OFF, VEHICLE_POSITION)
_ARRIVALS = (RIDE_ARRIVED, RIDE_DROPPED_OFF)


def reported_legs(session: Session, cfg: TenantConfig, day: date, road: TravelTimes) -> list[Leg]:
    """The legs the tenant's vehicles drove straight on `day`, as their drivers reported them."""
    tz = cfg.tz
    begin = at_local(day, datetime.min.time(), tz)
    end = begin + timedelta(days=1)
    events = list(
        session.exec(
            select(Event)
            .where(
                Event.tenant_id == cfg.id,
                col(Event.kind).in_([*_DEPARTURES, RIDE_ARRIVED]),
                col(Event.at) >= begin,
                col(Event.at) < end,
            )
            .order_by(col(Event.at), col(Event.id))
        )
    )
    flagged_taps, flagged_positions = _flagged(session, cfg.id, begin, end)
    events = [  # a report that failed the field checks is no driving time to learn from
        e for e in events if (e.entity_id, e.kind) not in flagged_taps and e.id not in flagged_positions
    ]
    ride_ids = {int(e.entity_id) for e in events if e.entity == "ride"}
    full = {
        r.id: r
        for part in _chunks(sorted(ride_ids))
        for r in session.exec(select(Ride).where(col(Ride.id).in_(part)))
    }
    alight_s = 60.0 * cfg.booking.alighting_minutes
    # (vehicle) -> [(at, kind, point, window start)]
    tracks: dict[int, list[tuple[datetime, str, Point, datetime | None]]] = defaultdict(list)
    for e in events:
        after = e.after or {}
        if e.kind == VEHICLE_POSITION:
            if after.get("lat") is None:
                continue
            tracks[int(e.entity_id)].append((e.at, e.kind, Point(after["lat"], after["lon"]), None))
            continue
        ride = full.get(int(e.entity_id))
        vid = after.get("vehicle_id")
        if ride is None or vid is None or ride.origin_lat is None:
            continue
        at_origin = e.kind != RIDE_DROPPED_OFF
        point = (
            Point(ride.origin_lat, ride.origin_lon)
            if at_origin
            else Point(ride.destination_lat, ride.destination_lon)
        )
        tracks[int(vid)].append((e.at, e.kind, point, ride.pickup_window_start if at_origin else None))
    legs = []
    for track in tracks.values():
        for (t0, k0, p0, _w0), (t1, k1, p1, w1) in zip(track, track[1:], strict=False):
            if k0 not in _DEPARTURES or k1 not in _ARRIVALS:
                continue
            road_s = road.duration(p0, p1)
            if road_s < MIN_LEG_S:
                continue
            if w1 is not None and w1 > t0 + timedelta(seconds=road_s):
                continue  # the pickup window opened later than the road would bring it: it may have waited
            real_s = (t1 - t0).total_seconds() - (alight_s if k1 == RIDE_DROPPED_OFF else 0.0)
            if real_s <= 0:
                continue
            legs.append(Leg(t0.astimezone(tz).hour, road_s, real_s))
    return legs


def _flagged(
    session: Session, tenant_id: str, begin: datetime, end: datetime
) -> tuple[set[tuple[str, str]], set[int]]:
    """The reports of [begin, end) that failed the field checks (`field_checks`), reviewed or not:
    (ride id, event kind) of ride taps, and the event ids of positions."""
    taps: set[tuple[str, str]] = set()
    positions: set[int] = set()
    for e in session.exec(
        select(Event).where(
            Event.tenant_id == tenant_id,
            col(Event.kind).in_((RIDE_REPORT_FLAGGED, VEHICLE_POSITION_FLAGGED)),
            col(Event.at) >= begin,
            col(Event.at) < end,
        )
    ):
        after = e.after or {}
        if e.kind == VEHICLE_POSITION_FLAGGED:
            positions.add(int(after["event_id"]))
        else:
            taps.add(
                (e.entity_id, RIDE_PICKED_UP if after.get("report") == "picked_up" else RIDE_DROPPED_OFF)
            )
    return taps, positions


def _chunks(ids: Sequence[int], n: int = 500) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), n):
        yield ids[i : i + n]


# ------------------------------------------------------------------------------ learning


def add_legs(
    session: Session, cfg: TenantConfig, day: date, legs: Sequence[Leg], now: datetime
) -> dict[str, Any]:
    """Fold a day's legs into the tenant's histograms (older weight decays once); returns what was
    learned: legs per band and the planning margins before and after (percent)."""
    rows = session.exec(select(TravelMargin).where(TravelMargin.tenant_id == cfg.id))
    stored = {(r.hour, r.band): r for r in rows}
    before = planning_margins(cfg.travel_time.margin, cells_of(stored.values()))
    new: dict[tuple[int, int], list[float]] = defaultdict(list)
    for leg in legs:
        new[(leg.hour, leg.band)].append(leg.ratio)
    for key in set(stored) | set(new):
        row = stored.get(key)
        if row is None:
            row = stored[key] = TravelMargin(
                tenant_id=cfg.id,
                hour=key[0],
                band=key[1],
                histogram=[0.0] * BINS,
                learned_through=day,
                updated_at=now,
            )
            session.add(row)
        added = histogram(new.get(key, []))
        hist = [round(DECAY * old + a, 6) for old, a in zip(row.histogram, added, strict=True)]
        row.histogram = hist  # a new list: the JSON column notices the change
        row.weight = round(sum(hist), 6)
        row.learned_through, row.updated_at = max(row.learned_through, day), now
    after = planning_margins(cfg.travel_time.margin, cells_of(stored.values()))
    per_band = [0] * BANDS
    for leg in legs:
        per_band[leg.band] += 1
    return {
        "day": day.isoformat(),
        "legs": {BAND_NAMES[b]: per_band[b] for b in range(BANDS)},
        "margin_percent_before": [round(100 * m, 1) for m in before],
        "margin_percent": [round(100 * m, 1) for m in after],
    }


def learn_day(ctx: Dispatcher, tenant_id: str, day: date, actor: str) -> dict[str, Any] | None:
    """Learn one service day's reported legs (None when that day is already in or has none); recorded as a
    `travel_margin.learned` event. The planning model picks the new margins up (`Dispatcher.travel`)."""
    cfg = ctx.config(tenant_id)
    with Session(ctx.engine) as session:
        through = learned_through(session, tenant_id)
        if through is not None and day <= through:
            return None
        now = ctx.clock.now()
        legs = reported_legs(session, cfg, day, ctx.road(tenant_id))
        if not legs:  # no service, or nothing driven straight: nothing to learn (and no fading)
            return None
        out = add_legs(session, cfg, day, legs, now)
        record(session, tenant_id, now, actor, TRAVEL_MARGIN_LEARNED, "tenant", tenant_id, after=out)
        session.commit()
    return out


def learn_pending(ctx: Dispatcher, tenant_id: str, yesterday: date, actor: str) -> list[dict[str, Any]]:
    """Learn every day not yet learned up to `yesterday` (at most CATCH_UP_DAYS)."""
    with Session(ctx.engine) as session:
        through = learned_through(session, tenant_id)
    first = yesterday - timedelta(days=CATCH_UP_DAYS - 1)
    if through is not None:
        first = max(first, through + timedelta(days=1))
    out = []
    day = first
    while day <= yesterday:
        learned = learn_day(ctx, tenant_id, day, actor)
        if learned is not None:
            out.append(learned)
        day += timedelta(days=1)
    return out
