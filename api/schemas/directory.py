"""Residents (operators only: personal data) and the municipality's named places."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.base import ApiModel, IsoDate, LatLon, LocalTime, Number
from api.schemas.devices import HouseholdDevice
from dispatcher.tenant_config import PlaceKind


class Resident(ApiModel):
    """A registered resident."""

    id: int
    household_id: int | None
    name: str = Field(description="family name, a space, given name")
    kana: str = Field(description="the name in hiragana")
    birth_date: IsoDate
    phone: str
    home: LatLon
    categories: list[str] = Field(
        description="categories that apply today, e.g. age_65_plus (from the birth date), disability"
    )
    eligible: bool = Field(description="may book rides (a category the municipality accepts applies)")
    wheelchair: bool
    notes: str
    status: Literal["active", "paused", "ended"] = Field(
        description="the registration: in force, paused, or ended (listed after the others)"
    )


class Member(ApiModel):
    id: int
    name: str


class PinState(ApiModel):
    locked: bool = Field(description="five wrong PINs in a row: an operator sets a new one")
    failures: int = Field(description="wrong PINs in a row")


class Note(ApiModel):
    """An operator's note about a resident."""

    id: int
    text: str
    author: str
    at: LocalTime


class ResidentDetail(Resident):
    """A resident with household, favourites, PIN state, boxes and notes."""

    address: str
    household: list[Member] = Field(description="the household's active members (the resident included)")
    favourites: list[str] = Field(description="place ids, most used first")
    pin: PinState | None = Field(description="the phone-page PIN; null: none set")
    shopping_member: bool = Field(description="the household is a member of the shopping service today")
    devices: list[HouseholdDevice] = Field(description="the household's set-top boxes")
    notes_log: list[Note] = Field(description="operators' notes, newest first")


class Place(ApiModel):
    """A named place residents can be taken to or from."""

    id: str
    name: str
    kana: str
    kind: PlaceKind
    lat: Number
    lon: Number
    pickup_note: str = Field(
        description="where riders wait there (read before 「お待ちください」); empty: worded from its name"
    )
