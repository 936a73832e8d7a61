"""Family members (dispatcher.identity.family): operators create their accounts and link them to
residents with the resident's consent; the family member signs in on the phone page (/m) and acts
for a linked resident through the residents' own endpoints (/api/v1/me, `Noriai-Resident` header).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import get_ctx, get_family, oauth2, require
from api.ratelimit import client_address, enforce
from api.schemas.family import FamilyAccount, FamilyLink, FamilyMember, FamilyMemberBrief, FamilySession
from dispatcher.context import Dispatcher
from dispatcher.db import RowId, id_of, session_scope
from dispatcher.identity import family
from dispatcher.identity.auth import Principal
from dispatcher.identity.family import FamilyPrincipal
from dispatcher.models import ConsentMethod, FamilyPermission, Role
from dispatcher.timeline import Day, local_date

router = APIRouter(prefix="/api/v1", tags=["family members"])
phone_router = APIRouter(prefix="/api/v1/m", tags=["resident channels"])
Ctx = Annotated[Dispatcher, Depends(get_ctx)]
Operator = Annotated[Principal, Depends(require(Role.operator))]
Family = Annotated[FamilyPrincipal, Depends(get_family)]


class NewFamilyMember(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=60, description="e.g. 伊那 花子")
    kana: str = Field("", max_length=60)
    phone: str = Field("", max_length=30)
    email: str = Field("", max_length=200)
    login_id: str = Field(
        min_length=1, max_length=64, description="4 to 64 of letters, digits and . _ @ - (kept in lower case)"
    )
    password: str = Field(
        min_length=1, max_length=256, description="the first password (8 to 128 characters); tell it to her"
    )


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    permission: FamilyPermission = Field(
        description="view: the resident's rides, orders and notices; book: also book and cancel rides"
    )
    consent_on: Day = Field(description="the day the resident consented; not after today")
    consent_method: ConsentMethod = Field(description="written (書面), phone (電話), counter (窓口)")


class LinkIn(Consent):
    """An existing family account (`family_member_id`) or a new one (`member`), never both."""

    family_member_id: RowId | None = None
    member: NewFamilyMember | None = None

    @model_validator(mode="after")
    def _one_member(self) -> LinkIn:
        if (self.family_member_id is None) == (self.member is None):
            raise ValueError("give either family_member_id or member")
        return self


@router.get(
    "/residents/{resident_id}/family",
    response_model=list[FamilyLink],
    summary="A resident's family links, live ones first (operator+)",
)
def resident_family(resident_id: RowId, p: Operator, ctx: Ctx) -> list[dict[str, Any]]:
    cfg = ctx.config(p.tenant_id)
    with session_scope(ctx.engine) as session:
        return family.links_of_resident(session, p.tenant_id, resident_id, cfg.tz, ctx.clock.now())


@router.post(
    "/residents/{resident_id}/family",
    status_code=201,
    response_model=FamilyLink,
    summary="Link a family member (existing, or a new account) to a resident, with the resident's consent",
)
def add_family(resident_id: RowId, body: LinkIn, p: Operator, ctx: Ctx) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    now = ctx.clock.now()
    with session_scope(ctx.engine) as session:
        if body.member is not None:
            family._resident(session, p.tenant_id, resident_id)  # before an account is made for nobody
            m = body.member
            member_id = id_of(
                family.create_member(
                    session,
                    p.tenant_id,
                    m.name,
                    m.login_id,
                    m.password,
                    now,
                    p.actor,
                    kana=m.kana,
                    phone=m.phone,
                    email=m.email,
                )
            )
        else:
            assert body.family_member_id is not None  # the validator
            member_id = body.family_member_id
        row = family.link(
            session,
            p.tenant_id,
            member_id,
            resident_id,
            body.permission,
            body.consent_on,
            body.consent_method,
            local_date(now, cfg.tz),
            now,
            p.actor,
        )
        return family.link_view(session, row, cfg.tz, now)


@router.get(
    "/family-members",
    response_model=list[FamilyMemberBrief],
    summary="Family accounts by part of a name, kana, login id, phone or e-mail (operator+)",
)
def family_members(
    p: Operator,
    ctx: Ctx,
    q: str | None = Query(None, max_length=64),
    limit: int = Query(50, ge=1, le=500),
) -> list[dict[str, Any]]:
    cfg = ctx.config(p.tenant_id)
    with session_scope(ctx.engine) as session:
        return family.search_members(session, p.tenant_id, q, limit, cfg.tz, ctx.clock.now())


@router.get(
    "/family-members/{family_member_id}",
    response_model=FamilyMember,
    summary="A family account with its links, live and revoked (operator+)",
)
def family_member(family_member_id: RowId, p: Operator, ctx: Ctx) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    with session_scope(ctx.engine) as session:
        return family.member_view(session, p.tenant_id, family_member_id, cfg.tz, ctx.clock.now())


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=256, description="8 to 128 characters")


@router.put(
    "/family-members/{family_member_id}/password",
    status_code=204,
    summary="Set a family member's password (lifts a sign-in stop; ends her open sessions)",
)
def family_password(family_member_id: RowId, body: PasswordIn, p: Operator, ctx: Ctx) -> None:
    with session_scope(ctx.engine) as session:
        family.set_password(session, p.tenant_id, family_member_id, body.password, ctx.clock.now(), p.actor)


@router.post(
    "/family-members/{family_member_id}/end",
    response_model=FamilyMember,
    summary="End a family account: every link is revoked, every session ends",
)
def family_end(family_member_id: RowId, p: Operator, ctx: Ctx) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    now = ctx.clock.now()
    with session_scope(ctx.engine) as session:
        family.end_member(session, p.tenant_id, family_member_id, now, p.actor)
        session.flush()
        return family.member_view(session, p.tenant_id, family_member_id, cfg.tz, now)


@router.put(
    "/family-links/{link_id}",
    response_model=FamilyLink,
    summary="Change what a family member may do for the resident, with the resident's consent to it",
)
def change_link(link_id: RowId, body: Consent, p: Operator, ctx: Ctx) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    now = ctx.clock.now()
    with session_scope(ctx.engine) as session:
        row = family.change_permission(
            session,
            p.tenant_id,
            link_id,
            body.permission,
            body.consent_on,
            body.consent_method,
            local_date(now, cfg.tz),
            now,
            p.actor,
        )
        return family.link_view(session, row, cfg.tz, now)


@router.post(
    "/family-links/{link_id}/revoke",
    response_model=FamilyLink,
    summary="Revoke a family link: the family member sees and books nothing of the resident from now on",
)
def revoke_link(link_id: RowId, p: Operator, ctx: Ctx) -> dict[str, Any]:
    cfg = ctx.config(p.tenant_id)
    now = ctx.clock.now()
    with session_scope(ctx.engine) as session:
        row = family.unlink(session, p.tenant_id, link_id, now, p.actor)
        return family.link_view(session, row, cfg.tz, now)


# ------------------------------------------------------------------------------ the phone page


class FamilySignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant_id: str | None = Field(None, max_length=64, description="default: the server's only tenant")
    login_id: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


@phone_router.post(
    "/family/session",
    response_model=FamilySession,
    summary="Phone page sign-in of a family member (login id and password)",
    responses={
        401: {"description": "Wrong login id or password, or stopped after five wrong passwords in a row"},
        429: {"description": "Too many attempts from this address or for this login id"},
    },
)
def family_session(body: FamilySignIn, request: Request, ctx: Ctx) -> dict[str, Any]:
    rate = request.app.state.rates["family-sign-in"]
    enforce(request, "family-sign-in", client_address(request), rate)
    enforce(request, "family-sign-in", "login:" + family.normal_login_id(body.login_id), rate)
    tenant_id = body.tenant_id or ctx.default_tenant()
    with session_scope(ctx.engine) as session:
        token, member = family.sign_in(
            session, tenant_id, body.login_id, body.password, ctx.clock.now(), ctx.token_hours
        )
        fp = family.principal_of(session, member)
        return {
            "access_token": token,
            "token_type": "bearer",
            "name": member.name,
            "residents": family.linked_residents(session, fp),
        }


@phone_router.get(
    "/family",
    response_model=FamilyAccount,
    summary="The signed-in family member: name, login id and whom she may act for",
)
def family_account(fp: Family, ctx: Ctx) -> dict[str, Any]:
    with session_scope(ctx.engine) as session:
        return family.account(session, fp)


class OwnPasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256, description="8 to 128 characters")


@phone_router.put(
    "/family/password",
    status_code=204,
    summary="The family member changes her password (her other sessions end)",
)
def own_password(body: OwnPasswordIn, fp: Family, ctx: Ctx, token: Annotated[str, Depends(oauth2)]) -> None:
    with session_scope(ctx.engine) as session:
        family.change_own_password(
            session, fp, token, body.current_password, body.new_password, ctx.clock.now()
        )
