"""Watch-over (viewing activity, settings, away mode, alerts, the family's acknowledge link) and
reminders on the TV."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from api.deps import get_ctx, get_household, get_whole_household, require
from api.pages import PAGE_HEADERS, page_tenant, templates, tenant_prefix, towns_page
from api.schemas.watchover import (
    Acknowledged,
    ActivityKept,
    Alert,
    Away,
    Dismissed,
    DueReminder,
    Reminder,
    ReminderCreated,
    WatchOverOut,
    WatchSettings,
)
from dispatcher.care.reminders import acknowledge, create, due, listing, remove
from dispatcher.care.watchover import (
    Consent,
    acknowledge_by_operator,
    acknowledge_link,
    activity,
    alerts,
    configure,
    link_tenant,
    set_away,
    settings,
)
from dispatcher.context import Dispatcher
from dispatcher.db import RowId
from dispatcher.errors import Code, DomainError, Forbidden, NotFound
from dispatcher.identity.auth import HouseholdPrincipal, Principal
from dispatcher.integration.subscriptions import EMAIL_RE
from dispatcher.models import Role
from dispatcher.timeline import Day, Instant, iso_local

router = APIRouter(prefix="/api/v1", tags=["watch-over and reminders"])
pages = APIRouter(include_in_schema=False)
Ctx = Annotated[Dispatcher, Depends(get_ctx)]
Operator = Annotated[Principal, Depends(require(Role.operator))]
Home = Annotated[HouseholdPrincipal, Depends(get_household)]
WholeHome = Annotated[HouseholdPrincipal, Depends(get_whole_household)]  # not a family member's phone


class Activity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["power_on", "power_off", "channel", "key"]
    at: Instant | None = Field(None, description="when it happened; default now")


@router.post(
    "/tv/activity",
    status_code=202,
    response_model=ActivityKept,
    summary="The set-top box reports viewing activity (watch-over)",
)
def tv_activity(body: Activity, hp: Home, ctx: Ctx) -> dict[str, object]:
    if not hp.actor.startswith("device:"):
        raise Forbidden(
            "Only the household's set-top box reports viewing activity.", code=Code.watch_not_a_box
        )
    now = ctx.clock.now()
    at = min(body.at, now) if body.at is not None else now
    return {"kept": activity(ctx, hp.tenant_id, hp.household_id, body.kind, at, hp.actor)}


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=60)
    email: str = Field(max_length=200)
    relation: str = Field("", max_length=30)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if not EMAIL_RE.match(v):
            raise ValueError("must be an e-mail address")
        return v


class ConsentIn(BaseModel):
    """The resident's consent to the watch-over, as given."""

    model_config = ConfigDict(extra="forbid")
    on: Day = Field(description="the day it was given (today or before)")
    method: Literal["written", "oral", "phone"] = Field(description="書面, 口頭 or 電話")
    given_by: str = Field(max_length=60, description="who gave it: the resident's name (required)")
    recorded_by: str = Field(
        "", max_length=60, description="who took it (default: the signed-in staff member)"
    )


class WatchIn(BaseModel):
    """Opt the household in (enabled) with the family to tell, the rules and the resident's
    consent (required to switch it on; a running watch-over keeps the consent it has)."""

    model_config = ConfigDict(extra="forbid")
    enabled: StrictBool = True
    consent: ConsentIn | None = None
    contacts: list[Contact] = Field(default=[], max_length=5)
    threshold_hours: float = Field(
        24.0, ge=1, le=168, description="hours without TV activity before the family hears"
    )
    sleep_start: str = Field("21:00", pattern=r"^\d{2}:\d{2}$")
    sleep_end: str = Field("07:00", pattern=r"^\d{2}:\d{2}$")
    escalate_minutes: int = Field(
        120, ge=10, le=24 * 60, description="unanswered this long: the operators are told"
    )


