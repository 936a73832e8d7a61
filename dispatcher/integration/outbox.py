"""Delivering the outbox: signed webhooks and e-mails, retried with backoff, every try logged.

A webhook is an HTTP POST of JSON `{"id", "type", "tenant", "created", "delivery", "data"}` with
the headers `Noriai-Event`, `Noriai-Delivery` and `Noriai-Signature: t=<unix seconds>,v1=<hex>`,
where v1 = HMAC-SHA256(secret, "<t>." + body). Any 2xx answer counts as delivered; anything else
(another status, a timeout, a refused connection) is retried after BACKOFF_S seconds (30 s, 1 min,
2 min, 5 min, 10 min, 30 min, 1 h) until MAX_ATTEMPTS tries have failed. Each try is a
`DeliveryAttempt` row: the delivery log. It keeps the status code, the time taken and, for a try
without an answer, the kind of failure (`ConnectError`, `ReadTimeout`, a refused target), never
the answer's body: a partner's server, or whatever the URL pointed at, does not speak through it.

Webhooks go only to public addresses and personal data only over https (`targets`): checked
again at every try, on the addresses the connection then uses.

A message is claimed before it is sent (a conditional UPDATE that also pushes its next attempt out
by LEASE), so two scheduler processes never send it twice at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.db import id_of
from dispatcher.integration.targets import HTTPS_REQUIRED, TargetRefused, guarded_client, ssl_context
from dispatcher.mailer import build, send
from dispatcher.models import DeliveryAttempt, OutboxMessage, Subscription

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BACKOFF_S = (30, 60, 120, 300, 600, 1800, 3600)  # wait after the 1st, 2nd, ... failed try
TIMEOUT_S = 10.0
LEASE = timedelta(minutes=2)
SIGNATURE_TOLERANCE_S = 300


def signature(secret: str, body: bytes, t: int) -> str:
    """The Noriai-Signature header value for a body sent at unix time t."""
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, now_unix: float | None = None) -> bool:
    """What a receiver does: recompute the HMAC and compare in constant time; refuse a signature
    older than SIGNATURE_TOLERANCE_S (a replayed request). `now_unix` None skips the age check."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    expected = signature(secret, body, t).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        return False
    return now_unix is None or abs(now_unix - t) <= SIGNATURE_TOLERANCE_S


def backoff(failed_tries: int) -> timedelta:
    return timedelta(seconds=BACKOFF_S[min(failed_tries, len(BACKOFF_S)) - 1])


def envelope(msg: OutboxMessage) -> bytes:
    body = {
        "id": msg.event_id,
        "type": msg.event_type,
        "tenant": msg.tenant_id,
        "created": msg.created_at.isoformat(),
        "delivery": msg.id,
        "data": msg.payload,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _failure(e: Exception) -> str:
    """What the log says about a try without an answer: the kind of failure, not the OS's or the
    server's words (which would tell an open port from a closed one)."""
    if isinstance(e, TargetRefused):
        return f"refused: {e}"[:500]
    if "CERTIFICATE_VERIFY_FAILED" in str(e):
        return f"{type(e).__name__}: the TLS certificate is not trusted"
    return type(e).__name__


def _post(client: httpx.Client, sub: Subscription, msg: OutboxMessage) -> tuple[int | None, str]:
    if msg.event_type in HTTPS_REQUIRED and not sub.target.lower().startswith("https://"):
        return None, f"refused: {msg.event_type} carries personal data and goes over https:// only"
    body = envelope(msg)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Noriai-Webhooks/1",
        "Noriai-Event": msg.event_type,
        "Noriai-Delivery": str(msg.id),
        # real time, not the dispatcher's clock: the receiver checks it against its own clock
        "Noriai-Signature": signature(sub.secret, body, int(time.time())),
    }
    try:
        # the status line and headers only: the body is never read, kept or logged
        with client.stream("POST", sub.target, content=body, headers=headers) as r:
            code = r.status_code
    except Exception as e:  # refused, timed out, not public, or a URL httpx cannot use: a failed try
        return None, _failure(e)
    if 200 <= code < 300:
        return code, ""
    return code, f"HTTP {code}"


def _mail(ctx: Dispatcher, sub: Subscription, msg: OutboxMessage) -> tuple[int | None, str]:
    """Send an e-mail message (payload: subject, body, attachments) to the subscription's address."""
    if ctx.mail is None:
        return None, "e-mail is not configured: set NORIAI_SMTP_HOST (and NORIAI_MAIL_FROM)"
    p = msg.payload
    try:
        send(ctx.mail, build(ctx.mail.sender, sub.target, p["subject"], p["body"], p.get("attachments")))
    except Exception as e:  # smtplib errors, refused connections, timeouts: retried later
        return None, f"{type(e).__name__}: {e}"[:500]
    return 250, ""


