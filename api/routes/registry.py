"""Registering residents and households (operators: personal data). Every change is an event."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from api.deps import get_ctx, get_session, require
from api.schemas.registry import Duplicate, HouseholdOut, MemberOut, OffboardedOut, VerdictOut
from dispatcher.context import Dispatcher
from dispatcher.db import RowId, id_of, session_scope
from dispatcher.identity.auth import Principal
from dispatcher.models import Household, Resident, Role
from dispatcher.platform.offboarding import end_registration
from dispatcher.residents import registry
from dispatcher.residents.eligibility import verdict
from dispatcher.residents.registry import EndReason, HouseholdIn, HouseholdPatch, MemberIn, MemberPatch, Move
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import BirthDate, Day, local_date

router = APIRouter(prefix="/api/v1", tags=["register"])
Operator = Depends(require(Role.operator))


def member_view(r: Resident, cfg: TenantConfig, today: date) -> dict[str, Any]:
    """A person as the register shows them, with today's eligibility verdict."""
    status = (
        "ended"
        if not r.active
        else "paused"
        if r.paused_on is not None and r.paused_on <= today
        else "active"
    )
    return {
        "id": id_of(r),
        "registration_no": r.registration_no or "",
        "household_id": r.household_id,
        "family_name": r.family_name,
        "given_name": r.given_name,
        "family_kana": r.family_kana,
        "given_kana": r.given_kana,
        "birth_date": r.birth_date.isoformat(),
        "phone": r.phone,
        "wheelchair": r.wheelchair,
        "companion_needed": r.companion_needed,
        "evidence": list(r.evidence or []),
        "notes": r.notes,
        "status": status,
        "paused_on": r.paused_on.isoformat() if r.paused_on else None,
        "pause_reason": r.pause_reason,
        "ended_on": r.ended_on.isoformat() if r.ended_on else None,
        "end_reason": r.end_reason,
        "eligibility": verdict(r, cfg, today).as_dict(),
    }


def household_view(session: Session, hh: Household, cfg: TenantConfig, today: date) -> dict[str, Any]:
    members = session.exec(
        select(Resident)
        .where(Resident.household_id == hh.id)
        .order_by(col(Resident.active).desc(), col(Resident.id))
    ).all()
    return {
        "id": id_of(hh),
        "address": hh.address,
        "lat": hh.lat,
        "lon": hh.lon,
        "settlement": hh.settlement,
        "phone": hh.phone,
        "tv_box": hh.tv_box,
        "hall_id": hh.hall_id,
        "members": [member_view(m, cfg, today) for m in members],
    }


def _today(ctx: Dispatcher, cfg: TenantConfig) -> date:
    return local_date(ctx.clock.now(), cfg.tz)


class NewHousehold(BaseModel):
    model_config = ConfigDict(extra="forbid")
    household: HouseholdIn
    members: list[MemberIn] = Field(min_length=1, max_length=10)
    allow_duplicates: bool = Field(
        False, description="the operator checked the likely duplicates: another person"
    )


