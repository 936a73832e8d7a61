"""The municipality's statistics (dispatcher.reporting.stats, dispatcher.reporting.dashboard):
aggregates only, rates as fractions 0..1 (4 decimals), money in yen; definitions in
docs/statistics.md. A figure that cannot be computed (nothing to divide by) is null."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.base import ApiModel, IsoDate, LocalTime, Number

Rate = Number | None


class RideFigures(ApiModel):
    """Ridership figures of a set of bookings and the vehicle days that served them."""

    requests: int = Field(description="bookings asked for (changes not counted twice)")
    confirmed: int
    refused: int
    cancelled: int
    no_shows: int
    trips: int = Field(description="completed passenger bookings")
    passengers: int = Field(description="persons carried (party sizes of the trips)")
    riders: int = Field(description="distinct residents who rode")
    shared_trips: int
    sharing_rate: Rate = Field(description="trips that shared the vehicle with another booking, 0..1")
    on_time_pickups: int
    on_time_rate: Rate = Field(description="arrivals by the end of the promised window, 0..1")
    wait_minutes_mean: Rate = Field(description="minutes from the asked pickup time to the arrival")
    arrival_margin_minutes_mean: Rate = Field(description="minutes arrived before the asked arrival")
    ride_minutes_mean: Rate = Field(description="minutes on board")
    direct_minutes_mean: Rate = Field(description="direct driving minutes of the trips")
    detour_factor: Rate = Field(description="time on board over the direct driving time")
    vehicle_hours: Number = Field(description="hours from each vehicle's first to last report of a day")
    passengers_per_vehicle_hour: Rate
    km: Number = Field(description="km driven between located reports")
    km_empty: Number = Field(description="of which with nobody and nothing on board")
    empty_km_share: Rate = Field(description="0..1")
    unreviewed_rides: int = Field(
        0, description="rides left out: a flagged driver's report awaits the operator's review"
    )
    unreviewed_positions: int = Field(
        0, description="flagged positions left out of hours and km until the operator confirms them"
    )
    unreviewed_records: int = Field(0, description="unreviewed_rides + unreviewed_positions")


class RidershipTotals(RideFigures):
    registered_users: int = Field(description="active residents registered by the end of the range")
    active_users: int = Field(description="residents who rode (= riders)")
    refused_by_reason: dict[str, int] = Field(description="requests no vehicle could take, by reason")


class Period(ApiModel):
    key: str = Field(description="YYYY-MM-DD (a day; a week: its Monday) or YYYY-MM (a month)")
    label: str = Field(description="in Japanese, e.g. 11月24日（火）")


class RidershipRow(RideFigures, Period):
    """The figures of a day, an ISO week or a month (`key` and `label` first: bases' fields are laid
    out from the last base on)."""


class PersonRow(ApiModel):
    """Riders by an attribute (age band, area); a cell of fewer than `min_cell` persons is hidden."""

    key: str = Field(description="age band (under_65, 65_74, 75_84, 85_plus) or the area's name")
    label: str
    riders: int | None = Field(description="null: suppressed")
    trips: int | None
    passengers: int | None
    suppressed: bool


class Ridership(ApiModel):
    """Ridership, sharing rate, service quality and unmet demand of a range of service days."""

    tenant: str
    from_: IsoDate = Field(alias="from")
    to: IsoDate
    group: Literal["day", "week", "month", "area", "age"]
    min_cell: int = Field(description="persons: smaller cells of a breakdown by person are suppressed")
    rows: list[RidershipRow | PersonRow] = Field(
        description="by period (day, week, month) or by person attribute (area, age)"
    )
    totals: RidershipTotals


class OrderFigures(ApiModel):
    """Shopping figures of a set of orders."""

    orders: int = Field(description="orders not cancelled")
    cancelled_orders: int
    households: int
    items: int
    sales_yen: int
    delivered: int
    by_drone: int
    by_ground: int
    drone_share: Rate = Field(description="delivered orders that came by drone, 0..1")
    on_time_deliveries: int
    on_time_delivery_rate: Rate = Field(description="0..1, of orders delivered or past their deadline")


class ShoppingTotals(OrderFigures):
    members: int = Field(description="households with a shopping membership at the end of the range")


class ShoppingRow(OrderFigures, Period):
    """The figures of a day, an ISO week or a month."""


class AreaRow(ApiModel):
    """The figures of an area; an area of fewer than `min_cell` households is hidden (null)."""

    key: str
    label: str
    orders: int | None
    cancelled_orders: int | None
    households: int | None
    items: int | None
    sales_yen: int | None
    delivered: int | None
    by_drone: int | None
    by_ground: int | None
    drone_share: Rate
    on_time_deliveries: int | None
    on_time_delivery_rate: Rate
    suppressed: bool


class Shopping(ApiModel):
    """Shopping orders, items, sales, drone versus ground, on-time delivery of a range of days."""

    tenant: str
    from_: IsoDate = Field(alias="from")
    to: IsoDate
    group: Literal["day", "week", "month", "area"]
    min_cell: int
    rows: list[ShoppingRow | AreaRow]
    totals: ShoppingTotals


ColumnKind = Literal["text", "int", "float", "rate", "yen"]


class Column(ApiModel):
    key: str
    label: str = Field(description="in Japanese")
    unit: str = Field(description="e.g. 件, 人, %, 円 (empty: none)")
    kind: ColumnKind = Field(description="how to show the values: rates as percentages, yen with separators")


class Row(ApiModel):
    values: list[str | Number | None] = Field(description="one per column; null: no value or suppressed")
    suppressed: bool


class SummaryRow(ApiModel):
    """A row of a summary table (label, value, unit), with how to show each value."""

    values: list[str | Number | None]
    kinds: list[ColumnKind]
    suppressed: bool


class Table(ApiModel):
    """A labelled table of the dashboard (the same in the CSV and Excel exports)."""

    name: str = Field(description="its name in /api/v1/stats/tables/{name}.csv")
    title: str
    columns: list[Column]
    rows: list[Row | SummaryRow]


class Dashboard(ApiModel):
    """Every table of the municipality dashboard for a range of service days."""

    tenant: str
    municipality: str
    from_: IsoDate = Field(alias="from")
    to: IsoDate
    group: Literal["day", "week", "month"]
    min_cell: int
    generated_at: LocalTime
    ridership: Ridership
    shopping: Shopping
    tables: list[Table]
