"""The watch-over service (見守り, opt-in per household): the family hears when the TV stays unused.

The set-top box reports viewing activity (power on or off, a channel change, a key on our TV page)
with its device token. When a household that opted in has had no activity for longer than its
threshold (hours, from the last activity, or from when its away period ended), the `watch-over`
job opens an episode and e-mails every family contact once: what happened, when the TV was last
used, whom to call, and a link to acknowledge. No e-mail goes out in the household's sleep hours
(it waits for the morning) or while it is away (travel, hospital). If nobody acknowledges within
`escalate_minutes`, the episode is escalated to the operators' console; a household without
family contacts goes to the operators at once. The next activity ends the episode.

Switching it on rests on the resident's recorded consent (`Consent`: the day, how it was given,
who gave it, who recorded it); without one it is refused. A change of the settings of a running
watch-over keeps the consent it has; switching it on again after it was off needs a new one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from dispatcher.care.kinds import (
    WATCH_ACKNOWLEDGED,
    WATCH_ALERTED,
    WATCH_AWAY,
    WATCH_CONFIGURED,
    WATCH_ENDED,
    WATCH_ESCALATED,
)
from dispatcher.context import Dispatcher
from dispatcher.errors import Code, Conflict, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.models import FamilyContact, Household, OutboxMessage, Resident, WatchEpisode, WatchOver
from dispatcher.tenants import household
from dispatcher.timeline import iso_local, local_date, parse_hhmm

CONSENT_METHODS = ("written", "oral", "phone")  # 書面, 口頭, 電話
MAX_AWAY_DAYS = 366  # an away period (travel, a hospital stay) ends within a year; longer is switching off


@dataclass(frozen=True)
class Consent:
    """The resident's consent to the watch-over: the day it was given, how (CONSENT_METHODS), who
    gave it (the resident's name) and who recorded it (the staff member who took it)."""

    on: date
    method: str
    given_by: str
    recorded_by: str


def consent_of(w: WatchOver) -> Consent | None:
    """The consent a watch-over rests on, or None (set up before consents were recorded)."""
    if w.consent_on is None:
        return None
    return Consent(w.consent_on, w.consent_method, w.consent_given_by, w.consent_recorded_by)


def _consent_errors(consent: Consent, today: date) -> list[dict[str, Any]]:
    errors = []
    if consent.on > today:
        errors.append(
            field_error("consent.on", f"must be {today.isoformat()} or earlier", code=Code.consent_in_future)
        )
    if consent.method not in CONSENT_METHODS:
        errors.append(
            field_error("consent.method", f"one of {', '.join(CONSENT_METHODS)}", code=Code.field_invalid)
        )
    if not consent.given_by.strip():
        errors.append(field_error("consent.given_by", "name who gave the consent", code=Code.field_required))
    if not consent.recorded_by.strip():
        errors.append(
            field_error("consent.recorded_by", "name who recorded the consent", code=Code.field_required)
        )
    return errors


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def asleep(w: WatchOver, local: time) -> bool:
    """Whether a local time of day falls in the household's sleep hours (they may span midnight)."""
    start, end = parse_hhmm(w.sleep_start), parse_hhmm(w.sleep_end)
    if start == end:
        return False
    return start <= local < end if start < end else local >= start or local < end


def configure(
    ctx: Dispatcher,
    tenant_id: str,
    household_id: int,
    actor: str,
    enabled: bool,
    contacts: list[dict[str, str]],
    threshold_hours: float = 24.0,
    sleep_start: str = "21:00",
    sleep_end: str = "07:00",
    escalate_minutes: int = 120,
    consent: Consent | None = None,
) -> WatchOver:
    """Opt a household in (or out) with its family contacts, its rules and the consent it rests
    on (required to switch it on; a running watch-over with a consent keeps it when its settings
    change)."""
    now = ctx.clock.now()
    errors = []
    if enabled and consent is not None:
        errors += _consent_errors(consent, local_date(now, ctx.config(tenant_id).tz))
    for name, value in (("sleep_start", sleep_start), ("sleep_end", sleep_end)):
        try:
            parse_hhmm(value)
        except (ValueError, AttributeError):
            errors.append(field_error(name, "must be a time of day such as 21:00"))
    if enabled and not contacts:
        errors.append(field_error("contacts", "give at least one family member to tell (name and e-mail)"))
    with Session(ctx.engine, expire_on_commit=False) as session:
        household(session, tenant_id, household_id)
        w = session.get(WatchOver, household_id)
        kept = consent_of(w) if w is not None and w.enabled else None
        no_consent = enabled and consent is None and kept is None
        if no_consent:
            errors.append(
                field_error(
                    "consent",
                    "record the resident's consent (day, how, who gave it) to switch the watch-over on",
                    code=Code.watch_consent_missing,
                )
            )
        if errors:
            raise InvalidRequest(
                "The watch-over cannot be set up.",
                errors,
                code=Code.watch_consent_missing if no_consent else None,
            )
        if w is None:
            w = WatchOver(household_id=household_id, tenant_id=tenant_id, enabled_at=now, updated_at=now)
        elif enabled and not w.enabled:
            w.enabled_at = now  # the silence counts from when it is switched on again
        if not enabled:
            _end_open(session, tenant_id, household_id, now, actor, "opted out")
        w.enabled, w.threshold_hours, w.escalate_minutes = enabled, threshold_hours, escalate_minutes
        w.sleep_start, w.sleep_end, w.updated_at, w.updated_by = sleep_start, sleep_end, now, actor
        if enabled and consent is not None:
            w.consent_on, w.consent_method = consent.on, consent.method
            w.consent_given_by, w.consent_recorded_by = consent.given_by.strip(), consent.recorded_by.strip()
            w.consent_recorded_at = now
        session.add(w)
        for old in session.exec(select(FamilyContact).where(FamilyContact.household_id == household_id)):
            session.delete(old)
        for c in contacts:
            session.add(
                FamilyContact(
                    tenant_id=tenant_id,
                    household_id=household_id,
                    name=c["name"],
                    email=c["email"],
                    relation=c.get("relation", ""),
                )
            )
        record(
            session,
            tenant_id,
            now,
            actor,
            WATCH_CONFIGURED,
            "household",
            household_id,
            after={
                "enabled": enabled,
                "threshold_hours": threshold_hours,
                "contacts": len(contacts),
                "sleep": [sleep_start, sleep_end],
                "escalate_minutes": escalate_minutes,
                **(
                    {
                        "consent_on": consent.on.isoformat(),
                        "consent_method": consent.method,
                        "consent_given_by": consent.given_by.strip(),
                        "consent_recorded_by": consent.recorded_by.strip(),
                    }
                    if enabled and consent is not None
                    else {}
                ),
            },
        )
        session.commit()
        return w


def settings(ctx: Dispatcher, tenant_id: str, household_id: int) -> dict[str, Any]:
    """A household's watch-over as set up (for the operators: contacts and the consent included);
    `set_up` False and the defaults when it never was."""
    tz = ctx.config(tenant_id).tz
    with Session(ctx.engine) as session:
        household(session, tenant_id, household_id)
        w = session.get(WatchOver, household_id)
        contacts = session.exec(
            select(FamilyContact)
            .where(FamilyContact.household_id == household_id)
            .order_by(col(FamilyContact.id))
        ).all()
    if w is None:
        w = WatchOver(
            household_id=household_id,
            tenant_id=tenant_id,
            enabled=False,
            enabled_at=ctx.clock.now(),
            updated_at=ctx.clock.now(),
        )
        set_up = False
    else:
        set_up = True
    c = consent_of(w)
    return {
        "household_id": household_id,
        "set_up": set_up,
        "enabled": w.enabled,
        "threshold_hours": w.threshold_hours,
        "sleep": [w.sleep_start, w.sleep_end],
        "escalate_minutes": w.escalate_minutes,
        "contacts": [{"name": x.name, "relation": x.relation, "email": x.email} for x in contacts],
        "consent": None
        if c is None
        else {
            "on": c.on.isoformat(),
            "method": c.method,
            "given_by": c.given_by,
            "recorded_by": c.recorded_by,
            "recorded_at": iso_local(w.consent_recorded_at, tz),
        },
        "away_until": iso_local(w.away_until, tz),
        "last_activity_at": iso_local(w.last_activity_at, tz),
    }


def set_away(
    ctx: Dispatcher, tenant_id: str, household_id: int, until: datetime | None, reason: str, actor: str
) -> WatchOver:
    """Pause the checks until `until` (travel, hospital); None ends the away period now."""
    now = ctx.clock.now()
    if until is not None and until <= now:
        raise InvalidRequest(
            "The away period must end in the future.", [field_error("until", "must be later than now")]
        )
    if until is not None and until > now + timedelta(days=MAX_AWAY_DAYS):
        # "away until 9999" would switch the watch-over off for good without anyone deciding so
        raise InvalidRequest(
            f"An away period ends at most {MAX_AWAY_DAYS} days ahead; switch the watch-over off "
            "instead if the household no longer wants it.",
            [
                field_error(
                    "until",
                    f"must be at most {MAX_AWAY_DAYS} days ahead",
                    code=Code.watch_away_too_far,
                    max_days=str(MAX_AWAY_DAYS),
                )
            ],
        )
    with Session(ctx.engine, expire_on_commit=False) as session:
        household(session, tenant_id, household_id)
        w = session.get(WatchOver, household_id)
        if w is None or not w.enabled:
            raise Conflict(
                "This household has no watch-over.", title="No watch-over", code=Code.watch_not_set_up
            )
        before = iso_local(w.away_until, ctx.config(tenant_id, session).tz)
        w.away_until = until if until is not None else now
        w.away_reason, w.updated_at, w.updated_by = reason, now, actor
        session.add(w)
        if until is not None:  # the family knows where they are: the alert is answered
            _end_open(session, tenant_id, household_id, now, actor, "away")
        record(
            session,
            tenant_id,
            now,
            actor,
            WATCH_AWAY,
            "household",
            household_id,
            before={"away_until": before},
            after={
                "away_until": iso_local(w.away_until, ctx.config(tenant_id, session).tz),
                "reason": reason,
            },
        )
        session.commit()
        return w


def activity(ctx: Dispatcher, tenant_id: str, household_id: int, kind: str, at: datetime, actor: str) -> bool:
    """A viewing activity from the household's box; ends an open episode. False when the household
    has no watch-over (nothing is kept: the service is opt-in)."""
    with Session(ctx.engine, expire_on_commit=False) as session:
        w = session.get(WatchOver, household_id)
        if w is None or not w.enabled or w.tenant_id != tenant_id:
            return False
        if w.last_activity_at is None or at > w.last_activity_at:
            w.last_activity_at, w.last_activity_kind = at, kind
            session.add(w)
        # used after the silence began ends it (a late report of older viewing does not)
        _end_open(session, tenant_id, household_id, at, actor, f"activity: {kind}", used_at=at)
        session.commit()
        return True


def stop(session: Session, tenant_id: str, household_id: int, now: datetime, actor: str, why: str) -> bool:
    """Switch the household's watch-over off (nobody registered lives there any more), ending an
    open episode; its contacts stay on record. Returns whether it was on."""
    w = session.get(WatchOver, household_id)
    if w is None or w.tenant_id != tenant_id or not w.enabled:
        return False
    _end_open(session, tenant_id, household_id, now, actor, why)
    w.enabled, w.updated_at, w.updated_by = False, now, actor
    session.add(w)
    record(
        session,
        tenant_id,
        now,
        actor,
        WATCH_CONFIGURED,
        "household",
        household_id,
        after={"enabled": False, "why": why},
    )
    return True


def _end_open(
    session: Session,
    tenant_id: str,
    household_id: int,
    at: datetime,
    actor: str,
    why: str,
    used_at: datetime | None = None,
) -> None:
    """End the household's open episode (only one that began before `used_at`, when given)."""
    for ep in session.exec(
        select(WatchEpisode).where(
            WatchEpisode.household_id == household_id, col(WatchEpisode.ended_at).is_(None)
        )
    ):
        if used_at is not None and used_at <= ep.inactive_since:
            continue
        ep.ended_at = at
        session.add(ep)
        record(
            session,
            tenant_id,
            at,
            actor,
            WATCH_ENDED,
            "household",
            household_id,
            after={"episode": ep.id, "why": why},
        )


def _members(session: Session, household_id: int) -> list[Resident]:
    return list(
        session.exec(select(Resident).where(Resident.household_id == household_id).order_by(col(Resident.id)))
    )


def _mail(
    ctx: Dispatcher,
    tenant_id: str,
    household_id: int,
    c: FamilyContact,
    since: datetime,
    hours: float,
    token: str,
    names: str,
) -> dict[str, Any]:
    cfg = ctx.config(tenant_id)
    last = since.astimezone(cfg.tz)
    link = f"{ctx.public_url.rstrip('/')}/t/{tenant_id}/watch/ack/{token}"
    phone = f"（電話 {cfg.call_centre_phone}）" if cfg.call_centre_phone else ""
    body = "\n".join(
        [
            f"{c.name} 様",
            "",
            f"{names}さんのお宅のテレビが、{last.month}月{last.day}日 {last:%H:%M} から"
            f"約{hours:.0f}時間つかわれていません。",
            "念のため、ご本人に連絡をとってみてください。",
            f"連絡がとれないときは、{cfg.name} のりあいセンター{phone}にお電話ください。",
            "",
            "確認できたら、次のリンクを開いて「確認しました」を押してください（センターへの連絡が止まります）。",
            link,
            "",
            "このメールは、見守りサービスにお申し込みのご家族に、のりあいから自動でお送りしています。",
        ]
    )
    return {
        "subject": f"【のりあい 見守り】{names}さんのお宅のテレビが{hours:.0f}時間つかわれていません",
        "body": body,
        "attachments": [],
    }


def check(ctx: Dispatcher, tenant_id: str) -> dict[str, int]:
    """The watch-over job: alert families of new silences, escalate unanswered alerts."""
    cfg = ctx.config(tenant_id)
    now = ctx.clock.now()
    out = {"alerted": 0, "escalated": 0, "e-mails": 0}
    with Session(ctx.engine, expire_on_commit=False) as session:
        watches = session.exec(
            select(WatchOver).where(WatchOver.tenant_id == tenant_id, col(WatchOver.enabled).is_(True))
        ).all()
        for w in watches:
            open_ep = session.exec(
                select(WatchEpisode).where(
                    WatchEpisode.household_id == w.household_id, col(WatchEpisode.ended_at).is_(None)
                )
            ).first()
            if open_ep is not None:
                overdue = now - open_ep.alerted_at >= timedelta(minutes=w.escalate_minutes)
                overdue = overdue and not (w.away_until is not None and now < w.away_until)
                if open_ep.acknowledged_at is None and open_ep.escalated_at is None and overdue:
                    open_ep.escalated_at = now
                    session.add(open_ep)
                    record(
                        session,
                        tenant_id,
                        now,
                        "system:watch-over",
                        WATCH_ESCALATED,
                        "household",
                        w.household_id,
                        after={"episode": open_ep.id},
                    )
                    out["escalated"] += 1
                continue
            if w.away_until is not None and now < w.away_until:
                continue  # away: no checks
            if asleep(w, now.astimezone(cfg.tz).time()):
                continue  # the morning will do
            since = max(t for t in (w.last_activity_at, w.enabled_at, w.away_until) if t is not None)
            silent = now - since
            if silent < timedelta(hours=w.threshold_hours):
                continue
            token = secrets.token_urlsafe(24)
            contacts = list(
                session.exec(select(FamilyContact).where(FamilyContact.household_id == w.household_id))
            )
            ep = WatchEpisode(
                tenant_id=tenant_id,
                household_id=w.household_id,
                inactive_since=since,
                alerted_at=now,
                ack_token_hash=_hash(token),
                escalated_at=None if contacts else now,
            )
            session.add(ep)
            session.flush()
            names = (
                "・".join(f"{m.family_name} {m.given_name}" for m in _members(session, w.household_id))
                or "ご家族"
            )
            hours = silent.total_seconds() / 3600
            for c in contacts:
                session.add(
                    OutboxMessage(
                        tenant_id=tenant_id,
                        subscription_id=None,
                        recipient=c.email,
                        event_type="watch.alert",
                        event_id=f"watch-{ep.id}-{c.id}",
                        payload=_mail(ctx, tenant_id, w.household_id, c, since, hours, token, names),
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
                out["e-mails"] += 1
            record(
                session,
                tenant_id,
                now,
                "system:watch-over",
                WATCH_ALERTED,
                "household",
                w.household_id,
                after={
                    "episode": ep.id,
                    "inactive_since": iso_local(since, cfg.tz),
                    "hours": round(hours, 1),
                    "contacts": len(contacts),
                },
            )
            out["alerted"] += 1
        session.commit()
    return out


def link_tenant(ctx: Dispatcher, token: str) -> str | None:
    """The municipality of a family's acknowledgement link (None: no such link); reads only."""
    with Session(ctx.engine) as session:
        return session.exec(
            select(WatchEpisode.tenant_id).where(WatchEpisode.ack_token_hash == _hash(token))
        ).first()


def acknowledge_link(ctx: Dispatcher, token: str, tenant_id: str | None = None) -> WatchEpisode:
    """A family member opened the e-mail's link and confirmed: no escalation. With `tenant_id`
    (the link's municipality in its path) a link of another municipality is not found."""
    now = ctx.clock.now()
    with Session(ctx.engine, expire_on_commit=False) as session:
        ep = session.exec(select(WatchEpisode).where(WatchEpisode.ack_token_hash == _hash(token))).first()
        if ep is None or (tenant_id is not None and ep.tenant_id != tenant_id):
            raise NotFound("This acknowledgement link is unknown or expired.", code=Code.watch_link_invalid)
        if ep.acknowledged_at is None:
            ep.acknowledged_at, ep.acknowledged_by = now, "family:link"
            session.add(ep)
            record(
                session,
                ep.tenant_id,
                now,
                "family:link",
                WATCH_ACKNOWLEDGED,
                "household",
                ep.household_id,
                after={"episode": ep.id},
            )
            session.commit()
        return ep


def acknowledge_by_operator(
    ctx: Dispatcher, tenant_id: str, episode_id: int, actor: str, note: str
) -> WatchEpisode:
    """An operator reached the household or the family: the alert is dealt with."""
    now = ctx.clock.now()
    with Session(ctx.engine, expire_on_commit=False) as session:
        ep = session.get(WatchEpisode, episode_id)
        if ep is None or ep.tenant_id != tenant_id:
            raise NotFound(f"No watch-over alert {episode_id}.", code=Code.watch_alert_not_found)
        if ep.acknowledged_at is None:
            ep.acknowledged_at, ep.acknowledged_by = now, actor
            session.add(ep)
            record(
                session,
                tenant_id,
                now,
                actor,
                WATCH_ACKNOWLEDGED,
                "household",
                ep.household_id,
                after={"episode": ep.id, "note": note},
            )
            session.commit()
        return ep


def alerts(ctx: Dispatcher, tenant_id: str) -> list[dict[str, Any]]:
    """Open alerts for the operators: escalated ones first, with whom to call."""
    tz = ctx.config(tenant_id).tz
    with Session(ctx.engine) as session:
        eps = session.exec(
            select(WatchEpisode).where(
                WatchEpisode.tenant_id == tenant_id, col(WatchEpisode.ended_at).is_(None)
            )
        ).all()
        out = []
        for ep in eps:
            hh = session.get(Household, ep.household_id)
            contacts = session.exec(
                select(FamilyContact).where(FamilyContact.household_id == ep.household_id)
            ).all()
            out.append(
                {
                    "id": ep.id,
                    "household_id": ep.household_id,
                    "residents": [
                        f"{m.family_name} {m.given_name}" for m in _members(session, ep.household_id)
                    ],
                    "phone": hh.phone if hh else "",
                    "address": hh.address if hh else "",
                    "inactive_since": iso_local(ep.inactive_since, tz),
                    "alerted_at": iso_local(ep.alerted_at, tz),
                    "escalated": ep.escalated_at is not None,
                    "escalated_at": iso_local(ep.escalated_at, tz),
                    "acknowledged": ep.acknowledged_at is not None,
                    "acknowledged_by": ep.acknowledged_by,
                    "contacts": [
                        {"name": c.name, "relation": c.relation, "email": c.email} for c in contacts
                    ],
                }
            )
    out.sort(key=lambda a: (not a["escalated"] or a["acknowledged"], a["alerted_at"]))
    return out
