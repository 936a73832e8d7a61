"""Family members: their own phone-page sign-in, linked to residents of the same municipality.

A family member (say a daughter living in Tokyo) signs in on /m with a login id and a password
(argon2 hash; an operator sets the first one, she may change it). Her links say for whom and what
she may do: `view` (the resident's rides, the household's orders, the notices) or `book` (that, and
booking and cancelling the resident's rides). Each link records the resident's consent: the day,
how it was given (書面 written, 電話 phone, 窓口 at the counter) and the operator who recorded it;
a change of permission records the consent again.

A request of hers acts for one linked resident (`acting_for`: the page names which, or the only
one), as a `HouseholdPrincipal` of that resident alone: the same booking rules and views as the
resident's own phone. A resident not linked to her, or whose link was revoked, or who left, does
not exist for her (404); revoking a link or ending the account works from the next request. She
never acts for the household as a whole (no shopping, bills, watch-over or reminders).

MAX_FAILURES wrong passwords in a row stop her sign-in for LOCK_MINUTES (an operator's new password
lifts it at once); a right one resets the count. One answer for a wrong login id, a wrong password
and a stopped account, so the answer tells a guesser nothing. A new password ends the sessions
opened before it (her own change keeps the session she made it in). Every change is an event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, or_, select

from dispatcher.db import changed_rows, id_of
from dispatcher.errors import Code, Conflict, DomainError, Forbidden, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.identity import passwords
from dispatcher.identity.auth import HouseholdPrincipal, hash_token, new_token
from dispatcher.identity.kinds import (
    FAMILY_LINKED,
    FAMILY_MEMBER_CREATED,
    FAMILY_MEMBER_ENDED,
    FAMILY_PASSWORD_SET,
    FAMILY_PERMISSION_CHANGED,
    FAMILY_SIGN_IN_FAILED,
    FAMILY_SIGNED_IN,
    FAMILY_UNLINKED,
)
from dispatcher.models import (
    ConsentMethod,
    FamilyLink,
    FamilyMember,
    FamilyPermission,
    FamilySession,
    Resident,
)
from dispatcher.timeline import iso_local

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 8
MAX_PASSWORD = 128
LOGIN_ID = re.compile(r"[a-z0-9._@-]{4,64}")  # compared in lower case
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class FamilyPrincipal:
    """A signed-in family member and her live links: (resident id, permission), residents who are
    registered in her municipality, in the order the links were made."""

    tenant_id: str
    family_member_id: int
    links: tuple[tuple[int, FamilyPermission], ...]

    @property
    def actor(self) -> str:
        return f"family:{self.family_member_id}"


# ------------------------------------------------------------------------------ operators' side


def normal_login_id(login_id: str) -> str:
    return login_id.strip().lower()


def _password_errors(password: str, login_id: str, field: str) -> list[dict[str, Any]]:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD or normal_login_id(password) == login_id:
        return [
            field_error(
                field,
                f"must have {MIN_PASSWORD} to {MAX_PASSWORD} characters and differ from the login id",
                code=Code.password_too_weak,
            )
        ]
    return []


def _member(session: Session, tenant_id: str, member_id: int) -> FamilyMember:
    m = session.get(FamilyMember, member_id)
    if m is None or m.tenant_id != tenant_id:
        raise NotFound(f"No family member {member_id}.", code=Code.family_member_not_found)
    return m


def _live_member(session: Session, tenant_id: str, member_id: int) -> FamilyMember:
    m = _member(session, tenant_id, member_id)
    if m.ended_at is not None:
        raise Conflict(f"The family account {member_id} has ended.", code=Code.family_member_ended)
    return m


def _resident(session: Session, tenant_id: str, resident_id: int) -> Resident:
    r = session.get(Resident, resident_id)
    if r is None or r.tenant_id != tenant_id or not r.active:
        raise NotFound(f"No resident {resident_id}.", code=Code.resident_not_found)
    return r


def _link(session: Session, tenant_id: str, link_id: int) -> FamilyLink:
    link = session.get(FamilyLink, link_id)
    if link is None or link.tenant_id != tenant_id:
        raise NotFound(f"No family link {link_id}.", code=Code.family_link_not_found)
    return link


def _consent_errors(consent_on: date, today: date) -> list[dict[str, Any]]:
    if consent_on > today:
        return [field_error("consent_on", "is after today", code=Code.consent_in_future)]
    return []


def create_member(
    session: Session,
    tenant_id: str,
    name: str,
    login_id: str,
    password: str,
    now: datetime,
    actor: str,
    kana: str = "",
    phone: str = "",
    email: str = "",
) -> FamilyMember:
    """A family member's account with its first password (the operator tells it to her).

    The login id is kept in lower case (4 to 64 of a-z 0-9 . _ @ -, unique in the municipality),
    the password has MIN_PASSWORD to MAX_PASSWORD characters. Raises InvalidRequest per field."""
    login = normal_login_id(login_id)
    name, kana, phone, email = name.strip(), kana.strip(), phone.strip(), email.strip()
    errors = []
    if not name:
        errors.append(field_error("name", "is required", code=Code.field_required))
    if not LOGIN_ID.fullmatch(login):
        errors.append(
            field_error("login_id", "4 to 64 of letters, digits and . _ @ -", code=Code.login_id_format)
        )
    elif session.exec(
        select(FamilyMember.id).where(FamilyMember.tenant_id == tenant_id, FamilyMember.login_id == login)
    ).first():
        errors.append(field_error("login_id", f"{login!r} is taken", code=Code.login_id_taken))
    errors += _password_errors(password, login, "password")
    if email and not EMAIL.fullmatch(email):
        errors.append(field_error("email", "is not an e-mail address", code=Code.field_invalid))
    if errors:
        raise InvalidRequest("The family account cannot be created.", errors)
    member = FamilyMember(
        tenant_id=tenant_id,
        name=name,
        kana=kana,
        phone=phone,
        email=email,
        login_id=login,
        password_hash=passwords.hash_secret(password),
        password_set_at=now,
        password_set_by=actor,
        created_at=now,
        created_by=actor,
    )
    session.add(member)
    try:
        session.flush()
    except IntegrityError:  # the same login id, created by another request at this moment
        session.rollback()
        raise InvalidRequest(
            "The family account cannot be created.",
            [field_error("login_id", f"{login!r} is taken", code=Code.login_id_taken)],
        ) from None
    record(
        session,
        tenant_id,
        now,
        actor,
        FAMILY_MEMBER_CREATED,
        "family_member",
        member.id,
        after={"login_id": login},
    )
    return member


def _end_sessions(session: Session, member_id: int, now: datetime, keep: str | None = None) -> int:
    """Revoke a member's live sessions (but the one whose token hash is `keep`); how many."""
    stmt = (
        update(FamilySession)
        .where(
            col(FamilySession.family_member_id) == member_id,
            col(FamilySession.revoked_at).is_(None),
            col(FamilySession.expires_at) > now,
        )
        .values(revoked_at=now)
    )
    if keep is not None:
        stmt = stmt.where(col(FamilySession.token_hash) != keep)
    return changed_rows(session, stmt)


