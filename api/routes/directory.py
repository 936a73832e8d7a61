"""Residents (operators only: personal data) and the tenant's named places."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, func, or_, select

from api.deps import get_ctx, get_principal, get_session, require
from api.schemas.directory import Note, Place, ResidentDetail
from api.schemas.directory import Resident as ResidentOut
from dispatcher.context import Dispatcher
from dispatcher.db import RowId, id_of, session_scope
from dispatcher.errors import Code, NotFound
from dispatcher.identity.auth import Principal
from dispatcher.identity.devices import household_devices
from dispatcher.identity.pins import set_pin
from dispatcher.models import Household, Resident, ResidentPin, Role
from dispatcher.residents.eligibility import categories_on, verdict
from dispatcher.residents.favourites import set_favourites
from dispatcher.residents.notes import add_note, notes_of
from dispatcher.shopping.orders import shopping_member
from dispatcher.tenant_config import TenantConfig

router = APIRouter(prefix="/api/v1", tags=["directory"])


@router.get(
    "/residents",
    response_model=list[ResidentOut],
    summary="Registered residents of the caller's municipality (operator+)",
)
def residents(
    limit: int = Query(50, ge=1, le=500),
    q: str | None = Query(None, max_length=64, description="part of a name, kana or phone number"),
    p: Principal = Depends(require(Role.operator)),
    session: Session = Depends(get_session),
    ctx: Dispatcher = Depends(get_ctx),
) -> list[dict[str, object]]:
    cfg = ctx.config(p.tenant_id)
    # ended registrations too (marked so, after the others): an operator asked about a former
    # resident finds the person instead of trying other spellings
    stmt = select(Resident).where(Resident.tenant_id == p.tenant_id)
    if q:
        q = q.strip().replace(" ", "").replace("\u3000", "")
        # what was typed is matched literally: % and _ are no wildcards (`?q=%` finds no one)
        literal = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{literal}%"
        # kana are stored in hiragana; an operator may type katakana
        hira = "%" + "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in literal) + "%"
        stmt = stmt.where(
            or_(
                col(Resident.family_name).like(like, escape="\\"),
                col(Resident.given_name).like(like, escape="\\"),
                col(Resident.family_kana).like(hira, escape="\\"),
                col(Resident.given_kana).like(hira, escape="\\"),
                (col(Resident.family_name) + col(Resident.given_name)).like(like, escape="\\"),
                (col(Resident.family_kana) + col(Resident.given_kana)).like(hira, escape="\\"),
                col(Resident.phone).like(like, escape="\\"),
                func.replace(col(Resident.phone), "-", "").like(like.replace("-", ""), escape="\\"),
            )
        )
    today = ctx.clock.now().astimezone(cfg.tz).date()
    rows = session.exec(
        stmt.order_by(
            col(Resident.active).desc(), col(Resident.family_kana), col(Resident.given_kana), col(Resident.id)
        ).limit(limit)
    )
    return [_resident(r, cfg, today) for r in rows]


def _resident(r: Resident, cfg: TenantConfig, today: date) -> dict[str, object]:
    cats = categories_on(r, cfg, today)
    return {
        "id": r.id,
        "household_id": r.household_id,
        "name": f"{r.family_name} {r.given_name}",
        "kana": f"{r.family_kana} {r.given_kana}",
        "birth_date": r.birth_date.isoformat(),
        "phone": r.phone,
        "home": {"lat": r.lat, "lon": r.lon},
        "categories": sorted(cats),
        # may book today: a category holds, the registration is in force and not paused
        "eligible": verdict(r, cfg, today).eligible
        and not (r.paused_on is not None and r.paused_on <= today),
        "wheelchair": r.wheelchair,
        "notes": r.notes,
        "status": "ended"
        if not r.active
        else "paused"
        if r.paused_on is not None and r.paused_on <= today
        else "active",
    }


@router.get("/places", response_model=list[Place], summary="Named places of the caller's municipality")
def places(
    p: Principal = Depends(get_principal), ctx: Dispatcher = Depends(get_ctx)
) -> list[dict[str, object]]:
    return [pl.model_dump() for pl in ctx.config(p.tenant_id).places]


def _one(session: Session, p: Principal, resident_id: int) -> Resident:
    r = session.get(Resident, resident_id)
    if r is None or r.tenant_id != p.tenant_id:
        raise NotFound(f"No resident {resident_id}.", code=Code.resident_not_found)
    return r


@router.get(
    "/residents/{resident_id}",
    response_model=ResidentDetail,
    summary="One resident with household, favourites, PIN state, boxes, notes",
)
def resident(
    resident_id: RowId,
    p: Principal = Depends(require(Role.operator)),
    session: Session = Depends(get_session),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    cfg = ctx.config(p.tenant_id)
    r = _one(session, p, resident_id)
    today = ctx.clock.now().astimezone(cfg.tz).date()
    out = _resident(r, cfg, today)
    hh = session.get(Household, r.household_id) if r.household_id else None
    members = (
        session.exec(
            select(Resident).where(
                Resident.tenant_id == p.tenant_id,
                Resident.household_id == r.household_id,
                Resident.active == True,  # noqa: E712
            )
        ).all()
        if r.household_id is not None
        else [r]
    )
    pin = session.get(ResidentPin, r.id)
    out.update(
        {
            "address": hh.address if hh else "",
            "household": [{"id": m.id, "name": f"{m.family_name} {m.given_name}"} for m in members],
            "favourites": list(r.favourite_places or []),
            "pin": None if pin is None else {"locked": pin.locked_at is not None, "failures": pin.failures},
            "shopping_member": shopping_member(session, r.household_id, today) if r.household_id else False,
            "devices": household_devices(session, p.tenant_id, r.household_id, cfg.tz)
            if r.household_id
            else [],
            "notes_log": notes_of(session, p.tenant_id, id_of(r), cfg.tz),
        }
    )
    return out


class PinBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pin: str = Field(min_length=1, max_length=16, description="4 to 8 digits")


@router.put(
    "/residents/{resident_id}/pin", status_code=204, summary="Set a resident's phone-page PIN (unlocks)"
)
def put_pin(
    resident_id: RowId,
    body: PinBody,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> None:
    with session_scope(ctx.engine) as session:
        set_pin(session, p.tenant_id, resident_id, body.pin, ctx.clock.now(), p.actor)


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=4000)


@router.post(
    "/residents/{resident_id}/notes",
    status_code=201,
    response_model=list[Note],
    summary="Add an operator's note about a resident",
)
def post_note(
    resident_id: RowId,
    body: NoteBody,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> list[dict[str, object]]:
    cfg = ctx.config(p.tenant_id)
    with session_scope(ctx.engine) as session:
        add_note(session, p.tenant_id, resident_id, body.text, ctx.clock.now(), p.actor)
        session.flush()
        return notes_of(session, p.tenant_id, resident_id, cfg.tz)


class FavouritesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    place_ids: list[str] = Field(max_length=9, description="most used first; the TV shows them as 1-9")


@router.put("/residents/{resident_id}/favourites", summary="Set a resident's favourite places")
def put_favourites(
    resident_id: RowId,
    body: FavouritesBody,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> list[str]:
    with session_scope(ctx.engine) as session:
        return set_favourites(
            session, ctx.config(p.tenant_id), resident_id, body.place_ids, ctx.clock.now(), p.actor
        )
