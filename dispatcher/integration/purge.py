"""Integration's step of the retention purge (`dispatcher.platform.retention`): messages made since
the last purge up to the horizon keep which partner got which event type when, not what (manifests
name riders; e-mails go to families); one still pending after so long is given up."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from dispatcher.db import changed_rows, within
from dispatcher.models import DeliveryAttempt, OutboxMessage


def strip_outbox(
    session: Session, tenant_id: str, start: datetime | None, end: datetime, counts: Counter[str]
) -> None:
    old = (col(OutboxMessage.tenant_id) == tenant_id, within(col(OutboxMessage.created_at), start, end))
    counts["outbox_message.given_up"] += changed_rows(
        session,
        update(OutboxMessage)
        .where(*old, col(OutboxMessage.status) == "pending")
        .values(status="failed", next_attempt_at=None),
    )
    counts["delivery_attempt.error_removed"] += changed_rows(
        session,
        update(DeliveryAttempt)
        .where(
            col(DeliveryAttempt.message_id).in_(select(OutboxMessage.id).where(*old)),
            col(DeliveryAttempt.error) != "",
        )
        .values(error=""),
    )
    counts["outbox_message.payload_removed"] += changed_rows(
        session, update(OutboxMessage).where(*old).values(payload={}, recipient="", last_error="")
    )
