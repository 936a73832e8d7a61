"""`TimeRules.limits` searches the minutes of the service day instead of asking `promise` about
each one; it must give exactly what asking every minute gives.

The brute force below is the minute scan `limits` used to be. Both run over many seeded random
cases (the moment of booking before, during and after the service hours, pickups and arrivals,
wheelchair or not, direct drives from none to hours, short and empty service days, the tenant's
booking settings across their allowed ranges) and some chosen ones, among them days whose accepted
arrivals are not one run of minutes, where a plain binary search would go wrong.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dispatcher.rides.booking import TimeLimits, TimeRefusal, TimeRules
from dispatcher.tenant_config import Booking, Hours, MaxRide
from dispatcher.timeline import at_local, ceil_minute

JST = ZoneInfo("Asia/Tokyo")
DAY = date(2026, 11, 24)


def scan(rules: TimeRules) -> tuple[TimeLimits, int]:
    """The limits found by asking `promise` about every whole minute from the open (or now) to the
    close, and in how many runs of minutes the accepted arrivals lie."""
    lo = max(rules.open_at, ceil_minute(rules.now))
    minutes = [lo + timedelta(minutes=k) for k in range(int((rules.close_at - lo).total_seconds() // 60) + 1)]
    pickups = [t for t in minutes if not isinstance(rules.promise(t, None), TimeRefusal)]
    arriving = [not isinstance(rules.promise(None, t), TimeRefusal) for t in minutes]
    arrivals = [t for t, ok in zip(minutes, arriving, strict=True) if ok]
    runs = sum(1 for k, ok in enumerate(arriving) if ok and (k == 0 or not arriving[k - 1]))
    got = rules.promise(lo, None) if pickups else None
    limits = TimeLimits(
        got[0] if isinstance(got, tuple) else None,
        pickups[-1] if pickups else None,
        arrivals[0] if arrivals else None,
        arrivals[-1] if arrivals else None,
    )
    return limits, runs


@dataclass(frozen=True)
class Counted(TimeRules):
    """TimeRules that counts the calls of `promise` (in `calls`, one list a test)."""

    calls: list[int] | None = None

    def promise(
        self, pickup_after: datetime | None, arrive_by: datetime | None
    ) -> tuple[datetime, datetime, datetime] | TimeRefusal:
        assert self.calls is not None
        self.calls.append(1)
        return super().promise(pickup_after, arrive_by)


def rules(
    *,
    now: datetime,
    direct_s: float,
    wheelchair: bool = False,
    start: time = time(8, 0),
    end: time = time(17, 0),
    lead: int = 15,
    window: int = 15,
    factor: float = 1.5,
    plus: float = 10,
    boarding: float = 2.0,
    wheelchair_boarding: float = 5.0,
) -> TimeRules:
    b = Booking(
        min_lead_minutes=lead,
        pickup_window_minutes=window,
        max_ride=MaxRide(factor=factor, plus_minutes=plus),
        boarding_minutes=boarding,
        wheelchair_boarding_minutes=wheelchair_boarding,
    )
    return TimeRules(b, DAY, Hours(start=start, end=end), JST, now, direct_s, wheelchair)


def random_rules(rng: random.Random) -> TimeRules:
    opens = rng.choice([6 * 60, 7 * 60 + 30, 8 * 60, 8 * 60 + 30, 9 * 60])
    # most days of some hours; some short ones (down to a single minute)
    length = rng.randint(240, 720) if rng.random() < 0.7 else rng.choice([0, 1, 5, 15, 30, 60, 120])
    closes = min(opens + length, 23 * 60 + 59)
    lead = rng.choice([0, 5, 15, 15, 30, 60, rng.randint(0, 240)])
    window = rng.choice([5, 10, 15, 15, 30, rng.randint(5, 120)])
    # now: the evening before, before the open (also just so that the earliest pickup falls within
    # a window of the open), during the day, just before the close, after it
    now_min = rng.choice(
        [
            -rng.randint(1, 600),
            opens - rng.randint(0, 180),
            opens - lead - rng.randint(1, window),
            opens - lead - rng.randint(1, window),
            rng.randint(opens, max(opens, closes)),
            rng.randint(opens, max(opens, closes)),
            rng.randint(opens, max(opens, closes)),
            closes - rng.randint(0, 30),
            closes + rng.randint(0, 60),
        ]
    )
    now = at_local(DAY, time(0, 0), JST) + timedelta(
        minutes=now_min, seconds=rng.choice([0, 0, rng.uniform(0, 60)])
    )
    return rules(
        now=now.astimezone(rng.choice([JST, UTC])),
        direct_s=rng.choice(
            [0.0, 30.0, 59.5, 60.0, rng.uniform(60, 1800), rng.uniform(60, 1800), rng.uniform(1800, 3 * 3600)]
        ),
        wheelchair=rng.random() < 0.3,
        start=time(opens // 60, opens % 60),
        end=time(closes // 60, closes % 60),
        lead=lead,
        window=window,
        factor=rng.choice([1.0, 1.25, 1.5, 2.0, rng.uniform(1.0, 4.0)]),
        plus=rng.choice([0, 5, 10, rng.uniform(0, 60)]),
        boarding=rng.choice([0.0, 1.0, 2.0, rng.uniform(0, 30)]),
        wheelchair_boarding=rng.choice([0.0, 5.0, rng.uniform(0, 60)]),
    )


def test_limits_are_what_asking_every_minute_gives() -> None:
    rng = random.Random(20261207)
    scans = []
    for _ in range(1000):
        r = random_rules(rng)
        scans.append(scan(r))
        assert r.limits() == scans[-1][0], r
    # the cases hold ordinary days, days with arrivals but no pickups left, and days with nothing
    # left; on none is there a gap between the earliest and the latest arrival a picker offers
    assert sum(None not in (s.earliest_pickup, s.latest_pickup, s.earliest_arrival) for s, _ in scans) > 400
    assert all(runs <= 1 for _, runs in scans), [runs for _, runs in scans if runs > 1][:5]
    assert any(s.latest_pickup is None and s.earliest_arrival is not None for s, _ in scans)
    assert any(s == TimeLimits(None, None, None, None) for s, _ in scans)


def test_an_early_appointment_is_picked_up_from_opening_with_no_gap() -> None:
    # Booked at 7:20 for a day opening at 8:00 (earliest pickup 7:50), a 40-minute drive, factor
    # 1.5: arriving by 8:40..8:49 is picked up at once from the open. By 8:50..8:59 the pickup that
    # leaves time to share would end before the open; it was refused, so the picker offered 8:40
    # and the booking refused 8:55 (issue 20: pickers offer only what can be booked). Such an
    # arrival is now picked up from the open too, and every arrival from the earliest on is
    # accepted.
    r = rules(now=at_local(DAY, time(7, 20), JST), direct_s=40 * 60, lead=30, boarding=0)
    at = lambda hh, mm: at_local(DAY, time(hh, mm), JST)  # noqa: E731
    assert scan(r)[1] == 1
    for hh, mm in ((8, 40), (8, 49), (8, 50), (8, 55), (8, 59), (9, 0), (9, 30)):
        got = r.promise(None, at(hh, mm))
        assert not isinstance(got, TimeRefusal), (hh, mm, got)
        assert got[0] >= at(8, 0) and got[2] == at(hh, mm)
    got = r.promise(None, at(8, 55))
    assert not isinstance(got, TimeRefusal) and got[0] == at(8, 0) and got[1] == at(8, 15)
    assert isinstance(r.promise(None, at(8, 39)), TimeRefusal)
    assert r.limits() == scan(r)[0]
    assert r.limits().earliest_arrival == at(8, 40) and r.limits().latest_arrival == at(17, 0)


def test_limits_on_chosen_days() -> None:
    at = lambda hh, mm: at_local(DAY, time(hh, mm), JST)  # noqa: E731
    chosen = [
        rules(now=at(9, 0), direct_s=15 * 60),  # an ordinary morning
        rules(now=at(9, 0), direct_s=15 * 60, wheelchair=True),
        rules(now=at(16, 20), direct_s=15 * 60),  # too late for any pickup, arrivals still
        rules(now=at(16, 50), direct_s=15 * 60),  # nothing left
        rules(now=at(17, 30), direct_s=15 * 60),  # after the close
        rules(now=at(5, 0), direct_s=0.0),  # before the open, no drive at all
        rules(now=at(8, 0), direct_s=600, start=time(8, 0), end=time(8, 0)),  # a day of one minute
        rules(now=at(8, 0), direct_s=600, start=time(8, 0), end=time(8, 20)),  # shorter than a ride
        rules(now=at(8, 0), direct_s=600, start=time(9, 0), end=time(8, 0)),  # closes before it opens
        rules(now=at(8, 0) - timedelta(days=1), direct_s=3 * 3600),  # the evening before, a long drive
        rules(now=at(12, 0), direct_s=4 * 3600),  # a four-hour drive at noon: arrivals only
        rules(now=at(14, 0), direct_s=4 * 3600),  # a drive longer than what is left of the day
    ]
    for r in chosen:
        assert r.limits() == scan(r)[0], r


def test_limits_ask_promise_a_few_dozen_times_not_every_minute() -> None:
    calls: list[int] = []
    base = rules(now=at_local(DAY, time(7, 0), JST), direct_s=20 * 60)
    r = Counted(base.b, base.day, base.hours, base.tz, base.now, base.direct_s, base.wheelchair, calls)
    assert r.limits() == scan(r)[0]
    calls.clear()
    r.limits()
    assert 0 < len(calls) <= 40, len(calls)  # a 9-hour day: 541 minutes, each asked twice by a scan
