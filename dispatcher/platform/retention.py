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
                                                                  the horizon
device                     which household's TV box, last seen    deleted once revoked (or never paired)
                                                                  before the horizon
resident                   name, kana, phone, home, birth date,   kept while registered; once inactive with
                           categories (disability), wheelchair,   no ride after the horizon and no event
                           notes, favourite places                since: anonymised (name `（退会）`, the
                                                                  rest blanked, home (0, 0)); birth date,
                                                                  household and registration date stay:
                                                                  age and settlement breakdowns of past
                                                                  figures need them
resident_pin               the PIN's hash                         deleted with the anonymisation
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
shop_order                 household, amounts                     kept (statistics, bills); request hash
                                                                  removed, the number of items kept on it
shop_order_line            what a household bought                deleted up to the horizon
event                      who, when, what kind: the audit        who, when, kind and entity kept for ever;
                           trail; some payloads are personal      personal payload fields removed up to the
                                                                  horizon (EVENT_RULES): a request's pickup
                                                                  and drop-off, a cancellation's reason,
                                                                  vehicle positions, favourite places,
                                                                  watch-over reasons, silences and notes,
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

from sqlalchemy import and_, delete, func, or_, update
from sqlmodel import Session, col, select

from dispatcher.billing.statements import CARRY_MONTHS, month_of
from dispatcher.context import Dispatcher
from dispatcher.db import lock_tenant
from dispatcher.events import chunks, record
from dispatcher.models import (
    Adjustment,
    ApiToken,
    BillingAccount,
    BillingMonth,
    DailyStats,
    DeliveryAttempt,
    Device,
    Event,
    FamilyContact,
    Household,
    Membership,
    OrderLine,
    OutboxMessage,
    PlanVersion,
    Reminder,
    ReminderAck,
    Resident,
    ResidentNote,
    ResidentPin,
    ResidentSession,
    Ride,
    ShopOrder,
    WatchEpisode,
    WatchOver,
)
from dispatcher.reporting.daily_stats import day_figures
from dispatcher.reporting.stats import load_facts
from dispatcher.rides.booking import cancelled_by_change
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import local_date, midnight

ACTOR = "system:retention"
ANONYMISED = "（退会）"  # the family name of an anonymised resident
REMOVED = 0.0  # a removed coordinate
FACTS_DAYS = 366  # days of statistics read at once while keeping the vehicles' figures