def set_password(
    session: Session, tenant_id: str, member_id: int, password: str, now: datetime, actor: str
) -> FamilyMember:
    """An operator sets a new password (she forgot it, or it was locked): the lock and the count of
    failures end, and so do the sessions opened before."""
    m = _live_member(session, tenant_id, member_id)
    errors = _password_errors(password, m.login_id, "password")
    if errors:
        raise InvalidRequest("The password cannot be set.", errors)
    was_locked = m.locked_until is not None and m.locked_until > now
    m.password_hash, m.failures, m.locked_until = passwords.hash_secret(password), 0, None
    m.password_set_at, m.password_set_by = now, actor
    session.add(m)
    ended = _end_sessions(session, id_of(m), now)
    record(
        session,
        tenant_id,
        now,
        actor,
        FAMILY_PASSWORD_SET,
        "family_member",
        m.id,
        after={"by_member": False, "unlocked": was_locked, "sessions_ended": ended},
    )
    return m


def end_member(session: Session, tenant_id: str, member_id: int, now: datetime, actor: str) -> FamilyMember:
    """End a family account: every link is revoked and every session ends; it cannot sign in again."""
    m = _live_member(session, tenant_id, member_id)
    live = session.exec(
        select(FamilyLink).where(
            FamilyLink.family_member_id == member_id, col(FamilyLink.revoked_at).is_(None)
        )
    ).all()
    for link in live:
        _revoke(session, link, now, actor)
    m.ended_at = now
    session.add(m)
    _end_sessions(session, member_id, now)
    record(
        session,
        tenant_id,
        now,
        actor,
        FAMILY_MEMBER_ENDED,
        "family_member",
        member_id,
        after={"links_revoked": len(live)},
    )
    return m


