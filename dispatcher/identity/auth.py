"""Staff users, argon2 password hashes and revocable bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from dispatcher.db import id_of
from dispatcher.errors import Code, DomainError, Forbidden, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.identity import passwords
from dispatcher.identity.kinds import (
    USER_CREATED,
    USER_SIGN_IN_FAILED,
    USER_SIGNED_IN,
    USER_SIGNED_OUT,
    USER_TOKENS_REVOKED,
    USER_UNLOCKED,
)
from dispatcher.models import ApiToken, Event, Role, Seller, Tenant, User
from dispatcher.tenants import operator_id as tenant_operator


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
    every_hall: bool = False,
) -> User:
    """Create a staff user; raises InvalidRequest with the field at fault.

    A support worker carries the parcels of one community hall and sees only its households:
    `hall_id` must name a community_hall place of the tenant. `every_hall` (the demo's one
    support login, made by `noriai seed-demo`) is not offered by the command line."""
    errors = []
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
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
    if role_v == Role.support_worker and not hall_id and not every_hall:
        errors.append(
            field_error(
                "hall", "a support worker needs the community hall it serves", code=Code.hall_required
            )
        )
    if hall_id and tenant is not None:
        halls = [p.get("id") for p in tenant.config.get("places", []) if p.get("kind") == "community_hall"]
        if hall_id not in halls:
            errors.append(
                field_error(
                    "hall",
                    f"{hall_id!r} is not a community hall of {tenant_id}"
                    + (f"; one of {', '.join(map(str, halls))}" if halls else ""),
                    code=Code.hall_unknown,
                )
            )
    if errors:
        raise InvalidRequest("The user cannot be created.", errors)
    assert role_v is not None  # an unknown role is among the errors
    user = User(
        tenant_id=tenant_id,
        username=username,
        password_hash=passwords.hash_secret(password),
        role=role_v.value,
        operator_id=operator_id,
        seller_id=seller_id,
        hall_id=hall_id,
        display_name=display_name or username,
        created_at=now,
    )
    session.add(user)
    session.flush()
    record(
        session,
        tenant_id,
        now,
        actor,
        USER_CREATED,
        "user",
        user.id,
        after={"username": username, "role": role},
    )
    return user


# Staff sign-in lockout: this many wrong passwords in a row lock the user for LOCK_MINUTES
# (or until an administrator unlocks it). Counted from the user's own sign-in events.
MAX_FAILED_SIGN_INS = 5
LOCK_MINUTES = 15
_SIGN_IN_KINDS = (USER_SIGNED_IN, USER_SIGN_IN_FAILED, USER_UNLOCKED)


def locked_until(session: Session, user: User) -> datetime | None:
    """When the user's lock ends, if the last MAX_FAILED_SIGN_INS sign-in events all failed."""
    kinds = session.exec(
        select(Event.kind, Event.at)
        .where(
            Event.tenant_id == user.tenant_id,
            Event.entity == "user",
            Event.entity_id == str(user.id),
            col(Event.kind).in_(_SIGN_IN_KINDS),
        )
        .order_by(col(Event.id).desc())
        .limit(MAX_FAILED_SIGN_INS)
    ).all()
    if len(kinds) < MAX_FAILED_SIGN_INS or any(k != USER_SIGN_IN_FAILED for k, _ in kinds):
        return None
    return kinds[0][1] + timedelta(minutes=LOCK_MINUTES)


def issue_token(
    session: Session, username: str, password: str, now: datetime, hours: float, tenant_id: str | None = None
) -> tuple[str, User]:
    """Verify a password and issue a bearer token valid for `hours`.

    tenant_id: the municipality whose page the user signs in on; a user of another one is refused
    (403, naming the user's own municipality) after the password was checked, and gets no token.

    Raises 401 on a wrong name or password (the failure is recorded and counted) and, with the same
    answer, while the user is locked after MAX_FAILED_SIGN_INS failures in a row. Failed attempts
    are committed by the caller's session even though the request fails (see api/routes/auth.py).

    Raises passwords.SignInBusy (429) at once, counting nothing, while the process already checks
    as many passwords as its cap allows. A hash made at another argon2 cost than the current one is
    replaced by a new one on a successful sign-in (the signed-in event says `password_rehashed`).
    """
    with passwords.verification_slot():
        return _issue_token(session, username, password, now, hours, tenant_id)


