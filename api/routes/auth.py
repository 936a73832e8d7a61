"""Sign-in: OAuth2 password flow issuing bearer tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form

from api.deps import get_ctx
from dispatcher.auth import issue_token
from dispatcher.context import Dispatcher
from dispatcher.db import session_scope

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token", summary="Sign in with user name and password; returns a bearer token")
def token(
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=256)],
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    with session_scope(ctx.engine) as session:
        tok, user = issue_token(session, username, password, ctx.clock.now(), ctx.token_hours)
        return {
            "access_token": tok,
            "token_type": "bearer",
            "role": user.role,
            "tenant_id": user.tenant_id,
            "expires_in": int(ctx.token_hours * 3600),
        }
