"""Drone flights, pick lists, hand-over lists and the weather of a delivery day
(dispatcher.shopping.delivery, flight_ops, picking)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from api.schemas.base import ApiModel, ClockTime, IsoDate, Lax, LocalTime, Number
from dispatcher.models import FlightStatus, OrderStatus


class LineString(ApiModel):
    """A GeoJSON LineString geometry (RFC 7946): positions in [longitude, latitude] order."""

    type: Literal["LineString"]
    coordinates: list[list[Number]]


class PathProperties(ApiModel):
    flight: int = Field(description="the flight's number in the day's plan")
    drone: str
    halls: list[str]


class FlightPath(ApiModel):
    """The flight's route as a GeoJSON Feature (RFC 7946), for maps."""

    type: Literal["Feature"]
    geometry: LineString
    properties: PathProperties


class Flight(ApiModel):
    """A drone flight of a delivery day."""

    id: int
    date: IsoDate
    number: int = Field(description="the flight's number in the day's plan, from 1")
    drone: str = Field(description="the drone's id in the tenant file")
    drone_name: str = Field(description="the drone's name in the tenant file (its id where it has none)")
    hall_names: dict[str, str] = Field(description="hall id -> the hall's name in the tenant file")
    departure: LocalTime
    return_: LocalTime = Field(alias="return", description="planned return to the base")
    halls: list[str] = Field(description="the halls it lands at, in order")
    arrivals: dict[str, LocalTime] = Field(description="hall id -> planned landing time")
    landed: dict[str, LocalTime] = Field(description="hall id -> when the drone operator reported landing")
    took_off: LocalTime | None = Field(description="when the drone operator reported take-off; null before")
    expected: dict[str, LocalTime] = Field(
        description="hall id -> expected landing: as planned before take-off, then the actual take-off "
        "plus the planned flight time to the hall"
    )
    expected_return: LocalTime = Field(
        description="expected return to the base: as planned before take-off, then the actual take-off "
        "plus the planned flight time"
    )
    orders: list[int] = Field(description="the orders on board")
    payload_kg: Number
    distance_km: Number
    status: Annotated[FlightStatus, Lax]
    path: FlightPath


class GroundJob(ApiModel):
    """Orders of one hall that go by ground instead."""

    hall_id: str = Field(description="the hall (empty: the household has none)")
    orders: list[int]
    ride_id: int | None = Field(description="the taxi freight job carrying them; null: a car run")


class GroundPlan(ApiModel):
    """Where an aborted flight's orders went."""

    by_taxi: list[GroundJob] = Field(description="booked into the taxis' plans the same afternoon")
    car_run: list[GroundJob] = Field(description="no taxi can take them in time: a support worker's car run")


class FlightStepResult(Flight):
    """The flight after the step; `ground` only when an abort sent orders by ground."""

    ground: GroundPlan | None = None


class ItemOrder(ApiModel):
    order_id: int
    quantity: int


class PickItem(ApiModel):
    """A product to pick with its total quantity and the orders it goes to."""

    product_id: int
    name: str
    quantity: int
    orders: list[ItemOrder]


class PickList(ApiModel):
    """A seller's pick list of a delivery day."""

    seller: str = Field(description="the seller's key")
    name: str = Field(description="the seller's name")
    date: IsoDate
    items: list[PickItem] = Field(description="by product name")
    ready_at: LocalTime | None = Field(description="when the seller marked the list picked and ready")


class Ready(ApiModel):
    """A seller marked its pick list ready; its orders are now picked."""

    seller: str
    date: IsoDate
    ready_at: LocalTime
    orders_picked: list[int]


class HandoverItem(ApiModel):
    name: str
    quantity: int


class Delivery(ApiModel):
    """One household's bags at a hall."""

    order_id: int
    household_id: int
    names: list[str] = Field(description="the household's residents")
    address: str
    phone: str
    items: list[HandoverItem]
    weight_kg: Number
    mode: Literal["drone", "ground"] | None = Field(description="how it comes; null until planned")
    ground_reason: str | None = Field(description="why it goes by ground")
    arrives: LocalTime | None = Field(
        description="the drone's expected landing at the hall: as planned before take-off, then the "
        "actual take-off plus the planned flight time to the hall"
    )
    landed: LocalTime | None = Field(
        default=None, description="when the drone operator reported the landing at the hall; null before"
    )
    status: Annotated[OrderStatus, Lax]
    handed_over_at: LocalTime | None


class HandoverList(ApiModel):
    """A hall's hand-over list of a delivery day."""

    hall_id: str | None = Field(description="null: households without a hall")
    hall: str | None = Field(description="the hall's name")
    date: IsoDate
    deliveries: list[Delivery]


class ForecastSlot(ApiModel):
    """Forecast for a part of the day."""

    start: ClockTime
    end: ClockTime
    wind_ms: Number = Field(description="wind speed, m/s")
    rain: bool


class Forecast(ApiModel):
    """The day's weather forecast as entered (no slots: fine weather assumed)."""

    date: IsoDate
    slots: list[ForecastSlot]


class QgcPlan(ApiModel):
    """A QGroundControl `.plan` file (JSON, "fileType": "Plan"): see the QGroundControl user guide,
    "Plan File Format"."""

    fileType: Literal["Plan"]
    version: int
    groundStation: str
    mission: dict[str, Any] = Field(
        description="the mission: cruiseSpeed, firmwareType, items (MAVLink commands: take off, "
        "waypoints, land), plannedHomePosition, ... as QGroundControl's plan format defines"
    )
    geoFence: dict[str, Any] = Field(description="circles and polygons (no-fly zones as exclusions)")
    rallyPoints: dict[str, Any] = Field(description="rally points (none)")
