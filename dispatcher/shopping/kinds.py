"""The event kinds shopping records (orders, picking, deliveries, flights), and what of each
payload outlives the retention period (see `dispatcher.rides.kinds` for the RETENTION format)."""

from __future__ import annotations

from dispatcher.models import FlightStatus, OrderStatus

ORDER_PLACED = "order.placed"
ORDER_LOCKED = "order.locked"
ORDER_PICKED = "order.picked"
ORDER_AT_HALL = "order.at_hall"
ORDER_HANDED_OVER = "order.handed_over"
ORDER_CANCELLED = "order.cancelled"
ORDER_GROUND = "order.ground"  # sent by ground (taxi freight or a car run) instead of by drone
FLIGHT_LANDED = "flight.landed"
DELIVERY_PLANNED = "delivery.planned"
WEATHER_SET = "weather.set"
PICKLIST_READY = "picklist.ready"
MEMBERSHIP_STARTED = "membership.started"
MEMBERSHIP_ENDED = "membership.ended"


def order_kind(status: OrderStatus) -> str:
    """The event of an order reaching `status` (order.locked, order.at_hall, ...)."""
    return f"order.{status.value}"


def flight_kind(status: FlightStatus) -> str:
    """The event of a flight reaching `status` (flight.departed, flight.returned, ...)."""
    return f"flight.{status.value}"


RETENTION: dict[str, tuple[str, ...] | None] = {
    MEMBERSHIP_STARTED: None,  # which membership, its dates and fee
    MEMBERSHIP_ENDED: None,
    "order.*": None,  # statuses, totals, flights
    "flight.*": None,
    DELIVERY_PLANNED: None,
    WEATHER_SET: None,
    PICKLIST_READY: None,
}
