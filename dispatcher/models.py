"""Database tables (SQLModel). Money is integer yen; instants are stored in UTC, timezone-aware.

Every table carries `tenant_id`; every query in the dispatcher filters on it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes on every backend: stored as UTC, read back with tzinfo=UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use timezone-aware instants")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ts(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kw))


def js(**kw: Any) -> Any:
    return Field(sa_column=Column(JSON, **kw))


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    admin = "admin"
    operator = "operator"
    driver = "driver"
    municipality = "municipality"
    drone_operator = "drone_operator"
    support_worker = "support_worker"  # community support worker (集落支援員): hand-overs at halls
    seller = "seller"  # supermarket staff: pick lists of their own shop


class RideStatus(StrEnum):
    requested = "requested"
    confirmed = "confirmed"
    vehicle_arrived = "vehicle_arrived"
    on_board = "on_board"
    completed = "completed"
    refused = "refused"
    cancelled = "cancelled"
    no_show = "no_show"


# The ride lifecycle: which status may follow which.
RIDE_TRANSITIONS: dict[RideStatus, frozenset[RideStatus]] = {
    RideStatus.requested: frozenset({RideStatus.confirmed, RideStatus.refused}),
    RideStatus.confirmed: frozenset(
        {RideStatus.vehicle_arrived, RideStatus.on_board, RideStatus.cancelled, RideStatus.no_show}
    ),
    RideStatus.vehicle_arrived: frozenset({RideStatus.on_board, RideStatus.no_show, RideStatus.cancelled}),
    RideStatus.on_board: frozenset({RideStatus.completed}),
    RideStatus.completed: frozenset(),
    RideStatus.refused: frozenset(),
    RideStatus.cancelled: frozenset(),
    RideStatus.no_show: frozenset(),
}
OPEN_RIDE_STATUSES = (RideStatus.confirmed, RideStatus.vehicle_arrived, RideStatus.on_board)


class Tenant(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str
    municipality_code: str = Field(max_length=6)
    config: dict[str, Any] = js(nullable=False)
    lock_seq: int = Field(default=0, description="bumped by every write under the tenant lock")
    plan_seq: int = Field(
        default=0,
        sa_column_kwargs={"server_default": "0"},
        description="bumped only by writes that change the set of rides or their promises",
    )
    config_version: int = Field(
        default=0, description="bumped when `config` changes: running processes reload their copy"
    )
    created_at: datetime = ts(nullable=False)


class Household(SQLModel, table=True):
    """A home. `household_no`: the municipality's own household number (世帯番号), unique per tenant
    when given; the register file matches households on it (dispatcher.residents.importing)."""

    __table_args__ = (UniqueConstraint("tenant_id", "household_no", name="uq_household_household_no"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    household_no: str | None = Field(
        default=None, max_length=32, description="the municipality's own household number"
    )
    address: str = ""
    lat: float
    lon: float
    phone: str = ""
    hall_id: str | None = Field(
        default=None, max_length=64, description="community hall (place id) it belongs to"
    )
    settlement: str = Field(default="", max_length=64, description="the settlement (集落) it lies in")
    tv_box: str = Field(default="", max_length=32, description="the cable-TV box's number, if it has one")


class Resident(SQLModel, table=True):
    """A registered person. `active` is False once the registration ended (moved away, deceased,
    asked to leave: `ended_on`, `end_reason`); a paused registration (`paused_on`) stays active but
    may not book. `evidence`: what each eligibility category rests on (dispatcher.residents.eligibility)."""

    __table_args__ = (UniqueConstraint("tenant_id", "registration_no", name="uq_resident_registration_no"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    household_id: int | None = Field(default=None, foreign_key="household.id")
    registration_no: str | None = Field(
        default=None, max_length=32, description="the municipality's own registration number"
    )
    family_name: str
    given_name: str
    family_kana: str = ""
    given_kana: str = ""
    birth_date: date
    phone: str = ""
    lat: float
    lon: float
    evidence: list[dict[str, Any]] = js(nullable=False, server_default="[]")
    wheelchair: bool = False
    companion_needed: bool = False
    notes: str = ""
    active: bool = True
    paused_on: date | None = None
    pause_reason: str = ""
    ended_on: date | None = None
    end_reason: str = Field(default="", max_length=16)  # moved_away | deceased | asked | other
    registered_at: datetime = ts(nullable=False)
    favourite_places: list[str] = js(nullable=False, server_default="[]")  # place ids, most used first


class Operator(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    key: str
    name: str
    phone: str = ""


class Vehicle(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    operator_id: int = Field(foreign_key="operator.id")
    key: str
    name: str = ""
    seats: int
    wheelchair_places: int = 0
    depot_lat: float
    depot_lon: float
    shift_start: str  # HH:MM local time
    shift_end: str
    active: bool = True
    last_lat: float | None = None
    last_lon: float | None = None
    last_position_at: datetime | None = ts(nullable=True)
    delayed_until: datetime | None = ts(nullable=True)  # a driver's reported delay: no stop before


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    username: str = Field(unique=True, max_length=64)
    password_hash: str
    role: str
    operator_id: int | None = Field(default=None, foreign_key="operator.id")
    display_name: str = ""
    active: bool = True
    created_at: datetime = ts(nullable=False)
    seller_id: int | None = Field(default=None, foreign_key="seller.id")  # a seller's shop
    hall_id: str | None = Field(default=None, max_length=64)  # a support worker's hall (None: all)


class Driver(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    operator_id: int = Field(foreign_key="operator.id")
    user_id: int | None = Field(default=None, foreign_key="user.id")
    name: str
    phone: str = ""


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    created_at: datetime = ts(nullable=False)
    expires_at: datetime = ts(nullable=False)
    revoked_at: datetime | None = ts(nullable=True)


class Ride(SQLModel, table=True):
    """A ride booking: what was asked, what was promised, and what happened."""

    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_ride_tenant_date", "tenant_id", "service_date"),
        Index("ix_ride_resident_date", "resident_id", "service_date"),
    )
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)  # None for freight
    kind: str = Field(default="passenger", max_length=10)  # passenger | freight (groceries to a hall)
    cargo: dict[str, Any] | None = js(nullable=True)  # freight: {"orders": [...], "hall_id", "weight_kg"}
    service_date: date
    status: str = Field(default=RideStatus.requested.value, max_length=20)
    origin_lat: float
    origin_lon: float
    origin_place_id: str | None = None
    destination_lat: float
    destination_lon: float
    destination_place_id: str | None = None
    pickup_after: datetime | None = ts(nullable=True)
    arrive_by: datetime | None = ts(nullable=True)
    party_size: int = 1
    wheelchair: bool = False
    direct_seconds: float = 0.0
    max_ride_seconds: float = 0.0
    pickup_window_start: datetime | None = ts(nullable=True)
    pickup_window_end: datetime | None = ts(nullable=True)
    latest_arrival: datetime | None = ts(nullable=True)
    fare_yen: int | None = None
    vehicle_id: int | None = Field(default=None, foreign_key="vehicle.id")
    planned_pickup: datetime | None = ts(nullable=True)
    planned_dropoff: datetime | None = ts(nullable=True)
    refusal_reason: str | None = None
    alternatives: list[dict[str, Any]] | None = js(nullable=True)
    idempotency_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    created_by: str = ""
    created_at: datetime = ts(nullable=False)
    arrived_at: datetime | None = ts(nullable=True)
    picked_up_at: datetime | None = ts(nullable=True)
    dropped_off_at: datetime | None = ts(nullable=True)
    cancelled_at: datetime | None = ts(nullable=True)


class PlanVersion(SQLModel, table=True):
    """One version of a tenant's plan for a service day: what changed, why, and when.

    routes: the routes this version changed, {vehicle id: {"done": stops done so far, "pending":
    [{"ride_id", "kind", "planned_time" (ISO-8601), "done": false}, ...] in visiting order}} (since
    revision 0017a; earlier rows hold every route whole, as `PlanRoute.stops`). The plan in force
    is `PlanRoute`. travel_seconds: total planned driving time (s) of the pending part of the whole
    plan.
    """

    __table_args__ = (UniqueConstraint("tenant_id", "service_date", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    service_date: date
    version: int
    reason: str
    travel_seconds: float = 0.0
    routes: dict[str, Any] = js(nullable=False)
    created_at: datetime = ts(nullable=False)


class PlanRoute(SQLModel, table=True):
    """A vehicle's route in the plan in force of a service day: stops: [{"ride_id", "kind",
    "planned_time" (ISO-8601), "done": bool, "done_at" (ISO-8601, done stops)}, ...] in visiting
    order, done stops in front of pending ones; `version`: the plan version that last changed it.
    Written only when it changes, so a booking writes the one or two routes it touched, not the
    day."""

    __tablename__ = "plan_route"
    __table_args__ = (UniqueConstraint("tenant_id", "service_date", "vehicle_id"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    service_date: date
    vehicle_id: int
    version: int
    stops: list[Any] = js(nullable=False)
    updated_at: datetime = ts(nullable=False)


class Event(SQLModel, table=True):
    """Append-only record of every change of state: who, when, what, before and after."""

    __table_args__ = (
        Index("ix_event_tenant_at", "tenant_id", "at"),
        Index("ix_event_tenant_entity", "tenant_id", "entity", "entity_id"),
        Index("ix_event_tenant_id", "tenant_id", "id"),  # a tenant's newest event (publishing)
        Index("ix_event_tenant_kind_at", "tenant_id", "kind", "at"),  # flags to review, reviews since
    )
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    at: datetime = ts(nullable=False)
    actor: str
    kind: str = Field(max_length=64)
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    before: dict[str, Any] | None = js(nullable=True)
    after: dict[str, Any] | None = js(nullable=True)


class OrderStatus(StrEnum):
    placed = "placed"
    locked = "locked"
    picked = "picked"
    at_base = "at_base"
    in_flight = "in_flight"
    on_the_road = "on_the_road"
    at_hall = "at_hall"
    handed_over = "handed_over"
    cancelled = "cancelled"


# The order lifecycle: which status may follow which.
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.placed: frozenset({OrderStatus.locked, OrderStatus.cancelled}),
    OrderStatus.locked: frozenset({OrderStatus.picked}),
    OrderStatus.picked: frozenset({OrderStatus.at_base, OrderStatus.on_the_road}),  # taxi from the base
    OrderStatus.at_base: frozenset({OrderStatus.in_flight, OrderStatus.on_the_road}),
    OrderStatus.in_flight: frozenset({OrderStatus.at_hall, OrderStatus.on_the_road, OrderStatus.at_base}),
    OrderStatus.on_the_road: frozenset({OrderStatus.at_hall, OrderStatus.handed_over}),
    OrderStatus.at_hall: frozenset({OrderStatus.handed_over}),
    OrderStatus.handed_over: frozenset(),
    OrderStatus.cancelled: frozenset(),
}


class Seller(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    key: str
    name: str
    place_id: str | None = None


class Product(SQLModel, table=True):
    """A catalogue item. price_yen per unit; weight_g per unit (packed)."""

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    seller_id: int = Field(foreign_key="seller.id")
    name: str
    kana: str = ""
    category: str = Field(max_length=32, index=True)
    price_yen: int
    weight_g: int
    available: bool = True


class Membership(SQLModel, table=True):
    """A household's shopping membership; ends_on None while it runs. fee_yen per month."""

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    starts_on: date
    ends_on: date | None = None
    fee_yen: int


