"""Set-top boxes: registration, pairing, a household's boxes (dispatcher.identity.devices)."""

from __future__ import annotations

from pydantic import Field

from api.schemas.base import ApiModel, LocalTime


class DeviceState(ApiModel):
    """What the calling box shows: paired, or the code an operator pairs it with."""

    device_id: int
    paired: bool
    code: str | None = Field(description="the pairing code to show; null once paired")
    code_expires_at: LocalTime | None = Field(description="a new code is made after this; null once paired")
    call_centre_phone: str


class RegisteredDevice(ApiModel):
    """A box just registered: its bearer token (shown this once) and its pairing code."""

    token: str = Field(description="the box's bearer token; only its hash is stored")
    device_id: int
    paired: bool
    code: str | None
    code_expires_at: LocalTime | None
    call_centre_phone: str


class Paired(ApiModel):
    id: int = Field(description="the box")
    household_id: int


class HouseholdDevice(ApiModel):
    """A box of a household."""

    id: int
    household_id: int
    paired_at: LocalTime | None
    paired_by: str
    last_seen_at: LocalTime | None
    revoked_at: LocalTime | None = Field(description="null: the box's token works")


class DeviceRevoked(ApiModel):
    id: int
    revoked: bool


class WaitingDevice(ApiModel):
    """A box that registered and waits for pairing (its code is not shown here)."""

    id: int
    created_at: LocalTime
    last_seen_at: LocalTime | None = Field(description="its last poll; null: never polled")
    code_expires_at: LocalTime | None = Field(description="when its code runs out (renewed on its next poll)")
    showing_code: bool = Field(description="whether its code is valid now")


class WaitingDevices(ApiModel):
    """The municipality's queue of boxes waiting for pairing."""

    waiting: int = Field(description="boxes waiting now")
    limit: int = Field(description="beyond this many, new boxes are refused (429) until some are removed")
    devices: list[WaitingDevice] = Field(description="the newest first")


class WaitingRemoved(ApiModel):
    removed: int = Field(description="how many waiting boxes were removed")
    ids: list[int]
