"""Data retention: the personal data of old service days goes, the figures stay.

A tenant keeps personal data for `retention.personal_data_days` (default 400: thirteen months, so a
fiscal year's report and questions about a bill can still be answered from the details). Every night
(the `retention` job, after the statistics) `purge` removes or anonymises what is older, up to the
*horizon*: the last service day that is older than that and lies in a billing month that is closed
and no longer among the CARRY_MONTHS latest closed months (whose late reports are still billed). A
month not closed holds the horizon before it, and the summary says so. Before anything goes, each
day up to the horizon gets its nightly figures (`daily_stats`, closed now if the statistics job
never did) and keeps there the per-vehicle hours and km that came from positions and addresses:
the statistics of a purged day (municipality dashboard, open data, `stats.daily`) stay exactly what
they were, and so do the closed months' bills. One transaction per tenant; running it again changes
nothing; a purge that changed anything is recorded as a `retention.purged` event with its counts.

The retention table: what each table holds that is personal, and what the purge does with it
("the horizon": the last service day purged; docs/retention.md has the same table).

table                      personal data                          purge
-------------------------  -------------------------------------  ------------------------------------------
tenant, operator, vehicle, none of residents: configuration,      kept
seller, product, weather,  fleet, catalogue, flights by hall,
flight, pick_ready,        content hashes, partners' endpoints,
publication, subscription, job runs
scheduled_job, job_run
user, driver               staff names and phones                 kept: the employers' records (deactivate
                                                                  a user who leaves)
apitoken, resident_session when someone was signed in             deleted once expired or revoked before
family_session                                                    the horizon
device                     which household's TV box, last seen    deleted once revoked (or never paired)
                                                                  before the horizon
resident                   name, kana, phone, home, birth date,   kept while registered; once inactive with
                           evidence (disability), wheelchair,     no ride after the horizon and no event
                           notes, favourite places                since: anonymised (name `（退会）`, the
                                                                  rest blanked, home (0, 0)); birth date,
                                                                  household and registration date stay:
                                                                  age and settlement breakdowns of past
                                                                  figures need them
resident_pin               the PIN's hash                         deleted with the anonymisation
family_member              a family member's name, kana, phone,   kept while linked to someone; deleted once
                           e-mail, login id, password hash        ended before the horizon, or created
                                                                  before it and left without any link
family_link                who may see or book for a resident,    deleted once revoked before the horizon
                           the resident's consent (date, how,     (the family.* events keep who consented
                           who recorded it)                       when and how), and with the resident's
                                                                  anonymisation
resident_note              operators' free-text notes             kept while registered; a former
                                                                  resident's written before the horizon
                                                                  deleted
household                  address, phone, home                   kept while anyone in it is registered,
                                                                  shops, is watched over, has a box or a
                                                                  recent adjustment; then anonymised
                                                                  (address, phone blanked, home (0, 0));
                                                                  its hall stays (figures by settlement)
billing_account            bank account, the holder's name        deleted with the household's anonymisation
ride (passenger)           where a person was picked up and set   up to the horizon: coordinates (0, 0),
                           down (a home, a hospital), wheelchair  place ids, wheelchair, the alternatives
                                                                  offered and the request hash removed;
                                                                  when, the rider link (distinct riders,
                                                                  age, settlement), party, direct time,
                                                                  fare, vehicle and status stay
ride (freight)             none (base to hall, order ids)         kept
plan_version               ride ids with planned times            deleted up to the horizon
plan_route                 ride ids with planned times            deleted up to the horizon
shop_order                 household, amounts                     kept (statistics, bills); request hash
                                                                  removed, the number of items kept on it
shop_order_line            what a household bought                deleted up to the horizon
event                      who, when, what kind: the audit        who, when, kind and entity kept for ever;
                           trail; some payloads are personal      personal payload fields removed up to the
                                                                  horizon (EVENT_RULES): a request's pickup
                                                                  and drop-off, a cancellation's reason,
                                                                  vehicle positions, favourite places,
                                                                  watch-over reasons, silences, notes and
                                                                  who consented,
                                                                  reminder times, customer numbers; a kind
                                                                  not listed there loses its payload
outbox_message,            manifests (names, addresses, phones),  rows kept (which partner got which event
delivery_attempt           families' e-mails, errors quoting      type when, how the tries went); payload,
                           addresses                              recipient and error text removed; one
                                                                  still pending is given up
watch_over, family_contact a household's watch-over, the family's kept while enabled; deleted once opted out
                           names and e-mail addresses             before the horizon or with the household;
                                                                  an old away reason blanked
watch_episode              a silence of the TV, who answered      deleted once ended before the horizon (the
                                                                  events keep who and when)
reminder, reminder_ack     reminder texts (medication), when the  removed and past one-off reminders made
                           TV was used                            before the horizon deleted; older
                                                                  acknowledgements deleted
membership                 household, dates, fee                  kept (bills, member counts)
billing_month, statement,  household number, dated charges with  kept: accounting records of closed months,
seller_settlement,         ride and order ids, adjustment         under the municipality's rules for
adjustment                 reasons                                accounting documents, not this purge
daily_stats                none (figures)                         kept; gains the day's per-vehicle figures
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fnmatch import fnmatch
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import update
from sqlmodel import Session, col, select

from dispatcher import tenants
from dispatcher.billing import kinds as billing_kinds
from dispatcher.billing import purge as billing_purge
from dispatcher.billing.statements import CARRY_MONTHS, month_of
from dispatcher.care import kinds as care_kinds
from dispatcher.care import purge as care_purge
from dispatcher.context import Dispatcher
from dispatcher.db import changed_rows, lock_tenant, within
from dispatcher.events import record
from dispatcher.identity import kinds as identity_kinds
from dispatcher.identity import purge as identity_purge
from dispatcher.integration import kinds as integration_kinds
from dispatcher.integration import purge as integration_purge
from dispatcher.jobs import JobSpec
from dispatcher.models import BillingMonth, Event, Tenant
from dispatcher.reporting import purge as reporting_purge
from dispatcher.residents import kinds as resident_kinds
from dispatcher.residents import purge as resident_purge
from dispatcher.rides import kinds as ride_kinds
from dispatcher.rides import purge as ride_purge
from dispatcher.rides.booking import cancelled_by_change
from dispatcher.shopping import kinds as shopping_kinds
from dispatcher.shopping import purge as shopping_purge
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import local_date, midnight

ACTOR = "system:retention"
RETENTION_PURGED = "retention.purged"

# Event payloads before the horizon, by kind (fnmatch patterns allowed): None keeps the payload
# whole (nothing personal in it); a tuple keeps those keys of `before` and `after`. A kind not
# listed loses its payload (who, when and what stay): a new kind is private until its context lists
# it in its `kinds.RETENTION`.
EVENT_RULES: dict[str, tuple[str, ...] | None] = {
    **tenants.RETENTION,
    **identity_kinds.RETENTION,
    **resident_kinds.RETENTION,
    **integration_kinds.RETENTION,
    **ride_kinds.RETENTION,
    **shopping_kinds.RETENTION,
    **billing_kinds.RETENTION,
    **care_kinds.RETENTION,
    RETENTION_PURGED: None,
}


def event_rule(kind: str) -> tuple[str, ...] | None:
    """The keys an event of this kind keeps (None: all of them)."""
    if kind in EVENT_RULES:
        return EVENT_RULES[kind]
    for pattern, keys in EVENT_RULES.items():
        if "*" in pattern and fnmatch(kind, pattern):
            return keys
    return ()


def stripped(kind: str, payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """An event payload without its personal fields (None when nothing is left)."""
    keys = event_rule(kind)
    if keys is None or payload is None:
        return payload
    out = {k: payload[k] for k in keys if k in payload}
    if kind == ride_kinds.RIDE_CANCELLED and cancelled_by_change(payload) and "replaced_by" not in out:
        # older events say "changed to ride N: <reason>": keep that it was a change, not the reason
        m = re.match(r"changed to ride (\d+)", str(payload.get("reason", "")))
        out["replaced_by"] = int(m.group(1)) if m else None
    return out or None


# ---------------------------------------------------------------------------------- the horizon


@dataclass(frozen=True)
class Horizon:
    """How far a purge goes. cutoff: the last day older than the retention period; through: the
    last day purged (cutoff, or earlier when a billing month holds it: `held` says why); since:
    the first day not purged before (None: the first purge); first: the first service or delivery
    day with anything booked or ordered (None: nothing ever was)."""

    cutoff: date
    through: date
    held: str | None
    since: date | None
    first: date | None


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def first_day(session: Session, tenant_id: str) -> date | None:
    """The first service or delivery day with anything booked or ordered."""
    ride = ride_purge.first_service_day(session, tenant_id)
    order = shopping_purge.first_delivery_day(session, tenant_id)
    days = [d for d in (ride, order) if d is not None]
    return min(days) if days else None


def last_purge(session: Session, tenant_id: str) -> date | None:
    """The last day purges have gone through (None: never purged). The latest of them all: a
    longer period set later does not bring back what is gone."""
    done = session.exec(
        select(Event.after).where(
            Event.tenant_id == tenant_id,
            Event.entity == "tenant",
            Event.entity_id == tenant_id,
            Event.kind == RETENTION_PURGED,
        )
    ).all()
    days = [date.fromisoformat(a["through"]) for a in done if a and a.get("through")]
    return max(days) if days else None


def horizon(session: Session, cfg: TenantConfig, today: date, days: int) -> Horizon:
    """The horizon of a purge on `today` keeping `days` days."""
    cutoff = today - timedelta(days=days + 1)
    closed = list(
        session.exec(
            select(BillingMonth.month)
            .where(BillingMonth.tenant_id == cfg.id)
            .order_by(col(BillingMonth.month))
        )
    )
    recent = set(closed[-CARRY_MONTHS:])
    through, held = cutoff, None
    first = first_day(session, cfg.id)
    m = first.replace(day=1) if first is not None else None
    while m is not None and m <= cutoff:
        key = month_of(m)
        if key not in closed or key in recent:
            why = (
                "is not closed"
                if key not in closed
                else f"is one of the last {CARRY_MONTHS} closed months (late reports are still billed)"
            )
            through, held = m - timedelta(days=1), f"billing month {key} {why}"
            break
        m = _next_month(m)
    previous = last_purge(session, cfg.id)
    return Horizon(cutoff, through, held, previous + timedelta(days=1) if previous else None, first)


# -------------------------------------------------------------------------------------- the purge


def purge(
    ctx: Dispatcher,
    tenant_id: str,
    now: datetime | None = None,
    actor: str = ACTOR,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Purge a tenant's personal data older than its retention period (see the module docstring).

    Each context purges its own tables (`<context>/purge.py`); this holds the horizon and the order.
    Returns {"tenant", "status", "cutoff", "through", "held", "dry_run", "counts"}, counts by
    "table.action". A dry run does all the work in its transaction and rolls it back."""
    cfg = ctx.config(tenant_id)
    now = now or ctx.clock.now()
    days = cfg.retention.personal_data_days
    out: dict[str, Any] = {"tenant": tenant_id, "dry_run": dry_run}
    if days is None:
        return {**out, "status": "off", "counts": {}}
    with Session(ctx.engine) as session:
        hz = horizon(session, cfg, local_date(now, cfg.tz), days)
        to_freeze, missing = reporting_purge.days_to_freeze(
            session, tenant_id, hz.first, hz.since, hz.through
        )
    out |= {"cutoff": hz.cutoff.isoformat(), "through": hz.through.isoformat(), "held": hz.held}
    # read first (the statistics read in their own sessions), then change everything in one go
    figures = reporting_purge.missing_figures(ctx, tenant_id, missing)
    vehicles = reporting_purge.vehicle_figures(ctx, tenant_id, to_freeze)
    end = midnight(hz.through + timedelta(days=1), cfg.tz)  # the horizon as an instant
    start = midnight(hz.since, cfg.tz) if hz.since is not None else None
    counts: Counter[str] = Counter()
    with Session(ctx.engine, expire_on_commit=False) as session:
        try:
            # bookings and orders wait meanwhile: who is "busy" cannot change under the purge
            lock_tenant(session, tenant_id)
            reporting_purge.freeze(session, tenant_id, to_freeze, figures, vehicles, now, counts)
            ride_purge.strip_rides(session, tenant_id, hz.through, counts)
            shopping_purge.strip_orders(session, tenant_id, hz.through, counts)
            _events(session, tenant_id, start, end, counts)
            integration_purge.strip_outbox(session, tenant_id, start, end, counts)
            identity_purge.purge_sign_ins(session, tenant_id, end, counts)
            identity_purge.purge_family(session, tenant_id, end, counts)
            resident_purge.purge_notes(session, tenant_id, end, counts)
            care_purge.purge_reminders(session, tenant_id, end, counts)
            care_purge.purge_watch_over(session, tenant_id, end, counts)
            _people_who_left(session, tenant_id, hz.through, end, counts)
            result = {k: v for k, v in sorted(counts.items()) if v}
            if dry_run or not result:
                session.rollback()
            else:
                record(
                    session,
                    tenant_id,
                    now,
                    actor,
                    RETENTION_PURGED,
                    "tenant",
                    tenant_id,
                    after={"through": hz.through.isoformat(), "held": hz.held, "counts": result},
                )
                session.commit()
        except BaseException:
            session.rollback()
            raise
    status = "nothing to purge" if not result else "dry run" if dry_run else "purged"
    return {**out, "status": status, "counts": result}


