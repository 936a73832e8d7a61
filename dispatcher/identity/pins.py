"""Smartphone-page sign-in: a resident number and a PIN the operator sets (argon2 hash).

`MAX_FAILURES` wrong PINs in a row lock the PIN until an operator sets a new one; a right PIN
resets the count. Messages are plain Japanese: residents and their families read them.

A wrong PIN gets one answer, whether the resident has a PIN or not, or is unknown: 401 that says
that MAX_FAILURES wrong tries in a row lock a PIN, with no count of the tries left (a count would
appear only for residents with a PIN). A try on a resident without a PIN is checked against a dummy
hash, for the same time, and counts against nobody: there is no PIN to lock, and a PIN set later
starts with its MAX_FAILURES tries. A locked PIN answers 423, so the resident learns why.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from dispatcher.db import id_of
from dispatcher.errors import Code, DomainError, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.identity import passwords
from dispatcher.identity.auth import HouseholdPrincipal, hash_token, new_token
from dispatcher.identity.kinds import (
    RESIDENT_PIN_FAILED,
    RESIDENT_PIN_LOCKED,
    RESIDENT_PIN_SET,
    RESIDENT_SIGNED_IN,
)
from dispatcher.models import Resident, ResidentPin, ResidentSession

MAX_FAILURES = 5


def set_pin(session: Session, tenant_id: str, resident_id: int, pin: str, now: datetime, actor: str) -> None:
    """Set (or reset, which also unlocks) a resident's PIN: 4 to 8 digits."""
    resident = session.get(Resident, resident_id)
    if resident is None or resident.tenant_id != tenant_id:
        raise NotFound(f"No resident {resident_id}.", code=Code.resident_not_found)
    if not (pin.isdigit() and pin.isascii() and 4 <= len(pin) <= 8):
        raise InvalidRequest(
            "The PIN cannot be set.", [field_error("pin", "must be 4 to 8 digits", code=Code.pin_format)]
        )
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise InvalidRequest(
            "The PIN cannot be set.",
            [
                field_error(
                    "pin",
                    "is too easy to guess (all the same digit or a run like 1234)",
                    code=Code.pin_too_easy,
                )
            ],
        )
    row = session.get(ResidentPin, resident_id)
    was_locked = row is not None and row.locked_at is not None
    if row is None:
        row = ResidentPin(resident_id=resident_id, tenant_id=tenant_id, pin_hash="", set_at=now)
    row.pin_hash, row.failures, row.locked_at = passwords.hash_secret(pin), 0, None
    row.set_at, row.set_by = now, actor
    session.add(row)
    record(
        session,
        tenant_id,
        now,
        actor,
        RESIDENT_PIN_SET,
        "resident",
        resident_id,
        after={"unlocked": was_locked},
    )


def _refused() -> DomainError:
    """The one answer to a wrong PIN, an unknown resident and a resident without a PIN."""
    return DomainError(
        f"Wrong resident number or PIN (or no PIN set yet: the operator sets one); {MAX_FAILURES} "
        "wrong tries in a row lock a PIN.",
        status=401,
        title="Sign-in failed",
        code=Code.pin_sign_in_failed,
        max_failures=MAX_FAILURES,
    )


def sign_in(
    session: Session, tenant_id: str, resident_id: int, pin: str, now: datetime, hours: float
) -> tuple[str, Resident]:
    """Check a PIN and open a session; raises 401 (wrong: one answer, see the module) or 423
    (locked), and passwords.SignInBusy (429, nothing counted) while every verification slot is
    taken. A PIN hashed at another argon2 cost is hashed again at the current one on success."""
    with passwords.verification_slot():
        return _sign_in(session, tenant_id, resident_id, pin, now, hours)


def _sign_in(
    session: Session, tenant_id: str, resident_id: int, pin: str, now: datetime, hours: float
) -> tuple[str, Resident]:
    resident = session.get(Resident, resident_id)
    row = session.get(ResidentPin, resident_id)
    if resident is None or resident.tenant_id != tenant_id or not resident.active or row is None:
        passwords.verify_dummy(pin)  # same time as a real check; counted against nobody
        raise _refused()
    locked_msg = f"The PIN is locked after {MAX_FAILURES} wrong tries; the operator sets a new one."
    if row.locked_at is not None:
        raise DomainError(
            locked_msg, status=423, title="PIN locked", code=Code.pin_locked, max_failures=MAX_FAILURES
        )
    # Count the attempt before the (slow) check, atomically: parallel guesses each count.
    # RETURNING gives this attempt's own number, whatever other requests do meanwhile.
    attempt: int | None = session.exec(
        update(ResidentPin)
        .where(col(ResidentPin.resident_id) == resident_id, col(ResidentPin.locked_at).is_(None))
        .values(failures=col(ResidentPin.failures) + 1)
        .returning(col(ResidentPin.failures))
    ).scalar()
    session.commit()
    if attempt is None or attempt > MAX_FAILURES:  # locked meanwhile, or over the limit in flight
        raise DomainError(
            locked_msg, status=423, title="PIN locked", code=Code.pin_locked, max_failures=MAX_FAILURES
        )
    if not passwords.verify(row.pin_hash, pin):
        locked = attempt >= MAX_FAILURES
        if locked:
            session.exec(
                update(ResidentPin)
                .where(col(ResidentPin.resident_id) == resident_id, col(ResidentPin.locked_at).is_(None))
                .values(locked_at=now)
            )
        record(
            session,
            tenant_id,
            now,
            f"resident:{resident_id}",
            RESIDENT_PIN_LOCKED if locked else RESIDENT_PIN_FAILED,
            "resident",
            resident_id,
            after={"failures": attempt},
        )
        session.commit()  # the count must stick even though the request fails
        if locked:
            raise DomainError(
                locked_msg,
                status=423,
                title="PIN locked",
                code=Code.pin_locked,
                max_failures=MAX_FAILURES,
                just_locked=True,
            )
        raise _refused()
    row.failures = 0
    rehashed = passwords.needs_rehash(row.pin_hash)
    if rehashed:  # made at an older cost: store it at the current one (set_at stays: sessions live on)
        row.pin_hash = passwords.hash_secret(pin)
    session.add(row)
    token, token_hash = new_token()
    session.add(
        ResidentSession(
            token_hash=token_hash,
            tenant_id=tenant_id,
            resident_id=resident_id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    record(
        session,
        tenant_id,
        now,
        f"resident:{resident_id}",
        RESIDENT_SIGNED_IN,
        "resident",
        resident_id,
        after={"pin_rehashed": True} if rehashed else None,
    )
    return token, resident


def resident_principal(session: Session, token: str, now: datetime) -> HouseholdPrincipal | None:
    """The principal of a valid smartphone session, else None."""
    s = session.exec(select(ResidentSession).where(ResidentSession.token_hash == hash_token(token))).first()
    if s is None or s.revoked_at is not None or s.expires_at <= now:
        return None
    r = session.get(Resident, s.resident_id)
    if r is None or not r.active or r.household_id is None:
        return None
    pin = session.get(ResidentPin, r.id)
    if pin is None or pin.locked_at is not None or pin.set_at > s.created_at:
        return None  # a new PIN or a lock ends the sessions opened before it
    rid = id_of(r)
    return HouseholdPrincipal(s.tenant_id, r.household_id, (rid,), f"resident:{rid}")


def sign_out(session: Session, token: str, now: datetime) -> None:
    s = session.exec(select(ResidentSession).where(ResidentSession.token_hash == hash_token(token))).first()
    if s is not None and s.revoked_at is None:
        s.revoked_at = now
        session.add(s)
