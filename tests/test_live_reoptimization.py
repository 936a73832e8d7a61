"""Re-optimization on a live day: drivers' phones report every 30 s and residents book while the
solver runs, yet the scheduled job stores its better plans (merged with what happened meanwhile);
overdue rides are held for the operator's review instead of failing every run.

Real databases (both backends), real OR-Tools and ALNS with short time limits; the plan the test
starts each round from is made deliberately poor (two vehicles' routes swapped across town), so an
improvement exists every time."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

import dispatcher.rides.reoptimize as reoptimization
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import id_of, lock_tenant
from dispatcher.models import Event, Ride, Vehicle
from dispatcher.platform.scheduler import run_due
from dispatcher.rides.booking import Location, RideRequest, book
from dispatcher.rides.cancellation import cancel
from dispatcher.rides.field_events import VehicleEvent, vehicle_event
from dispatcher.rides.optimizer_status import DISCARDED
from dispatcher.rides.plan import apply_route, build_problem, current_plan, save_plan
from dispatcher.rides.reoptimize import reoptimize
from routing.schedule import check, route_travel
from tests.conftest import DAY_START, JST, client_for, token_headers
from tests.planning import verify_plan
from tests.test_api_rides import eligible_resident
from tests.test_reoptimize import DESTS, HALLS, book_many

TENANT = "ina-demo"
DAY = DAY_START.date()
SWAPPABLE = ("chuo-1", "chuo-2", "chuo-3", "haru-1", "haru-2", "takato-1")  # 4 seats, no wheelchair


def degrade(ctx: Dispatcher, exclude: frozenset[int] = frozenset()) -> float:
    """Store a deliberately poor plan: the feasible swap of two vehicles' whole routes that adds
    the most driving time (s, returned; at least 5 minutes). exclude: vehicle ids left alone."""
    cfg = ctx.config(TENANT)
    with Session(ctx.engine, expire_on_commit=False) as s:
        lock_tenant(s, TENANT)
        now = ctx.clock.now()
        state = current_plan(s, TENANT, DAY)
        problem = build_problem(ctx, s, cfg, DAY, state, now)
        idx = {v.key: k for k, v in enumerate(problem.vehicles) if id_of(v) not in exclude}
        keys = [k for k in SWAPPABLE if k in idx]
        best: tuple[float, int, int, Any, Any] | None = None
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                ra, rb = problem.routes[idx[a]], problem.routes[idx[b]]
                if ra.fixed or rb.fixed or ra.vehicle.onboard or rb.vehicle.onboard:
                    continue
                sa, sb = (
                    check(ra.vehicle, rb.stops, problem.travel),
                    check(rb.vehicle, ra.stops, problem.travel),
                )
                if not (sa.feasible and sb.feasible):
                    continue
                gain = (sa.travel + sb.travel) - (
                    route_travel(ra.vehicle, ra.stops, problem.travel)
                    + route_travel(rb.vehicle, rb.stops, problem.travel)
                )
                if best is None or gain > best[0]:
                    best = (gain, idx[a], idx[b], sa, sb)
        assert best is not None and best[0] >= 300, best and best[0]
        gain, ka, kb, sa, sb = best
        ra, rb = problem.routes[ka], problem.routes[kb]
        apply_route(cfg, state, id_of(problem.vehicles[ka]), rb.stops, sa, DAY, s)
        apply_route(cfg, state, id_of(problem.vehicles[kb]), ra.stops, sb, DAY, s)
        save_plan(s, TENANT, DAY, state, "test: a poor plan", now, 0.0)
        s.commit()
    return gain


def report_positions(ctx: Dispatcher, clock: SimClock, ticks: int) -> None:
    """Every vehicle's phone reports its position every 30 s of simulated time (the vehicles wait
    at their depots before the first pickup; the phone's fix wanders by a few metres)."""
    with Session(ctx.engine) as s:
        vehicles = [
            (id_of(v), v.depot_lat, v.depot_lon) for v in s.exec(select(Vehicle).order_by(col(Vehicle.id)))
        ]
    assert len(vehicles) == 8
    for t in range(ticks):
        clock.advance(timedelta(seconds=30))
        for k, (vid, lat, lon) in enumerate(vehicles):
            wobble = ((t * 8 + k) % 7 - 3) * 1e-5  # about a metre per step
            vehicle_event(
                ctx,
                TENANT,
                vid,
                VehicleEvent(type="position", lat=lat + wobble, lon=lon - wobble),
                "driver:phone",
            )