@router.put(
    "/households/{household_id}/watch",
    response_model=WatchSettings,
    summary="Set up (or stop) a household's watch-over",
)
def put_watch(household_id: RowId, body: WatchIn, p: Operator, ctx: Ctx) -> dict[str, object]:
    w = configure(
        ctx,
        p.tenant_id,
        household_id,
        p.actor,
        body.enabled,
        [c.model_dump() for c in body.contacts],
        body.threshold_hours,
        body.sleep_start,
        body.sleep_end,
        body.escalate_minutes,
        None
        if body.consent is None
        else Consent(
            body.consent.on,
            body.consent.method,
            body.consent.given_by,
            body.consent.recorded_by.strip() or p.username,
        ),
    )
    view = settings(ctx, p.tenant_id, household_id)
    return {
        "household_id": household_id,
        "enabled": w.enabled,
        "threshold_hours": w.threshold_hours,
        "sleep": [w.sleep_start, w.sleep_end],
        "escalate_minutes": w.escalate_minutes,
        "contacts": len(body.contacts),
        "consent": view["consent"],
        "last_activity_at": view["last_activity_at"],
    }


@router.get(
    "/households/{household_id}/watch",
    response_model=WatchOverOut,
    summary="A household's watch-over: rules, family contacts, the consent",
)
def get_watch(household_id: RowId, p: Operator, ctx: Ctx) -> dict[str, Any]:
    return settings(ctx, p.tenant_id, household_id)


class AwayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    until: Instant | None = Field(None, description="back on; null ends the away period now")
    reason: str = Field("", max_length=100, description="e.g. 旅行, 入院")


def _away(ctx: Dispatcher, tenant_id: str, household_id: int, body: AwayIn, actor: str) -> dict[str, object]:
    w = set_away(ctx, tenant_id, household_id, body.until, body.reason, actor)
    return {
        "household_id": household_id,
        "away_until": iso_local(w.away_until, ctx.config(tenant_id).tz),
        "reason": w.away_reason,
    }


@router.put(
    "/households/{household_id}/watch/away",
    response_model=Away,
    summary="Pause the watch-over while away (travel, hospital)",
)
def put_away(household_id: RowId, body: AwayIn, p: Operator, ctx: Ctx) -> dict[str, object]:
    return _away(ctx, p.tenant_id, household_id, body, p.actor)


@router.put(
    "/me/watch/away", response_model=Away, summary="The household: away until ... (the watch-over pauses)"
)
def me_away(body: AwayIn, hp: WholeHome, ctx: Ctx) -> dict[str, object]:
    return _away(ctx, hp.tenant_id, hp.household_id, body, hp.actor)


@router.get(
    "/watch/alerts",
    response_model=list[Alert],
    summary="Open watch-over alerts, escalated ones first (whom to call)",
)
def get_alerts(p: Operator, ctx: Ctx) -> list[dict[str, Any]]:
    return alerts(ctx, p.tenant_id)


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field("", max_length=300, description="what the operator found out")


@router.post(
    "/watch/alerts/{episode_id}/ack", response_model=Acknowledged, summary="An operator dealt with the alert"
)
def ack_alert(episode_id: RowId, body: AckIn, p: Operator, ctx: Ctx) -> dict[str, object]:
    ep = acknowledge_by_operator(ctx, p.tenant_id, episode_id, p.actor, body.note)
    return {"id": ep.id, "acknowledged_by": ep.acknowledged_by}


