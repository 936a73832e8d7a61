"""Set-top boxes: a box registers itself and shows a code; an operator pairs it or revokes it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import get_ctx, oauth2, require
from api.ratelimit import enforce, per_address, per_staff
from api.schemas.devices import (
    DeviceRevoked,
    DeviceState,
    HouseholdDevice,
    Paired,
    RegisteredDevice,
    WaitingDevices,
    WaitingRemoved,
)
from dispatcher.context import Dispatcher
from dispatcher.db import RowId, session_scope
from dispatcher.errors import Code, DomainError
from dispatcher.identity.auth import Principal
from dispatcher.identity.devices import (
    device_for,
    device_status,
    household_devices,
    lapsed,
    pair_device,
    register_device,
    remove_waiting,
    revoke_device,
    waiting_devices,
)
from dispatcher.models import Role

router = APIRouter(prefix="/api/v1", tags=["set-top boxes"])
Ctx = Annotated[Dispatcher, Depends(get_ctx)]
Operator = Annotated[Principal, Depends(require(Role.operator))]


class NewDevice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant_id: str | None = Field(
        None,
        max_length=64,
        description="the municipality of the page (its <html data-tenant>); "
        "default: the server's only tenant",
    )


@router.post(
    "/tv/devices",
    status_code=201,
    response_model=RegisteredDevice,
    summary="A new set-top box: its token (shown once) and pairing code",
    dependencies=[Depends(per_address("pairing"))],
)
def new_device(body: NewDevice, ctx: Ctx) -> dict[str, object]:
    tenant_id = body.tenant_id or ctx.default_tenant()
    cfg = ctx.config(tenant_id)  # an unknown municipality: 404
    now = ctx.clock.now()
    with session_scope(ctx.engine) as session:
        token, device = register_device(session, tenant_id, now)
        return {
            "token": token,
            **device_status(session, device, now, cfg.tz),
            "call_centre_phone": cfg.call_centre_phone,
        }


@router.get(
    "/tv/device",
    response_model=DeviceState,
    summary="The calling box: paired, or the code it should show",
    dependencies=[Depends(per_address("tv-poll-address", "tv-poll"))],
)
def my_device(request: Request, ctx: Ctx, token: str | None = Depends(oauth2)) -> dict[str, object]:
    """Polled by a waiting box (the TV page asks every 5 s): limited per client address before the
    token is looked up, and per box after, so polling neither floods the database nor keeps
    renewing codes faster than CODE_MINUTES."""
    with session_scope(ctx.engine) as session:
        device = device_for(session, token) if token else None
        if device is None or lapsed(device, ctx.clock.now()):
            raise DomainError(
                "このテレビの登録が取り消されました。新しい番号を表示します。",
                status=401,
                title="Unknown device",
                code=Code.device_unknown,
            )
        enforce(request, "tv-poll", f"device:{device.id}", request.app.state.rates["tv-poll"])
        cfg = ctx.config(device.tenant_id)
        return {
            **device_status(session, device, ctx.clock.now(), cfg.tz),
            "call_centre_phone": cfg.call_centre_phone,
        }


class Pairing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=4, max_length=12, description="the code the TV screen shows")
    household_id: RowId


@router.post(
    "/devices/pair",
    response_model=Paired,
    summary="Link the box showing a code to a household (operator)",
    # code guesses: limited per address and per operator (an operator's token from many addresses)
    dependencies=[Depends(per_address("pairing")), Depends(per_staff("pairing", "pairing-user"))],
)
def pair(body: Pairing, p: Operator, ctx: Ctx) -> dict[str, object]:
    with session_scope(ctx.engine) as session:
        device = pair_device(session, p.tenant_id, body.code, body.household_id, ctx.clock.now(), p.actor)
        return {"id": device.id, "household_id": device.household_id}


@router.get("/devices", response_model=list[HouseholdDevice], summary="The boxes of a household")
def devices(p: Operator, ctx: Ctx, household_id: RowId = Query()) -> list[dict[str, object]]:
    with session_scope(ctx.engine) as session:
        return household_devices(session, p.tenant_id, household_id, ctx.config(p.tenant_id).tz)


@router.post(
    "/devices/{device_id}/revoke",
    response_model=DeviceRevoked,
    summary="Revoke a box's token (it must be paired again)",
)
def revoke(device_id: RowId, p: Operator, ctx: Ctx) -> dict[str, object]:
    with session_scope(ctx.engine) as session:
        d = revoke_device(session, p.tenant_id, device_id, ctx.clock.now(), p.actor)
        return {"id": d.id, "revoked": True}


@router.get(
    "/devices/waiting",
    response_model=WaitingDevices,
    summary="Boxes waiting for pairing (operator): how many, and the newest of them",
)
def waiting(
    p: Operator, ctx: Ctx, limit: int = Query(500, ge=1, le=1000, description="at most this many boxes")
) -> dict[str, object]:
    with session_scope(ctx.engine) as session:
        return waiting_devices(session, p.tenant_id, ctx.clock.now(), ctx.config(p.tenant_id).tz, limit)


@router.delete(
    "/devices/waiting/{device_id}",
    response_model=WaitingRemoved,
    summary="Remove one waiting box (operator); a real box shows a new code on its next poll",
)
def remove_one_waiting(device_id: RowId, p: Operator, ctx: Ctx) -> dict[str, object]:
    with session_scope(ctx.engine) as session:
        removed = remove_waiting(session, p.tenant_id, ctx.clock.now(), p.actor, device_id)
        return {"removed": len(removed), "ids": removed}


@router.delete(
    "/devices/waiting",
    response_model=WaitingRemoved,
    summary="Remove every waiting box (operator): how a town recovers from a flood of fake boxes",
)
def clear_waiting(p: Operator, ctx: Ctx) -> dict[str, object]:
    with session_scope(ctx.engine) as session:
        removed = remove_waiting(session, p.tenant_id, ctx.clock.now(), p.actor)
        return {"removed": len(removed), "ids": removed}
