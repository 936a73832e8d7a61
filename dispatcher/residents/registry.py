"""The register of residents: households and their members, as the municipality records them.

Registering, correcting, moving house, pausing and ending a registration; every change is an event
with who and when (`kinds`). A registration is ended, never deleted: its rides and bills stay, and
the retention purge anonymises it later (`purge`). What ending does to rides, orders and services
is orchestrated by `dispatcher.platform.offboarding`.

Names are stored as given; kana in hiragana (an operator may type katakana or half-width kana).
Coordinates are WGS84 degrees; a home must lie inside the tenant's service area.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from shapely.geometry import Point as ShapelyPoint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from dispatcher.errors import Code, Conflict, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.models import Household, Resident
from dispatcher.residents.eligibility import Evidence, check_evidence
from dispatcher.residents.kinds import (
    HOUSEHOLD_MOVED,
    HOUSEHOLD_REGISTERED,
    HOUSEHOLD_UPDATED,
    RESIDENT_ENDED,
    RESIDENT_EVIDENCE_SET,
    RESIDENT_PAUSED,
    RESIDENT_REGISTERED,
    RESIDENT_RESUMED,
    RESIDENT_UPDATED,
)
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import BirthDate, Day
from routing.geo import Point, haversine_m

EndReason = Literal["moved_away", "deceased", "asked", "other"]
END_REASONS: dict[str, str] = {
    "moved_away": "転出",
    "deceased": "死亡",
    "asked": "本人の申し出",
    "other": "その他",
}
OLDEST = date(1900, 1, 1)
_KANA_EXTRA = set("ー・ 　ゝゞヽヾ")


def to_hiragana(text: str) -> str:
    """Kana as stored: NFKC (half-width to full-width), katakana to hiragana, no spaces."""
    t = unicodedata.normalize("NFKC", text).replace(" ", "").replace("\u3000", "")
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in t)


def is_kana(text: str) -> bool:
    """Whether a name is written in kana only (hiragana after `to_hiragana`, the long-vowel mark)."""
    return bool(text) and all("\u3041" <= c <= "\u3096" or c in _KANA_EXTRA for c in text)


def kana_name(text: str) -> str:
    """A kana name as stored (hiragana); ValueError when it holds anything but kana."""
    h = to_hiragana(text)
    if not is_kana(h):
        raise ValueError("must be written in kana (ひらがな or カタカナ)")
    return h


class HouseholdIn(BaseModel):
    """A household as registered: where it is and how to reach it."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(min_length=1, max_length=200, description="postal address as written")
    lat: float = Field(ge=-90, le=90, description="home, WGS84 degrees")
    lon: float = Field(ge=-180, le=180, description="home, WGS84 degrees")
    settlement: str = Field("", max_length=64, description="the settlement (集落)")
    phone: str = Field("", max_length=20, pattern=r"^[0-9+\-() ]*$")
    tv_box: str = Field("", max_length=32, description="the cable-TV box's number, if any")
    hall_id: str | None = Field(None, max_length=64, description="community hall; default: the nearest")


