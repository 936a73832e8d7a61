"""Sign-in: OAuth2 password flow issuing bearer tokens; sign-out revokes the caller's token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from sqlmodel import Session

from api.deps import get_ctx, get_principal, oauth2
from api.ratelimit import client_address, enforce
from api.schemas.auth import Token
from dispatcher.context import Dispatcher
from dispatcher.db import session_scope
from dispatcher.errors import DomainError
from dispatcher.identity.auth import Principal, issue_token, sign_out

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=Token,
    summary="Sign in with user name and password; returns a bearer token",
    responses={
        401: {"description": "Wrong user name or password"},
        403: {"description": "A user of another municipality than `tenant_id` (the page's)"},
        423: {"description": "Locked after repeated wrong passwords"},
        429: {"description": "Too many attempts from this address or for this user name"},
    },
)
def token(
    request: Request,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=256)],
    tenant_id: Annotated[
        str | None,
        Form(
            max_length=64,
            description="the municipality whose page signs in (the pages send it): another "
            "municipality's user is refused",
        ),
    ] = None,
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    rate = request.app.state.rates["sign-in"]
    enforce(request, "sign-in", client_address(request), rate)
    enforce(request, "sign-in", "user:" + username, rate)
    with Session(ctx.engine, expire_on_commit=False) as session:
        try:
            tok, user = issue_token(session, username, password, ctx.clock.now(), ctx.token_hours, tenant_id)
        except DomainError:
            session.commit()  # the failed attempt counts towards the lock
            raise
        session.commit()
        return {
            "access_token": tok,
            "token_type": "bearer",
            "role": user.role,
            "tenant_id": user.tenant_id,
            "expires_in": int(ctx.token_hours * 3600),
        }


@router.post("/sign-out", status_code=204, summary="Revoke the caller's own token")
def end(
    _p: Annotated[Principal, Depends(get_principal)],
    token: Annotated[str, Depends(oauth2)],
    ctx: Dispatcher = Depends(get_ctx),
) -> Response:
    with session_scope(ctx.engine) as session:
        sign_out(session, token, ctx.clock.now())
    return Response(status_code=204)
