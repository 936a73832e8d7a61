"""Billing's step of the retention purge (`dispatcher.platform.retention`): closed months'
statements, settlements and adjustments are accounting records and stay; an anonymised household's
bank account goes, and a household with a recent adjustment is still in use."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from dispatcher.db import changed_rows
from dispatcher.events import chunks
from dispatcher.models import Adjustment, BillingAccount


def households_in_use(session: Session, tenant_id: str, end: datetime) -> set[int]:
    """Households with a billing adjustment made after the horizon."""
    return set(
        session.exec(
            select(Adjustment.household_id).where(
                Adjustment.tenant_id == tenant_id, col(Adjustment.created_at) >= end
            )
        )
    )


def forget_households(session: Session, households: Sequence[int], counts: Counter[str]) -> None:
    for part in chunks(households):
        counts["billing_account.deleted"] += changed_rows(
            session, delete(BillingAccount).where(col(BillingAccount.household_id).in_(part))
        )
