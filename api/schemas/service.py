"""The service itself: liveness."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.base import ApiModel, OffsetTime


class Health(ApiModel):
    status: Literal["ok"] = Field(description="the process answers (liveness only: see /readyz)")
    now: OffsetTime = Field(description="the server's clock")


class Ready(ApiModel):
    """The readiness check (`/readyz`): 200 when the database takes writes, else 503."""

    status: Literal["ready", "not_ready"]
    database: Literal["ok", "read_only", "timeout", "unavailable", "error"] = Field(
        description="the database's state, from a real write in a rolled-back transaction"
    )
