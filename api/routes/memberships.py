"""Shopping memberships of households (operators): enrol from a day, end after a day, list. The
fee is billed from the month a membership starts (dispatcher.billing.statements)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from api.deps import get_ctx, get_session, require
from api.schemas.memberships import MembershipOut, Memberships
from dispatcher.billing.statements import first_open_day
from dispatcher.context import Dispatcher
from dispatcher.db import RowId, session_scope
from dispatcher.identity.auth import Principal
from dispatcher.models import Role
from dispatcher.residents.registry import household_of
from dispatcher.shopping.memberships import end_running, memberships_of, start_membership, view
from dispatcher.timeline import Day, local_date

router = APIRouter(prefix="/api/v1", tags=["shopping"])
Operator = Depends(require(Role.operator))


@router.get(
    "/households/{household_id}/memberships",
    response_model=Memberships,
    summary="A household's shopping memberships with their dates, fee and months billed",
)
def get_memberships(
    household_id: RowId,
    p: Principal = Operator,
    session: Session = Depends(get_session),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    household_of(session, p.tenant_id, household_id)
    today = local_date(ctx.clock.now(), cfg.tz)
    views = [view(m, today) for m in memberships_of(session, p.tenant_id, household_id)]
    return {
        "household_id": household_id,
        "offered": cfg.shopping is not None,
        "fee_yen_per_month": cfg.shopping.membership_yen_per_month if cfg.shopping else None,
        "member_today": any(v.running for v in views),
        "memberships": [v.as_dict() for v in views],
    }


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_on: Day | None = Field(None, description="the first day (default: today)")


@router.post(
    "/households/{household_id}/memberships",
    status_code=201,
    response_model=MembershipOut,
    summary="Enrol a household in shopping from a day (the fee is billed from that month)",
)
def post_membership(
    household_id: RowId, body: StartIn, p: Principal = Operator, ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    now = ctx.clock.now()
    today = local_date(now, cfg.tz)
    with session_scope(ctx.engine) as session:
        m = start_membership(
            session,
            cfg,
            household_id,
            body.starts_on or today,
            now,
            p.actor,
            first_open_day(session, p.tenant_id),
        )
        return view(m, today).as_dict()


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ends_on: Day | None = Field(
        None, description="the last day of the membership, inclusive (default: today)"
    )


@router.post(
    "/households/{household_id}/memberships/end",
    response_model=MembershipOut,
    summary="End a household's shopping membership after a day",
)
def post_membership_end(
    household_id: RowId, body: EndIn, p: Principal = Operator, ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    now = ctx.clock.now()
    today = local_date(now, cfg.tz)
    with session_scope(ctx.engine) as session:
        m = end_running(
            session,
            cfg,
            household_id,
            body.ends_on or today,
            now,
            p.actor,
            first_open_day(session, p.tenant_id),
        )
        return view(m, today).as_dict()
