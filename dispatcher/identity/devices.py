"""Set-top boxes: pairing a box with a household by a short code, its device token, revoking it.

A new box asks for a device token; while it belongs to no household it shows a six-digit pairing
code (valid `CODE_MINUTES`, renewed when it runs out). An operator, on the phone with the resident,
enters the code and the household; from then on the box's token acts for that household until an
operator revokes it. Only hashes of tokens are stored; every change is an event.

At most MAX_UNPAIRED_PER_TENANT boxes of a town wait for pairing at once (counted under the
tenant's write lock). A flood of fake boxes fills that queue; an operator then lists the waiting
boxes and removes them, one or all (`waiting_devices`, `remove_waiting`), and a real box that was
among them registers again by itself and shows a new code.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, func, select

from dispatcher.db import hold_tenant, id_of
from dispatcher.errors import Code, Conflict, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.identity.auth import HouseholdPrincipal, hash_token, new_token
from dispatcher.identity.kinds import DEVICE_PAIRED, DEVICE_REGISTERED, DEVICE_REMOVED, DEVICE_REVOKED
from dispatcher.models import Device, Household, Resident, Tenant
from dispatcher.timeline import iso_local

CODE_MINUTES = 30
MAX_UNPAIRED_PER_TENANT = 500  # boxes waiting for pairing (registered, never paired): against floods
UNPAIRED_HOURS = 24  # an unpaired box's token lapses after this long


def _fresh_code(session: Session, tenant_id: str, now: datetime) -> str:
    """A six-digit code no other waiting box of the tenant shows."""
    for _ in range(50):
        code = f"{secrets.randbelow(1_000_000):06d}"
        clash = session.exec(
            select(Device).where(
                Device.tenant_id == tenant_id,
                Device.code == code,
                col(Device.code_expires_at) > now,
            )
        ).first()
        if clash is None:
            return code
    raise Conflict("No free pairing code; try again in a minute.", code=Code.device_pairing_busy)


def register_device(session: Session, tenant_id: str, now: datetime) -> tuple[str, Device]:
    """A new, unpaired box: returns its token (shown once) and the row with its pairing code.

    The waiting cap is counted and the box inserted under the tenant's write lock (`hold_tenant`),
    so concurrent requests queue and the cap holds exactly on both databases. Every box registered
    within UNPAIRED_HOURS and neither paired nor removed counts, whether or not its code has run
    out (renewing a code on a poll takes no new place), so a flood can neither overshoot the cap
    nor grow the table past it."""
    if session.get(Tenant, tenant_id) is None:
        raise NotFound(f"unknown tenant {tenant_id!r}", code=Code.tenant_unknown)
    hold_tenant(session, tenant_id)
    # Boxes never paired within a day are forgotten (a box still on shows a new code next time).
    session.exec(
        delete(Device).where(
            col(Device.tenant_id) == tenant_id,
            col(Device.household_id).is_(None),
            col(Device.created_at) < now - timedelta(hours=UNPAIRED_HOURS),
        )
    )
    if waiting_count(session, tenant_id, now) >= MAX_UNPAIRED_PER_TENANT:
        raise Conflict(
            "Too many boxes are waiting for pairing; try again later. An operator can clear the "
            "waiting boxes (GET/DELETE /api/v1/devices/waiting).",
            status=429,
            code=Code.device_pairing_busy,
            retry_after_seconds=60,
        )
    token, token_hash = new_token()
    device = Device(
        tenant_id=tenant_id,
        token_hash=token_hash,
        code=_fresh_code(session, tenant_id, now),
        code_expires_at=now + timedelta(minutes=CODE_MINUTES),
        created_at=now,
    )
    session.add(device)
    session.flush()
    record(session, tenant_id, now, f"device:{device.id}", DEVICE_REGISTERED, "device", device.id)
    return token, device


def _waiting(tenant_id: str, now: datetime) -> Any:
    """The conditions of a waiting box: unpaired, not removed or revoked, not lapsed."""
    return (
        col(Device.tenant_id) == tenant_id,
        col(Device.household_id).is_(None),
        col(Device.revoked_at).is_(None),
        col(Device.created_at) >= now - timedelta(hours=UNPAIRED_HOURS),
    )


def waiting_count(session: Session, tenant_id: str, now: datetime) -> int:
    """How many boxes of the tenant wait for pairing (what MAX_UNPAIRED_PER_TENANT bounds)."""
    return session.exec(select(func.count()).select_from(Device).where(*_waiting(tenant_id, now))).one()


def waiting_devices(
    session: Session, tenant_id: str, now: datetime, tz: Any, limit: int = MAX_UNPAIRED_PER_TENANT
) -> dict[str, Any]:
    """The boxes waiting for pairing, newest first, for the operator who clears a flood. Their
    codes are not shown: pairing still needs the code read from the resident's screen."""
    rows = session.exec(
        select(Device).where(*_waiting(tenant_id, now)).order_by(col(Device.id).desc()).limit(limit)
    ).all()
    return {
        "waiting": waiting_count(session, tenant_id, now),
        "limit": MAX_UNPAIRED_PER_TENANT,
        "devices": [
            {
                "id": d.id,
                "created_at": iso_local(d.created_at, tz),
                "last_seen_at": iso_local(d.last_seen_at, tz),
                "code_expires_at": iso_local(d.code_expires_at, tz),
                "showing_code": d.code_expires_at is not None and d.code_expires_at > now,
            }
            for d in rows
        ],
    }


