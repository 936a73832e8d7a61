"""What a paired TV box or a resident's phone sees (dispatcher.channels.resident_view): labels in
plain Japanese, times of day as H:MM, money in yen."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from api.schemas.base import ApiModel, ClockTime, IsoDate, LatLon, Lax, LocalTime, Number, YearMonth
from dispatcher.models import OrderStatus, RideStatus
from dispatcher.tenant_config import PlaceKind


class Favourite(ApiModel):
    id: str
    name: str
    kind: PlaceKind


class HouseholdMember(ApiModel):
    id: int
    name: str
    given_name: str = Field(description="how the screens address the resident")
    wheelchair: bool
    eligible: bool = Field(description="may book rides")
    home: LatLon
    favourites: list[Favourite] = Field(description="most used first; the TV numbers them 1-9")


class Home(ApiModel):
    lat: Number
    lon: Number
    address: str


class PlaceItem(ApiModel):
    id: str
    name: str
    kana: str
    kind: PlaceKind


class ServiceHours(ApiModel):
    start: ClockTime
    end: ClockTime


class BookingRules(ApiModel):
    min_lead_minutes: int = Field(description="a pickup at least this many minutes from now")
    max_party_size: int


class _Shopping(ApiModel):
    open: bool = Field(description="orders are taken now (for `next_delivery_date`)")
    cutoff: ClockTime = Field(description="orders close at this time on the delivery day")
    deliver_by: ClockTime
    next_delivery_date: IsoDate
    next_delivery_label: str = Field(description="e.g. 11月24日（火）")
    max_lines_per_order: int
    max_quantity_per_line: int
    hall: str | None = Field(description="the household's hall where the goods land (the tenant file's name)")
    payment: str = Field(description="how the goods are paid, in the statement's words")


class ShoppingOpen(_Shopping):
    """Orders are open now."""

    open: Literal[True]
    cutoff_at: LocalTime = Field(description="when ordering closes")
    minutes_left: int = Field(description="whole minutes until then")
    member: bool = Field(description="the household is a shopping member today")


class ShoppingClosed(_Shopping):
    """Orders are closed now."""

    open: Literal[False]
    member: bool = Field(description="the household is a shopping member today")


class Overview(ApiModel):
    """The household as its own screens show it."""

    tenant: str = Field(description="the municipality's name")
    call_centre_phone: str
    household_id: int
    home: Home
    members: list[HouseholdMember]
    places: list[PlaceItem]
    now: LocalTime = Field(description="the server's clock (screens never use their own)")
    today_label: str = Field(description="e.g. 11月24日（火）")
    service_hours: ServiceHours | None = Field(description="today's; null: no service today")
    booking: BookingRules
    shopping: Annotated[ShoppingOpen | ShoppingClosed, Field(discriminator="open")] | None = Field(
        description="null: the municipality runs no shopping service"
    )
    can_book: bool = Field(
        description="the caller may book and cancel rides (not a family member's view link)"
    )
    whole_household: bool = Field(
        description="the caller acts for the household (shopping, bills, reminders); false: a family "
        "member acting for one resident"
    )


class RideCard(ApiModel):
    """A ride as a resident sees it."""

    id: int
    resident_id: int
    rider: str = Field(description="the rider's given name")
    status: Annotated[RideStatus, Lax]
    status_label: str = Field(description="the status in Japanese")
    from_: str = Field(alias="from", description="where from: a place's name, 自宅 or 指定の場所")
    to: str = Field(description="where to: a place's name, 自宅 or 指定の場所")
    wait_at: str = Field(
        description="where to wait, read before 「お待ちください」: 家の前で at home, else the place's "
        "pickup note or e.g. 伊那中央病院の玄関で"
    )
    to_place_id: str | None
    pickup_from: ClockTime | None = Field(description="the pickup window")
    pickup_to: ClockTime | None
    planned_pickup: ClockTime | None
    arrive_by: ClockTime | None = Field(description="the promised latest arrival")
    party_size: int
    fare_yen: int | None
    fare_text: str = Field(description="the fare and how it is paid, in Japanese (the tenant's rule)")
    fare_payment: Literal["on_board", "monthly"] = Field(description="the tenant's fare rule")
    cancel_fee_yen: int = Field(description="yen a cancellation now would cost (0: free)")
    cancel_fee_text: str = Field(description="the warning to show before cancelling, '' when free")
    cancel_outcome: Literal["charged", "waived", "free"] | None = Field(
        description="a cancelled ride: its cancellation fee was charged, waived by an operator, or none "
        "applied (then `fare_text` says so in place of the fare); none for other rides"
    )
    cancelled_fee_yen: int | None = Field(description="a cancelled ride: the fee charged in yen (0: none)")
    eta_minutes: int | None = Field(
        description="minutes until the planned pickup (confirmed rides not yet late); null when late"
    )
    late: bool = Field(
        default=False, description="confirmed, past the end of its pickup window with no vehicle at the door"
    )
    cancellable: bool
    alternatives: list[LocalTime] = Field(description="pickup times offered instead (refused rides)")


class ReturnOffer(ApiModel):
    """A completed ride to a place: offer the trip home."""

    resident_id: int
    rider: str
    from_place_id: str
    from_: str = Field(alias="from", description="the place's name")
    after_ride: int = Field(description="the ride that took the resident there")


class HouseholdRides(ApiModel):
    """Today's rides of the household (refused ones left out) and return trips to offer."""

    rides: list[RideCard]
    return_offers: list[ReturnOffer]


class Category(ApiModel):
    category: str
    count: int = Field(description="products available")


class CardItem(ApiModel):
    name: str
    quantity: int
    unit_price_yen: int


class OrderCard(ApiModel):
    """An order as the household sees it."""

    id: int
    delivery_date: IsoDate
    delivery_label: str = Field(description="e.g. 11月24日（火）")
    status: Annotated[OrderStatus, Lax]
    status_label: str = Field(description="the status in Japanese")
    total_yen: int
    items: list[CardItem]
    cancellable: bool
    by: Literal["drone", "ground"] | None = Field(description="how it comes; null until planned")


class ChargesSoFar(ApiModel):
    """This month's charges so far (not final until the month closes)."""

    month: YearMonth
    total_yen: int
    by_kind: dict[str, int] = Field(
        description="yen by kind: ride, no_show, late_cancel, membership, goods, adjustment"
    )


class Notice(ApiModel):
    """A message of today, in Japanese."""

    id: str = Field(description="stable: a screen can tell which ones it has shown")
    at: ClockTime
    kind: Literal[
        "ride.confirmed",
        "ride.cancelled",
        "ride.arrived",
        "order.at_hall",
        "order.handed_over",
        "ride.late",
        "ride.approaching",
    ]
    text: str
    urgent: bool = Field(description="calls for attention now (the taxi at the door, groceries at the hall)")


class PinSession(ApiModel):
    """A phone-page session: send `Authorization: Bearer <access_token>`."""

    access_token: str
    token_type: Literal["bearer"]
    name: str = Field(description="the resident's name")
