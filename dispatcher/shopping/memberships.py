"""Shopping memberships of households: from the month they start, the fee (yen a month) is billed
for every month in which the membership ran on any day (`dispatcher.billing.statements`).

An operator enrols a household from a day (default today) at the tenant's fee
(`shopping.membership_yen_per_month`, fixed on the membership when it starts) and ends it after its
last day. A household has at most one membership on any day; only a household with somebody whose
registration is active may join; a municipality without shopping takes no members. A start or an
end may not fall before `billable_from` (the first day of the first month billing has not closed:
a closed month's bills do not change). Every start and end is an event (who, when, which dates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from dispatcher.db import id_of
from dispatcher.errors import Code, Conflict, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.models import Household, Membership
from dispatcher.residents.registry import active_members
from dispatcher.shopping.kinds import MEMBERSHIP_ENDED, MEMBERSHIP_STARTED
from dispatcher.tenant_config import TenantConfig


def month_of(day: date) -> str:
    """'YYYY-MM' of a day: the month a fee is billed for."""
    return f"{day.year}-{day.month:02d}"


@dataclass(frozen=True)
class MembershipView:
    """A membership as the console shows it: dates (the last day inclusive), the fee (yen a month),
    the first and last month billed, whether it runs on `today`."""

    id: int
    household_id: int
    starts_on: date
    ends_on: date | None
    fee_yen: int
    running: bool

    @property
    def never_ran(self) -> bool:
        """Ended before it started (enrolled ahead, then called off): nothing is billed."""
        return self.ends_on is not None and self.ends_on < self.starts_on

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "household_id": self.household_id,
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat() if self.ends_on else None,
            "fee_yen": self.fee_yen,
            "billed_from": None if self.never_ran else month_of(self.starts_on),
            "billed_until": None if self.never_ran or self.ends_on is None else month_of(self.ends_on),
            "running": self.running,
        }


def view(m: Membership, today: date) -> MembershipView:
    return MembershipView(
        id_of(m),
        m.household_id,
        m.starts_on,
        m.ends_on,
        m.fee_yen,
        m.starts_on <= today and (m.ends_on is None or m.ends_on >= today),
    )


def memberships_of(session: Session, tenant_id: str, household_id: int) -> list[Membership]:
    """The household's memberships, oldest first."""
    return list(
        session.exec(
            select(Membership)
            .where(Membership.tenant_id == tenant_id, Membership.household_id == household_id)
            .order_by(col(Membership.starts_on), col(Membership.id))
        )
    )


def _lock_household(session: Session, tenant_id: str, household_id: int) -> Household:
    """The household, locked for the rest of the transaction (an UPDATE that changes nothing: a row
    lock on PostgreSQL, the write lock on SQLite), so two operators cannot enrol it twice at once."""
    session.exec(
        update(Household)
        .where(col(Household.id) == household_id, col(Household.tenant_id) == tenant_id)
        .values(tenant_id=col(Household.tenant_id))
    )
    hh = session.get(Household, household_id, populate_existing=True)
    if hh is None or hh.tenant_id != tenant_id:
        raise NotFound(f"No household {household_id}.", code=Code.household_not_found)
    return hh


EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # dates outside are typing mistakes


def _not_before(name: str, day: date, billable_from: date | None, off: int = 0) -> list[dict[str, Any]]:
    """Errors of a start (`off` 0) or of a last day (`off` 1: the membership is off the day after)
    outside the years taken or in a month billing has closed."""
    if not EARLIEST <= day <= LATEST:
        return [field_error(name, f"must lie between {EARLIEST} and {LATEST}", code=Code.field_invalid)]
    if billable_from is None or day + timedelta(days=off) >= billable_from:
        return []
    earliest = billable_from - timedelta(days=off)
    return [
        field_error(
            name,
            f"{month_of(day + timedelta(days=off))} is closed for billing; use {earliest} or later",
            code=Code.membership_month_closed,
            month=month_of(day + timedelta(days=off)),
            earliest=earliest.isoformat(),
        )
    ]


