"""Shopping memberships of households: from the month they start, the fee (yen a month) is billed
for every month in which the membership ran on any day (`dispatcher.billing.statements`)."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from dispatcher.events import record
from dispatcher.models import Membership
from dispatcher.shopping.kinds import MEMBERSHIP_ENDED


def end_membership(
    session: Session, tenant_id: str, household_id: int, last_day: date, now: datetime, actor: str, why: str
) -> int:
    """End the household's running memberships after `last_day` (the last day it ran); a membership
    that had not started yet ends before it starts. Returns how many ended."""
    ended = 0
    for m in session.exec(
        select(Membership).where(
            Membership.tenant_id == tenant_id,
            Membership.household_id == household_id,
            (col(Membership.ends_on).is_(None)) | (col(Membership.ends_on) > last_day),
        )
    ):
        before = m.ends_on.isoformat() if m.ends_on else None
        m.ends_on = last_day
        session.add(m)
        record(
            session,
            tenant_id,
            now,
            actor,
            MEMBERSHIP_ENDED,
            "household",
            household_id,
            before={"membership": m.id, "ends_on": before},
            after={"membership": m.id, "ends_on": last_day.isoformat(), "why": why},
        )
        ended += 1
    return ended
