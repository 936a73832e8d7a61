"""Identity's step of the retention purge (`dispatcher.platform.retention`): sign-ins (staff tokens,
residents' phone sessions) that ended before the horizon, and TV boxes revoked or never paired by
then, are deleted; a resident who is anonymised loses PIN and sessions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, or_
from sqlmodel import Session, col, select

from dispatcher.db import changed_rows
from dispatcher.events import chunks
from dispatcher.models import ApiToken, Device, ResidentPin, ResidentSession


def purge_sign_ins(session: Session, tenant_id: str, end: datetime, counts: Counter[str]) -> None:
    counts["resident_session.deleted"] += changed_rows(
        session,
        delete(ResidentSession).where(
            col(ResidentSession.tenant_id) == tenant_id,
            or_(col(ResidentSession.expires_at) < end, col(ResidentSession.revoked_at) < end),
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


def forget_residents(session: Session, residents: Sequence[int], counts: Counter[str]) -> None:
    """Delete the PINs and phone sessions of residents being anonymised."""
    for part in chunks(residents):
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
