"""Issue 7, acceptance 5 on SQLite and PostgreSQL: the scheduler's timeline under an injected clock.
After a simulated two-hour outage a restarted scheduler runs each missed job once (all its missed
fire times coalesced into one run), not once per missed fire time, and never again for the same
fire time; a job whose grace has passed is recorded as missed instead of running late."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import DailyStats, Event, JobRun, Publication, ScheduledJob
from dispatcher.platform.bootstrap import build_dispatcher
from dispatcher.platform.scheduler import listing, run_due
from dispatcher.settings import DEMO_TENANT_FILE, Settings
from tests.conftest import DAY_START, client_for, token_headers
from tests.test_delivery import place_orders

JOBS = (
    "travel-margin",
    "reoptimize",
    "delivery-cutoff",
    "publish-morning",
    "publish-changes",
    "statistics",
    "billing-close",
    "watch-over",
    "outbox",
    "retention",
)


def _jobs(ctx: Dispatcher) -> dict[str, ScheduledJob]:
    with Session(ctx.engine) as s:
        return {j.name: j for j in s.exec(select(ScheduledJob))}


def _runs(ctx: Dispatcher, job: str) -> list[JobRun]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(JobRun).where(JobRun.job == job).order_by(JobRun.due_at)))


def _restart(ctx: Dispatcher, url: str, clock: SimClock) -> Dispatcher:
    """A new process: nothing survives but the database."""
    ctx.engine.dispose()
    fresh = build_dispatcher(Settings(DATABASE_URL=url, NORIAI_TENANT_FILE=DEMO_TENANT_FILE), clock)
    fresh.solver_seconds = 0.5
    return fresh


def test_two_hour_outage_runs_each_missed_job_once(
    client: TestClient, ctx: Dispatcher, clock: SimClock, db_url: str
) -> None:
    ctx.solver_seconds = 0.5
    place_orders(client, token_headers(client, "ina-demo-operator"), ctx, 4, seed=3)
    clock.set(DAY_START.replace(hour=7, minute=29))
    run_due(ctx)  # the scheduler starts: the job store learns every job's next fire time
    assert set(_jobs(ctx)) == set(JOBS)
    clock.set(DAY_START.replace(hour=7, minute=30, second=5))
    ran = {r["job"] for r in run_due(ctx)}
    assert "publish-morning" in ran  # on time: 07:30 on a weekday
    clock.set(DAY_START.replace(hour=10, minute=30, second=5))
    run_due(ctx)
    before = _jobs(ctx)

    # Down from 10:30 to 12:30: the 11:00 cut-off, 24 re-optimizations, 120 publishing checks and
    # 240 outbox rounds are missed. A new process starts.
    clock.set(DAY_START.replace(hour=12, minute=30, second=5))
    ctx = _restart(ctx, db_url, clock)
    out = {r["job"]: r for r in run_due(ctx)}
    after = _jobs(ctx)
    ran_once = {
        "reoptimize": 24,
        "delivery-cutoff": 1,
        "publish-changes": 120,
        "watch-over": 24,
        "outbox": 240,
    }
    for job, missed in ran_once.items():
        assert after[job].runs == before[job].runs + 1, job  # once, not `missed` times
        assert after[job].missed == before[job].missed + missed - 1, job  # the rest coalesced
    for job in ("publish-morning", "statistics", "billing-close"):  # nothing of theirs was due
        assert after[job].runs == before[job].runs
    cutoff = _runs(ctx, "delivery-cutoff")
    assert len(cutoff) == 1 and cutoff[0].status == "ok" and cutoff[0].coalesced == 0
    assert cutoff[0].due_at == DAY_START.replace(hour=11)  # the fire time it served
    assert out["delivery-cutoff"]["detail"]["orders"] == 4
    assert after["reoptimize"].last_due_at == DAY_START.replace(hour=12, minute=30)

    # Running again finds nothing more of the outage to do.
    for seconds in (10, 20, 40):
        clock.set(DAY_START.replace(hour=12, minute=30, second=5) + timedelta(seconds=seconds))
        again = {r["job"] for r in run_due(ctx)}
        assert "delivery-cutoff" not in again
    final = _jobs(ctx)
    assert final["delivery-cutoff"].runs == after["delivery-cutoff"].runs
    assert final["reoptimize"].runs == after["reoptimize"].runs  # next fire time 12:35
    assert final["outbox"].runs == after["outbox"].runs + 1  # 12:31:00 is a new fire time, not a repeat
    with Session(ctx.engine) as s:
        assert len(s.exec(select(Event).where(Event.kind == "delivery.planned")).all()) == 1
    jobs = {j["job"]: j for j in listing(ctx)}
    assert jobs["reoptimize"]["next_run"] == "2026-11-24T12:35:00+09:00"
    assert jobs["delivery-cutoff"]["next_run"] == "2026-11-25T11:00:00+09:00"
    assert jobs["publish-morning"]["next_run"] == "2026-11-25T07:30:00+09:00"
    assert jobs["statistics"]["next_run"] == "2026-11-25T02:00:00+09:00"
    ctx.engine.dispose()


def test_night_outage_closes_the_missed_days_and_a_late_job_past_its_grace_is_missed(
    sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    ctx = sqlite_ctx
    clock.set(DAY_START.replace(day=20, hour=1, minute=59))  # Friday night
    run_due(ctx)
    clock.set(DAY_START.replace(day=20, hour=2, second=5))
    assert [d["date"] for d in run_due(ctx)[0]["detail"]["days"]] == ["2026-11-19"]
    clock.set(DAY_START.replace(hour=3))  # down from Friday 02:00 to Tuesday 03:00
    out = {r["job"]: r for r in run_due(ctx)}
    stats = out["statistics"]
    assert stats["status"] == "ok" and stats["coalesced"] == 3  # four 02:00 fire times, one run
    assert [d["date"] for d in stats["detail"]["days"]] == [
        "2026-11-20",
        "2026-11-21",
        "2026-11-22",
        "2026-11-23",
    ]
    with Session(ctx.engine) as s:
        closed = [
            d.service_date.isoformat() for d in s.exec(select(DailyStats).order_by(DailyStats.service_date))
        ]
    assert closed == ["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]
    # Friday's, Saturday's and Monday's morning publications were too old on Tuesday: missed.
    assert out["publish-morning"]["status"] == "missed"
    with Session(ctx.engine) as s:
        assert s.exec(select(Publication)).first() is None
        missed = s.exec(select(JobRun).where(JobRun.job == "publish-morning")).one()
    assert missed.status == "missed" and missed.detail == {"missed_fire_times": 3}

    # Down over the cut-off until after the delivery deadline: the cut-off is not run late.
    clock.set(DAY_START.replace(hour=10))
    run_due(ctx)
    clock.set(DAY_START.replace(hour=17, minute=30))
    out = {r["job"]: r for r in run_due(ctx)}
    assert out["delivery-cutoff"]["status"] == "missed"
    with Session(ctx.engine) as s:
        assert s.exec(select(Event).where(Event.kind == "delivery.planned")).first() is None


def test_a_failing_daily_job_is_retried_for_its_fire_time_within_its_grace(
    sqlite_ctx: Dispatcher, clock: SimClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cut-off's work fails (here: made to); the job tries again every 5 minutes for the same
    11:00 fire time until the delivery deadline, then gives up until the next day."""
    import dispatcher.shopping.jobs as shopping_jobs

    ctx = sqlite_ctx
    seen: list[datetime] = []

    def failing(ctx: Dispatcher, tenant_id: str, due: datetime) -> dict[str, Any] | None:
        seen.append(due)
        raise RuntimeError("the planner is down")

    monkeypatch.setattr(shopping_jobs, "run_cutoff", failing)
    clock.set(DAY_START.replace(hour=10, minute=59))
    run_due(ctx)
    while clock.now() < DAY_START.replace(hour=18):
        clock.advance(timedelta(seconds=30))
        run_due(ctx, only="delivery-cutoff")
    eleven = DAY_START.replace(hour=11)
    assert seen and set(seen) == {eleven}  # always the fire time it owes, never a made-up one
    assert len(seen) == 73  # 11:00, then every 5 min until 17:00 (the grace), none after
    (run,) = _runs(ctx, "delivery-cutoff")
    assert run.due_at == eleven and run.status == "failed" and "planner is down" in run.detail["error"]
    job = _jobs(ctx)["delivery-cutoff"]
    assert job.pending_due_at is None and job.next_run_at == DAY_START.replace(hour=11) + timedelta(days=1)