def _people_who_left(
    session: Session, tenant_id: str, through: date, end: datetime, counts: Counter[str]
) -> None:
    """Anonymise residents who left (inactive, no ride after the horizon, no event since) and then the
    households nobody is left in and no context still uses."""
    people = resident_purge.leavers(session, tenant_id, end)
    riding = ride_purge.riders_after(session, tenant_id, through, people)
    gone = resident_purge.anonymise_residents(
        session, [r for rid, r in people.items() if rid not in riding], counts
    )
    identity_purge.forget_residents(session, gone, counts)
    busy = (
        shopping_purge.households_in_use(session, tenant_id, through)
        | identity_purge.households_in_use(session, tenant_id)
        | care_purge.households_in_use(session, tenant_id)
        | billing_purge.households_in_use(session, tenant_id, end)
    )
    homes = resident_purge.anonymise_households(session, tenant_id, busy, counts)
    billing_purge.forget_households(session, homes, counts)
    care_purge.forget_households(session, homes, counts)
    session.flush()


def _events(
    session: Session, tenant_id: str, start: datetime | None, end: datetime, counts: Counter[str]
) -> None:
    """Event payloads recorded since the last purge up to the horizon, without personal fields."""
    in_window = (col(Event.tenant_id) == tenant_id, within(col(Event.at), start, end))
    kinds = list(session.exec(select(Event.kind).where(*in_window).distinct()))
    emptied = [k for k in kinds if event_rule(k) == ()]
    partial = [k for k in kinds if event_rule(k)]
    if emptied:
        counts["event.payload_removed"] += changed_rows(
            session,
            update(Event).where(*in_window, col(Event.kind).in_(emptied)).values(before=None, after=None),
        )
    if partial:
        # (by when an event was recorded: a ride booked ahead across the horizon loses the pickup and
        # drop-off of its request event a day or two before its own row does)
        for ev in session.exec(select(Event).where(*in_window, col(Event.kind).in_(partial))):
            before, after = stripped(ev.kind, ev.before), stripped(ev.kind, ev.after)
            if (before, after) != (ev.before, ev.after):
                ev.before, ev.after = before, after
                session.add(ev)
                counts["event.payload_stripped"] += 1
        session.flush()