class ShopOrder(SQLModel, table=True):
    """A household's grocery order for one delivery day. Totals in yen and grams."""

    __tablename__ = "shop_order"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_shop_order_tenant_date", "tenant_id", "delivery_date"),
    )
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    household_id: int = Field(foreign_key="household.id", index=True)
    delivery_date: date
    status: str = Field(default=OrderStatus.placed.value, max_length=20)
    total_yen: int
    weight_g: int
    idempotency_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    created_by: str = ""
    created_at: datetime = ts(nullable=False)
    cancelled_at: datetime | None = ts(nullable=True)
    delivery_mode: str | None = Field(default=None, max_length=10)  # drone | ground, set by the plan
    ground_reason: str | None = None
    flight_id: int | None = None
    freight_ride_id: int | None = None  # the taxi ride carrying it when it goes by ground
    item_count: int | None = None  # items, kept when the retention purge removed the lines (None: count them)


class OrderLine(SQLModel, table=True):
    """One product of an order, with the price and weight it had when ordered."""

    __tablename__ = "shop_order_line"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    name: str
    unit_price_yen: int
    quantity: int
    unit_weight_g: int


class Flight(SQLModel, table=True):
    """A planned drone sortie of a delivery day. Times UTC; payload grams; distance metres.

    plan: the QGroundControl .plan document; path: GeoJSON Feature of the route."""

    __table_args__ = (Index("ix_flight_tenant_date", "tenant_id", "service_date"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    service_date: date
    number: int
    drone: str
    depart_at: datetime = ts(nullable=False)
    return_at: datetime = ts(nullable=False)
    halls: list[str] = js(nullable=False)
    arrivals: dict[str, str] = js(nullable=False)  # hall -> ISO instant of landing
    order_ids: list[int] = js(nullable=False)
    payload_g: int
    distance_m: float
    status: str = Field(default="planned", max_length=20)
    landed: dict[str, str] = js(nullable=False, server_default="{}")  # hall -> ISO instant it landed
    plan: dict[str, Any] = js(nullable=False)
    path: dict[str, Any] = js(nullable=False)
    active: bool = True  # False once a newer plan of the day replaced it


class Weather(SQLModel, table=True):
    """The forecast a delivery day is planned with: slots [{"start": "HH:MM", "end": "HH:MM",
    "wind_ms": m/s, "rain": bool}] in local time."""

    __table_args__ = (UniqueConstraint("tenant_id", "service_date"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    service_date: date
    slots: list[dict[str, Any]] = js(nullable=False)
    updated_at: datetime = ts(nullable=False)
    updated_by: str = ""


class Device(SQLModel, table=True):
    """A cable-TV set-top box. It shows `code` until an operator links it to a household; it
    authenticates with a bearer token (only its hash is kept) until revoked."""

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    household_id: int | None = Field(default=None, foreign_key="household.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    code: str | None = Field(default=None, max_length=8, index=True)
    code_expires_at: datetime | None = ts(nullable=True)
    created_at: datetime = ts(nullable=False)
    paired_at: datetime | None = ts(nullable=True)
    paired_by: str = ""
    revoked_at: datetime | None = ts(nullable=True)
    last_seen_at: datetime | None = ts(nullable=True)


class ResidentPin(SQLModel, table=True):
    """A resident's PIN for the smartphone page (argon2 hash); locked after repeated failures."""

    __tablename__ = "resident_pin"
    resident_id: int = Field(foreign_key="resident.id", primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    pin_hash: str
    failures: int = 0
    locked_at: datetime | None = ts(nullable=True)
    set_at: datetime = ts(nullable=False)
    set_by: str = ""


class ResidentSession(SQLModel, table=True):
    """A signed-in smartphone page: bearer token (hash) of a resident, valid until expires_at."""

    __tablename__ = "resident_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    tenant_id: str = Field(foreign_key="tenant.id")
    resident_id: int = Field(foreign_key="resident.id", index=True)
    created_at: datetime = ts(nullable=False)
    expires_at: datetime = ts(nullable=False)
    revoked_at: datetime | None = ts(nullable=True)


class FamilyPermission(StrEnum):
    """What a family member may do for a linked resident."""

    view = "view"  # see the resident's rides, the household's orders and the notices
    book = "book"  # that, and book and cancel the resident's rides


class ConsentMethod(StrEnum):
    """How the resident gave consent to a family link."""

    written = "written"  # 書面
    phone = "phone"  # 電話
    counter = "counter"  # 窓口 (in person at the municipal office)


class FamilyMember(SQLModel, table=True):
    """A family member's own sign-in on the phone page (e.g. a daughter living in Tokyo): a login id
    and an argon2 password hash; `failures` wrong passwords in a row lock it until `locked_until`.
    Whom it may act for: its FamilyLinks."""

    __tablename__ = "family_member"
    __table_args__ = (UniqueConstraint("tenant_id", "login_id"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    name: str = Field(max_length=60)
    kana: str = Field(default="", max_length=60)
    phone: str = Field(default="", max_length=30)
    email: str = Field(default="", max_length=200)
    login_id: str = Field(max_length=64)
    password_hash: str
    failures: int = 0
    locked_until: datetime | None = ts(nullable=True)
    password_set_at: datetime = ts(nullable=False)
    password_set_by: str = ""
    created_at: datetime = ts(nullable=False)
    created_by: str = ""
    ended_at: datetime | None = ts(nullable=True)


class FamilyLink(SQLModel, table=True):
    """A family member may act for a resident of the same municipality (`permission`), with the
    resident's consent: given on `consent_on`, how (`consent_method`), recorded by `recorded_by`.
    A revoked link grants nothing from `revoked_at` on."""

    __tablename__ = "family_link"
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    family_member_id: int = Field(foreign_key="family_member.id", index=True)
    resident_id: int = Field(foreign_key="resident.id", index=True)
    permission: str = Field(max_length=8)  # FamilyPermission
    consent_on: date
    consent_method: str = Field(max_length=16)  # ConsentMethod
    recorded_by: str
    created_at: datetime = ts(nullable=False)
    revoked_at: datetime | None = ts(nullable=True)
    revoked_by: str = ""


class FamilySession(SQLModel, table=True):
    """A family member signed in on the phone page: bearer token (hash), valid until expires_at."""

    __tablename__ = "family_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    tenant_id: str = Field(foreign_key="tenant.id")
    family_member_id: int = Field(foreign_key="family_member.id", index=True)
    created_at: datetime = ts(nullable=False)
    expires_at: datetime = ts(nullable=False)
    revoked_at: datetime | None = ts(nullable=True)


class ResidentNote(SQLModel, table=True):
    """An operator's note about a resident (what to remember on the next call)."""

    __tablename__ = "resident_note"
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    resident_id: int = Field(foreign_key="resident.id", index=True)
    text: str
    author: str
    created_at: datetime = ts(nullable=False)


class FlightStatus(StrEnum):
    planned = "planned"
    loaded = "loaded"
    departed = "departed"
    returned = "returned"
    aborted = "aborted"
    cancelled = "cancelled"  # replaced by a newer plan of the day


# The flight lifecycle as the drone operator reports it; landing at a hall happens while departed.
FLIGHT_TRANSITIONS: dict[FlightStatus, frozenset[FlightStatus]] = {
    FlightStatus.planned: frozenset({FlightStatus.loaded, FlightStatus.aborted}),
    FlightStatus.loaded: frozenset({FlightStatus.departed, FlightStatus.aborted}),
    FlightStatus.departed: frozenset({FlightStatus.returned, FlightStatus.aborted}),
    FlightStatus.returned: frozenset(),
    FlightStatus.aborted: frozenset(),
    FlightStatus.cancelled: frozenset(),
}


class PickReady(SQLModel, table=True):
    """A seller's pick list of a delivery day marked ready for collection."""

    __tablename__ = "pick_ready"
    __table_args__ = (UniqueConstraint("tenant_id", "seller_id", "service_date"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    seller_id: int = Field(foreign_key="seller.id")
    service_date: date
    ready_at: datetime = ts(nullable=False)
    ready_by: str


class ScheduledJob(SQLModel, table=True):
    """One job of a tenant's daily timeline (see dispatcher/jobs.py): when it is due next and how
    its last run went. The scheduler's persistent job store: it survives restarts, so missed fire
    times are known after downtime."""

    __tablename__ = "scheduled_job"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    name: str = Field(max_length=64)
    trigger: str = ""  # human-readable, e.g. "daily 11:00" (the code holds the real trigger)
    next_run_at: datetime | None = ts(nullable=True)
    # the fire time a claimed run serves until it finishes (a crashed run is taken up again once
    # next_run_at, its lease, has passed), and while a failed daily job waits for its retry
    pending_due_at: datetime | None = ts(nullable=True)
    last_due_at: datetime | None = ts(nullable=True)  # the fire time the last run served
    last_started_at: datetime | None = ts(nullable=True)
    last_finished_at: datetime | None = ts(nullable=True)
    last_status: str = Field(default="", max_length=16)  # ok | failed | skipped | missed
    last_detail: dict[str, Any] | None = js(nullable=True)
    runs: int = 0
    missed: int = 0  # fire times folded into a later run (coalesced) or past their grace time


class JobRun(SQLModel, table=True):
    """The run history: one row per fire time served. The unique key makes a fire time run once,
    even with two scheduler processes on one database."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("tenant_id", "job", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    job: str = Field(max_length=64)
    due_at: datetime = ts(nullable=False)
    started_at: datetime = ts(nullable=False)
    finished_at: datetime | None = ts(nullable=True)
    status: str = Field(default="running", max_length=16)  # running | ok | failed | missed
    coalesced: int = 0  # earlier fire times this run stood in for
    detail: dict[str, Any] | None = js(nullable=True)


class Subscription(SQLModel, table=True):
    """A partner that receives published events: an outbound webhook (HMAC-SHA256 signed with
    `secret`) or an e-mail address. operator_id limits manifests to one taxi company's vehicles."""

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    channel: str = Field(max_length=8)  # webhook | email
    target: str = Field(max_length=500)  # URL or e-mail address
    events: list[str] = js(nullable=False)
    secret: str = Field(default="", max_length=128)
    operator_id: int | None = Field(default=None, foreign_key="operator.id")
    description: str = ""
    active: bool = True
    created_at: datetime = ts(nullable=False)
    created_by: str = ""


class OutboxMessage(SQLModel, table=True):
    """One event for one subscription, sent until delivered or out of attempts (backoff between)."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id", index=True)
    recipient: str = Field(default="", max_length=200)  # an e-mail address without a subscription (family)
    event_type: str = Field(max_length=64)
    event_id: str = Field(max_length=64)  # the same for every subscription of one event
    payload: dict[str, Any] = js(nullable=False)
    created_at: datetime = ts(nullable=False)
    status: str = Field(default="pending", max_length=12)  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime | None = ts(nullable=True)
    delivered_at: datetime | None = ts(nullable=True)
    last_error: str = ""


class DeliveryAttempt(SQLModel, table=True):
    """The delivery log: every try of an outbox message, with the answer or the error."""

    __tablename__ = "delivery_attempt"
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="outbox_message.id", index=True)
    at: datetime = ts(nullable=False)
    number: int
    status_code: int | None = None
    error: str = ""
    duration_ms: float = 0.0


class Publication(SQLModel, table=True):
    """What was published to whom it concerns: a vehicle's manifest or the day's flight plans, by
    content hash, so a change is published once and an unchanged one not again."""

    __table_args__ = (Index("ix_publication_key", "tenant_id", "kind", "service_date", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    kind: str = Field(max_length=16)  # manifest | flightplan
    service_date: date
    key: str = Field(max_length=64)  # vehicle id, or "all" for the day's flights
    content_hash: str = Field(max_length=64)
    published_at: datetime = ts(nullable=False)
    reason: str = ""


class DailyStats(SQLModel, table=True):
    """The nightly statistics of one service day (ridership and shopping figures as JSON).

    Once the day's personal data is purged (dispatcher/platform/retention.py) `purged_at` is set and
    `vehicles` keeps each vehicle's figures of the day ([{"vehicle_id", "hours", "km", "km_empty"}],
    in the order the statistics computed them), which came from positions and addresses now gone."""

    __tablename__ = "daily_stats"
    __table_args__ = (UniqueConstraint("tenant_id", "service_date"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    service_date: date
    ridership: dict[str, Any] = js(nullable=False)
    shopping: dict[str, Any] = js(nullable=False)
    computed_at: datetime = ts(nullable=False)
    vehicles: list[dict[str, Any]] | None = js(nullable=True)
    purged_at: datetime | None = ts(nullable=True)


class TravelMargin(SQLModel, table=True):
    """What drivers' reports taught about one kind of leg of a tenant (hour of day x leg-length
    band, `routing.traveltime.LEG_BANDS_S`): how real driving times spread around the road model's.

    histogram: weights of reported legs by real/road time ratio, in bins of
    `dispatcher.rides.margin.RATIO_STEP` from `RATIO_MIN` (the last bin holds everything above);
    older days' weights decay each learned day. weight: their sum (reported legs, decayed).
    learned_through: the last service day whose reports are in."""

    __tablename__ = "travel_margin"
    __table_args__ = (UniqueConstraint("tenant_id", "hour", "band"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    hour: int
    band: int
    weight: float = 0.0
    histogram: list[float] = js(nullable=False)
    learned_through: date
    updated_at: datetime = ts(nullable=False)


class BillingAccount(SQLModel, table=True):
    """How a household pays: its customer number at the cable-TV company, which collects for the
    city, and the bank account debited (口座振替). Names and codes as the bank knows them
    (half-width katakana in the debit file). Personal data: admins and operators only."""

    __tablename__ = "billing_account"
    household_id: int = Field(foreign_key="household.id", primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    customer_no: str = Field(max_length=20)  # the cable-TV company's customer number
    bank_code: str = Field(max_length=4)
    bank_name: str = Field(default="", max_length=15)  # katakana
    branch_code: str = Field(max_length=3)
    branch_name: str = Field(default="", max_length=15)  # katakana
    account_type: int = 1  # 1 ordinary (普通), 2 current (当座), 4 savings (貯蓄)
    account_number: str = Field(max_length=7)
    holder_kana: str = Field(max_length=60)  # the account holder's name in kana
    updated_at: datetime = ts(nullable=False)
    updated_by: str = ""


class BillingMonth(SQLModel, table=True):
    """A closed billing month: immutable once written (statements and settlements beside it)."""

    __tablename__ = "billing_month"
    __table_args__ = (UniqueConstraint("tenant_id", "month"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    month: str = Field(max_length=7)  # YYYY-MM
    closed_at: datetime = ts(nullable=False)
    closed_by: str = ""
    debit_date: date
    totals: dict[str, Any] = js(nullable=False)


class Statement(SQLModel, table=True):
    """A household's bill of a closed month: every charge with what it was for (yen)."""

    __table_args__ = (UniqueConstraint("tenant_id", "month", "household_id"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    month: str = Field(max_length=7)
    household_id: int = Field(foreign_key="household.id", index=True)
    lines: list[dict[str, Any]] = js(nullable=False)
    by_kind: dict[str, int] = js(nullable=False)
    total_yen: int


class SellerSettlement(SQLModel, table=True):
    """A seller's month: gross sales of delivered goods, the commission, the payout (yen)."""

    __tablename__ = "seller_settlement"
    __table_args__ = (UniqueConstraint("tenant_id", "month", "seller_id"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    month: str = Field(max_length=7)
    seller_id: int = Field(foreign_key="seller.id")
    orders: int
    gross_yen: int
    commission_percent: float
    commission_yen: int
    net_yen: int


class Adjustment(SQLModel, table=True):
    """A correction of a closed month, charged (or credited, negative) in the month it is made."""

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    month: str = Field(max_length=7)  # the month whose statement carries it
    corrects: str | None = Field(default=None, max_length=7)  # the closed month it corrects
    amount_yen: int
    reason: str
    created_at: datetime = ts(nullable=False)
    created_by: str = ""


class WatchOver(SQLModel, table=True):
    """A household's opted-in watch-over (見守り): how long the TV may stay unused (hours, counted
    from the last activity) before the family hears of it, the sleep hours in which no e-mail goes
    out (local HH:MM), how long until an unanswered alert goes to the operators, away periods; and
    the consent it rests on: the day, how it was given (written | oral | phone: 書面, 口頭, 電話),
    who gave it (the resident's name), who recorded it and when."""

    __tablename__ = "watch_over"
    household_id: int = Field(foreign_key="household.id", primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    enabled: bool = True
    threshold_hours: float = 24.0
    sleep_start: str = "21:00"
    sleep_end: str = "07:00"
    escalate_minutes: int = 120
    away_until: datetime | None = ts(nullable=True)
    away_reason: str = ""
    last_activity_at: datetime | None = ts(nullable=True)
    last_activity_kind: str = Field(default="", max_length=16)
    enabled_at: datetime = ts(nullable=False)
    updated_at: datetime = ts(nullable=False)
    updated_by: str = ""
    consent_on: date | None = None
    consent_method: str = Field(default="", max_length=8)  # written | oral | phone
    consent_given_by: str = Field(default="", max_length=60)
    consent_recorded_by: str = Field(default="", max_length=60)
    consent_recorded_at: datetime | None = ts(nullable=True)


class FamilyContact(SQLModel, table=True):
    """Whom the watch-over tells: a family member's name and e-mail address."""

    __tablename__ = "family_contact"
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    household_id: int = Field(foreign_key="household.id", index=True)
    name: str
    email: str = Field(max_length=200)
    relation: str = ""


class WatchEpisode(SQLModel, table=True):
    """One stretch of silence: alerted once, acknowledged by the family (or an operator), escalated
    to the operators when nobody answers, ended when the TV is used again."""

    __tablename__ = "watch_episode"
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    household_id: int = Field(foreign_key="household.id", index=True)
    inactive_since: datetime = ts(nullable=False)
    alerted_at: datetime = ts(nullable=False)
    ack_token_hash: str = Field(unique=True, max_length=64)
    acknowledged_at: datetime | None = ts(nullable=True)
    acknowledged_by: str = ""
    escalated_at: datetime | None = ts(nullable=True)
    ended_at: datetime | None = ts(nullable=True)


class Reminder(SQLModel, table=True):
    """A message for the household's TV: once (`once_at`) or on weekdays at a local time (`days`,
    `at_time`), e.g. medication or rubbish day; acknowledged with the remote's Enter key."""

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    household_id: int = Field(foreign_key="household.id", index=True)
    text: str = Field(max_length=200)
    kind: str = Field(default="other", max_length=16)  # medication | rubbish | other
    once_at: datetime | None = ts(nullable=True)
    days: list[str] = js(nullable=False)
    at_time: str | None = Field(default=None, max_length=5)
    active: bool = True
    created_at: datetime = ts(nullable=False)
    created_by: str = ""


class ReminderAck(SQLModel, table=True):
    """An occurrence of a reminder (or of an automatic ride or delivery reminder, by key) that the
    household has seen and dismissed."""

    __tablename__ = "reminder_ack"
    __table_args__ = (UniqueConstraint("household_id", "key", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    household_id: int = Field(foreign_key="household.id")
    key: str = Field(max_length=40)  # reminder:<id>, ride:<id>:eve, ride:<id>:soon, order:<id>:hall
    due_at: datetime = ts(nullable=False)
    acknowledged_at: datetime = ts(nullable=False)
    acknowledged_by: str = ""
