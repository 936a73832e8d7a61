"""Identity's step of the retention purge (`dispatcher.platform.retention`): sign-ins (staff tokens,
residents' and family members' phone sessions) that ended before the horizon, and TV boxes revoked
or never paired by then, are deleted; family links revoked before the horizon are deleted (the
events keep the consent record), and so are family accounts ended before it or left without any
link; a resident who is anonymised loses PIN, sessions and family links."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, or_
from sqlmodel import Session, col, select

from dispatcher.db import changed_rows
from dispatcher.events import chunks
from dispatcher.models import (
    ApiToken,
    Device,
    FamilyLink,
    FamilyMember,
    FamilySession,
    ResidentPin,
    ResidentSession,
)


def purge_sign_ins(session: Session, tenant_id: str, end: datetime, counts: Counter[str]) -> None:
    counts["resident_session.deleted"] += changed_rows(
        session,
        delete(ResidentSession).where(
            col(ResidentSession.tenant_id) == tenant_id,
            or_(col(ResidentSession.expires_at) < end, col(ResidentSession.revoked_at) < end),
        ),
    )
    counts["family_session.deleted"] += changed_rows(
        session,
        delete(FamilySession).where(
            col(FamilySession.tenant_id) == tenant_id,
            or_(col(FamilySession.expires_at) < end, col(FamilySession.revoked_at) < end),
        ),
    )
    counts["apitoken.deleted"] += changed_rows(
        session,
        delete(ApiToken).where(
            col(ApiToken.tenant_id) == tenant_id,
            or_(col(ApiToken.expires_at) < end, col(ApiToken.revoked_at) < end),
        ),
    )
    gone = or_(
        col(Device.revoked_at) < end,
        and_(col(Device.household_id).is_(None), col(Device.created_at) < end),
    )
    counts["device.deleted"] += changed_rows(
        session, delete(Device).where(col(Device.tenant_id) == tenant_id, gone)
    )


def purge_family(session: Session, tenant_id: str, end: datetime, counts: Counter[str]) -> None:
    """Family links revoked before the horizon; then family accounts ended before it, or created
    before it and left without any link, with their sessions."""
    counts["family_link.deleted"] += changed_rows(
        session,
        delete(FamilyLink).where(col(FamilyLink.tenant_id) == tenant_id, col(FamilyLink.revoked_at) < end),
    )
    linked = select(FamilyLink.family_member_id).where(col(FamilyLink.tenant_id) == tenant_id)
    gone = list(
        session.exec(
            select(FamilyMember.id).where(
                FamilyMember.tenant_id == tenant_id,
                or_(
                    col(FamilyMember.ended_at) < end,
                    and_(col(FamilyMember.created_at) < end, col(FamilyMember.id).not_in(linked)),
                ),
            )
        )
    )
    for part in chunks([m for m in gone if m is not None]):
        # an ended account's links were revoked with it; any left (revoked later) go with it
        counts["family_link.deleted"] += changed_rows(
            session, delete(FamilyLink).where(col(FamilyLink.family_member_id).in_(part))
        )
        counts["family_session.deleted"] += changed_rows(
            session, delete(FamilySession).where(col(FamilySession.family_member_id).in_(part))
        )
        counts["family_member.deleted"] += changed_rows(
            session, delete(FamilyMember).where(col(FamilyMember.id).in_(part))
        )


def forget_residents(session: Session, residents: Sequence[int], counts: Counter[str]) -> None:
    """Delete the PINs, phone sessions and family links of residents being anonymised (a family
    account left without links goes at the next purge)."""
    for part in chunks(residents):
        counts["family_link.deleted"] += changed_rows(
            session, delete(FamilyLink).where(col(FamilyLink.resident_id).in_(part))
        )
        counts["resident_pin.deleted"] += changed_rows(
            session, delete(ResidentPin).where(col(ResidentPin.resident_id).in_(part))
        )
        counts["resident_session.deleted"] += changed_rows(
            session, delete(ResidentSession).where(col(ResidentSession.resident_id).in_(part))
        )


def households_in_use(session: Session, tenant_id: str) -> set[int]:
    """Households with a TV box not revoked."""
    return {
        hid
        for hid in session.exec(
            select(Device.household_id).where(Device.tenant_id == tenant_id, col(Device.revoked_at).is_(None))
        )
        if hid is not None
    }
