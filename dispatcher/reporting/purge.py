"""Reporting's step of the retention purge (`dispatcher.platform.retention`): before a day's personal
data goes, the day gets its nightly figures (closed now if the statistics job never did) and keeps
each vehicle's hours and km beside them, which came from positions and addresses. The statistics of
a purged day stay exactly what they were."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.models import DailyStats
from dispatcher.reporting.daily_stats import day_figures
from dispatcher.reporting.stats import load_facts

FACTS_DAYS = 366  # days of statistics read at once while keeping the vehicles' figures

Figures = tuple[dict[str, Any], dict[str, Any]]  # a day's (ridership, shopping) figures


def days_to_freeze(
    session: Session, tenant_id: str, first: date | None, since: date | None, through: date
) -> tuple[list[date], list[date]]:
    """(days from the first service day, or the first not purged before, up to `through` that are
    not purged yet; those of them without their nightly figures)."""
    if first is None:
        return [], []
    start = max(first, since) if since is not None else first
    if start > through:
        return [], []
    rows = dict(
        session.exec(
            select(col(DailyStats.service_date), col(DailyStats.purged_at)).where(
                DailyStats.tenant_id == tenant_id,
                col(DailyStats.service_date) >= start,
                col(DailyStats.service_date) <= through,
            )
        ).all()
    )
    todo = []
    d = start
    while d <= through:
        if rows.get(d) is None:  # no figures yet, or figures not purged yet
            todo.append(d)
        d += timedelta(days=1)
    return todo, [d for d in todo if d not in rows]


def missing_figures(ctx: Dispatcher, tenant_id: str, days: list[date]) -> dict[date, Figures]:
    """The nightly figures of days the statistics job never closed (read in their own sessions)."""
    return {d: day_figures(ctx, tenant_id, d) for d in days}


def vehicle_figures(ctx: Dispatcher, tenant_id: str, days: list[date]) -> dict[date, list[dict[str, Any]]]:
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


def freeze(
    session: Session,
    tenant_id: str,
    days: list[date],
    figures: dict[date, Figures],
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