def link(
    session: Session,
    tenant_id: str,
    member_id: int,
    resident_id: int,
    permission: FamilyPermission,
    consent_on: date,
    consent_method: ConsentMethod,
    today: date,
    now: datetime,
    actor: str,
) -> FamilyLink:
    """Let a family member act for a registered resident of her municipality, with the resident's
    consent (given on `consent_on`, no later than `today`, the municipality's date), recorded by
    `actor`. One live link per member and resident."""
    m = _live_member(session, tenant_id, member_id)
    _resident(session, tenant_id, resident_id)
    errors = _consent_errors(consent_on, today)
    if errors:
        raise InvalidRequest("The family member cannot be linked.", errors)
    if session.exec(
        select(FamilyLink.id).where(
            FamilyLink.family_member_id == member_id,
            FamilyLink.resident_id == resident_id,
            col(FamilyLink.revoked_at).is_(None),
        )
    ).first():
        raise Conflict(
            f"Family member {member_id} is already linked to resident {resident_id}; change its permission.",
            code=Code.family_already_linked,
        )
    row = FamilyLink(
        tenant_id=tenant_id,
        family_member_id=id_of(m),
        resident_id=resident_id,
        permission=FamilyPermission(permission).value,
        consent_on=consent_on,
        consent_method=ConsentMethod(consent_method).value,
        recorded_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        tenant_id,
        now,
        actor,
        FAMILY_LINKED,
        "family_link",
        row.id,
        after=_consent(row) | {"family_member_id": row.family_member_id, "resident_id": resident_id},
    )
    return row


def _consent(row: FamilyLink) -> dict[str, Any]:
    return {
        "permission": row.permission,
        "consent_on": row.consent_on.isoformat(),
        "consent_method": row.consent_method,
        "recorded_by": row.recorded_by,
    }


def change_permission(
    session: Session,
    tenant_id: str,
    link_id: int,
    permission: FamilyPermission,
    consent_on: date,
    consent_method: ConsentMethod,
    today: date,
    now: datetime,
    actor: str,
) -> FamilyLink:
    """Change what a family member may do for the resident, with the resident's consent to the
    change (the link's consent becomes this one; the event keeps the one before)."""
    row = _link(session, tenant_id, link_id)
    if row.revoked_at is not None:
        raise Conflict(f"Family link {link_id} is revoked.", code=Code.family_link_revoked)
    errors = _consent_errors(consent_on, today)
    if errors:
        raise InvalidRequest("The permission cannot be changed.", errors)
    before = _consent(row)
    row.permission = FamilyPermission(permission).value
    row.consent_on, row.consent_method = consent_on, ConsentMethod(consent_method).value
    row.recorded_by = actor
    session.add(row)
    record(
        session,
        tenant_id,
        now,
        actor,
        FAMILY_PERMISSION_CHANGED,
        "family_link",
        row.id,
        before=before,
        after=_consent(row),
    )
    return row


def _revoke(session: Session, row: FamilyLink, now: datetime, actor: str) -> None:
    row.revoked_at, row.revoked_by = now, actor
    session.add(row)
    record(
        session,
        row.tenant_id,
        now,
        actor,
        FAMILY_UNLINKED,
        "family_link",
        row.id,
        before={"permission": row.permission},
        after={"family_member_id": row.family_member_id, "resident_id": row.resident_id},
    )


def unlink(session: Session, tenant_id: str, link_id: int, now: datetime, actor: str) -> FamilyLink:
    """Revoke a link (the resident withdrew consent): from the next request on, the family member
    no longer sees or books anything of the resident."""
    row = _link(session, tenant_id, link_id)
    if row.revoked_at is not None:
        raise Conflict(f"Family link {link_id} is already revoked.", code=Code.family_link_revoked)
    _revoke(session, row, now, actor)
    return row


# --------------------------------------------------------------------------------------- views


