"""Vehicles, their manifests and the answers to drivers' reports (rides: manifests, field_events)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from api.schemas.base import ApiModel, ClockTime, IsoDate, LatLon, Lax, LocalTime, Number
from api.schemas.rides import Window
from dispatcher.models import RideStatus


class Shift(ApiModel):
    """A vehicle's daily shift (local times)."""

    start: ClockTime
    end: ClockTime


class Vehicle(ApiModel):
    """An active vehicle."""

    id: int
    key: str
    name: str
    operator: str = Field(description="the taxi company's key")
    operator_name: str
    seats: int
    wheelchair_places: int
    depot: LatLon
    shift: Shift


class Cargo(ApiModel):
    """What a freight job carries: groceries from the drone base to a hall."""

    orders: list[int] = Field(description="the orders' ids")
    hall_id: str
    weight_kg: Number


class Stop(ApiModel):
    """A stop of a vehicle's manifest."""

    ride_id: int
    kind: Literal["pickup", "dropoff"]
    lat: Number
    lon: Number
    place_id: str | None = Field(
        description="the tenant place (or the drone base) booked; null for a home or a point"
    )
    place_name: str = Field(description="自宅, the place's name, the drone base's name, or 指定の場所")
    place_kind: Literal["home", "place", "drone_base", "other"]
    address: str | None = Field(
        description="the household's address at a rider's home (operators and the company's drivers only); "
        "null elsewhere and on the operator board"
    )
    navigation_url: str = Field(
        description="a Google Maps directions link to the stop, which opens on Android and iOS"
    )
    planned_time: LocalTime
    window: Window = Field(
        description="pickup: the promised pickup window; drop-off: no start, the latest arrival as end"
    )
    party_size: int
    wheelchair: bool
    fare_note: str | None = Field(
        description="pickup of a rider: what to do about the fare, e.g. 500円を受け取る or "
        "料金は月末にまとめて請求 (the tenant's rule); null at drop-offs and for freight"
    )
    ride_kind: Literal["passenger", "freight"]
    cargo: Cargo | None = Field(description="a freight job's load; null for passengers")
    rider: str | None = Field(description="the rider's name; null for freight")
    phone: str | None = Field(description="the rider's phone; null for freight")
    notes: str = Field(description="the operators' notes about the rider")
    ride_status: Annotated[RideStatus, Lax]
    arrived_at: LocalTime | None = Field(description="when the driver reported arriving at the pickup")
    done: bool
    done_at: LocalTime | None = Field(
        description="a done stop: when it was done (the driver's tap, or the operator's correction of "
        "a flagged one); null while pending"
    )


class EndedRide(ApiModel):
    """A ride of the day the vehicle was to serve that ended without it."""

    ride_id: int
    status: Literal["cancelled", "no_show"]


class Manifest(ApiModel):
    """A vehicle's stops of a day in visiting order, done ones first."""

    vehicle_id: int
    vehicle: str = Field(description="the vehicle's key")
    date: IsoDate
    now: LocalTime = Field(description="the server's clock")
    plan_version: int = Field(description="the plan version the stops are read from (0: no plan yet)")
    no_show_wait_minutes: int = Field(description="minutes after arrival before a no-show is accepted")
    delayed_until: LocalTime | None = Field(description="a reported delay: no stop before this time")
    stops: list[Stop]
    ended: list[EndedRide] = Field(
        description="the day's rides last assigned to this vehicle that were cancelled or ended in a "
        "no-show (a ride that left the stops otherwise went to another vehicle)"
    )


class RideReport(ApiModel):
    """A ride event was recorded (arrived, picked_up, no_show, dropped_off)."""

    vehicle_id: int
    type: Literal["arrived", "picked_up", "no_show", "dropped_off"]
    ride_id: int
    status: Annotated[RideStatus, Lax] = Field(description="the ride's status now")
    at: LocalTime
    late_rides: list[int] = Field(description="rides whose promise this vehicle can no longer keep")


class WhereaboutsReport(ApiModel):
    """A position or a delay was recorded."""

    vehicle_id: int
    type: Literal["position", "delay"]
    at: LocalTime
    late_rides: list[int] = Field(description="rides whose promise this vehicle can no longer keep")


VehicleReport = Annotated[RideReport | WhereaboutsReport, Field(discriminator="type")]


class ReportProblem(ApiModel):
    """Why one report of a bulk call was not stored (as in a 422 problem's `errors`)."""

    field: str
    message: str
    code: str = Field(description="stable code, e.g. vehicle.not_found, report.out_of_order, time.future")


class PositionOutcome(ApiModel):
    """What became of one position of a bulk report."""

    vehicle_id: int
    status: Literal["accepted", "rejected"]
    at: LocalTime | None = Field(default=None, description="when the position was taken (accepted only)")
    late_rides: list[int] = Field(
        default_factory=list, description="rides whose promise this vehicle can no longer keep"
    )
    errors: list[ReportProblem] = Field(default_factory=list, description="why it was rejected")


class PositionsReport(ApiModel):
    """The answer to a bulk position report: how many were stored, and each one's outcome in the
    order sent. A rejected position changes nothing; the others are stored."""

    accepted: int
    rejected: int
    results: list[PositionOutcome]
