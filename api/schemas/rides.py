"""Ride bookings as the operators' API shows them (dispatcher.rides.booking.ride_view, quote)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from api.schemas.base import ApiModel, IsoDate, Lax, LocalTime, Number
from dispatcher.models import RideStatus


class RidePlace(ApiModel):
    """Where a ride starts or ends."""

    lat: Number
    lon: Number
    place_id: str | None = Field(description="the named place, if the ride was booked to one")


class Window(ApiModel):
    """A time window (local times); an end or a start not promised is null."""

    start: LocalTime | None
    end: LocalTime | None


class PickupWindow(ApiModel):
    """A pickup window (local times)."""

    start: LocalTime
    end: LocalTime


class Ride(ApiModel):
    """A ride booking: what was asked, what was promised, what is planned."""

    id: int
    status: Annotated[RideStatus, Lax]
    resident_id: int | None = Field(description="the rider (none for a freight job)")
    service_date: IsoDate
    origin: RidePlace
    destination: RidePlace
    origin_name: str = Field(
        description="where the ride starts, named as on every page: 自宅, a place, the drone base, 指定の場所"
    )
    destination_name: str = Field(description="where the ride ends, named the same way")
    pickup_after: LocalTime | None = Field(description="the asked pickup time (or none: arrive_by asked)")
    arrive_by: LocalTime | None = Field(description="the asked arrival time (or none: pickup_after asked)")
    party_size: int = Field(description="persons travelling, the rider included")
    wheelchair: bool
    pickup_window: Window = Field(description="the promised pickup window")
    latest_arrival: LocalTime | None = Field(description="the promised latest arrival")
    fare_yen: int | None = Field(description="the fare in yen (none when refused before pricing)")
    fare_text: str = Field(description="the fare and how it is paid, in Japanese (the tenant's rule)")
    fare_payment: Literal["on_board", "monthly"] = Field(description="the tenant's fare rule")
    cancel_fee_yen: int = Field(description="yen a cancellation now would cost (0: free)")
    cancel_fee_text: str = Field(description="the warning to show before cancelling, '' when free")
    cancel_outcome: Literal["charged", "waived", "free"] | None = Field(
        description="a cancelled ride: its cancellation fee was charged, waived by an operator, or none "
        "applied (then `fare_text` says so in place of the fare); none for other rides"
    )
    cancelled_fee_yen: int | None = Field(description="a cancelled ride: the fee charged in yen (0: none)")
    vehicle_id: int | None
    vehicle: str | None = Field(description="the vehicle's key")
    planned_pickup: LocalTime | None
    planned_dropoff: LocalTime | None
    direct_minutes: Number = Field(description="direct driving time origin to destination, minutes (0.1)")
    refusal_reason: str | None = Field(description="why no vehicle could take it (status refused)")
    created_at: LocalTime


class ChangedRide(Ride):
    """The new booking that replaced a changed ride."""

    replaces: int = Field(description="the ride it replaced (now cancelled)")


class Alternative(ApiModel):
    """A nearby pickup window that would fit; book it by asking `pickup_after`."""

    pickup_window: PickupWindow
    latest_arrival: LocalTime
    pickup_after: LocalTime


class QuoteAvailable(ApiModel):
    """What a booking would promise now."""

    available: Literal[True]
    pickup_window: PickupWindow
    latest_arrival: LocalTime
    fare_yen: int
    fare_text: str = Field(description="the fare and how it is paid, in Japanese (the tenant's rule)")
    planned_pickup: LocalTime
    direct_minutes: Number = Field(description="direct driving time, minutes (0.1)")


class QuoteUnavailable(ApiModel):
    """No vehicle can take the ride as asked; nearby windows that fit, nearest first."""

    available: Literal[False]
    alternatives: list[Alternative]


Quote = Annotated[QuoteAvailable | QuoteUnavailable, Field(discriminator="available")]


class ServiceHours(ApiModel):
    """A day's service hours (local clock times)."""

    start: str = Field(description="HH:MM")
    end: str = Field(description="HH:MM, when every ride must have ended")


class TimeLimits(ApiModel):
    """The times a trip can be asked for on a day (dispatcher.rides.booking.time_limits); null: none
    left. A picker offers nothing outside them; a booking may still find no free vehicle."""

    date: IsoDate
    service_hours: ServiceHours | None = Field(description="null: no service that day")
    earliest_pickup: LocalTime | None = Field(description="the earliest pickup window start")
    latest_pickup: LocalTime | None = Field(description="the latest `pickup_after` accepted")
    earliest_arrival: LocalTime | None = Field(description="the earliest `arrive_by` accepted")
    latest_arrival: LocalTime | None = Field(description="the latest `arrive_by` accepted")
    direct_minutes: Number = Field(description="direct driving time, minutes (0.1)")