def member_brief(m: FamilyMember, tz: Any, now: datetime) -> dict[str, Any]:
    """A family account as operators see it (never the password hash)."""
    return {
        "id": m.id,
        "name": m.name,
        "kana": m.kana,
        "phone": m.phone,
        "email": m.email,
        "login_id": m.login_id,
        "locked_until": iso_local(m.locked_until, tz)
        if m.locked_until is not None and m.locked_until > now
        else None,
        "ended_at": iso_local(m.ended_at, tz),
    }


def _link_view(row: FamilyLink, m: FamilyMember, r: Resident, tz: Any, now: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "family_member": member_brief(m, tz, now),
        "resident_id": row.resident_id,
        "resident_name": f"{r.family_name} {r.given_name}",
        "permission": row.permission,
        "consent_on": row.consent_on.isoformat(),
        "consent_method": row.consent_method,
        "recorded_by": row.recorded_by,
        "created_at": iso_local(row.created_at, tz),
        "revoked_at": iso_local(row.revoked_at, tz),
        "revoked_by": row.revoked_by,
    }


def link_view(session: Session, row: FamilyLink, tz: Any, now: datetime) -> dict[str, Any]:
    m = session.get(FamilyMember, row.family_member_id)
    r = session.get(Resident, row.resident_id)
    assert m is not None and r is not None  # foreign keys
    return _link_view(row, m, r, tz, now)


def links_of_resident(
    session: Session, tenant_id: str, resident_id: int, tz: Any, now: datetime
) -> list[dict[str, Any]]:
    """A resident's family links: live ones first, then revoked ones, newest first in each."""
    r = session.get(Resident, resident_id)
    if r is None or r.tenant_id != tenant_id:
        raise NotFound(f"No resident {resident_id}.", code=Code.resident_not_found)
    rows = session.exec(
        select(FamilyLink, FamilyMember)
        .join(FamilyMember, col(FamilyMember.id) == FamilyLink.family_member_id)
        .where(FamilyLink.tenant_id == tenant_id, FamilyLink.resident_id == resident_id)
        .order_by(col(FamilyLink.id).desc())
    ).all()
    out = [_link_view(row, m, r, tz, now) for row, m in rows]
    return sorted(out, key=lambda x: x["revoked_at"] is not None)


def member_view(session: Session, tenant_id: str, member_id: int, tz: Any, now: datetime) -> dict[str, Any]:
    """A family account with its links (live and revoked) and how many sessions are open."""
    m = _member(session, tenant_id, member_id)
    rows = session.exec(
        select(FamilyLink, Resident)
        .join(Resident, col(Resident.id) == FamilyLink.resident_id)
        .where(FamilyLink.family_member_id == member_id)
        .order_by(col(FamilyLink.id))
    ).all()
    sessions = session.exec(
        select(func.count())
        .select_from(FamilySession)
        .where(
            FamilySession.family_member_id == member_id,
            col(FamilySession.revoked_at).is_(None),
            col(FamilySession.expires_at) > now,
        )
    ).one()
    return member_brief(m, tz, now) | {
        "created_at": iso_local(m.created_at, tz),
        "live_sessions": sessions,
        "links": [_link_view(row, m, r, tz, now) for row, r in rows],
    }


def search_members(
    session: Session, tenant_id: str, q: str | None, limit: int, tz: Any, now: datetime
) -> list[dict[str, Any]]:
    """Family accounts whose name, kana, login id, phone or e-mail contains `q`."""
    stmt = select(FamilyMember).where(FamilyMember.tenant_id == tenant_id)
    q = (q or "").strip()
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(
                col(FamilyMember.name).like(like),
                col(FamilyMember.kana).like(like),
                col(FamilyMember.login_id).like(f"%{q.lower()}%"),
                col(FamilyMember.phone).like(like),
                col(FamilyMember.email).like(like),
            )
        )
    rows = session.exec(stmt.order_by(col(FamilyMember.kana), col(FamilyMember.id)).limit(limit))
    return [member_brief(m, tz, now) for m in rows]


# ------------------------------------------------------------------------------ the phone page


