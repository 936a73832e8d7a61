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

from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError

_NUMBER = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")


def _iso_text(example: str) -> BeforeValidator:
    """Refuse a number where a date or an instant is asked: pydantic would read it as Unix time,
    so `?date=20261124` or `{"at": 0}` would quietly mean a moment in 1970."""

    def check(value: object) -> object:
        if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
            raise ValueError(f"must be ISO 8601 text, e.g. {example}")
        return value

    return BeforeValidator(check)


# The calendar every request, command and stored day lives in. Service days, instants and billing
# months outside it are refused (422 `date.out_of_range`) before any arithmetic: year 1 or 9999
# overflowed the time-zone and month arithmetic (500), and 1900-01 closed a month for ever.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
# A person's dates (birth, evidence since/until) reach further back: nobody alive was born before.
EARLIEST_RECORD_DAY = date(1900, 1, 1)


def out_of_range(day: date, earliest: date = EARLIEST_DAY, latest: date = LATEST_DAY) -> str | None:
    """Why `day` is refused, or None when it lies within [earliest, latest]."""
    if earliest <= day <= latest:
        return None
    return f"must be between {earliest.isoformat()} and {latest.isoformat()}"


def _bounded(earliest: date, latest: date) -> AfterValidator:
    """Refuse a date (or the local date of an instant) outside [earliest, latest] with the stable
    error type `date_out_of_range` (the API's field code `date.out_of_range`)."""

    def check(value: date) -> date:
        day = value.date() if isinstance(value, datetime) else value
        why = out_of_range(day, earliest, latest)
        if why is not None:
            raise PydanticCustomError(
                "date_out_of_range",
                "{why}",
                {"why": why, "earliest": earliest.isoformat(), "latest": latest.isoformat()},
            )
        return value

    return AfterValidator(check)


# Request fields: a day and an instant with its offset, both as ISO 8601 text only, both within
# EARLIEST_DAY..LATEST_DAY (the one place that bounds them); `RecordDay` for a person's dates.
Day = Annotated[date, _iso_text("2026-11-24"), _bounded(EARLIEST_DAY, LATEST_DAY)]
Instant = Annotated[AwareDatetime, _iso_text("2026-11-24T10:00:00+09:00"), _bounded(EARLIEST_DAY, LATEST_DAY)]
RecordDay = Annotated[date, _iso_text("1995-04-01"), _bounded(EARLIEST_RECORD_DAY, LATEST_DAY)]
# A birth date: the register's own rule bounds it (1900-01-01 to today, `resident.birth_date_impossible`),
# reported together with the registration's other problems.
BirthDate = Annotated[date, _iso_text("1948-05-02")]


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
