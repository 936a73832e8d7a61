"""Partners who receive published events: outbound webhooks and e-mail addresses, per tenant.

A webhook's URL must point at a public address, and one that receives personal data must use
https (`targets`): refused with 422 when the subscription is created, and checked again at every
delivery.

`emit` puts one event into the outbox once for every active subscription that wants it (inside
the caller's transaction, so an event is queued exactly when the change it reports is stored).
Manifests name riders, so only a subscription bound to a taxi company (operator) receives them,
and only for that company's vehicles.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlmodel import Session, col, select

from dispatcher.errors import Code, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.integration.kinds import SUBSCRIPTION_CREATED, SUBSCRIPTION_DEACTIVATED
from dispatcher.integration.targets import target_problem
from dispatcher.models import OutboxMessage, Subscription
from dispatcher.tenants import operator_id as tenant_operator

# event type -> what it carries
EVENT_TYPES: dict[str, str] = {
    "manifest.published": "a vehicle's manifest of the day (riders' names: one taxi company's, https only)",
    "flightplan.published": "the day's drone flights with their missions",
    "delivery.planned": "the delivery plan after the shopping cut-off (drone and ground counts)",
    "stats.daily": "the closed figures of a service day (aggregates only)",
    "ping": "a test event sent on request",
}
PERSONAL = {"manifest.published"}  # bound to one taxi company (and over https: HTTPS_REQUIRED)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$")


def _usable_url(target: str) -> bool:
    """An http(s) URL with a host that the HTTP client accepts as it is."""
    if not URL_RE.match(target):
        return False
    try:
        url = httpx.URL(target)
    except Exception:  # httpx.InvalidURL and friends
        return False
    return url.scheme in ("http", "https") and bool(url.host)


def create_subscription(
    session: Session,
    tenant_id: str,
    channel: str,
    target: str,
    events: list[str],
    now: datetime,
    actor: str,
    operator_key: str | None = None,
    description: str = "",
    allow_hosts: frozenset[str] = frozenset(),
) -> Subscription:
    """Add a partner; a webhook gets a new random secret (returned once, in the subscription).

    A webhook's URL must resolve to public addresses only, unless its host is in `allow_hosts`
    (NORIAI_WEBHOOK_ALLOW_HOSTS), and use https for events in HTTPS_REQUIRED."""
    errors = []
    if channel not in ("webhook", "email"):
        errors.append(field_error("channel", "must be webhook or email"))
    elif channel == "webhook" and not _usable_url(target):
        errors.append(field_error("target", "must be an http(s) URL, e.g. https://partner.example/noriai"))
    elif channel == "webhook" and (problem := target_problem(target, events, allow_hosts)) is not None:
        kind, text = problem
        code = Code.webhook_https_required if kind == "https" else Code.webhook_target_internal
        errors.append(field_error("target", text, code=code))
    elif channel == "email" and not EMAIL_RE.match(target):
        errors.append(field_error("target", "must be an e-mail address"))
    unknown = [e for e in events if e not in EVENT_TYPES]
    if not events or unknown:
        errors.append(field_error("events", f"choose from {', '.join(EVENT_TYPES)}"))
    operator_id = tenant_operator(session, tenant_id, operator_key, errors) if operator_key else None
    if PERSONAL & set(events) and operator_key is None:
        errors.append(
            field_error(
                "operator", "manifests name riders: give the taxi company (operator) that receives them"
            )
        )
    if errors:
        raise InvalidRequest("The subscription cannot be created.", errors)
    sub = Subscription(
        tenant_id=tenant_id,
        channel=channel,
        target=target,
        events=sorted(set(events)),
        secret=secrets.token_hex(32) if channel == "webhook" else "",
        operator_id=operator_id,
        description=description,
        created_at=now,
        created_by=actor,
    )
    session.add(sub)
    session.flush()
    record(
        session,
        tenant_id,
        now,
        actor,
        SUBSCRIPTION_CREATED,
        "subscription",
        sub.id,
        after={"channel": channel, "target": target, "events": sub.events, "operator_id": operator_id},
    )
    return sub


def deactivate(session: Session, tenant_id: str, sub_id: int, now: datetime, actor: str) -> Subscription:
    sub = session.get(Subscription, sub_id)
    if sub is None or sub.tenant_id != tenant_id:
        raise NotFound(f"No subscription {sub_id}.", code=Code.subscription_not_found)
    if sub.active:
        sub.active = False
        session.add(sub)
        record(session, tenant_id, now, actor, SUBSCRIPTION_DEACTIVATED, "subscription", sub.id)
    return sub


def subscribers(
    session: Session,
    tenant_id: str,
    event_type: str,
    channel: str | None = None,
    operator_id: int | None = None,
) -> list[Subscription]:
    """Active subscriptions that want the event (for manifests: of that operator only)."""
    q = select(Subscription).where(Subscription.tenant_id == tenant_id, col(Subscription.active).is_(True))
    if channel is not None:
        q = q.where(Subscription.channel == channel)
    out = []
    for sub in session.exec(q.order_by(col(Subscription.id))):
        if event_type not in sub.events:
            continue
        if event_type in PERSONAL and sub.operator_id != operator_id:
            continue
        out.append(sub)
    return out


def enqueue(
    session: Session,
    sub: Subscription,
    event_type: str,
    payload: dict[str, Any],
    now: datetime,
    event_id: str,
) -> OutboxMessage:
    msg = OutboxMessage(
        tenant_id=sub.tenant_id,
        subscription_id=sub.id,
        event_type=event_type,
        event_id=event_id,
        payload=payload,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(msg)
    return msg


def emit(
    session: Session,
    tenant_id: str,
    event_type: str,
    data: dict[str, Any],
    now: datetime,
    channel: str | None = "webhook",
    operator_id: int | None = None,
) -> list[OutboxMessage]:
    """Queue an event for every matching subscription of the channel (webhooks by default; e-mail
    is composed per partner by the publishing jobs). Returns the queued messages."""
    event_id = uuid.uuid4().hex
    return [
        enqueue(session, sub, event_type, data, now, event_id)
        for sub in subscribers(session, tenant_id, event_type, channel, operator_id)
    ]


def subscription_view(sub: Subscription, with_secret: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": sub.id,
        "channel": sub.channel,
        "target": sub.target,
        "events": sub.events,
        "operator_id": sub.operator_id,
        "description": sub.description,
        "active": sub.active,
        "created_at": sub.created_at.isoformat(),
    }
    if with_secret and sub.secret:
        out["secret"] = sub.secret
    return out