def remove_waiting(
    session: Session, tenant_id: str, now: datetime, actor: str, device_id: int | None = None
) -> list[int]:
    """Take one waiting box (`device_id`) or every waiting box of the tenant off the queue: its
    token stops working and its code is freed. A box that is really there asks for a new code on
    its next poll. Each removal is an event. Returns the ids removed; a paired box is not
    waiting (revoke it instead): NotFound."""
    hold_tenant(session, tenant_id)
    q = select(Device).where(*_waiting(tenant_id, now))
    if device_id is not None:
        q = q.where(col(Device.id) == device_id)
    boxes = session.exec(q.order_by(col(Device.id))).all()
    if device_id is not None and not boxes:
        raise NotFound(f"No box {device_id} is waiting for pairing.", code=Code.device_not_found)
    removed = []
    for d in boxes:
        d.revoked_at, d.code, d.code_expires_at = now, None, None
        session.add(d)
        record(
            session,
            tenant_id,
            now,
            actor,
            DEVICE_REMOVED,
            "device",
            d.id,
            after={"all_waiting": device_id is None},
        )
        removed.append(id_of(d))
    return removed


def device_for(session: Session, token: str) -> Device | None:
    """The box holding this token, unless unknown or revoked."""
    d = session.exec(select(Device).where(Device.token_hash == hash_token(token))).first()
    return None if d is None or d.revoked_at is not None else d


def lapsed(device: Device, now: datetime) -> bool:
    """An unpaired box past UNPAIRED_HOURS: it must register again (and show a new code)."""
    return device.household_id is None and device.created_at < now - timedelta(hours=UNPAIRED_HOURS)


def device_status(session: Session, device: Device, now: datetime, tz: Any) -> dict[str, Any]:
    """What the box shows: paired, or its pairing code (renewed when it ran out)."""
    device.last_seen_at = now
    if device.household_id is None and (device.code_expires_at is None or device.code_expires_at <= now):
        device.code = _fresh_code(session, device.tenant_id, now)
        device.code_expires_at = now + timedelta(minutes=CODE_MINUTES)
    session.add(device)
    return {
        "device_id": device.id,
        "paired": device.household_id is not None,
        "code": None if device.household_id is not None else device.code,
        "code_expires_at": None if device.household_id is not None else iso_local(device.code_expires_at, tz),
    }


def pair_device(
    session: Session, tenant_id: str, code: str, household_id: int, now: datetime, actor: str
) -> Device:
    """Link the box showing `code` to a household (the operator's side of pairing)."""
    code = code.strip().replace(" ", "").replace("-", "")
    errors = []
    household = session.get(Household, household_id)
    if household is None or household.tenant_id != tenant_id:
        errors.append(field_error("household_id", f"no household with id {household_id}"))
    device = session.exec(
        select(Device).where(
            Device.tenant_id == tenant_id,
            Device.code == code,
            col(Device.household_id).is_(None),
            col(Device.revoked_at).is_(None),
            col(Device.code_expires_at) > now,
        )
    ).first()
    if device is None:
        errors.append(
            field_error(
                "code",
                f"no box is showing the code {code!r}; read the code on the TV screen again",
                code=Code.pairing_code_unknown,
            )
        )
    if errors:
        raise InvalidRequest("The box cannot be paired.", errors)
    assert device is not None
    device.household_id = household_id
    device.paired_at, device.paired_by = now, actor
    device.code, device.code_expires_at = None, None
    session.add(device)
    record(
        session,
        tenant_id,
        now,
        actor,
        DEVICE_PAIRED,
        "device",
        device.id,
        after={"household_id": household_id},
    )
    return device


def revoke_device(session: Session, tenant_id: str, device_id: int, now: datetime, actor: str) -> Device:
    """Revoke a box's token: it shows a new pairing code on its next start."""
    device = session.get(Device, device_id)
    if device is None or device.tenant_id != tenant_id:
        raise NotFound(f"No device {device_id}.", code=Code.device_not_found)
    if device.revoked_at is not None:
        raise Conflict(f"Device {device_id} is already revoked.", code=Code.device_already_revoked)
    device.revoked_at = now
    session.add(device)
    record(
        session,
        tenant_id,
        now,
        actor,
        DEVICE_REVOKED,
        "device",
        device.id,
        before={"household_id": device.household_id},
    )
    return device


def household_devices(session: Session, tenant_id: str, household_id: int, tz: Any) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Device)
        .where(Device.tenant_id == tenant_id, Device.household_id == household_id)
        .order_by(col(Device.id))
    )
    return [
        {
            "id": d.id,
            "household_id": d.household_id,
            "paired_at": iso_local(d.paired_at, tz),
            "paired_by": d.paired_by,
            "last_seen_at": iso_local(d.last_seen_at, tz),
            "revoked_at": iso_local(d.revoked_at, tz),
        }
        for d in rows
    ]


def household_principal(session: Session, device: Device) -> HouseholdPrincipal:
    """The principal of a paired box: it may book for every active member of the household."""
    assert device.household_id is not None
    members = session.exec(
        select(Resident.id)
        .where(Resident.household_id == device.household_id, Resident.active == True)  # noqa: E712
        .order_by(col(Resident.id))
    ).all()
    return HouseholdPrincipal(
        device.tenant_id,
        device.household_id,
        tuple(m for m in members if m is not None),
        f"device:{device.id}",
    )