def purge_all(
    ctx: Dispatcher, tenant_id: str | None = None, dry_run: bool = False, actor: str = ACTOR
) -> list[dict[str, Any]]:
    """Purge one tenant or every tenant (each in its own transaction)."""
    if tenant_id is not None:
        return [purge(ctx, tenant_id, actor=actor, dry_run=dry_run)]
    with Session(ctx.engine) as session:
        ids = list(session.exec(select(Tenant.id).order_by(col(Tenant.id))))
    return [purge(ctx, tid, actor=actor, dry_run=dry_run) for tid in ids]


# ---------------------------------------------------------------------------------------- the job


def run_retention(ctx: Dispatcher, tenant_id: str, due: datetime) -> dict[str, Any] | None:
    out = purge(ctx, tenant_id, ctx.clock.now(), ACTOR)
    return None if out["status"] == "nothing to purge" else out


def jobs(ctx: Dispatcher, cfg: TenantConfig) -> list[JobSpec]:
    keep = cfg.retention.personal_data_days
    if keep is None:  # null: personal data is kept (no purge)
        return []
    at = cfg.retention.purge_at
    return [
        JobSpec(
            "retention",
            CronTrigger(hour=at.hour, minute=at.minute, timezone=cfg.tz),
            timedelta(hours=24),
            run_retention,
            f"daily at {at:%H:%M} (personal data older than {keep} days)",
        )
    ]