def start_membership(
    session: Session,
    cfg: TenantConfig,
    household_id: int,
    starts_on: date,
    now: datetime,
    actor: str,
    billable_from: date | None = None,
) -> Membership:
    """Enrol a household in shopping from `starts_on` at the tenant's monthly fee (yen), billed
    from the month it starts. Refused (nothing stored) for a municipality without shopping, a
    household without an active registration, a start in a closed month, and a start while
    another membership of the household runs or is due to run."""
    hh = _lock_household(session, cfg.id, household_id)
    if cfg.shopping is None:
        raise Conflict(f"{cfg.name} does not offer shopping.", code=Code.shopping_not_offered)
    if not active_members(session, id_of(hh)):
        raise Conflict(
            f"Nobody in household {household_id} has an active registration.",
            title="No active member",
            code=Code.household_no_active_member,
        )
    errors = _not_before("starts_on", starts_on, billable_from)
    if errors:
        raise InvalidRequest("The membership cannot start on that day.", errors)
    for m in memberships_of(session, cfg.id, household_id):
        if m.ends_on is not None and (m.ends_on < m.starts_on or m.ends_on < starts_on):
            continue  # called off before it ran, or over before the new one starts
        raise Conflict(
            f"Household {household_id} is a member from {m.starts_on.isoformat()}"
            + (f" to {m.ends_on.isoformat()}" if m.ends_on else " with no end")
            + "; end that membership first.",
            title="Membership overlaps",
            code=Code.membership_overlaps,
            membership_id=m.id,
            starts_on=m.starts_on.isoformat(),
            ends_on=m.ends_on.isoformat() if m.ends_on else None,
        )
    m = Membership(
        tenant_id=cfg.id,
        household_id=household_id,
        starts_on=starts_on,
        fee_yen=cfg.shopping.membership_yen_per_month,
    )
    session.add(m)
    session.flush()
    record(
        session,
        cfg.id,
        now,
        actor,
        MEMBERSHIP_STARTED,
        "household",
        household_id,
        after={
            "membership": m.id,
            "starts_on": starts_on.isoformat(),
            "fee_yen": m.fee_yen,
            "billed_from": month_of(starts_on),
        },
    )
    return m


def end_running(
    session: Session,
    cfg: TenantConfig,
    household_id: int,
    last_day: date,
    now: datetime,
    actor: str,
    billable_from: date | None = None,
) -> Membership:
    """An operator ends the household's membership after `last_day` (inclusive: it is billed for
    that day's month). A membership enrolled ahead that has not started is called off by a last
    day before its start. Refused when no membership runs on or after `last_day`, or when the first
    day without it falls in a closed month. Returns the membership as ended."""
    _lock_household(session, cfg.id, household_id)
    errors = _not_before("ends_on", last_day, billable_from, off=1)
    if errors:
        raise InvalidRequest("The membership cannot end on that day.", errors)
    running = [
        m
        for m in memberships_of(session, cfg.id, household_id)
        if m.ends_on is None or (m.ends_on > last_day and m.ends_on >= m.starts_on)
    ]
    if not running:
        raise Conflict(
            f"Household {household_id} has no membership running after {last_day.isoformat()}.",
            title="No membership to end",
            code=Code.membership_not_running,
        )
    end_membership(session, cfg.id, household_id, last_day, now, actor, "ended by an operator")
    return running[-1]


def end_membership(
    session: Session, tenant_id: str, household_id: int, last_day: date, now: datetime, actor: str, why: str
) -> int:
    """End the household's running memberships after `last_day` (the last day it ran); a membership
    that had not started yet ends before it starts (one called off already stays as it is).
    Returns how many ended."""
    ended = 0
    for m in session.exec(
        select(Membership).where(
            Membership.tenant_id == tenant_id,
            Membership.household_id == household_id,
            (col(Membership.ends_on).is_(None))
            | ((col(Membership.ends_on) > last_day) & (col(Membership.ends_on) >= col(Membership.starts_on))),
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
