"""Drivers' reports flagged for the operator's review (dispatcher.rides.field_checks)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.base import ApiModel, IsoDate, LocalTime, Number


class FlagWindow(ApiModel):
    start: LocalTime | None
    end: LocalTime | None


class FieldFlag(ApiModel):
    """A report that cannot be true, accepted and awaiting review (確認が必要な記録); the ride it
    belongs to stays out of the statistics until then."""

    id: int = Field(description="the flag's id, for the review")
    check: Literal["pickup_early", "dropoff_too_soon", "position_jump"]
    report: Literal["picked_up", "dropped_off", "position"]
    reported_at: LocalTime = Field(description="the time the report gave")
    reported_by: str = Field(description="who reported (the driver's account)")
    service_date: IsoDate | None
    vehicle_id: int
    vehicle: str
    ride_id: int | None = Field(description="null: a position")
    kind: str | None = Field(description="passenger or freight; null: a position")
    rider: str
    pickup_window: FlagWindow | None
    picked_up_at: LocalTime | None = Field(description="the ride's pickup time now")
    dropped_off_at: LocalTime | None = Field(description="the ride's drop-off time now")
    minutes_early: int | None = Field(description="pickup_early: minutes before the window opened")
    ride_minutes: Number | None = Field(description="dropoff_too_soon: minutes from pickup to drop-off")
    direct_minutes: Number | None = Field(description="dropoff_too_soon: the road model's direct minutes")
    km: Number | None = Field(description="position_jump: straight-line km from the last report")
    minutes: Number | None = Field(description="position_jump: minutes since the last report")
    speed_kmh: Number | None = Field(description="position_jump: km/h it implies (null: no time passed)")


class FlagReviewed(ApiModel):
    id: int
    decision: str
    check: str | None
    ride_id: int | None = None
    report: str | None = None
    at: LocalTime | None = Field(None, description="a ride's tap: its time after the review")