# Event payloads before the horizon, by kind (fnmatch patterns allowed): None keeps the payload
# whole (nothing personal in it); a tuple keeps those keys of `before` and `after`. A kind not
# listed loses its payload (who, when and what stay): a new kind is private until listed here.
EVENT_RULES: dict[str, tuple[str, ...] | None] = {
    # a request's pickup and drop-off go; its times, party and rider stay (wait and margin figures)
    "ride.requested": (
        "resident_id",
        "pickup_after",
        "arrive_by",
        "party_size",
        "orders",
        "hall_id",
        "weight_kg",
    ),
    "ride.confirmed": None,  # vehicle, window, fare: on-time figures and bills
    "ride.refused": None,  # the reason and the times offered instead
    "ride.cancelled": ("status", "fee_waived", "replaced_by"),  # the free-text reason goes
    "ride.arrived": None,
    "ride.picked_up": None,
    "ride.no_show": None,
    "ride.dropped_off": None,
    "vehicle.position": (),  # where the car was: it stopped at homes
    "vehicle.delay": None,
    "vehicle.created": None,
    "vehicle.deactivated": None,
    "order.*": None,  # statuses, totals, flights
    "flight.*": None,
    "delivery.planned": None,
    "weather.set": None,
    "picklist.ready": None,
    "plan.*": None,  # re-optimizations, their faults and recoveries
    "tenant.*": None,
    "operator.created": None,
    "seller.created": None,
    "billing.closed": None,
    "billing.adjusted": None,  # an accounting record
    "billing.account_set": ("bank_code", "branch_code"),  # the customer number goes
    "user.created": None,
    "user.signed_in": None,
    "user.signed_out": None,
    "user.sign_in_failed": None,
    "user.tokens_revoked": None,
    "user.unlocked": None,
    "subscription.created": None,
    "subscription.deactivated": None,
    "device.registered": None,
    "device.paired": None,
    "device.revoked": None,
    "resident.pin_set": None,
    "resident.pin_failed": None,
    "resident.pin_locked": None,
    "resident.signed_in": None,
    "resident.note_added": None,  # the note's id; the note itself is deleted
    "resident.favourites_set": (),  # where a person likes to go
    "watch.configured": None,  # threshold, sleep hours, how many contacts
    "watch.escalated": None,
    "watch.away": ("away_until",),  # the reason (hospital, travel) goes
    "watch.alerted": ("episode", "contacts"),  # since when the TV was silent goes
    "watch.acknowledged": ("episode",),  # an operator's note goes
    "watch.ended": ("episode",),  # what the TV was used for goes
    "reminder.created": ("reminder", "kind"),  # when (e.g. medication times) goes
    "reminder.removed": None,
    "reminder.acknowledged": ("key",),
    "retention.purged": None,
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
    if kind == "ride.cancelled" and cancelled_by_change(payload) and "replaced_by" not in out:
        # older events say "changed to ride N: <reason>": keep that it was a change, not the reason
        m = re.match(r"changed to ride (\d+)", str(payload.get("reason", "")))
        out["replaced_by"] = int(m.group(1)) if m else None
    return out or None


# ---------------------------------------------------------------------------------- the horizon


@dataclass(frozen=True)
class Horizon:
    """How far a purge goes. cutoff: the last day older than the retention period; through: the
    last day purged (cutoff, or earlier when a billing month holds it: `held` says why); since:
    the first day not purged before (None: the first purge)."""

    cutoff: date
    through: date
    held: str | None
    since: date | None


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def first_day(session: Session, tenant_id: str) -> date | None:
    """The first service or delivery day with anything booked or ordered."""
    ride = session.exec(select(func.min(Ride.service_date)).where(Ride.tenant_id == tenant_id)).one()
    order = session.exec(
        select(func.min(ShopOrder.delivery_date)).where(ShopOrder.tenant_id == tenant_id)
    ).one()
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
            Event.kind == "retention.purged",
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
    return Horizon(cutoff, through, held, previous + timedelta(days=1) if previous else None)


# -------------------------------------------------------------------------------------- the purge


def purge(
    ctx: Dispatcher,
    tenant_id: str,
    now: datetime | None = None,
    actor: str = ACTOR,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Purge a tenant's personal data older than its retention period (see the module docstring).

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
        to_freeze, missing = _days_to_freeze(session, tenant_id, hz)
    out |= {"cutoff": hz.cutoff.isoformat(), "through": hz.through.isoformat(), "held": hz.held}
    # read first (the statistics read in their own sessions), then change everything in one go
    figures = {d: day_figures(ctx, tenant_id, d) for d in missing}
    vehicles = _vehicle_figures(ctx, tenant_id, to_freeze)
    end = midnight(hz.through + timedelta(days=1), cfg.tz)  # the horizon as an instant
    start = midnight(hz.since, cfg.tz) if hz.since is not None else None
    counts: Counter[str] = Counter()
    with Session(ctx.engine, expire_on_commit=False) as session:
        try:
            # bookings and orders wait meanwhile: who is "busy" cannot change under the purge
            lock_tenant(session, tenant_id)
            _freeze(session, tenant_id, to_freeze, figures, vehicles, now, counts)
            _rides(session, tenant_id, hz.through, counts)
            _orders(session, tenant_id, hz.through, counts)
            _events(session, tenant_id, start, end, counts)
            _outbox(session, tenant_id, start, end, counts)
            _signed_in(session, tenant_id, end, counts)
            _notes_and_reminders(session, tenant_id, end, counts)
            _watch_over(session, tenant_id, end, counts)
            _residents(session, tenant_id, hz.through, end, counts)
            _households(session, tenant_id, hz.through, end, counts)
            result = {k: v for k, v in sorted(counts.items()) if v}
            if dry_run or not result:
                session.rollback()
            else:
                record(
                    session,
                    tenant_id,
                    now,
                    actor,
                    "retention.purged",
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


def _days_to_freeze(session: Session, tenant_id: str, hz: Horizon) -> tuple[list[date], list[date]]:
    """(days up to the horizon not purged yet, those of them without their nightly figures)."""
    first = first_day(session, tenant_id)
    if first is None:
        return [], []
    start = max(first, hz.since) if hz.since is not None else first
    if start > hz.through:
        return [], []
    rows = dict(
        session.exec(
            select(DailyStats.service_date, DailyStats.purged_at).where(
                DailyStats.tenant_id == tenant_id,
                col(DailyStats.service_date) >= start,
                col(DailyStats.service_date) <= hz.through,
            )
        ).all()
    )
    todo = []
    d = start
    while d <= hz.through:
        if rows.get(d) is None:  # no figures yet, or figures not purged yet
            todo.append(d)
        d += timedelta(days=1)
    return todo, [d for d in todo if d not in rows]


def _vehicle_figures(ctx: Dispatcher, tenant_id: str, days: list[date]) -> dict[date, list[dict[str, Any]]]:
    """Each vehicle's hours and km of these days, as the statistics compute them (in that order)."""
    out: dict[date, list[dict[str, Any]]] = {d: [] for d in days}
    if not days:
        return out
    a, last = days[0], days[-1]
    while a <= last:
        b = min(last, a + timedelta(days=FACTS_DAYS - 1))
        for (vid, day), vd in load_facts(ctx, tenant_id, a, b).vehicle_days.items():
            if day in out:
                out[day].append({"vehicle_id": vid, "hours": vd.hours, "km": vd.km, "km_empty": vd.km_empty})
        a = b + timedelta(days=1)
    return out


def _freeze(
    session: Session,
    tenant_id: str,
    days: list[date],
    figures: dict[date, tuple[dict[str, Any], dict[str, Any]]],
    vehicles: dict[date, list[dict[str, Any]]],
    now: datetime,
    counts: Counter[str],
) -> None:
    """Every purged day has its nightly figures, with the vehicles' figures beside them."""
    if not days:
        return
    rows = {
        r.service_date: r
        for r in session.exec(
            select(DailyStats).where(
                DailyStats.tenant_id == tenant_id,
                col(DailyStats.service_date) >= days[0],
                col(DailyStats.service_date) <= days[-1],
            )
        )
    }
    for d in days:
        row = rows.get(d)
        if row is None:
            ridership, shopping = figures[d]
            row = DailyStats(
                tenant_id=tenant_id, service_date=d, ridership=ridership, shopping=shopping, computed_at=now
            )
            counts["daily_stats.closed"] += 1
        row.vehicles, row.purged_at = vehicles[d], now
        session.add(row)
        counts["daily_stats.kept_vehicle_figures"] += 1
    session.flush()


def _rides(session: Session, tenant_id: str, through: date, counts: Counter[str]) -> None:
    old = (
        Ride.tenant_id == tenant_id,
        col(Ride.service_date) <= through,
    )
    res = session.exec(  # type: ignore[call-overload]
        update(Ride)
        .where(*old, Ride.kind == "passenger", col(Ride.request_hash) != "")
        .values(
            origin_lat=REMOVED,
            origin_lon=REMOVED,
            destination_lat=REMOVED,
            destination_lon=REMOVED,
            origin_place_id=None,
            destination_place_id=None,
            wheelchair=False,
            alternatives=None,
            request_hash="",
        )
    )
    counts["ride.stripped"] += res.rowcount
    res = session.exec(  # type: ignore[call-overload]
        delete(PlanVersion).where(
            PlanVersion.tenant_id == tenant_id, col(PlanVersion.service_date) <= through
        )
    )
    counts["plan_version.deleted"] += res.rowcount


def _orders(session: Session, tenant_id: str, through: date, counts: Counter[str]) -> None:
    old = select(ShopOrder.id).where(
        ShopOrder.tenant_id == tenant_id,
        col(ShopOrder.delivery_date) <= through,
        col(ShopOrder.item_count).is_(None),
    )
    ids = list(session.exec(old))
    for part in chunks(ids):
        items = func.coalesce(
            select(func.sum(OrderLine.quantity))
            .where(col(OrderLine.order_id) == col(ShopOrder.id))
            .scalar_subquery(),
            0,
        )
        res = session.exec(  # type: ignore[call-overload]
            update(ShopOrder).where(col(ShopOrder.id).in_(part)).values(item_count=items, request_hash="")
        )
        counts["shop_order.stripped"] += res.rowcount
        res = session.exec(delete(OrderLine).where(col(OrderLine.order_id).in_(part)))  # type: ignore[call-overload]
        counts["shop_order_line.deleted"] += res.rowcount


def _window(column: Any, start: datetime | None, end: datetime) -> Any:
    return and_(column < end, column >= start) if start is not None else column < end


def _events(
    session: Session, tenant_id: str, start: datetime | None, end: datetime, counts: Counter[str]
) -> None:
    """Event payloads recorded since the last purge up to the horizon, without personal fields."""
    in_window = (Event.tenant_id == tenant_id, _window(col(Event.at), start, end))
    kinds = list(session.exec(select(Event.kind).where(*in_window).distinct()))
    emptied = [k for k in kinds if event_rule(k) == ()]
    partial = [k for k in kinds if event_rule(k)]
    if emptied:
        res = session.exec(  # type: ignore[call-overload]
            update(Event).where(*in_window, col(Event.kind).in_(emptied)).values(before=None, after=None)
        )
        counts["event.payload_removed"] += res.rowcount
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


def _outbox(
    session: Session, tenant_id: str, start: datetime | None, end: datetime, counts: Counter[str]
) -> None:
    """Messages made since the last purge up to the horizon keep who got what type when, not what;
    one still pending after so long is given up."""
    old = (OutboxMessage.tenant_id == tenant_id, _window(col(OutboxMessage.created_at), start, end))
    res = session.exec(  # type: ignore[call-overload]
        update(OutboxMessage)
        .where(*old, OutboxMessage.status == "pending")
        .values(status="failed", next_attempt_at=None)
    )
    counts["outbox_message.given_up"] += res.rowcount
    res = session.exec(  # type: ignore[call-overload]
        update(DeliveryAttempt)
        .where(
            col(DeliveryAttempt.message_id).in_(select(OutboxMessage.id).where(*old)),
            DeliveryAttempt.error != "",
        )
        .values(error="")
    )
    counts["delivery_attempt.error_removed"] += res.rowcount
    res = session.exec(update(OutboxMessage).where(*old).values(payload={}, recipient="", last_error=""))  # type: ignore[call-overload]
    counts["outbox_message.payload_removed"] += res.rowcount


def _deleted(session: Session, counts: Counter[str], key: str, stmt: Any) -> None:
    counts[key] += session.exec(stmt).rowcount  # type: ignore[call-overload]


def _signed_in(session: Session, tenant_id: str, end: datetime, counts: Counter[str]) -> None:
    for table, key in ((ResidentSession, "resident_session"), (ApiToken, "apitoken")):
        over = or_(col(table.expires_at) < end, col(table.revoked_at) < end)  # type: ignore[attr-defined]
        _deleted(session, counts, f"{key}.deleted", delete(table).where(table.tenant_id == tenant_id, over))  # type: ignore[attr-defined]
    gone = or_(
        col(Device.revoked_at) < end,
        and_(col(Device.household_id).is_(None), col(Device.created_at) < end),
    )
    _deleted(session, counts, "device.deleted", delete(Device).where(Device.tenant_id == tenant_id, gone))


def _notes_and_reminders(session: Session, tenant_id: str, end: datetime, counts: Counter[str]) -> None:
    _deleted(
        session,
        counts,
        "resident_note.deleted",
        # a registered resident's notes stay: "耳が遠い" matters on every call, however old
        delete(ResidentNote).where(
            ResidentNote.tenant_id == tenant_id,
            col(ResidentNote.created_at) < end,
            col(ResidentNote.resident_id).in_(
                select(Resident.id).where(Resident.tenant_id == tenant_id, col(Resident.active).is_(False))
            ),
        ),
    )
    past = or_(col(Reminder.active).is_(False), col(Reminder.once_at) < end)
    _deleted(
        session,
        counts,
        "reminder.deleted",
        delete(Reminder).where(Reminder.tenant_id == tenant_id, col(Reminder.created_at) < end, past),
    )
    _deleted(
        session,
        counts,
        "reminder_ack.deleted",
        delete(ReminderAck).where(ReminderAck.tenant_id == tenant_id, col(ReminderAck.acknowledged_at) < end),
    )


def _watch_over(session: Session, tenant_id: str, end: datetime, counts: Counter[str]) -> None:
    _deleted(
        session,
        counts,
        "watch_episode.deleted",
        delete(WatchEpisode).where(WatchEpisode.tenant_id == tenant_id, col(WatchEpisode.ended_at) < end),
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
    res = session.exec(  # type: ignore[call-overload]
        update(WatchOver)
        .where(WatchOver.tenant_id == tenant_id, col(WatchOver.away_until) < end, WatchOver.away_reason != "")
        .values(away_reason="")
    )
    counts["watch_over.away_reason_removed"] += res.rowcount


def _forget_watch_over(session: Session, households: list[int], counts: Counter[str]) -> None:
    for part in chunks(households):
        _deleted(
            session,
            counts,
            "family_contact.deleted",
            delete(FamilyContact).where(col(FamilyContact.household_id).in_(part)),
        )
        _deleted(
            session,
            counts,
            "watch_over.deleted",
            delete(WatchOver).where(col(WatchOver.household_id).in_(part)),
        )


def _residents(session: Session, tenant_id: str, through: date, end: datetime, counts: Counter[str]) -> None:
    """Anonymise residents who left: inactive, and nothing of theirs after the horizon."""
    people = {
        r.id: r
        for r in session.exec(
            select(Resident).where(
                Resident.tenant_id == tenant_id,
                col(Resident.active).is_(False),
                col(Resident.registered_at) < end,
                or_(Resident.family_name != ANONYMISED, Resident.given_name != ""),
            )
        )
    }
    if not people:
        return
    recent = set(
        session.exec(
            select(Ride.resident_id).where(
                Ride.tenant_id == tenant_id,
                col(Ride.service_date) > through,
                col(Ride.resident_id).in_(list(people)),
            )
        )
    )
    recent |= {
        int(x)
        for x in session.exec(
            select(Event.entity_id)
            .where(Event.tenant_id == tenant_id, Event.entity == "resident", col(Event.at) >= end)
            .distinct()
        )
        if x.isdigit()
    }
    gone = [rid for rid in people if rid not in recent]
    for rid in gone:
        r = people[rid]
        r.family_name, r.given_name, r.family_kana, r.given_kana = ANONYMISED, "", "", ""
        r.phone, r.notes, r.lat, r.lon = "", "", REMOVED, REMOVED
        r.categories, r.wheelchair, r.favourite_places = [], False, []
        session.add(r)
    counts["resident.anonymised"] += len(gone)
    for part in chunks(gone):  # type: ignore[arg-type]
        for table, key in (
            (ResidentPin, "resident_pin"),
            (ResidentSession, "resident_session"),
            (ResidentNote, "resident_note"),
        ):
            _deleted(session, counts, f"{key}.deleted", delete(table).where(col(table.resident_id).in_(part)))  # type: ignore[attr-defined]
    session.flush()


def _households(session: Session, tenant_id: str, through: date, end: datetime, counts: Counter[str]) -> None:
    """Anonymise households nobody is left in: no registered or recent resident, no membership,
    order, box, watch-over or billing adjustment after the horizon."""
    homes = {
        h.id: h
        for h in session.exec(
            select(Household).where(
                Household.tenant_id == tenant_id,
                or_(
                    Household.address != "",
                    Household.phone != "",
                    Household.lat != REMOVED,
                    Household.lon != REMOVED,
                ),
            )
        )
    }
    if not homes:
        return
    busy: set[Any] = set(
        session.exec(
            select(Resident.household_id).where(
                Resident.tenant_id == tenant_id,
                or_(
                    col(Resident.active).is_(True),
                    Resident.family_name != ANONYMISED,
                    Resident.given_name != "",
                ),
            )
        )
    )
    busy |= set(
        session.exec(
            select(Membership.household_id).where(
                Membership.tenant_id == tenant_id,
                or_(col(Membership.ends_on).is_(None), col(Membership.ends_on) > through),
            )
        )
    )
    busy |= set(
        session.exec(
            select(ShopOrder.household_id).where(
                ShopOrder.tenant_id == tenant_id, col(ShopOrder.delivery_date) > through
            )
        )
    )
    busy |= set(
        session.exec(
            select(Device.household_id).where(Device.tenant_id == tenant_id, col(Device.revoked_at).is_(None))
        )
    )
    busy |= set(
        session.exec(
            select(WatchOver.household_id).where(
                WatchOver.tenant_id == tenant_id, col(WatchOver.enabled).is_(True)
            )
        )
    )
    busy |= set(
        session.exec(
            select(Adjustment.household_id).where(
                Adjustment.tenant_id == tenant_id, col(Adjustment.created_at) >= end
            )
        )
    )
    gone = sorted(hid for hid in homes if hid not in busy)
    for hid in gone:
        h = homes[hid]
        h.address, h.phone, h.lat, h.lon = "", "", REMOVED, REMOVED
        session.add(h)
    counts["household.anonymised"] += len(gone)
    for part in chunks(gone):
        _deleted(
            session,
            counts,
            "billing_account.deleted",
            delete(BillingAccount).where(col(BillingAccount.household_id).in_(part)),
        )
        _deleted(
            session, counts, "reminder.deleted", delete(Reminder).where(col(Reminder.household_id).in_(part))
        )
        _deleted(
            session,
            counts,
            "reminder_ack.deleted",
            delete(ReminderAck).where(col(ReminderAck.household_id).in_(part)),
        )
    _forget_watch_over(session, gone, counts)
    session.flush()


def purge_all(
    ctx: Dispatcher, tenant_id: str | None = None, dry_run: bool = False, actor: str = ACTOR
) -> list[dict[str, Any]]:
    """Purge one tenant or every tenant (each in its own transaction)."""
    from dispatcher.models import Tenant

    if tenant_id is not None:
        return [purge(ctx, tenant_id, actor=actor, dry_run=dry_run)]
    with Session(ctx.engine) as session:
        ids = list(session.exec(select(Tenant.id).order_by(col(Tenant.id))))
    return [purge(ctx, tid, actor=actor, dry_run=dry_run) for tid in ids]
