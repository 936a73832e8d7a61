"""Request dependencies: the dispatcher, the session and the signed-in principal with its role."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from dispatcher.context import Dispatcher
from dispatcher.errors import Code, DomainError, Forbidden, InvalidRequest, field_error
from dispatcher.identity.auth import HouseholdPrincipal, Principal, principal_for
from dispatcher.identity.devices import device_for, household_principal
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


def get_household(
    token: str | None = Depends(oauth2), ctx: Dispatcher = Depends(get_ctx)
) -> HouseholdPrincipal:
    """A paired set-top box or a resident signed in on the phone page."""
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
