"""The service itself: liveness."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.base import ApiModel, OffsetTime


class Health(ApiModel):
    status: Literal["ok"] = Field(description="the API answers and the database is reachable")
    now: OffsetTime = Field(description="the server's clock")
