"""Partners' subscriptions, their delivery log, and the scheduler's jobs
(dispatcher.integration.subscriptions, dispatcher.integration.outbox, dispatcher.platform.scheduler)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.base import ApiModel, LocalTime, Number, OffsetTime


class Subscription(ApiModel):
    """A partner that receives events by webhook or e-mail."""

    id: int
    channel: Literal["webhook", "email"]
    target: str = Field(description="the webhook URL or the e-mail address")
    events: list[str]
    operator_id: int | None = Field(description="the taxi company whose manifests it may receive")
    description: str
    active: bool
    created_at: OffsetTime


class NewSubscription(Subscription):
    """A partner just added; a webhook's signing secret is shown this once."""

    secret: str | None = Field(None, description="webhooks only: the HMAC signing secret")


class Queued(ApiModel):
    message_id: int
    status: Literal["pending", "delivered", "failed"]


class Attempt(ApiModel):
    """One try to deliver a message."""

    number: int
    at: OffsetTime
    status_code: int | None = Field(description="the partner's HTTP status; null: no answer")
    error: str
    duration_ms: Number = Field(description="milliseconds")


class Message(ApiModel):
    """A message to a partner with every try."""

    id: int
    subscription_id: int | None
    event_type: str
    event_id: str = Field(description="the same for every partner of one event")
    status: Literal["pending", "delivered", "failed"]
    created_at: OffsetTime
    next_attempt_at: OffsetTime | None = Field(description="pending messages: the next try")
    delivered_at: OffsetTime | None
    attempts: list[Attempt]


class Job(ApiModel):
    """A scheduled job of the municipality."""

    tenant: str
    job: str = Field(description="e.g. reoptimize, delivery-cutoff, publish-morning")
    trigger: str = Field(description="human-readable, e.g. daily 11:00")
    next_run: LocalTime | None
    last_due: LocalTime | None = Field(description="the fire time the last run served")
    last_status: Literal["", "ok", "failed", "skipped", "missed"] = Field(description="empty: never run")
    runs: int
    missed: int = Field(description="fire times folded into a later run or past their grace time")