def _issue_token(
    session: Session, username: str, password: str, now: datetime, hours: float, tenant_id: str | None
) -> tuple[str, User]:
    user = session.exec(select(User).where(User.username == username)).first()
    # One answer for a wrong name, a wrong password and a locked user: it reveals neither which
    # names exist nor which are locked. A locked user's attempts are not checked or counted, so the
    # lock ends LOCK_MINUTES after the failure that set it, whatever an attacker keeps sending.
    refused = DomainError(
        "Wrong user name or password.",
        status=401,
        title="Sign-in failed",
        hint=f"After {MAX_FAILED_SIGN_INS} wrong passwords in a row a user cannot sign in for "
        f"{LOCK_MINUTES} minutes; an administrator can unlock it sooner.",
        max_failures=MAX_FAILED_SIGN_INS,
        lock_minutes=LOCK_MINUTES,
        code=Code.sign_in_failed,
    )
    if user is not None:
        until = locked_until(session, user)
        if until is not None and until > now:
            passwords.verify_dummy(password)  # the same time as a real check
            raise refused
    if user is None:
        passwords.verify_dummy(password)  # an unknown name costs what a real check costs
        ok = False
    else:
        ok = passwords.verify(user.password_hash, password) and user.active
    if not ok:
        if user is not None:
            record(
                session, user.tenant_id, now, f"user:{user.username}", USER_SIGN_IN_FAILED, "user", user.id
            )
        raise refused
    assert user is not None
    if tenant_id is not None and user.tenant_id != tenant_id:
        home = session.get(Tenant, user.tenant_id)
        raise Forbidden(
            f"{user.username} is a user of {user.tenant_id}: sign in on its pages (/t/{user.tenant_id}/...).",
            code=Code.sign_in_other_tenant,
            title="A user of another municipality",
            home_tenant_id=user.tenant_id,
            home_tenant=home.name if home is not None else user.tenant_id,
        )
    rehashed = passwords.needs_rehash(user.password_hash)
    if rehashed:  # made at an older cost: store it at the current one, now that the password is known
        user.password_hash = passwords.hash_secret(password)
        session.add(user)
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_hash=hash_token(token),
            user_id=id_of(user),
            tenant_id=user.tenant_id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    record(
        session,
        user.tenant_id,
        now,
        f"user:{user.username}",
        USER_SIGNED_IN,
        "user",
        user.id,
        after={"password_rehashed": True} if rehashed else None,
    )
    return token, user


def sign_out(session: Session, token: str, now: datetime) -> None:
    """Revoke the caller's own token (signing out on a shared or lost device)."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = now
    session.add(row)
    user = session.get(User, row.user_id)
    record(
        session,
        row.tenant_id,
        now,
        f"user:{user.username if user else row.user_id}",
        USER_SIGNED_OUT,
        "user",
        row.user_id,
    )


def _tenant_user(session: Session, tenant_id: str, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.tenant_id != tenant_id:
        raise NotFound(f"No user {user_id} in this municipality.", code=Code.user_not_found)
    return user


def revoke_user(
    session: Session, tenant_id: str, user_id: int, now: datetime, actor: str, deactivate: bool
) -> int:
    """Revoke every live token of a user (a lost phone or tablet); `deactivate` also stops the user
    from signing in again. Returns how many tokens were revoked."""
    user = _tenant_user(session, tenant_id, user_id)
    rows = session.exec(
        select(ApiToken).where(
            ApiToken.user_id == user_id, col(ApiToken.revoked_at).is_(None), ApiToken.expires_at > now
        )
    ).all()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    before = {"active": user.active}
    if deactivate:
        user.active = False
        session.add(user)
    record(
        session,
        tenant_id,
        now,
        actor,
        USER_TOKENS_REVOKED,
        "user",
        user_id,
        before=before,
        after={"tokens": len(rows), "active": user.active},
    )
    return len(rows)


def unlock_user(session: Session, tenant_id: str, user_id: int, now: datetime, actor: str) -> User:
    """End a sign-in lock (the count of failures starts again); can also reactivate the user."""
    user = _tenant_user(session, tenant_id, user_id)
    record(
        session,
        tenant_id,
        now,
        actor,
        USER_UNLOCKED,
        "user",
        user_id,
        before={"active": user.active},
        after={"active": True},
    )
    user.active = True
    session.add(user)
    return user


def user_view(session: Session, user: User, now: datetime) -> dict[str, object]:
    """A staff user as administrators see it (never the password hash)."""
    until = locked_until(session, user)
    live = session.exec(
        select(ApiToken.id).where(
            ApiToken.user_id == user.id, col(ApiToken.revoked_at).is_(None), ApiToken.expires_at > now
        )
    ).all()
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "active": user.active,
        "locked_until": until.isoformat() if until is not None and until > now else None,
        "live_tokens": len(live),
    }


def principal_for(session: Session, token: str, now: datetime) -> Principal | None:
    """The principal of a valid, unexpired, unrevoked token, else None."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return Principal(
        id_of(user),
        user.username,
        user.tenant_id,
        Role(user.role),
        user.operator_id,
        user.seller_id,
        user.hall_id,
    )


@dataclass(frozen=True)
class HouseholdPrincipal:
    """A resident channel: a paired set-top box (the whole household), a resident signed in on
    the smartphone page (that resident), or a family member on the phone page acting for one linked
    resident (`dispatcher.identity.family`). `resident_ids`: whose rides it sees and books for."""

    tenant_id: str
    household_id: int
    resident_ids: tuple[int, ...]
    actor: str  # device:<id>, resident:<id> or family:<id>
    can_book: bool = True  # may book and cancel rides (not a family member's `view` link)
    whole_household: bool = True  # acts as the household: shopping, its bill, watch-over, reminders


def new_token() -> tuple[str, str]:
    """A fresh opaque bearer token and the hash that is stored for it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)
