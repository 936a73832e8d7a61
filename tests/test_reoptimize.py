"""Re-optimization and the scheduler job: only feasible, cheaper plans replace the live plan."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import Session, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event, PlanVersion
from dispatcher.platform.scheduler import reoptimize_all
from dispatcher.rides.booking import Location, RideRequest, book
from dispatcher.rides.cancellation import cancel
from dispatcher.rides.plan import current_plan
from dispatcher.rides.reoptimize import reoptimize
from tests.conftest import DAY_START
from tests.planning import verify_plan
from tests.test_api_rides import eligible_resident

HALLS = [
    "hall-tera",
    "hall-misuzu",
    "hall-tomigata",
    "hall-nishiminowa",
    "hall-takato",
    "hall-hase",
    "hall-niiyama",
    "hall-fujisawa",
    "hall-higashiharuchika",
    "hall-nishiharuchika",
]
DESTS = ["central-hospital", "super-ina", "city-hall", "inashi-station", "takato-clinic"]


def book_many(ctx: Dispatcher, n: int) -> list[int]:
    ids = []
    for k in range(n):
        req = RideRequest(
            resident_id=eligible_resident(ctx, offset=k),
            origin=Location(place_id=HALLS[(k * 7) % len(HALLS)]),
            destination=Location(place_id=DESTS[(k * 3) % len(DESTS)]),
            pickup_after=DAY_START.replace(hour=9 + (k % 6), minute=(k * 13) % 60),
        )
        out = book(ctx, "ina-demo", req, str(uuid.uuid4()), "test")
        if out.ride.status == "confirmed":
            ids.append(out.ride.id)
    return ids


def test_reoptimization_keeps_every_promise(ctx: Dispatcher) -> None:
    day = DAY_START.date()
    booked = book_many(ctx, 30)
    assert len(booked) >= 25
    with Session(ctx.engine) as s:
        before = current_plan(s, "ina-demo", day)
        windows = {r: None for r in booked}
    result = reoptimize(ctx, "ina-demo", time_limit_s=3)
    assert result.status in ("replaced", "kept")
    with Session(ctx.engine) as s:
        after = current_plan(s, "ina-demo", day)
        latest = s.exec(select(PlanVersion).where(PlanVersion.version == after.version)).one()
        events = s.exec(select(Event).where(Event.kind == "plan.reoptimized")).all()
    if result.status == "replaced":
        assert after.version == before.version + 1
        assert result.objective < result.before_objective  # driving + weighted excess ride time
        assert latest.reason == "re-optimized" and len(events) == 1
    else:
        assert after.version == before.version
    counts = verify_plan(ctx, "ina-demo", day)
    assert counts["open"] == len(windows)


def test_reoptimize_is_idempotent_and_scheduler_respects_hours(ctx: Dispatcher, clock: SimClock) -> None:
    ids = book_many(ctx, 12)
    reoptimize(ctx, "ina-demo", time_limit_s=2)
    with Session(ctx.engine) as s:
        v1 = current_plan(s, "ina-demo", DAY_START.date()).version
    # Nothing changed since that search, and time moving on only takes options away: no new search.
    second = reoptimize(ctx, "ina-demo", time_limit_s=2)
    assert (second.status, second.version) == ("unchanged", v1)
    cancel(ctx, "ina-demo", ids[0], "test")  # a change: the next run searches again
    third = reoptimize(ctx, "ina-demo", time_limit_s=2)
    assert third.status in ("kept", "replaced")
    verify_plan(ctx, "ina-demo", DAY_START.date())
    clock.set(DAY_START.replace(hour=7))  # before service hours: the job leaves the plan alone
    assert reoptimize_all(ctx, 1.0) == {"ina-demo": "outside service hours"}
    clock.set(DAY_START.replace(hour=8, minute=5))
    out = reoptimize_all(ctx, 1.0)
    assert out["ina-demo"]["status"] in ("kept", "replaced", "unchanged")
    with Session(ctx.engine) as s:
        assert current_plan(s, "ina-demo", DAY_START.date()).version >= v1


def test_asks_during_a_run_coalesce_into_one_more_run(
    sqlite_ctx: Dispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of asks (a cut-off cancelling many freight jobs) while a re-optimization runs is
    neither dropped nor multiplied: exactly one more run follows the last ask. With APScheduler's
    real background thread."""
    import dispatcher.platform.scheduler as scheduler

    started, release = threading.Event(), threading.Event()
    runs: list[float] = []

    def slow_run(ctx: Dispatcher, time_limit_s: float) -> dict[str, object]:
        runs.append(time.monotonic())
        started.set()
        release.wait(5)
        return {}

    monkeypatch.setattr(scheduler, "reoptimize_all", slow_run)
    sched = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    sched.start()
    try:
        scheduler.trigger_reoptimization(sched, sqlite_ctx, 1.0)
        assert started.wait(5)
        for _ in range(20):  # asks while the first run is busy
            scheduler.trigger_reoptimization(sched, sqlite_ctx, 1.0)
        release.set()
        deadline = time.monotonic() + 10
        while (len(runs) < 2 or sqlite_ctx.reoptimizing.locked()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert len(runs) == 2  # the first, and one for the twenty asks made during it
        assert not sqlite_ctx.reoptimize_asked.is_set()
    finally:
        sched.shutdown(wait=True)
