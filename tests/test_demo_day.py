"""Acceptance: a scripted demo day of 100 requests through HTTP, with drivers driving the plan."""

from __future__ import annotations

from collections import Counter

from fastapi.testclient import TestClient

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from simulations.demo_day import max_parties_on_board, run_day
from tests.conftest import DAY_START
from tests.planning import verify_plan


def test_demo_day(client: TestClient, clock: SimClock, ctx: Dispatcher) -> None:
    day = run_day(client, clock, n=100, seed=1)
    assert len(day.answers) == 100
    confirmed = set()
    for _req, status, body, _latency in day.answers:
        assert status in (201, 409), body
        if status == 201:
            assert body["status"] == "confirmed"
            assert body["pickup_window"]["start"] < body["pickup_window"]["end"] <= body["latest_arrival"]
            confirmed.add(body["id"])
        else:
            assert body["reason"] == "no_vehicle_available" and body["detail"]
            assert isinstance(body["alternatives"], list)
    assert len(confirmed) >= 80
    # every confirmed ride exactly once: one pickup before its drop-off on the same vehicle
    where: Counter[tuple[int, str]] = Counter()
    for m in day.manifests.values():
        position = {}
        for k, s in enumerate(m["stops"]):
            where[(s["ride_id"], s["kind"])] += 1
            position[(s["ride_id"], s["kind"])] = k
        for (rid, kind), k in position.items():
            if kind == "dropoff":
                assert position[(rid, "pickup")] < k
    for rid in confirmed:
        assert where[(rid, "pickup")] == 1 and where[(rid, "dropoff")] == 1, rid
    assert {rid for rid, _ in where} == confirmed
    # the drivers really drove: most rides are completed by the last booking
    assert day.events_posted > 100
    verify_plan(ctx, "ina-demo", DAY_START.date())
    assert any(max_parties_on_board(m) >= 2 for m in day.manifests.values()), "no shared ride all day"