def _refused() -> DomainError:
    return DomainError(
        "Wrong login id or password.",
        status=401,
        title="Sign-in failed",
        hint=f"After {MAX_FAILURES} wrong passwords in a row the account cannot sign in for "
        f"{LOCK_MINUTES} minutes; an operator who sets a new password lifts that at once.",
        max_failures=MAX_FAILURES,
        lock_minutes=LOCK_MINUTES,
        code=Code.family_sign_in_failed,
    )


def _dummy_check(password: str) -> None:
    passwords.verify_dummy(password)  # the time of a real check


def sign_in(
    session: Session, tenant_id: str, login_id: str, password: str, now: datetime, hours: float
) -> tuple[str, FamilyMember]:
    """Check a login id and password and open a session valid for `hours`.

    Raises 401 with one answer for a wrong login id, a wrong password, an ended account and a
    stopped one. Failures are committed here (the request fails, the count must stick). Raises
    passwords.SignInBusy (429, nothing counted) while every verification slot is taken. A password
    hashed at another argon2 cost is hashed again at the current one on success."""
    with passwords.verification_slot():
        return _sign_in(session, tenant_id, login_id, password, now, hours)


def _sign_in(
    session: Session, tenant_id: str, login_id: str, password: str, now: datetime, hours: float
) -> tuple[str, FamilyMember]:
    login = normal_login_id(login_id)
    m = session.exec(
        select(FamilyMember).where(FamilyMember.tenant_id == tenant_id, FamilyMember.login_id == login)
    ).first()
    if m is None or m.ended_at is not None or (m.locked_until is not None and m.locked_until > now):
        _dummy_check(password)  # a stopped account's tries are not counted: the stop ends on time
        raise _refused()
    member_id = id_of(m)
    # Count the attempt before the (slow) check, atomically, so parallel guesses each count.
    open_ = or_(col(FamilyMember.locked_until).is_(None), col(FamilyMember.locked_until) <= now)
    attempt: int | None = session.exec(
        update(FamilyMember)
        .where(col(FamilyMember.id) == member_id, open_)
        .values(failures=col(FamilyMember.failures) + 1)
        .returning(col(FamilyMember.failures))
    ).scalar()
    session.commit()
    if attempt is None or attempt > MAX_FAILURES:  # stopped meanwhile, or over the limit in flight
        _dummy_check(password)
        raise _refused()
    if not passwords.verify(m.password_hash, password):
        after: dict[str, Any] = {"failures": attempt}
        if attempt >= MAX_FAILURES:  # stop it; the count starts again when the stop ends
            until = now + timedelta(minutes=LOCK_MINUTES)
            session.exec(
                update(FamilyMember)
                .where(col(FamilyMember.id) == member_id, open_)
                .values(locked_until=until, failures=0)
            )
            after["locked_until"] = until.isoformat()
        record(
            session,
            tenant_id,
            now,
            f"family:{member_id}",
            FAMILY_SIGN_IN_FAILED,
            "family_member",
            member_id,
            after=after,
        )
        session.commit()
        raise _refused()
    fresh: dict[str, Any] = {"failures": 0}
    rehashed = passwords.needs_rehash(m.password_hash)
    if rehashed:  # made at an older cost: store it at the current one (sessions live on)
        fresh["password_hash"] = passwords.hash_secret(password)
    session.exec(update(FamilyMember).where(col(FamilyMember.id) == member_id).values(**fresh))
    token, token_hash = new_token()
    session.add(
        FamilySession(
            token_hash=token_hash,
            tenant_id=tenant_id,
            family_member_id=member_id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    record(
        session,
        tenant_id,
        now,
        f"family:{member_id}",
        FAMILY_SIGNED_IN,
        "family_member",
        member_id,
        after={"password_rehashed": True} if rehashed else None,
    )
    return token, m


def _principal(session: Session, m: FamilyMember) -> FamilyPrincipal:
    rows = session.exec(
        select(FamilyLink.resident_id, FamilyLink.permission)
        .join(Resident, col(Resident.id) == FamilyLink.resident_id)
        .where(
            FamilyLink.family_member_id == m.id,
            col(FamilyLink.revoked_at).is_(None),
            Resident.tenant_id == m.tenant_id,
            col(Resident.active).is_(True),
            col(Resident.household_id).is_not(None),
        )
        .order_by(col(FamilyLink.id))
    ).all()
    return FamilyPrincipal(m.tenant_id, id_of(m), tuple((rid, FamilyPermission(p)) for rid, p in rows))


def family_principal(session: Session, token: str, now: datetime) -> FamilyPrincipal | None:
    """The principal of a valid family session (an account not ended), else None."""
    s = session.exec(select(FamilySession).where(FamilySession.token_hash == hash_token(token))).first()
    if s is None or s.revoked_at is not None or s.expires_at <= now:
        return None
    m = session.get(FamilyMember, s.family_member_id)
    if m is None or m.ended_at is not None:
        return None
    return _principal(session, m)


def principal_of(session: Session, member: FamilyMember) -> FamilyPrincipal:
    """The principal of a member just signed in."""
    return _principal(session, member)


def acting_for(session: Session, fp: FamilyPrincipal, resident_id: int | None) -> HouseholdPrincipal:
    """The family member acting for one linked resident (`resident_id`, or the only one linked).

    A resident she is not linked to (now) is not found for her (404), whatever exists."""
    if resident_id is None:
        if not fp.links:
            raise Forbidden("This family member is linked to nobody now.", code=Code.family_not_linked)
        if len(fp.links) > 1:
            raise InvalidRequest(
                "Linked to several residents: name the one to act for in the Noriai-Resident header.",
                [
                    field_error(
                        "Noriai-Resident",
                        "name one of the linked residents",
                        code=Code.family_choose_resident,
                    )
                ],
                code=Code.family_choose_resident,
            )
        resident_id = fp.links[0][0]
    permission = dict(fp.links).get(resident_id)
    r = session.get(Resident, resident_id) if permission is not None else None
    if permission is None or r is None or r.household_id is None:
        raise NotFound(f"No resident {resident_id}.", code=Code.resident_not_found)
    return HouseholdPrincipal(
        fp.tenant_id,
        r.household_id,
        (resident_id,),
        fp.actor,
        can_book=permission == FamilyPermission.book,
        whole_household=False,
    )


def linked_residents(session: Session, fp: FamilyPrincipal) -> list[dict[str, Any]]:
    """Whom she may act for, as her page lists them: id, name, given name, permission."""
    people = {
        r.id: r
        for r in session.exec(select(Resident).where(col(Resident.id).in_([rid for rid, _ in fp.links])))
    }
    return [
        {
            "id": rid,
            "name": f"{people[rid].family_name} {people[rid].given_name}",
            "given_name": people[rid].given_name,
            "permission": p.value,
        }
        for rid, p in fp.links
    ]


def account(session: Session, fp: FamilyPrincipal) -> dict[str, Any]:
    """What her own page shows about her: name, login id and whom she may act for."""
    m = session.get(FamilyMember, fp.family_member_id)
    assert m is not None
    return {"name": m.name, "login_id": m.login_id, "residents": linked_residents(session, fp)}


def change_own_password(
    session: Session, fp: FamilyPrincipal, token: str, current: str, new: str, now: datetime
) -> None:
    """She changes her password (the current one first); her other sessions end, this one stays."""
    m = session.get(FamilyMember, fp.family_member_id)
    assert m is not None
    with passwords.verification_slot():  # a check of a password, like a sign-in
        ok = passwords.verify(m.password_hash, current)
    errors = [] if ok else [field_error("current_password", "is wrong", code=Code.password_wrong)]
    errors += _password_errors(new, m.login_id, "new_password")
    if errors:
        raise InvalidRequest("The password cannot be changed.", errors)
    m.password_hash, m.password_set_at, m.password_set_by = passwords.hash_secret(new), now, fp.actor
    session.add(m)
    ended = _end_sessions(session, fp.family_member_id, now, keep=hash_token(token))
    record(
        session,
        fp.tenant_id,
        now,
        fp.actor,
        FAMILY_PASSWORD_SET,
        "family_member",
        m.id,
        after={"by_member": True, "unlocked": False, "sessions_ended": ended},
    )


def sign_out(session: Session, token: str, now: datetime) -> bool:
    """End a family session; False when the token is no family session."""
    s = session.exec(select(FamilySession).where(FamilySession.token_hash == hash_token(token))).first()
    if s is None:
        return False
    if s.revoked_at is None:
        s.revoked_at = now
        session.add(s)
    return True
