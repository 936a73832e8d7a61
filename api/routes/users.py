"""Staff users of the caller's municipality (administrators): list, revoke tokens, unlock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlmodel import col, select

from api.deps import get_ctx, require
from api.schemas.users import RevokedUser, StaffUser
from dispatcher.context import Dispatcher
from dispatcher.db import RowId, session_scope
from dispatcher.identity.auth import Principal, revoke_user, unlock_user, user_view
from dispatcher.models import User

router = APIRouter(prefix="/api/v1/users", tags=["auth"])
Ctx = Annotated[Dispatcher, Depends(get_ctx)]
Admin = Annotated[Principal, Depends(require())]


@router.get(
    "", response_model=list[StaffUser], summary="Staff users with their lock and live tokens (administrators)"
)
def users(p: Admin, ctx: Ctx) -> list[dict[str, object]]:
    now = ctx.clock.now()
    with session_scope(ctx.engine) as session:
        rows = session.exec(select(User).where(User.tenant_id == p.tenant_id).order_by(col(User.id))).all()
        return [user_view(session, u, now) for u in rows]


class Revocation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deactivate: StrictBool = Field(False, description="also stop the user from signing in again")


@router.post(
    "/{user_id}/revoke",
    response_model=RevokedUser,
    summary="Revoke every token of a user (a lost phone or tablet); optionally deactivate the user",
)
def revoke(user_id: RowId, body: Revocation, p: Admin, ctx: Ctx) -> dict[str, object]:
    now = ctx.clock.now()
    with session_scope(ctx.engine) as session:
        n = revoke_user(session, p.tenant_id, user_id, now, p.actor, body.deactivate)
        return {"revoked_tokens": n, **user_view(session, session.get_one(User, user_id), now)}


@router.post(
    "/{user_id}/unlock", response_model=StaffUser, summary="End a sign-in lock and reactivate the user"
)
def unlock(user_id: RowId, p: Admin, ctx: Ctx) -> dict[str, object]:
    now = ctx.clock.now()
    with session_scope(ctx.engine) as session:
        user = unlock_user(session, p.tenant_id, user_id, now, p.actor)
        return user_view(session, user, now)
