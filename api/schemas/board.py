"""The operator's live board of today (dispatcher.channels.board)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from api.schemas.base import ApiModel, IsoDate, Lax, LocalTime
from api.schemas.field_checks import FieldFlag
from api.schemas.vehicles import Stop
from api.schemas.watchover import Alert
from dispatcher.models import FlightStatus


class NextStop(Stop):
    """A pending stop with how much room its promise leaves."""

    slack_minutes: int = Field(description="minutes between the planned time and the end of its window")
    late_risk: bool = Field(description="less than 5 minutes of slack")


class BoardVehicle(ApiModel):
    id: int
    key: str
    name: str
    operator: str = Field(description="the taxi company's name")
    last_position_at: LocalTime | None
    position_stale: bool = Field(description="working, yet no report for more than 10 minutes")
    pending: int = Field(description="stops still to serve")
    done: int = Field(description="stops served")
    late_risk: bool = Field(description="a pending stop is at risk")
    next_stops: list[NextStop] = Field(description="the next three pending stops")


class Optimizer(ApiModel):
    """The day's re-optimization: `failed` while its newest outcome is a fault (the plan stays)."""

    status: Literal["ok", "failed"]
    last_success_at: LocalTime | None
    last_failure_at: LocalTime | None
    reason: str | None = Field(
        description="while failed: error, no_solution, cannot_repair, invalid_plan or stale"
    )
    last_improved_at: LocalTime | None = Field(description="when a re-optimization last stored a better plan")
    last_improvement_seconds: float | None = Field(
        description="driving time that plan saved (s; negative: a repair that drives more)"
    )
    last_run_at: LocalTime | None = Field(description="when the newest search ended")
    last_outcome: Literal["replaced", "discarded", "failed", "recovered"] | None
    last_outcome_reason: str | None = Field(
        description="discarded: not_better, no_gain or merge_conflict; failed: as `reason`"
    )


class BoardFlight(ApiModel):
    id: int
    number: int
    drone: str
    drone_name: str = Field(description="the drone's name in the tenant file (its id where it has none)")
    status: Annotated[FlightStatus, Lax]
    departure: LocalTime
    return_: LocalTime = Field(alias="return")
    took_off: LocalTime | None = Field(description="when it took off (reported); null before")
    halls: list[str]
    landed: dict[str, LocalTime] = Field(description="hall id -> when it landed")


class Deliveries(ApiModel):
    """The delivery afternoon."""

    flights: list[BoardFlight]
    sellers_ready: dict[str, LocalTime] = Field(description="seller key -> when its pick list was ready")
    sellers: list[str] = Field(description="every seller's key")
    orders_by_status: dict[str, int] = Field(description="order status -> orders of today")


class Refused(ApiModel):
    """A request of today no vehicle could take (unmet demand to call back about)."""

    ride_id: int
    resident_id: int | None
    rider: str
    asked_pickup_from: LocalTime | None
    reason: str | None
    alternatives: list[LocalTime] = Field(description="pickup times that were offered instead")
    at: LocalTime = Field(description="when it was asked")


class Phone(ApiModel):
    label: str = Field(description="whose number: a driver of the vehicle's company, or the company")
    number: str


class Window(ApiModel):
    start: LocalTime | None
    end: LocalTime | None


class Review(ApiModel):
    """A ride whose pickup window passed with no tap from the driver (確認が必要): the
    re-optimization keeps its vehicle as it is until the operator settles it."""

    ride_id: int
    status: str = Field(description="confirmed (no tap at all) or vehicle_arrived (no second tap)")
    kind: str = Field(description="passenger or freight")
    resident_id: int | None
    rider: str
    origin_name: str = Field(description="where the ride starts, named as on every page (the drone base too)")
    destination_name: str = Field(description="where the ride ends, named the same way")
    pickup_window: Window
    overdue_minutes: int = Field(description="minutes since the pickup window ended")
    vehicle_id: int | None
    vehicle: str
    operator: str = Field(description="the taxi company's name")
    phones: list[Phone] = Field(description="numbers to call: the company's drivers, then its office")


class Board(ApiModel):
    """Today: every vehicle's next stops and late risks; refused requests; the re-optimization's state."""

    date: IsoDate
    now: LocalTime
    vehicles: list[BoardVehicle]
    optimizer: Optimizer
    review: list[Review] = Field(description="rides to settle (確認が必要), earliest window first")
    field_flags: list[FieldFlag] = Field(
        default=[], description="drivers' reports that cannot be true, to confirm or correct, oldest first"
    )
    deliveries: Deliveries | None = Field(description="null: the municipality runs no shopping service")
    watch: list[Alert] = Field(description="open watch-over alerts, escalated ones first")
    refused: list[Refused]
