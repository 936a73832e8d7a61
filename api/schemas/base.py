"""The base of every success body and the scalar types the bodies share.

Models are strict (a number is not a yes/no, a yes/no not a number) and forbid undeclared keys, so
a payload that drifts from its model fails in the tests (FastAPI answers 500) instead of changing
silently or losing a key. Fields whose value is not always whole are `Number`: an integer stays an
integer in the JSON (pydantic's `float` would turn 0 into 0.0).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Strict, WithJsonSchema


class ApiModel(BaseModel):
    """A JSON body (or part of one) the API answers with."""

    model_config = ConfigDict(extra="forbid", strict=True)


Number = Annotated[int | float, WithJsonSchema({"type": "number"})]
"""A number as the domain computed it (an integer stays an integer)."""

LocalTime = Annotated[
    str,
    WithJsonSchema(
        {"type": "string", "format": "date-time", "description": "ISO 8601, the municipality's UTC offset"}
    ),
]
"""ISO 8601 date and time with the municipality's UTC offset, e.g. 2026-11-24T09:00:00+09:00."""

OffsetTime = Annotated[
    str,
    WithJsonSchema(
        {"type": "string", "format": "date-time", "description": "ISO 8601 with an offset (UTC once stored)"}
    ),
]
"""ISO 8601 date and time with a UTC offset that is not always the municipality's: instants read
back from the database come in UTC (+00:00)."""

IsoDate = Annotated[str, WithJsonSchema({"type": "string", "format": "date", "description": "YYYY-MM-DD"})]
"""A calendar date, YYYY-MM-DD."""

YearMonth = Annotated[
    str, WithJsonSchema({"type": "string", "pattern": r"^\d{4}-\d{2}$", "description": "YYYY-MM"})
]
"""A calendar month, YYYY-MM."""

ClockTime = Annotated[
    str,
    WithJsonSchema(
        {"type": "string", "pattern": r"^\d{1,2}:\d{2}$", "description": "local time of day, H:MM"}
    ),
]
"""A local time of day, H:MM or HH:MM (24-hour clock)."""

Lax = Strict(False)
"""For an enumeration field: the domain hands over the value as a plain string."""


class LatLon(ApiModel):
    """A point (WGS 84 degrees)."""

    lat: Number
    lon: Number
