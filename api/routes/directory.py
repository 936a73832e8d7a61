"""Residents (operators only: personal data) and the tenant's named places."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session, col, or_, select

from api.deps import get_ctx, get_principal, get_session, require
from dispatcher.auth import Principal
from dispatcher.booking import eligibility_categories
from dispatcher.context import Dispatcher
from dispatcher.models import Resident, Role

router = APIRouter(prefix="/api/v1", tags=["directory"])


@router.get("/residents", summary="Registered residents of the caller's municipality (operator+)")
def residents(
    limit: int = Query(50, ge=1, le=500),
    q: str | None = Query(None, max_length=64, description="part of a name, kana or phone number"),
    p: Principal = Depends(require(Role.operator)),
    session: Session = Depends(get_session),
    ctx: Dispatcher = Depends(get_ctx),
) -> list[dict[str, object]]:
    cfg = ctx.config(p.tenant_id)
    stmt = select(Resident).where(Resident.tenant_id == p.tenant_id, Resident.active == True)  # noqa: E712
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(
            or_(
                col(Resident.family_name).like(like),
                col(Resident.given_name).like(like),
                col(Resident.family_kana).like(like),
                col(Resident.given_kana).like(like),
                (Resident.family_name + Resident.given_name).like(like),
                col(Resident.phone).like(like),
            )
        )
    today = ctx.clock.now().astimezone(cfg.tz).date()
    rows = session.exec(
        stmt.order_by(col(Resident.family_kana), col(Resident.given_kana), col(Resident.id)).limit(limit)
    )
    return [_resident(r, cfg, today) for r in rows]


def _resident(r: Resident, cfg, today: date) -> dict[str, object]:  # type: ignore[no-untyped-def]
    cats = eligibility_categories(r, cfg, today)
    return {
        "id": r.id,
        "household_id": r.household_id,
        "name": f"{r.family_name} {r.given_name}",
        "kana": f"{r.family_kana} {r.given_kana}",
        "birth_date": r.birth_date.isoformat(),
        "phone": r.phone,
        "home": {"lat": r.lat, "lon": r.lon},
        "categories": sorted(cats),
        "eligible": bool(cats & set(cfg.eligibility.any_of)),
        "wheelchair": r.wheelchair,
        "notes": r.notes,
    }


@router.get("/places", summary="Named places of the caller's municipality")
def places(
    p: Principal = Depends(get_principal), ctx: Dispatcher = Depends(get_ctx)
) -> list[dict[str, object]]:
    return [pl.model_dump() for pl in ctx.config(p.tenant_id).places]