def book_one(ctx: Dispatcher, k: int, pickup_after: datetime) -> int:
    req = RideRequest(
        resident_id=eligible_resident(ctx, offset=100 + k),
        origin=Location(place_id=HALLS[(k * 3) % len(HALLS)]),
        destination=Location(place_id=DESTS[k % len(DESTS)]),
        pickup_after=pickup_after,
    )
    out = book(ctx, TENANT, req, str(uuid.uuid4()), "operator:test")
    assert out.ride.status == "confirmed" and out.ride.id is not None
    return out.ride.id


def _board(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    r = client.get("/api/v1/board", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _plan_travel(ctx: Dispatcher) -> float:
    with Session(ctx.engine) as s:
        state = current_plan(s, TENANT, DAY)
        p = build_problem(ctx, s, ctx.config(TENANT), DAY, state, ctx.clock.now())
    return sum(route_travel(r.vehicle, r.stops, p.travel) for r in p.routes)


def test_the_scheduled_job_stores_better_plans_while_eight_vehicles_report_and_residents_book(
    ctx: Dispatcher, clock: SimClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """10 rounds of 5 simulated minutes: 8 phones report every 30 s (80 reports a round), the plan
    is made poor, and the scheduler's re-optimization job runs; while it solves, two more reports
    from every vehicle and a booking come in. Every round stores a better plan that holds the new
    booking, passes the checker, and the board says when. (Before the plan sequence, each of these
    runs ended `plan changed meanwhile` and stored nothing.)"""
    booked = book_many(ctx, 16)
    assert len(booked) >= 14
    ctx.solver_seconds = 0.6
    real_improve = reoptimization.improve
    during: list[int] = []

    def improve_while_the_day_goes_on(*args: Any, **kwargs: Any) -> Any:
        report_positions(ctx, clock, 2)
        k = len(during)
        during.append(book_one(ctx, k, DAY_START.replace(hour=10 + k % 5, minute=(k * 17) % 60)))
        return real_improve(*args, **kwargs)

    monkeypatch.setattr(reoptimization, "improve", improve_while_the_day_goes_on)
    with client_for(ctx) as client:
        op = token_headers(client, "ina-demo-operator")
        outcomes = []
        for _round in range(10):
            report_positions(ctx, clock, 10)  # the five minutes until the job is due
            degrade(ctx)
            poor = _plan_travel(ctx)
            [run] = run_due(ctx, ("dispatch",), only="reoptimize")
            assert run["status"] == "ok", run
            outcomes.append(run["detail"]["status"])
            stored = clock.now()
            with Session(ctx.engine) as s:
                [ev] = s.exec(
                    select(Event)
                    .where(Event.kind == "plan.reoptimized")
                    .order_by(col(Event.id).desc())
                    .limit(1)
                ).all()
                ride = s.get(Ride, during[-1])
                assert ride is not None and ride.status == "confirmed"
            assert ev.after["merged"]["inserted"] == [during[-1]], ev.after  # booked during the solve
            assert ev.after["travel_seconds"] < ev.before["travel_seconds"]
            assert abs(_plan_travel(ctx) - ev.after["travel_seconds"]) < 1.0  # what is stored
            assert ev.before["travel_seconds"] >= poor  # the poor plan, and the booking made meanwhile
            counts = verify_plan(ctx, TENANT, DAY)
            assert counts["open"] == len(booked) + len(during)
            optimizer = _board(client, op)["optimizer"]
            assert optimizer["last_improved_at"] == stored.astimezone(JST).isoformat()
            assert optimizer["last_improvement_seconds"] > 0
            assert optimizer["last_outcome"] == "replaced"
        assert outcomes == ["replaced"] * 10
    with Session(ctx.engine) as s:  # the phones did report: 8 vehicles x 12 a round x 10 rounds
        positions = s.exec(select(Event).where(Event.kind == "vehicle.position")).all()
    assert len(positions) == 8 * 12 * 10


def test_a_booking_and_a_cancellation_committed_while_a_solve_runs_are_merged(
    ctx: Dispatcher, clock: SimClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real threads: the re-optimization solves in one, a resident books and another cancels in
    the other (each committed before the solve returns). The stored plan holds the new ride, not
    the cancelled one, and passes the exact checker."""
    booked = book_many(ctx, 14)
    degrade(ctx)
    solving, done = threading.Event(), threading.Event()
    real_improve = reoptimization.improve

    def improve(*args: Any, **kwargs: Any) -> Any:
        solving.set()
        result = real_improve(*args, **kwargs)
        assert done.wait(30), "the booking thread never finished"
        return result

    monkeypatch.setattr(reoptimization, "improve", improve)
    out: list[Any] = []
    solver = threading.Thread(target=lambda: out.append(reoptimize(ctx, TENANT, time_limit_s=1.0)))
    solver.start()
    try:
        assert solving.wait(30)
        new = book_one(ctx, 50, DAY_START.replace(hour=11, minute=10))
        cancel(ctx, TENANT, booked[0], "operator:test", reason="本人から電話")
    finally:
        done.set()
        solver.join(60)
    [result] = out
    assert result.status == "replaced", result
    assert new in result.merged_rides
    with Session(ctx.engine) as s:
        state = current_plan(s, TENANT, DAY)
        in_plan = {e["ride_id"] for stops in state.routes.values() for e in stops}
        [ev] = s.exec(select(Event).where(Event.kind == "plan.reoptimized")).all()
    assert new in in_plan and booked[0] not in in_plan
    assert ev.after["merged"]["inserted"] == [new] and ev.after["merged"]["dropped_stops"] == 2
    verify_plan(ctx, TENANT, DAY)


def test_a_solve_that_merging_makes_no_better_is_recorded_as_discarded(
    sqlite_ctx: Dispatcher, clock: SimClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the solver runs, another process stores the very plan it is about to find: merged, the
    solve's plan is no better than the plan in force, so it is discarded, and the outcome is an
    event with its reason."""
    ctx = sqlite_ctx
    book_many(ctx, 12)
    degrade(ctx)
    real_improve = reoptimization.improve

    def improve(routes: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_improve(routes, *args, **kwargs)
        cfg = ctx.config(TENANT)
        with Session(ctx.engine, expire_on_commit=False) as s:
            lock_tenant(s, TENANT)
            state = current_plan(s, TENANT, DAY)
            for r, stops in zip(routes, result.stops, strict=True):
                state.routes[r.vehicle.id] = state.done(r.vehicle.id) + [
                    {"ride_id": x.request_id, "kind": x.kind, "done": False} for x in stops
                ]
            p = build_problem(ctx, s, cfg, DAY, state, ctx.clock.now())
            for v, r in zip(p.vehicles, p.routes, strict=True):
                apply_route(cfg, state, id_of(v), r.stops, check(r.vehicle, r.stops, p.travel), DAY, s)
            save_plan(
                s, TENANT, DAY, state, "test: the same plan, stored by another process", ctx.clock.now(), 0.0
            )
            s.commit()
        return result

    monkeypatch.setattr(reoptimization, "improve", improve)
    out = reoptimize(ctx, TENANT, time_limit_s=0.5)
    assert (out.status, out.reason) == ("discarded", "no_gain"), out
    with Session(ctx.engine) as s:
        [ev] = s.exec(select(Event).where(Event.kind == DISCARDED)).all()
    assert ev.actor == "system:reoptimizer" and ev.after["reason"] == "no_gain"
    verify_plan(ctx, TENANT, DAY)
    with client_for(ctx) as client:
        optimizer = _board(client, token_headers(client, "ina-demo-operator"))["optimizer"]
    assert (optimizer["last_outcome"], optimizer["last_outcome_reason"]) == ("discarded", "no_gain")
    assert optimizer["last_improved_at"] is None and optimizer["status"] == "ok"


# ------------------------------------------------------------------------------ overdue rides


def overdue_day(ctx: Dispatcher, clock: SimClock) -> tuple[list[int], list[int]]:
    """Two early rides on two different vehicles whose pickup windows then pass with no tap, and a
    day of other rides. Returns (the overdue rides, the others)."""
    early = []
    for k, (hall, vehicle_hint) in enumerate((("hall-takato", "takato"), ("hall-tera", "chuo"))):
        req = RideRequest(
            resident_id=eligible_resident(ctx, offset=200 + k),
            origin=Location(place_id=hall),
            destination=Location(place_id="city-hall" if k else "takato-clinic"),
            pickup_after=DAY_START.replace(minute=20 + 5 * k),
        )
        ride = book(ctx, TENANT, req, str(uuid.uuid4()), "operator:test").ride
        assert ride.status == "confirmed", (ride.refusal_reason, vehicle_hint)
        early.append(ride.id)
    others = book_many(ctx, 14)
    with Session(ctx.engine) as s:
        vehicles = {s.get(Ride, r).vehicle_id for r in early}  # type: ignore[union-attr]
    assert len(vehicles) == 2, "the two early rides should be on two vehicles"
    clock.set(DAY_START.replace(minute=55))  # both windows have passed; no driver tapped
    return early, others


def test_two_overdue_rides_are_held_for_review_and_the_rest_of_the_day_still_improves(
    ctx: Dispatcher, clock: SimClock
) -> None:
    early, _others = overdue_day(ctx, clock)
    ctx.solver_seconds = 0.6
    with Session(ctx.engine) as s:
        held = {s.get(Ride, r).vehicle_id for r in early}  # type: ignore[union-attr]
        before = current_plan(s, TENANT, DAY)
    degrade(ctx, exclude=frozenset(v for v in held if v is not None))
    poor = _plan_travel(ctx)
    with Session(ctx.engine) as s:
        held_routes = {v: current_plan(s, TENANT, DAY).routes[v] for v in held if v is not None}
    # before: "no feasible plan found (rides 8, 14 fit no vehicle)", every run
    [run] = run_due(ctx, ("dispatch",), only="reoptimize")
    assert run["status"] == "ok" and run["detail"]["status"] == "replaced", run
    assert _plan_travel(ctx) < poor
    with Session(ctx.engine) as s:
        after = current_plan(s, TENANT, DAY)
        [ev] = s.exec(select(Event).where(Event.kind == "plan.reoptimized")).all()
    assert after.version > before.version
    for v, route in held_routes.items():  # the held vehicles' riders stay exactly as they were
        assert after.routes[v] == route
    assert sorted(ev.after["review"]) == sorted(early) and len(ev.after["held"]) == 2
    with client_for(ctx) as client:
        op = token_headers(client, "ina-demo-operator")
        review = _board(client, op)["review"]
        assert [r["ride_id"] for r in review] == early
        for r in review:
            assert r["status"] == "confirmed" and r["overdue_minutes"] >= 15
            assert r["phones"] and all(p["number"].startswith("0265-") for p in r["phones"])
        # the operator settles them as the drivers say on the phone
        first = client.post(f"/api/v1/rides/{early[0]}/review", json={"outcome": "picked_up"}, headers=op)
        assert first.status_code == 200 and first.json()["status"] == "on_board", first.text
        assert [r["ride_id"] for r in _board(client, op)["review"]] == [early[1]]
        second = client.post(f"/api/v1/rides/{early[1]}/review", json={"outcome": "no_show"}, headers=op)
        assert second.status_code == 200 and second.json()["status"] == "no_show", second.text
        assert _board(client, op)["review"] == []
        again = client.post(f"/api/v1/rides/{early[1]}/review", json={"outcome": "cancelled"}, headers=op)
        assert again.status_code == 409 and again.json()["code"] == "ride.not_for_review"
        wrong = client.post(f"/api/v1/rides/{early[1]}/review", json={"outcome": "lost"}, headers=op)
        assert wrong.status_code == 422
    with Session(ctx.engine) as s:
        events = {
            e.entity_id: e
            for e in s.exec(select(Event).where(col(Event.kind).in_(("ride.picked_up", "ride.no_show"))))
        }
    assert events[str(early[0])].actor == events[str(early[1])].actor == "user:ina-demo-operator"
    assert events[str(early[0])].after["review"] is True and events[str(early[1])].at == clock.now()
    verify_plan(ctx, TENANT, DAY)  # nothing is held any more: every route passes the checker
    out = reoptimize(ctx, TENANT, time_limit_s=0.5)
    assert out.status in ("replaced", "kept") and out.held == () and out.review == ()


def test_settling_as_cancelled_is_the_ordinary_cancellation(sqlite_ctx: Dispatcher, clock: SimClock) -> None:
    """Settling as cancelled goes through the ordinary cancellation: its reason and fee waiver in
    the event, the ride off the review list."""
    ctx = sqlite_ctx
    early, _ = overdue_day(ctx, clock)
    with client_for(ctx) as client:
        op = token_headers(client, "ina-demo-operator")
        r = client.post(
            f"/api/v1/rides/{early[0]}/review",
            json={"outcome": "cancelled", "reason": "本人が家にいなかった", "fee_waived": True},
            headers=op,
        )
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        with Session(ctx.engine) as s:
            [ev] = s.exec(select(Event).where(Event.kind == "ride.cancelled")).all()
        assert ev.after["fee_waived"] is True and "本人が家にいなかった" in ev.after["reason"]
        assert [x["ride_id"] for x in _board(client, op)["review"]] == [early[1]]


def test_the_operator_page_lists_rides_to_review_and_settles_one(
    sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    """Real Chromium: the board lists the two overdue rides under 確認が必要 with the numbers to
    call, says when the plan was last improved, and settles one ride with two clicks."""
    import json

    import httpx
    from playwright.sync_api import expect, sync_playwright

    from dispatcher.platform.demo import DEMO_PASSWORD
    from tests.live import Server, launch, shot, text_styles

    ctx = sqlite_ctx
    early, _ = overdue_day(ctx, clock)
    with Session(ctx.engine) as s:
        held = {s.get(Ride, r).vehicle_id for r in early}  # type: ignore[union-attr]
    degrade(ctx, exclude=frozenset(v for v in held if v is not None))
    clock.set(DAY_START.replace(hour=9, minute=2))
    assert reoptimize(ctx, TENANT, time_limit_s=0.6).status == "replaced"
    with Server(ctx) as base, sync_playwright() as p, httpx.Client(base_url=base) as api:
        tok = api.post(
            "/api/v1/auth/token", data={"username": "ina-demo-operator", "password": DEMO_PASSWORD}
        )
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="ja-JP")
            page.set_default_timeout(15_000)
            token = json.dumps({"token": tok.json()["access_token"], "user": "ina-demo-operator"})
            page.add_init_script(f"sessionStorage.setItem('noriai.operator', {json.dumps(token)})")
            page.goto(f"{base}/operator")
            page.click("#tab-board")
            items = page.locator("#review-list > li[data-id^='review-']")
            expect(items).to_have_count(2)
            expect(page.locator("#review-count")).to_have_text("2件")
            first = page.locator(f"[data-id='review-{early[0]}']")
            expect(first).to_contain_text("確認が必要")
            expect(first).to_contain_text("報告なし")
            expect(first.locator("a.phone")).not_to_have_count(0)
            assert first.locator("a.phone").first.get_attribute("href").startswith("tel:0265-")  # type: ignore[union-attr]
            expect(page.locator("#optimizer-improved")).to_contain_text("計画の最終改善 9:02（走行 −")
            expect(page.locator("#board-badge")).to_contain_text("確認 2")
            seen = [s for s in text_styles(page) if s["text"].startswith(("確認が必要", "計画の最終改善"))]
            assert seen and all(s["ratio"] >= 4.5 and s["size"] >= 13 for s in seen), seen
            shot(page, "operator", "13-review-needed")

            button = page.locator(f"[data-id='review-no_show-{early[0]}']")
            button.click()  # the first click only asks once more
            expect(button).to_have_text("「乗車なし」で確定")
            expect(items).to_have_count(2)
            button.click()
            expect(items).to_have_count(1)
            expect(page.locator(f"[data-id='review-{early[1]}']")).to_be_visible()
            expect(page.locator("#toast")).to_contain_text(f"予約 No.{early[0]} を乗車なしにしました。")
            shot(page, "operator", "14-review-settled")
        finally:
            browser.close()
    with Session(ctx.engine) as s:
        ride = s.get(Ride, early[0])
        assert ride is not None and ride.status == "no_show"
        [ev] = s.exec(select(Event).where(Event.kind == "ride.no_show")).all()
    assert ev.actor == "user:ina-demo-operator" and ev.after["review"] is True


def test_the_merge_keeps_a_rider_with_the_vehicle_that_picked_her_up(
    sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    """`merge` on real state: the solve moved a ride to another vehicle, but meanwhile its own
    driver picked the rider up, and a resident booked. The merged plan keeps her drop-off on the
    vehicle she sits in (that vehicle goes back to its route in force), inserts the new ride, and
    every route passes the checker."""
    from dispatcher.rides.merge import merge

    ctx = sqlite_ctx
    cfg = ctx.config(TENANT)
    req = RideRequest(
        resident_id=eligible_resident(ctx, offset=300),
        origin=Location(place_id="hall-tera"),
        destination=Location(place_id="city-hall"),
        pickup_after=DAY_START.replace(minute=20),
    )
    x = book(ctx, TENANT, req, str(uuid.uuid4()), "operator:test").ride
    assert x.status == "confirmed" and x.id is not None and x.vehicle_id is not None
    book_many(ctx, 8)
    with Session(ctx.engine) as s:  # the snapshot the solve saw
        snap = build_problem(ctx, s, cfg, DAY, current_plan(s, TENANT, DAY), clock.now())
    proposal = {
        id_of(v): [(st.request_id, st.kind) for st in r.stops]
        for v, r in zip(snap.vehicles, snap.routes, strict=True)
    }
    other = next(id_of(v) for v in snap.vehicles if id_of(v) != x.vehicle_id and v.seats >= 4)
    moved = [k for k in proposal[x.vehicle_id] if k[0] == x.id]
    proposal[x.vehicle_id] = [k for k in proposal[x.vehicle_id] if k[0] != x.id]
    proposal[other] = proposal[other] + moved
    # meanwhile: the driver picks her up, a resident books
    clock.set(DAY_START.replace(minute=21))
    vehicle_event(ctx, TENANT, x.vehicle_id, VehicleEvent(type="arrived", ride_id=x.id), "driver:test")
    vehicle_event(ctx, TENANT, x.vehicle_id, VehicleEvent(type="picked_up", ride_id=x.id), "driver:test")
    y = book_one(ctx, 60, DAY_START.replace(hour=12))
    with Session(ctx.engine) as s:
        fresh = build_problem(ctx, s, cfg, DAY, current_plan(s, TENANT, DAY), clock.now())
    merged = merge(fresh, proposal, set())
    assert merged.failure is None, merged.failure
    assert merged.inserted == [y] and x.vehicle_id in merged.reverted and merged.dropped == 1
    routes = dict(zip((id_of(v) for v in fresh.vehicles), merged.routes, strict=True))
    mine = routes[x.vehicle_id]
    theirs = routes[other]
    assert mine is not None and theirs is not None
    assert [st.kind for st in mine[0] if st.request_id == x.id] == ["dropoff"]
    assert all(st.request_id != x.id for st in theirs[0])
    vehicle_of = {id_of(v): r.vehicle for v, r in zip(fresh.vehicles, fresh.routes, strict=True)}
    for vid, route in routes.items():
        assert route is not None and check(vehicle_of[vid], route[0], fresh.travel).feasible
