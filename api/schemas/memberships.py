"""Shopping memberships of a household (dispatcher.shopping.memberships)."""

from __future__ import annotations

from pydantic import Field

from api.schemas.base import ApiModel, IsoDate, YearMonth


class MembershipOut(ApiModel):
    """One membership: from `starts_on` to `ends_on` (the last day, inclusive; null: no end)."""

    id: int
    household_id: int
    starts_on: IsoDate
    ends_on: IsoDate | None = Field(description="the last day it runs (inclusive); null: no end")
    fee_yen: int = Field(description="yen a month, for every month in which it ran on any day")
    billed_from: YearMonth | None = Field(
        description="the first month billed; null: called off before it ran"
    )
    billed_until: YearMonth | None = Field(description="the last month billed; null: no end (or never ran)")
    running: bool = Field(description="it runs today")


class Memberships(ApiModel):
    """A household's shopping memberships and what a new one would cost."""

    household_id: int
    offered: bool = Field(description="the municipality offers shopping")
    fee_yen_per_month: int | None = Field(
        description="the fee a new membership starts with; null: no shopping"
    )
    member_today: bool
    memberships: list[MembershipOut] = Field(description="oldest first")
