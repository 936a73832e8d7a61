"""Conversions between instants and the solver's time axis.

The routing package works in seconds since local midnight of the service day (a float); the
dispatcher stores timezone-aware instants. These helpers translate with the tenant's time zone.
`Day` and `Instant` are how requests give a day and an instant.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, overload
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BeforeValidator

_NUMBER = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")


def _iso_text(example: str) -> BeforeValidator:
    """Refuse a number where a date or an instant is asked: pydantic would read it as Unix time,
    so `?date=20261124` or `{"at": 0}` would quietly mean a moment in 1970."""

    def check(value: object) -> object:
        if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
            raise ValueError(f"must be ISO 8601 text, e.g. {example}")
        return value

    return BeforeValidator(check)


# Request fields: a day and an instant with its offset, both as ISO 8601 text only.
Day = Annotated[date, _iso_text("2026-11-24")]
Instant = Annotated[AwareDatetime, _iso_text("2026-11-24T10:00:00+09:00")]


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


@overload
def iso_local(instant: datetime, tz: ZoneInfo) -> str: ...
@overload
def iso_local(instant: None, tz: ZoneInfo) -> None: ...
@overload
def iso_local(instant: datetime | None, tz: ZoneInfo) -> str | None: ...
def iso_local(instant: datetime | None, tz: ZoneInfo) -> str | None:
    return None if instant is None else instant.astimezone(tz).isoformat()
