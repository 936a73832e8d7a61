"""Reminders on the household's TV, dismissed with the remote's Enter key.

Set by an operator (or the family through one): once at a time, or on weekdays at a local time
(medication, rubbish day). Automatic ones, without any setting: the evening before a ride booked
ahead (19:00), 15 minutes before a pickup booked at least 30 minutes ahead (whoever booked "now"
needs no reminder), and groceries waiting at the community hall. An
occurrence shows from its time for SHOW_HOURS (the day's rubbish reminder is no use the next
morning) until the household dismisses it; each dismissal is kept (`reminder_ack`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from dispatcher.care.kinds import REMINDER_ACKNOWLEDGED, REMINDER_CREATED, REMINDER_REMOVED
from dispatcher.context import Dispatcher
from dispatcher.errors import Code, InvalidRequest, NotFound, field_error
from dispatcher.events import events_of, record
from dispatcher.models import Household, Reminder, ReminderAck, Resident, Ride, RideStatus, ShopOrder
from dispatcher.rides.place_names import name_stop
from dispatcher.shopping.kinds import ORDER_AT_HALL
from dispatcher.tenant_config import WEEKDAYS
from dispatcher.tenants import household
from dispatcher.timeline import at_local, iso_local, local_date, parse_hhmm
from routing.geo import Point

SHOW_HOURS = 12
SOON_MINUTES = 15
EVENING = "19:00"
KINDS = ("medication", "rubbish", "other")


def create(
    ctx: Dispatcher,
    tenant_id: str,
    household_id: int,
    text: str,
    actor: str,
    kind: str = "other",
    once_at: datetime | None = None,
    days: Sequence[str] | None = None,
    at_time: str | None = None,
) -> Reminder:
    """A reminder: `once_at`, or `days` (mon..sun) with `at_time` (HH:MM, local)."""
    errors = []
    if not text.strip():
        errors.append(field_error("text", "say what to remind of"))
    if kind not in KINDS:
        errors.append(field_error("kind", f"one of {', '.join(KINDS)}"))
    if (once_at is None) == (not days):
        errors.append(field_error("once_at", "give once_at, or days with at_time"))
    if days:
        if any(d not in WEEKDAYS for d in days):
            errors.append(field_error("days", f"weekdays among {', '.join(WEEKDAYS)}"))
        try:
            parse_hhmm(at_time or "")
        except ValueError:
            errors.append(field_error("at_time", "a time of day such as 08:00"))
    if errors:
        raise InvalidRequest("The reminder cannot be set.", errors)
    now = ctx.clock.now()
    with Session(ctx.engine, expire_on_commit=False) as session:
        household(session, tenant_id, household_id)
        r = Reminder(
            tenant_id=tenant_id,
            household_id=household_id,
            text=text.strip(),
            kind=kind,
            once_at=once_at,
            days=list(days or []),
            at_time=at_time if days else None,
            created_at=now,
            created_by=actor,
        )
        session.add(r)
        session.flush()
        record(
            session,
            tenant_id,
            now,
            actor,
            REMINDER_CREATED,
            "household",
            household_id,
            after={
                "reminder": r.id,
                "kind": kind,
                "once_at": once_at.isoformat() if once_at else None,
                "days": r.days,
                "at_time": r.at_time,
            },
        )
        session.commit()
        return r


def remove(ctx: Dispatcher, tenant_id: str, reminder_id: int, actor: str) -> None:
    now = ctx.clock.now()
    with Session(ctx.engine) as session:
        r = session.get(Reminder, reminder_id)
        if r is None or r.tenant_id != tenant_id:
            raise NotFound(f"No reminder {reminder_id}.", code=Code.reminder_not_found)
        r.active = False
        session.add(r)
        record(
            session,
            tenant_id,
            now,
            actor,
            REMINDER_REMOVED,
            "household",
            r.household_id,
            after={"reminder": r.id},
        )
        session.commit()


def _occurrences(
    ctx: Dispatcher, session: Session, tenant_id: str, household_id: int, now: datetime
) -> list[dict[str, Any]]:
    cfg = ctx.config(tenant_id)
    tz = cfg.tz
    today = local_date(now, tz)
    window = timedelta(hours=SHOW_HOURS)
    out: list[dict[str, Any]] = []
    for r in session.exec(
        select(Reminder).where(Reminder.household_id == household_id, col(Reminder.active).is_(True))
    ):
        if r.once_at is not None:
            due = r.once_at
        elif WEEKDAYS[today.weekday()] in r.days and r.at_time:
            due = at_local(today, parse_hhmm(r.at_time), tz)
        else:
            continue
        if due <= now < due + window:
            out.append({"key": f"reminder:{r.id}", "due_at": due, "kind": r.kind, "text": r.text})
    # rides of the household's residents: today's and tomorrow's
    people = {p.id: p for p in session.exec(select(Resident).where(Resident.household_id == household_id))}
    names = {i: p.given_name for i, p in people.items()}
    if names:
        rides = session.exec(
            select(Ride).where(
                col(Ride.resident_id).in_(list(names)),
                Ride.status == RideStatus.confirmed.value,
                col(Ride.service_date) >= today,
                col(Ride.service_date) <= today + timedelta(days=1),
            )
        ).all()
        for ride in rides:
            pickup = ride.planned_pickup or ride.pickup_window_start
            if pickup is None:
                continue
            at = pickup.astimezone(tz)
            who = names[ride.resident_id]
            rider = people[ride.resident_id]
            frm = name_stop(
                cfg, ride.origin_place_id, ride.origin_lat, ride.origin_lon, Point(rider.lat, rider.lon)
            )
            evening = at_local(ride.service_date - timedelta(days=1), parse_hhmm(EVENING), tz)
            if ride.created_at < evening <= now < evening + window:
                out.append(
                    {
                        "key": f"ride:{ride.id}:eve",
                        "due_at": evening,
                        "kind": "ride",
                        "text": f"あした {at.month}月{at.day}日 {at:%H:%M}ごろ、{who}さんの"
                        f"タクシーが{frm.polite}に来ます。",
                    }
                )
            # due a quarter of an hour before the promised window (it does not move when the plan
            # does, so a dismissed reminder stays dismissed); the text says the planned time
            promised = ride.pickup_window_start or pickup
            soon = promised - timedelta(minutes=SOON_MINUTES)
            booked_ahead = ride.created_at <= promised - timedelta(minutes=2 * SOON_MINUTES)  # not "now"
            if booked_ahead and soon <= now < max(pickup, promised):
                out.append(
                    {
                        "key": f"ride:{ride.id}:soon",
                        "due_at": soon,
                        "kind": "ride",
                        "text": f"{who}さん、{at:%H:%M}ごろにタクシーが来ます。"
                        f"お出かけの準備をして、{frm.wait_at}お待ちください。",
                    }
                )
    # groceries at the hall today
    orders = session.exec(
        select(ShopOrder.id).where(ShopOrder.household_id == household_id, ShopOrder.delivery_date == today)
    ).all()
    landed = [
        e
        for e in events_of(session, tenant_id, "order", orders, (ORDER_AT_HALL,))
        if e.at <= now < e.at + window
    ]
    if landed:
        hall = cfg.place(session.get_one(Household, household_id).hall_id or "")
        where = hall.name if hall else "公民館"
        for e in landed:
            out.append(
                {
                    "key": f"order:{e.entity_id}:hall",
                    "due_at": e.at,
                    "kind": "delivery",
                    "text": f"お買い物が{where}に届きました。集落支援員がお届けします。",
                }
            )
    return out


def due(ctx: Dispatcher, tenant_id: str, household_id: int) -> list[dict[str, Any]]:
    """What the TV should show now, oldest first, without those already dismissed."""
    now = ctx.clock.now()
    tz = ctx.config(tenant_id).tz
    with Session(ctx.engine) as session:
        items = _occurrences(ctx, session, tenant_id, household_id, now)
        acked = {
            (a.key, a.due_at)
            for a in session.exec(
                select(ReminderAck).where(
                    ReminderAck.household_id == household_id,
                    col(ReminderAck.due_at) >= now - timedelta(hours=SHOW_HOURS + 24),
                )
            )
        }
    items = [i for i in items if (i["key"], i["due_at"]) not in acked]
    items.sort(key=lambda i: i["due_at"])
    return [{**i, "due_at": iso_local(i["due_at"], tz)} for i in items]


def acknowledge(
    ctx: Dispatcher, tenant_id: str, household_id: int, key: str, due_at: datetime, actor: str
) -> bool:
    """The household pressed Enter on a reminder; True if it was showing (a repeat is harmless)."""
    now = ctx.clock.now()
    showing = {(i["key"], datetime.fromisoformat(i["due_at"])) for i in due(ctx, tenant_id, household_id)}
    if (key, due_at) not in showing:
        return False
    with Session(ctx.engine) as session:
        session.add(
            ReminderAck(
                tenant_id=tenant_id,
                household_id=household_id,
                key=key,
                due_at=due_at,
                acknowledged_at=now,
                acknowledged_by=actor,
            )
        )
        record(
            session,
            tenant_id,
            now,
            actor,
            REMINDER_ACKNOWLEDGED,
            "household",
            household_id,
            after={"key": key, "due_at": due_at.isoformat()},
        )
        try:
            session.commit()
        except IntegrityError:  # pressed twice
            session.rollback()
    return True


def listing(ctx: Dispatcher, tenant_id: str, household_id: int) -> list[dict[str, Any]]:
    tz = ctx.config(tenant_id).tz
    with Session(ctx.engine) as session:
        household(session, tenant_id, household_id)  # another municipality's: 404, not an empty list
        rows = session.exec(
            select(Reminder)
            .where(
                Reminder.household_id == household_id,
                Reminder.tenant_id == tenant_id,
                col(Reminder.active).is_(True),
            )
            .order_by(col(Reminder.id))
        ).all()
    return [
        {
            "id": r.id,
            "text": r.text,
            "kind": r.kind,
            "once_at": iso_local(r.once_at, tz),
            "days": r.days,
            "at_time": r.at_time,
        }
        for r in rows
    ]
