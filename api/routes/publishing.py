"""Partners' subscriptions (webhooks, e-mail), their delivery log, and the scheduler's jobs."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from api.deps import get_ctx, require
from api.schemas.publishing import Job, Message, NewSubscription, Queued
from api.schemas.publishing import Subscription as SubscriptionOut
from dispatcher.context import Dispatcher
from dispatcher.db import RowId, session_scope
from dispatcher.errors import Code, NotFound
from dispatcher.identity.auth import Principal
from dispatcher.integration.outbox import delivery_log
from dispatcher.integration.subscriptions import (
    EVENT_TYPES,
    create_subscription,
    deactivate,
    enqueue,
    subscription_view,
)
from dispatcher.models import Role, Subscription
from dispatcher.platform.scheduler import listing

router = APIRouter(prefix="/api/v1", tags=["publishing"])
admin = require()  # admins only


class SubscriptionIn(BaseModel):
    """A partner: `target` is the webhook URL or the e-mail address; `operator` (a taxi company's
    id) is required for manifests, which name riders."""

    model_config = ConfigDict(extra="forbid")
    channel: Literal["webhook", "email"]
    target: str = Field(min_length=3, max_length=500)
    events: list[str] = Field(min_length=1, description=", ".join(EVENT_TYPES))
    operator: str | None = Field(None, max_length=64)
    description: str = Field("", max_length=200)


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=NewSubscription,
    response_model_exclude_unset=True,  # `secret` only for a webhook
    summary="Add a partner; a webhook's secret is shown once",
)
def add_subscription(
    body: SubscriptionIn, p: Principal = Depends(admin), ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    with session_scope(ctx.engine) as session:
        sub = create_subscription(
            session,
            p.tenant_id,
            body.channel,
            body.target,
            body.events,
            ctx.clock.now(),
            p.actor,
            operator_key=body.operator,
            description=body.description,
            allow_hosts=ctx.webhook_allow_hosts,
        )
        return subscription_view(sub, with_secret=True)


@router.get(
    "/subscriptions",
    response_model=list[SubscriptionOut],
    summary="Partners of this municipality (secrets are not shown)",
)
def list_subscriptions(
    p: Principal = Depends(admin), ctx: Dispatcher = Depends(get_ctx)
) -> list[dict[str, Any]]:
    with Session(ctx.engine) as session:
        subs = session.exec(
            select(Subscription).where(Subscription.tenant_id == p.tenant_id).order_by(col(Subscription.id))
        ).all()
    return [subscription_view(s) for s in subs]


@router.delete(
    "/subscriptions/{sub_id}",
    response_model=SubscriptionOut,
    summary="Stop sending to a partner (the log is kept)",
)
def remove_subscription(
    sub_id: RowId, p: Principal = Depends(admin), ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    with session_scope(ctx.engine) as session:
        return subscription_view(deactivate(session, p.tenant_id, sub_id, ctx.clock.now(), p.actor))


@router.post(
    "/subscriptions/{sub_id}/ping",
    status_code=202,
    response_model=Queued,
    summary="Queue a test event for a partner",
)
def ping(sub_id: RowId, p: Principal = Depends(admin), ctx: Dispatcher = Depends(get_ctx)) -> dict[str, Any]:
    now = ctx.clock.now()
    with session_scope(ctx.engine) as session:
        sub = session.get(Subscription, sub_id)
        if sub is None or sub.tenant_id != p.tenant_id or not sub.active:
            raise NotFound(f"No active subscription {sub_id}.", code=Code.subscription_not_found)
        payload: dict[str, Any] = {"message": "Noriai test event"}
        if sub.channel == "email":
            payload = {
                "subject": "【のりあい】テスト送信",
                "body": "のりあいからのテストメールです。",
                "attachments": [],
            }
        msg = enqueue(session, sub, "ping", payload, now, uuid.uuid4().hex)
        session.flush()
        return {"message_id": msg.id, "status": msg.status}


@router.get(
    "/subscriptions/{sub_id}/deliveries",
    response_model=list[Message],
    summary="The delivery log: every message and every try",
)
def deliveries(
    sub_id: RowId,
    limit: int = Query(100, ge=1, le=1000),
    p: Principal = Depends(admin),
    ctx: Dispatcher = Depends(get_ctx),
) -> list[dict[str, Any]]:
    with Session(ctx.engine) as session:
        sub = session.get(Subscription, sub_id)
    if sub is None or sub.tenant_id != p.tenant_id:
        raise NotFound(f"No subscription {sub_id}.", code=Code.subscription_not_found)
    return delivery_log(ctx, p.tenant_id, sub_id, limit)


@router.get("/jobs", response_model=list[Job], summary="The scheduler's jobs: trigger, next run, last run")
def jobs(
    p: Principal = Depends(require(Role.operator)), ctx: Dispatcher = Depends(get_ctx)
) -> list[dict[str, Any]]:
    return [j for j in listing(ctx) if j["tenant"] == p.tenant_id]