def _claim(session: Session, msg: OutboxMessage, now: datetime) -> bool:
    res = session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == msg.id,
            col(OutboxMessage.status) == "pending",
            col(OutboxMessage.attempts) == msg.attempts,
            col(OutboxMessage.next_attempt_at) <= now,
        )
        .values(next_attempt_at=now + LEASE)
    )
    session.commit()
    return res.rowcount == 1


def deliver_due(ctx: Dispatcher, tenant_id: str | None = None, limit: int = 200) -> dict[str, int]:
    """Send every message whose next attempt is due; returns counts of what happened."""
    now = ctx.clock.now()
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    with Session(ctx.engine) as session:  # the scheduler asks every minute: mostly nothing is due
        anything = select(OutboxMessage.id).where(
            OutboxMessage.status == "pending", col(OutboxMessage.next_attempt_at) <= now
        )
        if tenant_id is not None:
            anything = anything.where(OutboxMessage.tenant_id == tenant_id)
        if session.exec(anything.limit(1)).first() is None:
            return counts  # (building the TLS context alone takes ~45 ms: certifi's CA bundle)
    client = guarded_client(ctx.webhook_allow_hosts, ssl_context(ctx.webhook_ca_file), TIMEOUT_S)
    with client, Session(ctx.engine, expire_on_commit=False) as session:
        q = select(OutboxMessage).where(
            OutboxMessage.status == "pending", col(OutboxMessage.next_attempt_at) <= now
        )
        if tenant_id is not None:
            q = q.where(OutboxMessage.tenant_id == tenant_id)
        due = session.exec(
            q.order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id)).limit(limit)
        ).all()
        subs = (
            {
                s.id: s
                for s in session.exec(
                    select(Subscription).where(
                        col(Subscription.id).in_({m.subscription_id for m in due if m.subscription_id})
                    )
                )
            }
            if due
            else {}
        )
        for msg in due:
            if not _claim(session, msg, ctx.clock.now()):  # the time of this claim, not of the batch
                continue  # another process has it
            sub = subs.get(msg.subscription_id) if msg.subscription_id is not None else None
            if sub is None:  # a message to one address (a family's watch-over e-mail)
                sub = Subscription(
                    tenant_id=msg.tenant_id, channel="email", target=msg.recipient, events=[], created_at=now
                )
            t0 = time.perf_counter()
            if not sub.active:
                code, error = None, "the subscription was deactivated"
            elif sub.channel == "webhook":
                code, error = _post(client, sub, msg)
            else:
                code, error = _mail(ctx, sub, msg)
            took = (time.perf_counter() - t0) * 1000
            at = ctx.clock.now()
            msg = session.get_one(OutboxMessage, msg.id, populate_existing=True)
            msg.attempts += 1
            session.add(
                DeliveryAttempt(
                    message_id=id_of(msg),
                    at=at,
                    number=msg.attempts,
                    status_code=code,
                    error=error,
                    duration_ms=round(took, 1),
                )
            )
            if not error:
                msg.status, msg.delivered_at, msg.last_error = "delivered", at, ""
                counts["delivered"] += 1
            elif msg.attempts >= MAX_ATTEMPTS or not sub.active:
                msg.status, msg.last_error = "failed", error
                counts["failed"] += 1
                log.warning("gave up delivering %s #%s to %s: %s", msg.event_type, msg.id, sub.target, error)
            else:
                msg.next_attempt_at, msg.last_error = at + backoff(msg.attempts), error
                counts["retrying"] += 1
            session.add(msg)
            session.commit()
    return counts


def delivery_log(
    ctx: Dispatcher, tenant_id: str, subscription_id: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest messages with every try: when, the answer or the error."""
    with Session(ctx.engine) as session:
        q = select(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id)
        if subscription_id is not None:
            q = q.where(OutboxMessage.subscription_id == subscription_id)
        msgs = session.exec(q.order_by(col(OutboxMessage.id).desc()).limit(limit)).all()
        ids = [m.id for m in msgs]
        tries: dict[int, list[DeliveryAttempt]] = {}
        if ids:
            for a in session.exec(
                select(DeliveryAttempt)
                .where(col(DeliveryAttempt.message_id).in_(ids))
                .order_by(col(DeliveryAttempt.id))
            ):
                tries.setdefault(a.message_id, []).append(a)
    return [
        {
            "id": m.id,
            "subscription_id": m.subscription_id,
            "event_type": m.event_type,
            "event_id": m.event_id,
            "status": m.status,
            "created_at": m.created_at.isoformat(),
            "next_attempt_at": m.next_attempt_at.isoformat()
            if m.status == "pending" and m.next_attempt_at
            else None,
            "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None,
            "attempts": [
                {
                    "number": a.number,
                    "at": a.at.isoformat(),
                    "status_code": a.status_code,
                    "error": a.error,
                    "duration_ms": a.duration_ms,
                }
                for a in tries.get(id_of(m), [])
            ],
        }
        for m in msgs
    ]