class ReminderIn(BaseModel):
    """Once (`once_at`), or on `days` at `at_time`."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=120)
    kind: Literal["medication", "rubbish", "other"] = "other"
    once_at: Instant | None = None
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = []
    at_time: str | None = Field(None, pattern=r"^\d{2}:\d{2}$")


@router.post(
    "/households/{household_id}/reminders",
    status_code=201,
    response_model=ReminderCreated,
    summary="A reminder for the household's TV",
)
def add_reminder(household_id: RowId, body: ReminderIn, p: Operator, ctx: Ctx) -> dict[str, object]:
    r = create(
        ctx, p.tenant_id, household_id, body.text, p.actor, body.kind, body.once_at, body.days, body.at_time
    )
    return {"id": r.id, "household_id": household_id}


@router.get(
    "/households/{household_id}/reminders", response_model=list[Reminder], summary="The household's reminders"
)
def get_reminders(household_id: RowId, p: Operator, ctx: Ctx) -> list[dict[str, Any]]:
    return listing(ctx, p.tenant_id, household_id)


@router.delete("/reminders/{reminder_id}", status_code=204, summary="Stop a reminder")
def delete_reminder(reminder_id: RowId, p: Operator, ctx: Ctx) -> None:
    remove(ctx, p.tenant_id, reminder_id, p.actor)


@router.get(
    "/me/reminders", response_model=list[DueReminder], summary="Reminders to show now (dismissed with Enter)"
)
def my_reminders(hp: WholeHome, ctx: Ctx) -> list[dict[str, Any]]:
    return due(ctx, hp.tenant_id, hp.household_id)


class Dismiss(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=40)
    due_at: Instant


@router.post("/me/reminders/ack", response_model=Dismissed, summary="The household dismissed a reminder")
def dismiss(body: Dismiss, hp: WholeHome, ctx: Ctx) -> dict[str, object]:
    if not acknowledge(ctx, hp.tenant_id, hp.household_id, body.key, body.due_at, hp.actor):
        raise NotFound(f"The reminder {body.key} is not on show any more.", code=Code.notice_gone)
    return {"dismissed": body.key}


def _ack_page(
    request: Request, state: str, token: str, tenant_id: str | None, status: int = 200
) -> HTMLResponse:
    """The family's page in its municipality's name: the one in the path (/t/<id>/watch/...), else
    the link's own. An unknown municipality in the path is the 404 page of municipalities."""
    ctx: Dispatcher = request.app.state.ctx
    if tenant_id is not None:
        found = page_tenant(request, tenant_id)
        if found is None:
            return towns_page(request, "", unknown=tenant_id)
    else:
        found = page_tenant(request, link_tenant(ctx, token))  # an unknown link: the only town, if one
        if found is None:
            state, status = "unknown", 404
    resp = templates.TemplateResponse(
        request,
        "watch.html",
        {
            "title": "のりあい 見守り",
            "tenant": found[0] if found else None,
            "page": "watch",
            "state": state,
            "token": token,
            "base": tenant_prefix(tenant_id) if tenant_id is not None else "",
        },
        status_code=status,
    )
    resp.headers.update(PAGE_HEADERS)
    return resp


@pages.get("/watch/ack/{token}", response_class=HTMLResponse)
def ack_page(token: str, request: Request) -> HTMLResponse:
    """The family's link: a page with one button (a link opened by a mail scanner changes nothing)."""
    return _ack_page(request, "ask", token, None)


@pages.post("/watch/ack/{token}", response_class=HTMLResponse)
def ack_post(token: str, request: Request) -> HTMLResponse:
    try:
        acknowledge_link(request.app.state.ctx, token)
    except DomainError:
        return _ack_page(request, "unknown", token, None, status=404)
    return _ack_page(request, "done", token, None)


@pages.get("/t/{tenant_id}/watch/ack/{token}", response_class=HTMLResponse)
def town_ack_page(tenant_id: str, token: str, request: Request) -> HTMLResponse:
    """The link as e-mails carry it: under its municipality's prefix."""
    return _ack_page(request, "ask", token, tenant_id)


@pages.post("/t/{tenant_id}/watch/ack/{token}", response_class=HTMLResponse)
def town_ack_post(tenant_id: str, token: str, request: Request) -> HTMLResponse:
    try:
        acknowledge_link(request.app.state.ctx, token, tenant_id)
    except DomainError:
        return _ack_page(request, "unknown", token, tenant_id, status=404)
    return _ack_page(request, "done", token, tenant_id)
