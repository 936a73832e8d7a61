"""Staff users, argon2 password hashes and revocable bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from dispatcher.errors import DomainError, InvalidRequest, field_error
from dispatcher.events import record
from dispatcher.models import ApiToken, Role, Seller, Tenant, User
from dispatcher.tenants import operator_id as tenant_operator

_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so timing does not reveal names.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, their tenant and role (and operator, for drivers)."""

    user_id: int
    username: str
    tenant_id: str
    role: Role
    operator_id: int | None
    seller_id: int | None = None  # a seller's shop
    hall_id: str | None = None  # a support worker's hall (None: every hall)

    @property
    def actor(self) -> str:
        return f"user:{self.username}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    tenant_id: str,
    role: str,
    username: str,
    password: str,
    now: datetime,
    operator_key: str | None = None,
    display_name: str = "",
    actor: str = "system:cli",
    seller_key: str | None = None,
    hall_id: str | None = None,
) -> User:
    """Create a staff user; raises InvalidRequest with the field at fault."""
    errors = []
    if session.get(Tenant, tenant_id) is None:
        errors.append(field_error("tenant", f"unknown tenant {tenant_id!r}"))
    try:
        role_v = Role(role)
    except ValueError:
        errors.append(field_error("role", f"must be one of {', '.join(r.value for r in Role)}"))
        role_v = None
    if len(password) < 8:
        errors.append(field_error("password", "must have at least 8 characters"))
    if not username or len(username) > 64:
        errors.append(field_error("username", "must have 1 to 64 characters"))
    elif session.exec(select(User).where(User.username == username)).first():
        errors.append(field_error("username", f"{username!r} is taken"))
    operator_id = tenant_operator(session, tenant_id, operator_key, errors) if operator_key else None
    seller_id = None
    if seller_key:
        sel = session.exec(
            select(Seller).where(Seller.tenant_id == tenant_id, Seller.key == seller_key)
        ).first()
        if sel is None:
            errors.append(field_error("seller", f"unknown seller {seller_key!r}"))
        else:
            seller_id = sel.id
    if role_v == Role.seller and not seller_key:
        errors.append(field_error("seller", "a seller user needs the seller (shop) it works for"))
    if role_v == Role.driver and not operator_key:
        errors.append(field_error("operator", "a driver needs the taxi operator it drives for"))
    if errors:
        raise InvalidRequest("The user cannot be created.", errors)
    user = User(
        tenant_id=tenant_id,
        username=username,
        password_hash=_hasher.hash(password),
        role=role_v.value,
        operator_id=operator_id,
        seller_id=seller_id,
        hall_id=hall_id,
        display_name=display_name or username,  # type: ignore[union-attr]
        created_at=now,
    )
    session.add(user)
    session.flush()
    record(
        session,
        tenant_id,
        now,
        actor,
        "user.created",
        "user",
        user.id,
        after={"username": username, "role": role},
    )
    return user


def issue_token(
    session: Session, username: str, password: str, now: datetime, hours: float
) -> tuple[str, User]:
    """Verify a password and issue a bearer token valid for `hours`."""
    user = session.exec(select(User).where(User.username == username)).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        raise DomainError("Wrong user name or password.", status=401, title="Sign-in failed")
    assert user is not None
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_hash=hash_token(token),
            user_id=user.id,
            tenant_id=user.tenant_id,  # type: ignore[arg-type]
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    record(session, user.tenant_id, now, f"user:{user.username}", "user.signed_in", "user", user.id)
    return token, user


def principal_for(session: Session, token: str, now: datetime) -> Principal | None:
    """The principal of a valid, unexpired, unrevoked token, else None."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return Principal(
        user.id,  # type: ignore[arg-type]
        user.username,
        user.tenant_id,
        Role(user.role),
        user.operator_id,
        user.seller_id,
        user.hall_id,
    )


@dataclass(frozen=True)
class HouseholdPrincipal:
    """A resident channel: a paired set-top box (the whole household) or a resident signed in on
    the smartphone page (that resident). `resident_ids`: who it may book for."""

    tenant_id: str
    household_id: int
    resident_ids: tuple[int, ...]
    actor: str  # device:<id> or resident:<id>


def new_token() -> tuple[str, str]:
    """A fresh opaque bearer token and the hash that is stored for it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)
