"""Request dependencies: the dispatcher, the session and the signed-in principal with its role."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from dispatcher.auth import Principal, principal_for
from dispatcher.context import Dispatcher
from dispatcher.errors import DomainError, Forbidden
from dispatcher.models import Role

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_ctx(request: Request) -> Dispatcher:
    return request.app.state.ctx


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
    )


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits only the given roles (admin always)."""
    allowed = set(roles) | {Role.admin}

    def dep(p: Principal = Depends(get_principal)) -> Principal:
        if p.role not in allowed:
            raise Forbidden(f"The {p.role.value} role cannot do this.")
        return p

    return dep
