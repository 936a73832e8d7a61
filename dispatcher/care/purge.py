"""Care's step of the retention purge (`dispatcher.platform.retention`): watch-over episodes ended
before the horizon, a household's watch-over and family contacts once it opted out, old away
reasons; reminders removed or past, and old acknowledgements."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from dispatcher.db import changed_rows
from dispatcher.events import chunks
from dispatcher.models import FamilyContact, Reminder, ReminderAck, WatchEpisode, WatchOver


def purge_reminders(session: Session, tenant_id: str, end: datetime, counts: Counter[str]) -> None:
    past = or_(col(Reminder.active).is_(False), col(Reminder.once_at) < end)
    counts["reminder.deleted"] += changed_rows(
        session,
        delete(Reminder).where(col(Reminder.tenant_id) == tenant_id, col(Reminder.created_at) < end, past),
    )
    counts["reminder_ack.deleted"] += changed_rows(
        session,
        delete(ReminderAck).where(
            col(ReminderAck.tenant_id) == tenant_id, col(ReminderAck.acknowledged_at) < end
        ),
    )


def purge_watch_over(session: Session, tenant_id: str, end: datetime, counts: Counter[str]) -> None:
    counts["watch_episode.deleted"] += changed_rows(
        session,
        delete(WatchEpisode).where(
            col(WatchEpisode.tenant_id) == tenant_id, col(WatchEpisode.ended_at) < end
        ),
    )
    opted_out = list(
        session.exec(
            select(WatchOver.household_id).where(
                WatchOver.tenant_id == tenant_id,
                col(WatchOver.enabled).is_(False),
                col(WatchOver.updated_at) < end,
            )
        )
    )
    _forget_watch_over(session, opted_out, counts)
    counts["watch_over.away_reason_removed"] += changed_rows(
        session,
        update(WatchOver)
        .where(
            col(WatchOver.tenant_id) == tenant_id,
            col(WatchOver.away_until) < end,
            col(WatchOver.away_reason) != "",
        )
        .values(away_reason=""),
    )


def _forget_watch_over(session: Session, households: Sequence[int], counts: Counter[str]) -> None:
    for part in chunks(households):
        counts["family_contact.deleted"] += changed_rows(
            session, delete(FamilyContact).where(col(FamilyContact.household_id).in_(part))
        )
        counts["watch_over.deleted"] += changed_rows(
            session, delete(WatchOver).where(col(WatchOver.household_id).in_(part))
        )


def households_in_use(session: Session, tenant_id: str) -> set[int]:
    """Households watched over."""
    return set(
        session.exec(
            select(WatchOver.household_id).where(
                WatchOver.tenant_id == tenant_id, col(WatchOver.enabled).is_(True)
            )
        )
    )


def forget_households(session: Session, households: Sequence[int], counts: Counter[str]) -> None:
    """An anonymised household's reminders, their acknowledgements and its watch-over."""
    for part in chunks(households):
        counts["reminder.deleted"] += changed_rows(
            session, delete(Reminder).where(col(Reminder.household_id).in_(part))
        )
        counts["reminder_ack.deleted"] += changed_rows(
            session, delete(ReminderAck).where(col(ReminderAck.household_id).in_(part))
        )
    _forget_watch_over(session, households, counts)
