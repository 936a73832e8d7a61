"""Solver faults: when the re-optimization raises, finds no plan or gives an invalid one, the plan in
force stays exactly as it was, bookings go on by insertion, and the failure is an event and a
banner on the operator's board until a re-optimization succeeds again."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event, Ride, Vehicle
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.platform.scheduler import reoptimize_all
from dispatcher.rides import reoptimize as reoptimization
from dispatcher.rides.manifests import manifest
from dispatcher.rides.optimizer_status import FAILED, RECOVERED
from dispatcher.rides.plan import current_plan
from dispatcher.rides.reoptimize import reoptimize
from routing.search import SearchResult
from tests.conftest import DAY_START, client_for, token_headers
from tests.live import Server, launch, shot, text_styles
from tests.planning import verify_plan
from tests.test_api_rides import at, eligible_resident, ride_body
from tests.test_reoptimize import book_many

DAY = DAY_START.date()
TENANT = "ina-demo"


def _plan(ctx: Dispatcher) -> dict[str, Any]:
    """Everything a re-optimization could write: the plan version, every vehicle's manifest, and
    the rides' vehicles and planned times."""
    with Session(ctx.engine) as s:
        version = current_plan(s, TENANT, DAY).version
        vehicles = list(s.exec(select(Vehicle.id).order_by(col(Vehicle.id))))
        rides = [
            (r.id, r.status, r.vehicle_id, r.planned_pickup, r.planned_dropoff)
            for r in s.exec(select(Ride).order_by(col(Ride.id)))
        ]
    return {
        "version": version,
        "manifests": {v: manifest(ctx, TENANT, v, DAY)["stops"] for v in vehicles},
        "rides": rides,
    }


def _faults(ctx: Dispatcher) -> list[Event]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Event).where(Event.kind == FAILED).order_by(col(Event.id))))