class MemberIn(BaseModel):
    """A person as registered; `evidence` lists what each eligibility category rests on."""

    model_config = ConfigDict(extra="forbid")

    registration_no: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z\-_]+$")
    family_name: str = Field(min_length=1, max_length=40)
    given_name: str = Field(min_length=1, max_length=40)
    family_kana: str = Field(min_length=1, max_length=60)
    given_kana: str = Field(min_length=1, max_length=60)
    birth_date: BirthDate
    phone: str = Field("", max_length=20, pattern=r"^[0-9+\-() ]*$")
    wheelchair: bool = False
    companion_needed: bool = False
    evidence: list[Evidence] = Field(default=[], max_length=10)
    notes: str = Field("", max_length=2000)

    @field_validator("family_kana", "given_kana")
    @classmethod
    def _kana(cls, v: str) -> str:
        return kana_name(v)

    @field_validator("family_name", "given_name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("must not be empty")
        return v


class MemberPatch(BaseModel):
    """Corrections to a person's registration; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    registration_no: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[0-9A-Za-z\-_]+$")
    family_name: str | None = Field(None, min_length=1, max_length=40)
    given_name: str | None = Field(None, min_length=1, max_length=40)
    family_kana: str | None = Field(None, min_length=1, max_length=60)
    given_kana: str | None = Field(None, min_length=1, max_length=60)
    birth_date: BirthDate | None = None
    phone: str | None = Field(None, max_length=20, pattern=r"^[0-9+\-() ]*$")
    wheelchair: bool | None = None
    companion_needed: bool | None = None
    evidence: list[Evidence] | None = Field(None, max_length=10)
    notes: str | None = Field(None, max_length=2000)

    @field_validator("family_kana", "given_kana")
    @classmethod
    def _kana(cls, v: str | None) -> str | None:
        return None if v is None else kana_name(v)

    @field_validator("family_name", "given_name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return None if v is None else MemberIn._name(v)


class HouseholdPatch(BaseModel):
    """Corrections to a household that do not move it (a move is `move_household`)."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(None, max_length=20, pattern=r"^[0-9+\-() ]*$")
    tv_box: str | None = Field(None, max_length=32)
    settlement: str | None = Field(None, max_length=64)
    address: str | None = Field(
        None, min_length=1, max_length=200, description="a correction of the text only"
    )


@dataclass(frozen=True)
class Registered:
    """A household and the members a registration created or changed."""

    household: Household
    members: list[Resident]


def outside_area(cfg: TenantConfig, lat: float, lon: float) -> bool:
    return not cfg.area_shape().covers(ShapelyPoint(lon, lat))


def _home_errors(
    cfg: TenantConfig, lat: float, lon: float, hall_id: str | None, at: str = ""
) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    if outside_area(cfg, lat, lon):
        errors.append(
            field_error(
                f"{at}lat",
                f"({lat}, {lon}) is outside the service area of {cfg.name}; check the point on the map",
                code=Code.home_outside_area,
            )
        )
    if hall_id is not None:
        place = cfg.place(hall_id)
        if place is None or place.kind != "community_hall":
            errors.append(
                field_error(
                    f"{at}hall_id",
                    f"{hall_id!r} is not a community hall of {cfg.name}",
                    code=Code.place_unknown,
                )
            )
    return errors


def nearest_hall(cfg: TenantConfig, lat: float, lon: float) -> str | None:
    """The community hall nearest to a home (None: the tenant has none)."""
    halls = [p for p in cfg.places if p.kind == "community_hall"]
    if not halls:
        return None
    here = Point(lat, lon)
    return min(halls, key=lambda h: haversine_m(here, Point(h.lat, h.lon))).id


def member_errors(
    cfg: TenantConfig, m: MemberIn | MemberPatch, today: date, at: str = ""
) -> list[dict[str, str]]:
    """Field errors of a member's registration that its schema cannot see (dates, evidence)."""
    errors: list[dict[str, str]] = []
    if m.birth_date is not None and not (OLDEST <= m.birth_date <= today):
        errors.append(
            field_error(
                f"{at}birth_date",
                f"{m.birth_date.isoformat()} is not a possible birth date",
                code=Code.birth_date_impossible,
            )
        )
    if m.evidence is not None:
        errors += check_evidence(cfg, m.evidence, f"{at}evidence")
    return errors


def _number_taken(session: Session, tenant_id: str, number: str, other_than: int | None = None) -> bool:
    stmt = select(Resident.id).where(Resident.tenant_id == tenant_id, Resident.registration_no == number)
    return any(rid != other_than for rid in session.exec(stmt))


def likely_duplicates(
    session: Session,
    tenant_id: str,
    family_name: str,
    given_name: str,
    family_kana: str,
    given_kana: str,
    birth_date: date,
    other_than: int | None = None,
) -> list[dict[str, Any]]:
    """Registered people who may be this one: the same name, or the same kana and birth date."""
    fk, gk = to_hiragana(family_kana), to_hiragana(given_kana)
    rows = session.exec(
        select(Resident, Household)
        .join(Household, col(Household.id) == col(Resident.household_id), isouter=True)
        .where(
            Resident.tenant_id == tenant_id,
            col(Resident.active).is_(True),
            or_(
                (col(Resident.family_name) == family_name.strip())
                & (col(Resident.given_name) == given_name.strip()),
                (col(Resident.family_kana) == fk)
                & (col(Resident.given_kana) == gk)
                & (col(Resident.birth_date) == birth_date),
            ),
        )
    ).all()
    return [
        {
            "id": r.id,
            "registration_no": r.registration_no or "",
            "name": f"{r.family_name} {r.given_name}",
            "kana": f"{r.family_kana} {r.given_kana}",
            "birth_date": r.birth_date.isoformat(),
            "address": hh.address if hh else "",
        }
        for r, hh in rows
        if r.id != other_than
    ]


def _snapshot(r: Resident) -> dict[str, Any]:
    return {
        "registration_no": r.registration_no,
        "family_name": r.family_name,
        "given_name": r.given_name,
        "family_kana": r.family_kana,
        "given_kana": r.given_kana,
        "birth_date": r.birth_date.isoformat(),
        "phone": r.phone,
        "wheelchair": r.wheelchair,
        "companion_needed": r.companion_needed,
        "notes": r.notes,
    }


def _new_resident(cfg: TenantConfig, hh: Household, m: MemberIn, now: datetime) -> Resident:
    return Resident(
        tenant_id=cfg.id,
        household_id=hh.id,
        registration_no=m.registration_no,
        family_name=m.family_name,
        given_name=m.given_name,
        family_kana=m.family_kana,
        given_kana=m.given_kana,
        birth_date=m.birth_date,
        phone=m.phone or hh.phone,
        lat=hh.lat,
        lon=hh.lon,
        evidence=[e.stored() for e in m.evidence],
        wheelchair=m.wheelchair,
        companion_needed=m.companion_needed,
        notes=m.notes,
        registered_at=now,
        favourite_places=[],
    )


def _duplicates_or_raise(
    session: Session, tenant_id: str, members: list[MemberIn], allow: bool, other_than: int | None = None
) -> None:
    if allow:
        return
    found = []
    for i, m in enumerate(members):
        for d in likely_duplicates(
            session,
            tenant_id,
            m.family_name,
            m.given_name,
            m.family_kana,
            m.given_kana,
            m.birth_date,
            other_than,
        ):
            found.append({"member": i, **d})
    if found:
        raise Conflict(
            "Someone like this is registered already: check the list, and register anyway only if it "
            "is another person (allow_duplicates).",
            code=Code.resident_duplicate_suspected,
            duplicates=found,
        )


def register_household(
    session: Session,
    cfg: TenantConfig,
    household: HouseholdIn,
    members: list[MemberIn],
    now: datetime,
    actor: str,
    allow_duplicates: bool = False,
) -> Registered:
    """Register a household with its members; InvalidRequest names every bad field, Conflict lists
    likely duplicates unless `allow_duplicates` (the operator checked them)."""
    today = now.astimezone(cfg.tz).date()
    errors = _home_errors(cfg, household.lat, household.lon, household.hall_id, "household.")
    if not members:
        errors.append(
            field_error("members", "a household needs at least one member", code=Code.field_required)
        )
    seen: set[str] = set()
    for i, m in enumerate(members):
        at = f"members[{i}]."
        errors += member_errors(cfg, m, today, at)
        if m.registration_no in seen or _number_taken(session, cfg.id, m.registration_no):
            errors.append(
                field_error(
                    f"{at}registration_no",
                    f"registration number {m.registration_no} is taken",
                    code=Code.registration_no_taken,
                    number=m.registration_no,
                )
            )
        seen.add(m.registration_no)
    if errors:
        raise InvalidRequest("The registration has problems; correct the fields listed in errors.", errors)
    _duplicates_or_raise(session, cfg.id, members, allow_duplicates)
    hh = Household(
        tenant_id=cfg.id,
        address=household.address,
        lat=household.lat,
        lon=household.lon,
        phone=household.phone,
        settlement=household.settlement,
        tv_box=household.tv_box,
        hall_id=household.hall_id or nearest_hall(cfg, household.lat, household.lon),
    )
    session.add(hh)
    session.flush()
    record(
        session,
        cfg.id,
        now,
        actor,
        HOUSEHOLD_REGISTERED,
        "household",
        hh.id,
        after={"address": hh.address, "settlement": hh.settlement, "hall_id": hh.hall_id},
    )
    people = [_add(session, cfg, hh, m, now, actor) for m in members]
    return Registered(hh, people)


def _add(
    session: Session, cfg: TenantConfig, hh: Household, m: MemberIn, now: datetime, actor: str
) -> Resident:
    r = _new_resident(cfg, hh, m, now)
    session.add(r)
    try:
        session.flush()
    except IntegrityError:  # registered meanwhile by another operator or an import
        raise Conflict(
            f"Registration number {m.registration_no} was taken meanwhile.",
            [
                field_error(
                    "registration_no",
                    f"registration number {m.registration_no} is taken",
                    code=Code.registration_no_taken,
                    number=m.registration_no,
                )
            ],
            code=Code.registration_no_taken,
            number=m.registration_no,
        ) from None
    record_registered(session, cfg.id, r, now, actor)
    return r


def record_registered(session: Session, tenant_id: str, r: Resident, now: datetime, actor: str) -> None:
    """The event of a person's registration: what was registered, household and evidence included."""
    record(
        session,
        tenant_id,
        now,
        actor,
        RESIDENT_REGISTERED,
        "resident",
        r.id,
        after={**_snapshot(r), "household_id": r.household_id, "evidence": r.evidence},
    )


def household_of(session: Session, tenant_id: str, household_id: int) -> Household:
    hh = session.get(Household, household_id)
    if hh is None or hh.tenant_id != tenant_id:
        raise NotFound(f"No household {household_id}.", code=Code.household_not_found)
    return hh


def resident_of(session: Session, tenant_id: str, resident_id: int) -> Resident:
    r = session.get(Resident, resident_id)
    if r is None or r.tenant_id != tenant_id:
        raise NotFound(f"No resident {resident_id}.", code=Code.resident_not_found)
    return r


def add_member(
    session: Session,
    cfg: TenantConfig,
    household_id: int,
    member: MemberIn,
    now: datetime,
    actor: str,
    allow_duplicates: bool = False,
) -> Resident:
    """Register one more person in an existing household."""
    hh = household_of(session, cfg.id, household_id)
    errors = member_errors(cfg, member, now.astimezone(cfg.tz).date())
    if _number_taken(session, cfg.id, member.registration_no):
        errors.append(
            field_error(
                "registration_no",
                f"registration number {member.registration_no} is taken",
                code=Code.registration_no_taken,
                number=member.registration_no,
            )
        )
    if errors:
        raise InvalidRequest("The registration has problems; correct the fields listed in errors.", errors)
    _duplicates_or_raise(session, cfg.id, [member], allow_duplicates)
    return _add(session, cfg, hh, member, now, actor)


def record_changes(
    session: Session,
    tenant_id: str,
    now: datetime,
    actor: str,
    kind: str,
    entity: str,
    entity_id: int | None,
    before: dict[str, Any],
    after: dict[str, Any],
) -> bool:
    """Record an event with the fields that changed (before and after), if any did."""
    changed = [k for k in after if after[k] != before.get(k)]
    if changed:
        record(
            session,
            tenant_id,
            now,
            actor,
            kind,
            entity,
            entity_id,
            before={k: before.get(k) for k in changed},
            after={k: after[k] for k in changed},
        )
    return bool(changed)


def update_member(
    session: Session, cfg: TenantConfig, resident_id: int, patch: MemberPatch, now: datetime, actor: str
) -> Resident:
    """Correct a person's registration; records what changed (evidence as its own event)."""
    r = resident_of(session, cfg.id, resident_id)
    if not r.active:
        raise Conflict(f"The registration of resident {resident_id} has ended.", code=Code.resident_ended)
    errors = member_errors(cfg, patch, now.astimezone(cfg.tz).date())
    if patch.registration_no is not None and _number_taken(session, cfg.id, patch.registration_no, r.id):
        errors.append(
            field_error(
                "registration_no",
                f"registration number {patch.registration_no} is taken",
                code=Code.registration_no_taken,
                number=patch.registration_no,
            )
        )
    if errors:
        raise InvalidRequest("The correction has problems; correct the fields listed in errors.", errors)
    before = _snapshot(r)
    fields = patch.model_dump(exclude_unset=True, exclude={"evidence"})
    for k, v in fields.items():
        if v is not None:
            setattr(r, k, v)
    record_changes(session, cfg.id, now, actor, RESIDENT_UPDATED, "resident", r.id, before, _snapshot(r))
    if patch.evidence is not None:
        stored = [e.stored() for e in patch.evidence]
        if stored != list(r.evidence or []):
            old = list(r.evidence or [])
            r.evidence = stored
            record(
                session,
                cfg.id,
                now,
                actor,
                RESIDENT_EVIDENCE_SET,
                "resident",
                r.id,
                before={"evidence": old},
                after={"evidence": stored},
            )
    session.add(r)
    return r


def update_household(
    session: Session, cfg: TenantConfig, household_id: int, patch: HouseholdPatch, now: datetime, actor: str
) -> Household:
    """Correct a household's phone, box number, settlement or the wording of its address."""
    hh = household_of(session, cfg.id, household_id)
    before = {"phone": hh.phone, "tv_box": hh.tv_box, "settlement": hh.settlement, "address": hh.address}
    for k, v in patch.model_dump(exclude_unset=True).items():
        if v is not None:
            setattr(hh, k, v)
    after = {"phone": hh.phone, "tv_box": hh.tv_box, "settlement": hh.settlement, "address": hh.address}
    record_changes(session, cfg.id, now, actor, HOUSEHOLD_UPDATED, "household", hh.id, before, after)
    session.add(hh)
    return hh


class Move(BaseModel):
    """A household's new home (it keeps its id, members, bills and history)."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(min_length=1, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    settlement: str = Field("", max_length=64)
    hall_id: str | None = Field(None, max_length=64, description="default: the nearest community hall")
    on: Day | None = Field(None, description="moving day (default: today)")


def move_household(
    session: Session, cfg: TenantConfig, household_id: int, move: Move, now: datetime, actor: str
) -> Household:
    """Move a household inside the service area: its home and its members' homes change; the
    household keeps its history (the event holds the old address)."""
    hh = household_of(session, cfg.id, household_id)
    errors = _home_errors(cfg, move.lat, move.lon, move.hall_id)
    if errors:
        raise InvalidRequest("The new home has problems; correct the fields listed in errors.", errors)
    before = {
        "address": hh.address,
        "lat": hh.lat,
        "lon": hh.lon,
        "settlement": hh.settlement,
        "hall_id": hh.hall_id,
    }
    hh.address, hh.lat, hh.lon, hh.settlement = move.address, move.lat, move.lon, move.settlement
    hh.hall_id = move.hall_id or nearest_hall(cfg, move.lat, move.lon)
    for r in session.exec(
        select(Resident).where(Resident.household_id == hh.id, col(Resident.active).is_(True))
    ):
        r.lat, r.lon = move.lat, move.lon
        session.add(r)
    session.add(hh)
    on = move.on or now.astimezone(cfg.tz).date()
    record(
        session,
        cfg.id,
        now,
        actor,
        HOUSEHOLD_MOVED,
        "household",
        hh.id,
        before=before,
        after={
            "address": hh.address,
            "lat": hh.lat,
            "lon": hh.lon,
            "settlement": hh.settlement,
            "hall_id": hh.hall_id,
            "on": on.isoformat(),
        },
    )
    return hh


def pause(
    session: Session, cfg: TenantConfig, resident_id: int, on: date, reason: str, now: datetime, actor: str
) -> Resident:
    """Pause a registration from a date (a hospital stay, a stay with family): no booking from then."""
    r = resident_of(session, cfg.id, resident_id)
    if not r.active:
        raise Conflict(f"The registration of resident {resident_id} has ended.", code=Code.resident_ended)
    registered = r.registered_at.astimezone(cfg.tz).date()
    if on < registered:
        raise InvalidRequest(
            "A pause cannot begin before the registration.",
            [
                field_error(
                    "on",
                    f"must be {registered.isoformat()} (the registration date) or later",
                    code=Code.end_before_registration,
                    registered=registered.isoformat(),
                )
            ],
        )
    r.paused_on, r.pause_reason = on, reason
    session.add(r)
    record(
        session,
        cfg.id,
        now,
        actor,
        RESIDENT_PAUSED,
        "resident",
        r.id,
        after={"on": on.isoformat(), "reason": reason},
    )
    return r


def resume(session: Session, cfg: TenantConfig, resident_id: int, now: datetime, actor: str) -> Resident:
    """Lift a pause."""
    r = resident_of(session, cfg.id, resident_id)
    if r.paused_on is None:
        return r
    before = {"on": r.paused_on.isoformat(), "reason": r.pause_reason}
    r.paused_on, r.pause_reason = None, ""
    session.add(r)
    record(session, cfg.id, now, actor, RESIDENT_RESUMED, "resident", r.id, before=before)
    return r


def end(
    session: Session,
    cfg: TenantConfig,
    resident_id: int,
    on: date,
    reason: EndReason,
    note: str,
    now: datetime,
    actor: str,
) -> Resident:
    """End a registration from a date (the first day without service): the person may not book any
    more; what happened before stays (rides, bills). See `platform.offboarding` for the rest."""
    r = resident_of(session, cfg.id, resident_id)
    if not r.active:
        raise Conflict(
            f"The registration of resident {resident_id} has ended already.", code=Code.resident_ended
        )
    today = now.astimezone(cfg.tz).date()
    registered = r.registered_at.astimezone(cfg.tz).date()
    if on < registered:
        raise InvalidRequest(
            "A registration cannot end before it began.",
            [
                field_error(
                    "on",
                    f"must be {registered.isoformat()} (the registration date) or later",
                    code=Code.end_before_registration,
                    registered=registered.isoformat(),
                )
            ],
        )
    if on > today:
        raise InvalidRequest(
            "A registration ends on the day it is recorded or before.",
            [
                field_error(
                    "on",
                    f"must be {today.isoformat()} or earlier",
                    code=Code.end_in_future,
                    today=today.isoformat(),
                )
            ],
        )
    if reason not in END_REASONS:
        raise InvalidRequest(
            "Unknown reason.",
            [field_error("reason", "use moved_away, deceased, asked or other", code=Code.field_invalid)],
        )
    r.active, r.ended_on, r.end_reason = False, on, reason
    session.add(r)
    record(
        session,
        cfg.id,
        now,
        actor,
        RESIDENT_ENDED,
        "resident",
        r.id,
        after={"on": on.isoformat(), "reason": reason, **({"note": note} if note else {})},
    )
    return r


def active_members(session: Session, household_id: int) -> list[Resident]:
    return list(
        session.exec(
            select(Resident).where(Resident.household_id == household_id, col(Resident.active).is_(True))
        )
    )
