"""Conversions between instants and the solver's time axis.

The routing package works in seconds since local midnight of the service day (a float); the
dispatcher stores timezone-aware instants. These helpers translate with the tenant's time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


def midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


@lru_cache(maxsize=256)
def midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    return midnight(day, tz).astimezone(UTC)


def to_seconds(instant: datetime, day: date, tz: ZoneInfo) -> float:
    """Elapsed seconds since local midnight of `day` (in UTC, so daylight-saving days count right)."""
    return (instant.astimezone(UTC) - midnight_utc(day, tz)).total_seconds()


def from_seconds(seconds: float, day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant `seconds` (elapsed) after local midnight of `day`."""
    return midnight_utc(day, tz) + timedelta(seconds=seconds)


def at_local(day: date, clock_time: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock_time, tzinfo=tz)


def parse_hhmm(value: str) -> time:
    h, m = value.split(":")
    return time(int(h), int(m))


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def ceil_minute(instant: datetime) -> datetime:
    """Round up to the next whole minute (promises are given in whole minutes)."""
    if instant.second == 0 and instant.microsecond == 0:
        return instant
    return instant.replace(second=0, microsecond=0) + timedelta(minutes=1)


def floor_minute(instant: datetime) -> datetime:
    return instant.replace(second=0, microsecond=0)


def iso_local(instant: datetime | None, tz: ZoneInfo) -> str | None:
    return None if instant is None else instant.astimezone(tz).isoformat()