@router.post(
    "/households",
    status_code=201,
    response_model=HouseholdOut,
    summary="Register a household and its members (409 with the likely duplicates first)",
    responses={409: {"description": "someone like this is registered already (`duplicates`)"}},
)
def post_household(
    body: NewHousehold, p: Principal = Operator, ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    with session_scope(ctx.engine) as session:
        done = registry.register_household(
            session, cfg, body.household, body.members, ctx.clock.now(), p.actor, body.allow_duplicates
        )
        session.flush()
        return household_view(session, done.household, cfg, _today(ctx, cfg))


@router.get("/households/{household_id}", response_model=HouseholdOut, summary="A household with its members")
def get_household(
    household_id: RowId,
    p: Principal = Operator,
    session: Session = Depends(get_session),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    return household_view(
        session, registry.household_of(session, p.tenant_id, household_id), cfg, _today(ctx, cfg)
    )


@router.patch(
    "/households/{household_id}",
    response_model=HouseholdOut,
    summary="Correct a household's phone, box or address text",
)
def patch_household(
    household_id: RowId, body: HouseholdPatch, p: Principal = Operator, ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    with session_scope(ctx.engine) as session:
        hh = registry.update_household(session, cfg, household_id, body, ctx.clock.now(), p.actor)
        session.flush()
        return household_view(session, hh, cfg, _today(ctx, cfg))


@router.post(
    "/households/{household_id}/move",
    response_model=HouseholdOut,
    summary="Move a household to a new home (keeps its history)",
)
def post_move(
    household_id: RowId, body: Move, p: Principal = Operator, ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    with session_scope(ctx.engine) as session:
        hh = registry.move_household(session, cfg, household_id, body, ctx.clock.now(), p.actor)
        session.flush()
        return household_view(session, hh, cfg, _today(ctx, cfg))


class NewMember(MemberIn):
    allow_duplicates: bool = Field(False, description="the operator checked the likely duplicates")


@router.post(
    "/households/{household_id}/members",
    status_code=201,
    response_model=MemberOut,
    summary="Register one more person in a household",
)
def post_member(
    household_id: RowId, body: NewMember, p: Principal = Operator, ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    member = MemberIn.model_validate(body.model_dump(exclude={"allow_duplicates"}))
    with session_scope(ctx.engine) as session:
        r = registry.add_member(
            session, cfg, household_id, member, ctx.clock.now(), p.actor, body.allow_duplicates
        )
        session.flush()
        return member_view(r, cfg, _today(ctx, cfg))


class DuplicateQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    family_name: str = Field(min_length=1, max_length=40)
    given_name: str = Field(min_length=1, max_length=40)
    family_kana: str = Field("", max_length=60)
    given_kana: str = Field("", max_length=60)
    birth_date: BirthDate


@router.post(
    "/residents/duplicates",
    response_model=list[Duplicate],
    summary="Registered people who may be this one (same name, or same kana and birth date)",
)
def post_duplicates(
    body: DuplicateQuery, p: Principal = Operator, session: Session = Depends(get_session)
) -> list[dict[str, Any]]:
    return registry.likely_duplicates(
        session,
        p.tenant_id,
        body.family_name,
        body.given_name,
        body.family_kana,
        body.given_kana,
        body.birth_date,
    )


@router.get(
    "/residents/{resident_id}/registration", response_model=MemberOut, summary="A person's registration"
)
def get_member(
    resident_id: RowId,
    p: Principal = Operator,
    session: Session = Depends(get_session),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    return member_view(registry.resident_of(session, p.tenant_id, resident_id), cfg, _today(ctx, cfg))


@router.patch(
    "/residents/{resident_id}/registration",
    response_model=MemberOut,
    summary="Correct a person's registration",
)
def patch_member(
    resident_id: RowId, body: MemberPatch, p: Principal = Operator, ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    with session_scope(ctx.engine) as session:
        r = registry.update_member(session, cfg, resident_id, body, ctx.clock.now(), p.actor)
        session.flush()
        return member_view(r, cfg, _today(ctx, cfg))


@router.get(
    "/residents/{resident_id}/eligibility",
    response_model=VerdictOut,
    summary="Whether a resident may ride on a day, and why (default: today)",
)
def get_eligibility(
    resident_id: RowId,
    day: Day | None = Query(None, description="the ride date (default: today)"),
    p: Principal = Operator,
    session: Session = Depends(get_session),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    r = registry.resident_of(session, p.tenant_id, resident_id)
    return verdict(r, cfg, day or _today(ctx, cfg)).as_dict()


class PauseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: Day | None = Field(None, description="from this day (default: today)")
    reason: str = Field("", max_length=200)


@router.post(
    "/residents/{resident_id}/pause", response_model=MemberOut, summary="Pause a registration (no booking)"
)
def post_pause(
    resident_id: RowId, body: PauseBody, p: Principal = Operator, ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    with session_scope(ctx.engine) as session:
        r = registry.pause(
            session, cfg, resident_id, body.on or _today(ctx, cfg), body.reason, ctx.clock.now(), p.actor
        )
        session.flush()
        return member_view(r, cfg, _today(ctx, cfg))


@router.post("/residents/{resident_id}/resume", response_model=MemberOut, summary="Lift a pause")
def post_resume(
    resident_id: RowId, p: Principal = Operator, ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    with session_scope(ctx.engine) as session:
        r = registry.resume(session, cfg, resident_id, ctx.clock.now(), p.actor)
        session.flush()
        return member_view(r, cfg, _today(ctx, cfg))


class EndBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: EndReason
    on: Day | None = Field(None, description="the first day without service (default: today)")
    note: str = Field("", max_length=500)


@router.post(
    "/residents/{resident_id}/end",
    response_model=OffboardedOut,
    summary="End a registration: future rides and orders are cancelled with notices",
)
def post_end(
    resident_id: RowId, body: EndBody, p: Principal = Operator, ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    done = end_registration(
        ctx, p.tenant_id, resident_id, body.on or _today(ctx, cfg), body.reason, body.note, p.actor
    )
    out = asdict(done)
    out["ended_on"] = done.ended_on.isoformat()
    return out
