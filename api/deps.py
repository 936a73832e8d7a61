"""Request dependencies: the dispatcher, the session and the signed-in principal with its role."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from dispatcher.context import Dispatcher
from dispatcher.db import MAX_ID
from dispatcher.errors import Code, DomainError, Forbidden, InvalidRequest, field_error
from dispatcher.identity.auth import HouseholdPrincipal, Principal, principal_for
from dispatcher.identity.devices import device_for, household_principal
from dispatcher.identity.family import FamilyPrincipal, acting_for, family_principal
from dispatcher.identity.pins import resident_principal
from dispatcher.models import Role

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_ctx(request: Request) -> Dispatcher:
    ctx: Dispatcher = request.app.state.ctx  # set by create_app
    return ctx


def get_session(ctx: Dispatcher = Depends(get_ctx)) -> Iterator[Session]:
    with Session(ctx.engine) as session:
        yield session


def get_principal(token: str | None = Depends(oauth2), ctx: Dispatcher = Depends(get_ctx)) -> Principal:
    if token:
        with Session(ctx.engine) as session:
            p = principal_for(session, token, ctx.clock.now())
        if p is not None:
            return p
    raise DomainError(
        "Sign in first: POST /api/v1/auth/token, then send 'Authorization: Bearer <token>'.",
        status=401,
        title="Not signed in",
        code=Code.not_signed_in,
    )


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits only the given roles (admin always)."""
    allowed = set(roles) | {Role.admin}

    def dep(p: Principal = Depends(get_principal)) -> Principal:
        if p.role not in allowed:
            raise Forbidden(f"The {p.role.value} role cannot do this.", code=Code.role_forbidden)
        return p

    return dep


def _resident_number(value: str | None) -> int | None:
    """The Noriai-Resident header: None when absent, else the number (0 for anything else, which
    names nobody)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    return int(value) if value.isdigit() and len(value) <= 10 and int(value) <= MAX_ID else 0


def get_household(
    token: str | None = Depends(oauth2),
    ctx: Dispatcher = Depends(get_ctx),
    acting: str | None = Header(
        None,
        alias="Noriai-Resident",
        max_length=20,
        description="a family member's session: the linked resident it acts for (default: the only one "
        "linked); ignored for a TV box or a resident's own phone",
    ),
) -> HouseholdPrincipal:
    """A paired set-top box, a resident signed in on the phone page, or a family member signed in on
    the phone page acting for one linked resident."""
    if token:
        with Session(ctx.engine) as session:
            device = device_for(session, token)
            if device is not None:
                if device.household_id is None:
                    raise DomainError(
                        "このテレビはまだ登録されていません。画面の番号をオペレーターに伝えてください。",
                        status=403,
                        title="Device not paired",
                        code=Code.device_not_paired,
                    )
                now = ctx.clock.now()
                if device.last_seen_at is None or (now - device.last_seen_at).total_seconds() > 300:
                    device.last_seen_at = now  # "seen" at most every five minutes: no write per request
                    session.add(device)
                    session.commit()
                return household_principal(session, device)
            hp = resident_principal(session, token, ctx.clock.now())
            if hp is not None:
                return hp
            fp = family_principal(session, token, ctx.clock.now())
            if fp is not None:
                return acting_for(session, fp, _resident_number(acting))
    raise DomainError("サインインしてください。", status=401, title="Not signed in", code=Code.not_signed_in)


def get_whole_household(hp: HouseholdPrincipal = Depends(get_household)) -> HouseholdPrincipal:
    """A caller acting for the household as such (a TV box, a resident's own phone): shopping, the
    household's bill, watch-over and reminders. Not a family member acting for one resident."""
    if not hp.whole_household:
        raise Forbidden(
            "A family member acts for one resident: shopping, bills, watch-over and reminders are the "
            "household's own.",
            code=Code.family_household_only,
        )
    return hp


def get_family(token: str | None = Depends(oauth2), ctx: Dispatcher = Depends(get_ctx)) -> FamilyPrincipal:
    """A family member signed in on the phone page (her own account, not acting for anyone yet)."""
    if token:
        with Session(ctx.engine) as session:
            fp = family_principal(session, token, ctx.clock.now())
        if fp is not None:
            return fp
    raise DomainError("サインインしてください。", status=401, title="Not signed in", code=Code.not_signed_in)


def idempotency_key(
    value: str | None = Header(None, alias="Idempotency-Key", max_length=200),
) -> str:
    """The request's Idempotency-Key header, which every booking and order must carry."""
    if not value or not value.strip():
        raise InvalidRequest(
            "Send an Idempotency-Key header (a new random value per booking or order) so that a retry "
            "cannot book twice.",
            [field_error("Idempotency-Key", "is required", code=Code.idempotency_key_required)],
            code=Code.invalid_request,
        )
    return value.strip()