def _book(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Quote, then book: both must succeed (the insertion heuristic does not need the optimizer)."""
    q = client.post("/api/v1/rides/quote", json=body, headers=headers)
    assert q.status_code == 200 and q.json()["available"], q.text
    r = client.post("/api/v1/rides", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201 and r.json()["status"] == "confirmed", r.text
    return r.json()


def _optimizer(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    r = client.get("/api/v1/board", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["optimizer"]


def _fault_fields(o: dict[str, Any]) -> dict[str, Any]:
    """What the board says about faults (the other fields tell the newest outcome)."""
    return {k: o[k] for k in ("status", "last_success_at", "last_failure_at", "reason")}


def test_a_crashing_or_wrong_solver_changes_nothing_and_bookings_go_on(
    ctx: Dispatcher,
    client: TestClient,
    operator: dict[str, str],
    clock: SimClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    book_many(ctx, 10)
    assert _fault_fields(_optimizer(client, operator)) == {
        "status": "ok",
        "last_success_at": None,
        "last_failure_at": None,
        "reason": None,
    }
    real_improve = reoptimization.improve

    # --- the solver raises: the scheduler's run reports it, nothing is written
    def crash(*args: Any, **kwargs: Any) -> SearchResult:
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(reoptimization, "improve", crash)
    before = _plan(ctx)
    with caplog.at_level(logging.WARNING, logger="dispatcher"):
        assert reoptimize_all(ctx, 1.0) == {TENANT: "failed"}
    assert any(
        r.levelno >= logging.ERROR
        and "solver crashed" in r.getMessage()
        and r.name == "dispatcher.rides.reoptimize"
        for r in caplog.records
    )
    assert _plan(ctx) == before
    [ev] = _faults(ctx)
    assert ev.actor == "system:reoptimizer" and ev.entity_id == f"{DAY}/{before['version']}"
    assert ev.after == {
        "reason": "error",
        "detail": "RuntimeError: solver crashed",
        "version": before["version"],
    }
    board = _optimizer(client, operator)
    assert board["status"] == "failed" and board["reason"] == "error"
    assert board["last_failure_at"] == "2026-11-24T08:00:00+09:00"

    # --- the insertion heuristic still quotes and books
    clock.set(DAY_START.replace(minute=5))
    ride = _book(client, operator, ride_body(eligible_resident(ctx, offset=30), pickup_after=at("11:00")))
    verify_plan(ctx, TENANT, DAY)

    # --- the solver returns a plan that loses a ride: validation refuses it, nothing is written
    def lose_a_ride(*args: Any, **kwargs: Any) -> SearchResult:
        result = real_improve(*args, **kwargs)
        k = next(i for i, stops in enumerate(result.stops) if stops)
        lost = result.stops[k][0].request_id
        result.stops[k] = tuple(s for s in result.stops[k] if s.request_id != lost)
        return result

    monkeypatch.setattr(reoptimization, "improve", lose_a_ride)
    before = _plan(ctx)
    assert ride["id"] in {r[0] for r in before["rides"]}
    clock.set(DAY_START.replace(minute=10))
    out = reoptimize(ctx, TENANT, time_limit_s=0.5)
    assert out.status == "invalid plan" and out.reason == "invalid_plan", out
    assert _plan(ctx) == before
    assert [e.after["reason"] for e in _faults(ctx)] == ["error", "invalid_plan"]
    board = _optimizer(client, operator)
    assert board["status"] == "failed" and board["reason"] == "invalid_plan"
    assert board["last_failure_at"] == "2026-11-24T08:10:00+09:00"

    # --- a time limit too short to search is no fault: the search starts from the plan in force,
    # which is kept; that success clears the fault
    monkeypatch.setattr(reoptimization, "improve", real_improve)
    clock.set(DAY_START.replace(minute=15))
    out = reoptimize(ctx, TENANT, time_limit_s=0)
    assert out.status == "kept", out
    assert _plan(ctx) == before
    assert _fault_fields(_optimizer(client, operator)) == {
        "status": "ok",
        "last_success_at": "2026-11-24T08:15:00+09:00",
        "last_failure_at": "2026-11-24T08:10:00+09:00",
        "reason": None,
    }
    with Session(ctx.engine) as s:
        [recovered] = s.exec(select(Event).where(Event.kind == RECOVERED)).all()
    assert recovered.before == {"reason": "invalid_plan"} and recovered.after == {"status": "kept"}
    assert reoptimize(ctx, TENANT, time_limit_s=0).status == "unchanged"
    with Session(ctx.engine) as s:  # a healthy run records nothing
        assert len(s.exec(select(Event).where(Event.kind == RECOVERED)).all()) == 1
    verify_plan(ctx, TENANT, DAY)


def test_a_late_vehicle_whose_rider_nobody_else_can_carry_is_a_fault_until_someone_can(
    sqlite_ctx: Dispatcher, clock: SimClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A real search that finds no plan: the only wheelchair vehicle on duty reports two hours'
    delay, so its wheelchair rider fits no vehicle."""
    ctx = sqlite_ctx
    with Session(ctx.engine) as s:
        vehicles = {v.key: v for v in s.exec(select(Vehicle))}
        vehicles["takato-2"].active = False
        s.add(vehicles["takato-2"])
        s.commit()
        chuo4, takato2 = vehicles["chuo-4"].id, vehicles["takato-2"].id
    with client_for(ctx) as client:
        op = token_headers(client, "ina-demo-operator")
        wheelchair = _book(
            client,
            op,
            ride_body(eligible_resident(ctx, wheelchair=True), wheelchair=True, pickup_after=at("09:00")),
        )
        assert wheelchair["vehicle_id"] == chuo4
        _book(client, op, ride_body(eligible_resident(ctx), pickup_after=at("09:30")))
        r = client.post(
            f"/api/v1/vehicles/{chuo4}/events", json={"type": "delay", "minutes": 120}, headers=op
        )
        assert r.status_code == 200 and wheelchair["id"] in r.json()["late_rides"], r.text

        before = _plan(ctx)
        with caplog.at_level(logging.WARNING, logger="dispatcher"):
            out = reoptimize(ctx, TENANT, time_limit_s=1)
        assert out.status == "no feasible plan found" and out.reason == "no_solution", out
        assert any("no feasible plan found" in r.getMessage() for r in caplog.records)
        assert _plan(ctx) == before
        [ev] = _faults(ctx)
        assert ev.after["detail"] == f"rides {wheelchair['id']} fit no vehicle"
        clock.set(DAY_START.replace(minute=5))
        assert reoptimize(ctx, TENANT, time_limit_s=1).reason == "no_solution"
        assert len(_faults(ctx)) == 1  # the same fault on the same plan: recorded once, when it began
        board = _optimizer(client, op)
        assert board["status"] == "failed" and board["last_failure_at"] == "2026-11-24T08:00:00+09:00"

        _book(client, op, ride_body(eligible_resident(ctx, offset=1), pickup_after=at("10:00")))

        with Session(ctx.engine) as s:  # the other wheelchair vehicle comes on duty
            v = s.get(Vehicle, takato2)
            v.active = True
            s.add(v)
            s.commit()
        clock.set(DAY_START.replace(minute=10))
        out = reoptimize(ctx, TENANT, time_limit_s=1)
        assert out.status == "replaced" and out.repaired_requests >= 1, out
        board = _optimizer(client, op)
        assert board["status"] == "ok" and board["last_success_at"] == "2026-11-24T08:10:00+09:00"
    verify_plan(ctx, TENANT, DAY)
    with Session(ctx.engine) as s:
        assert s.get(Ride, wheelchair["id"]).vehicle_id == takato2


def test_the_operator_page_shows_a_failed_reoptimization_until_one_succeeds(
    sqlite_ctx: Dispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = sqlite_ctx
    book_many(ctx, 4)
    real_improve = reoptimization.improve

    def crash(*args: Any, **kwargs: Any) -> SearchResult:
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(reoptimization, "improve", crash)
    assert reoptimize_all(ctx, 1.0) == {TENANT: "failed"}
    with Server(ctx) as base, sync_playwright() as p, httpx.Client(base_url=base) as api:
        tok = api.post(
            "/api/v1/auth/token", data={"username": "ina-demo-operator", "password": DEMO_PASSWORD}
        )
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="ja-JP")
            page.set_default_timeout(15_000)
            token = json.dumps({"token": tok.json()["access_token"], "user": "ina-demo-operator"})
            page.add_init_script(f"sessionStorage.setItem('noriai.operator', {json.dumps(token)})")
            page.goto(f"{base}/operator")
            banner = page.locator("#optimizer-banner")
            expect(banner).to_be_visible()
            expect(page.locator("#optimizer-banner-text")).to_have_text(
                "最適化に失敗しました（8:00）。現在の計画のまま運行しています。"
            )
            expect(page.locator("#optimizer-banner-reason")).to_contain_text("計算中にエラーが起きました。")
            seen = [s for s in text_styles(page) if s["text"].startswith(("最適化", "計算中"))]
            assert len(seen) == 2 and all(s["ratio"] >= 4.5 and s["size"] >= 13 for s in seen), seen
            shot(page, "operator", "12-optimizer-failed")

            monkeypatch.setattr(reoptimization, "improve", real_improve)
            assert reoptimize(ctx, TENANT, time_limit_s=0).status == "kept"
            page.click("#tab-board")  # the board refreshes (as it does every 15 s)
            expect(banner).to_be_hidden()
        finally:
            browser.close()
