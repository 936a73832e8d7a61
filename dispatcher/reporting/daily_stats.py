"""The nightly statistics: each finished service day's figures, stored once computed (`DailyStats`)
for the open data and sent to partners who subscribed to `stats.daily`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.integration.subscriptions import emit, enqueue, subscribers
from dispatcher.models import DailyStats, Event
from dispatcher.reporting.stats import load_facts, refused_by_reason, ride_figures, shopping_from
from dispatcher.rides.field_checks import REVIEWED

CATCH_UP_DAYS = 31  # after a long outage, close at most this many missed days


def day_figures(ctx: Dispatcher, tenant_id: str, day: date) -> tuple[dict[str, Any], dict[str, Any]]:
    """One day's (ridership, shopping) figures as `DailyStats` stores them."""
    facts = load_facts(ctx, tenant_id, day, day)
    ridership = ride_figures(facts.rides, facts.shared, facts.vehicle_days.values())
    ridership |= {"refused_by_reason": refused_by_reason(facts.rides), "registered_users": facts.registered}
    return ridership, shopping_from(facts, "day")["totals"]


def close_day(ctx: Dispatcher, tenant_id: str, day: date) -> dict[str, Any]:
    """Compute and store one day's figures (again: the same events give the same numbers, so
    closing twice changes nothing); partners hear of a day once, or again if a late report
    changed its figures."""
    ridership, shopping = day_figures(ctx, tenant_id, day)
    now = ctx.clock.now()
    with Session(ctx.engine, expire_on_commit=False) as session:
        row = session.exec(
            select(DailyStats).where(DailyStats.tenant_id == tenant_id, DailyStats.service_date == day)
        ).first()
        if row is not None and row.ridership == ridership and row.shopping == shopping:
            return {"date": day.isoformat(), "status": "unchanged"}
        status = "closed" if row is None else "updated"
        row = row or DailyStats(
            tenant_id=tenant_id, service_date=day, ridership={}, shopping={}, computed_at=now
        )
        row.ridership, row.shopping, row.computed_at = ridership, shopping, now
        session.add(row)
        data = {"date": day.isoformat(), "ridership": ridership, "shopping": shopping}
        emit(session, tenant_id, "stats.daily", data, now)
        for sub in subscribers(session, tenant_id, "stats.daily", "email"):
            enqueue(
                session,
                sub,
                "stats.daily",
                _mail(ctx, tenant_id, day, ridership, shopping),
                now,
                f"stats-{day}-{sub.id}",
            )
        session.commit()
    return {"date": day.isoformat(), "status": status, "trips": ridership["trips"]}


def _mail(ctx: Dispatcher, tenant_id: str, day: date, r: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
    name = ctx.config(tenant_id).name

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v * 100:.1f}%"

    body = "\n".join(
        [
            f"{name}　{day.month}月{day.day}日の利用状況（自動集計）",
            "",
            f"乗車件数 {r['trips']} 件、乗車人数 {r['passengers']} 人、乗合率 {pct(r['sharing_rate'])}",
            f"迎車の定時率 {pct(r['on_time_rate'])}、取消し {r['cancelled']} 件、"
            f"不在 {r['no_shows']} 件、お断り {r['refused']} 件",
            f"買い物: 注文 {s['orders']} 件、売上 {s['sales_yen']:,} 円、"
            f"ドローン配送の割合 {pct(s['drone_share'])}",
        ]
    )
    return {"subject": f"【のりあい】{day.month}月{day.day}日の利用状況", "body": body, "attachments": []}


def close_pending_days(ctx: Dispatcher, tenant_id: str, yesterday: date) -> list[dict[str, Any]]:
    """Close every day from the day after the last closed one (at most CATCH_UP_DAYS back) up to
    `yesterday`, and yesterday again in any case (a late drop-off report may have changed it);
    then again each closed day of the last CATCH_UP_DAYS whose flagged reports the operator
    reviewed after it was closed (a reviewed ride joins its day's figures)."""
    with Session(ctx.engine) as session:
        last = session.exec(
            select(col(DailyStats.service_date))
            .where(DailyStats.tenant_id == tenant_id)
            .order_by(col(DailyStats.service_date).desc())
            .limit(1)
        ).first()
    first = (
        yesterday
        if last is None
        else max(last + timedelta(days=1), yesterday - timedelta(days=CATCH_UP_DAYS - 1))
    )
    first = min(first, yesterday)
    out, d = [], first
    while d <= yesterday:
        out.append(close_day(ctx, tenant_id, d))
        d += timedelta(days=1)
    for day in sorted(_reviewed_since_closed(ctx, tenant_id, yesterday - timedelta(days=CATCH_UP_DAYS - 1))):
        if day < first:
            out.append(close_day(ctx, tenant_id, day))
    return out


def _reviewed_since_closed(ctx: Dispatcher, tenant_id: str, since: date) -> set[date]:
    """Service days from `since` on whose stored figures predate a review of one of their flags."""
    with Session(ctx.engine) as session:
        closed = {
            row.service_date: row.computed_at
            for row in session.exec(
                select(DailyStats).where(
                    DailyStats.tenant_id == tenant_id, col(DailyStats.service_date) >= since
                )
            )
        }
        if not closed:
            return set()
        reviews = session.exec(
            select(Event).where(
                Event.tenant_id == tenant_id,
                col(Event.at) >= min(closed.values()),
                col(Event.kind).in_(REVIEWED),
            )
        ).all()
    out = set()
    for e in reviews:
        text = (e.after or {}).get("service_date")
        day = date.fromisoformat(text) if text else None
        if day is not None and day in closed and e.at > closed[day]:
            out.add(day)
    return out