def test_a_run_cut_short_by_a_crash_is_taken_up_again(
    ctx: Dispatcher, clock: SimClock, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dispatcher.shopping.jobs as shopping_jobs

    with client_for(ctx) as client:
        place_orders(client, token_headers(client, "ina-demo-operator"), ctx, 3, seed=5)
    real = shopping_jobs.run_cutoff

    def dies(ctx: Dispatcher, tenant_id: str, due: datetime) -> dict[str, Any] | None:
        raise SystemExit("killed")  # the process ends in the middle of the run

    clock.set(DAY_START.replace(hour=10, minute=59))
    run_due(ctx)
    monkeypatch.setattr(shopping_jobs, "run_cutoff", dies)
    clock.set(DAY_START.replace(hour=11, second=5))
    with pytest.raises(SystemExit):
        run_due(ctx, ("dispatch",))
    monkeypatch.setattr(shopping_jobs, "run_cutoff", real)
    clock.set(DAY_START.replace(hour=11, minute=2))
    ctx = _restart(ctx, db_url, clock)
    assert not [r for r in run_due(ctx) if r["job"] == "delivery-cutoff"]  # its lease still holds
    clock.set(DAY_START.replace(hour=11, minute=10, second=10))
    (run,) = [r for r in run_due(ctx) if r["job"] == "delivery-cutoff"]
    assert run["due_at"].startswith("2026-11-24T02:00:00") and run["detail"]["orders"] == 3
    clock.set(DAY_START.replace(hour=11, minute=11))
    assert not [r for r in run_due(ctx) if r["job"] == "delivery-cutoff"]
    with Session(ctx.engine) as s:
        assert len(s.exec(select(Event).where(Event.kind == "delivery.planned")).all()) == 1
    ctx.engine.dispose()
