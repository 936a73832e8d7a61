"""The register: households, their members, eligibility verdicts, what ending a registration did."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.base import ApiModel, IsoDate, Number


class EvidenceOut(ApiModel):
    """What one eligibility category rests on (see docs/residents.md)."""

    category: str
    since: IsoDate | None = None
    until: IsoDate | None = Field(None, description="last day it holds, inclusive")
    document_no: str = ""
    kind: Literal["physical", "intellectual", "mental"] | None = None
    grade: str = ""
    note: str = ""


class RuleOut(ApiModel):
    category: str
    holds: bool
    detail: str = Field(description="why, in English")
    until: IsoDate | None = Field(description="last day it holds (null: no end, or it does not hold)")
    params: dict[str, str] = Field(description="dates and ages for a page's own words")


class VerdictOut(ApiModel):
    """Whether a resident may ride on a day, by which categories, until when, and every rule."""

    day: IsoDate
    eligible: bool
    by: list[str] = Field(description="the categories of eligibility.any_of that hold")
    until: IsoDate | None = Field(description="the last day the resident stays eligible (null: no end)")
    rules: list[RuleOut]


class MemberOut(ApiModel):
    """A person as registered."""

    id: int
    registration_no: str
    household_id: int | None
    family_name: str
    given_name: str
    family_kana: str = Field(description="hiragana")
    given_kana: str = Field(description="hiragana")
    birth_date: IsoDate
    phone: str
    wheelchair: bool
    companion_needed: bool
    evidence: list[EvidenceOut]
    notes: str
    status: Literal["active", "paused", "ended"]
    paused_on: IsoDate | None
    pause_reason: str
    ended_on: IsoDate | None
    end_reason: str
    eligibility: VerdictOut = Field(description="today's verdict")


class HouseholdOut(ApiModel):
    """A household with its members (ended registrations included, marked so)."""

    id: int
    address: str
    lat: Number
    lon: Number
    settlement: str
    phone: str
    tv_box: str
    hall_id: str | None
    members: list[MemberOut]


class Duplicate(ApiModel):
    """A registered person who may be the one being registered."""

    member: int = Field(0, description="which member of the request it resembles (index)")
    id: int
    registration_no: str
    name: str
    kana: str
    birth_date: IsoDate
    address: str


class OffboardedOut(ApiModel):
    """What ending a registration did."""

    resident_id: int
    ended_on: IsoDate
    rides_cancelled: list[int] = Field(description="rides the service cancelled (each a notice)")
    orders_cancelled: list[int]
    orders_kept: list[int] = Field(description="orders already being prepared: they still go to the hall")
    household_left_empty: bool
    memberships_ended: int
    watch_stopped: bool
