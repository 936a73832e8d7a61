"""Watch-over (viewing activity, settings, away mode, alerts) and reminders on the TV
(dispatcher.care.watchover, dispatcher.care.reminders)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.base import ApiModel, ClockTime, IsoDate, LocalTime, Number


class ActivityKept(ApiModel):
    kept: bool = Field(description="false: the household has no watch-over (nothing is stored)")


class Consent(ApiModel):
    """The resident's consent the watch-over rests on."""

    on: IsoDate = Field(description="the day it was given")
    method: Literal["written", "oral", "phone"] = Field(description="書面, 口頭 or 電話")
    given_by: str = Field(description="who gave it (the resident's name)")
    recorded_by: str = Field(description="who took and recorded it")
    recorded_at: LocalTime | None = Field(description="when it was recorded here")


class WatchSettings(ApiModel):
    """A household's watch-over as set up."""

    household_id: int
    enabled: bool
    threshold_hours: Number = Field(description="hours without TV activity before the family hears")
    sleep: list[ClockTime] = Field(
        description="[start, end] of the night, not counted", min_length=2, max_length=2
    )
    escalate_minutes: int = Field(description="unanswered this long: the operators are told")
    contacts: int = Field(description="how many family contacts are told")
    consent: Consent | None = Field(description="null: none recorded (set up before consents were)")
    last_activity_at: LocalTime | None


class FamilyContactOut(ApiModel):
    name: str
    relation: str
    email: str


class WatchOverOut(ApiModel):
    """A household's watch-over with its family contacts and consent (operators)."""

    household_id: int
    set_up: bool = Field(description="false: never set up (the rest are the defaults)")
    enabled: bool
    threshold_hours: Number = Field(description="hours without TV activity before the family hears")
    sleep: list[ClockTime] = Field(
        description="[start, end] of the night, not counted", min_length=2, max_length=2
    )
    escalate_minutes: int = Field(description="unanswered this long: the operators are told")
    contacts: list[FamilyContactOut]
    consent: Consent | None = Field(description="null: none recorded")
    away_until: LocalTime | None
    last_activity_at: LocalTime | None


class Away(ApiModel):
    """The watch-over pauses until `away_until`."""

    household_id: int
    away_until: LocalTime | None = Field(description="null: not away")
    reason: str


class FamilyContact(ApiModel):
    name: str
    relation: str
    email: str


class Alert(ApiModel):
    """An open watch-over alert: no TV activity for longer than the household's threshold."""

    id: int
    household_id: int
    residents: list[str] = Field(description="the household's residents' names")
    phone: str
    address: str
    inactive_since: LocalTime
    alerted_at: LocalTime = Field(description="when the family was told")
    escalated: bool = Field(description="the family did not answer in time: the operators call")
    escalated_at: LocalTime | None
    acknowledged: bool
    acknowledged_by: str = Field(description="who dealt with it (empty: nobody yet)")
    contacts: list[FamilyContact] = Field(description="the family to call")


class Acknowledged(ApiModel):
    id: int
    acknowledged_by: str


class ReminderCreated(ApiModel):
    id: int
    household_id: int


class Reminder(ApiModel):
    """A reminder of a household: once (`once_at`) or on `days` at `at_time`."""

    id: int
    text: str
    kind: Literal["medication", "rubbish", "other"]
    once_at: LocalTime | None
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]]
    at_time: ClockTime | None


class DueReminder(ApiModel):
    """A reminder to show on the TV now."""

    key: str = Field(description="reminder:<id>, ride:<id>:eve, ride:<id>:soon or order:<id>:hall")
    due_at: LocalTime = Field(description="send it back with `key` to dismiss the reminder")
    kind: Literal["medication", "rubbish", "other", "ride", "delivery"]
    text: str = Field(description="in Japanese, as shown")


class Dismissed(ApiModel):
    dismissed: str = Field(description="the key of the reminder dismissed")
