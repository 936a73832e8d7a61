"""Acceptance: twenty simultaneous bookings against a real server, none lost or duplicated."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlmodel import Session, select

from dispatcher.context import Dispatcher
from dispatcher.models import Ride
from dispatcher.platform.demo import DEMO_PASSWORD
from tests.conftest import DAY_START
from tests.live import Server
from tests.planning import verify_plan


def test_twenty_simultaneous_bookings(ctx: Dispatcher) -> None:
    from tests.test_api_rides import eligible_resident

    places = ["hall-tera", "hall-misuzu", "hall-tomigata", "hall-nishiminowa", "hall-takato"]
    with Server(ctx) as base, httpx.Client(base_url=base, timeout=60) as c:
        tok = c.post("/api/v1/auth/token", data={"username": "ina-demo-operator", "password": DEMO_PASSWORD})
        headers = {"Authorization": f"Bearer {tok.json()['access_token']}"}
        jobs = []
        for k in range(20):
            body = {
                "resident_id": eligible_resident(ctx, offset=k),
                "origin": {"place_id": places[k % len(places)]},
                "destination": {"place_id": "central-hospital"},
                "pickup_after": DAY_START.replace(hour=9 + k % 3).isoformat(),
            }
            jobs.append((str(uuid.uuid4()), body))
        barrier = threading.Barrier(len(jobs))

        def send(job: tuple[str, dict]) -> httpx.Response:
            key, body = job
            with httpx.Client(base_url=base, timeout=60) as own:
                barrier.wait()
                return own.post("/api/v1/rides", json=body, headers={**headers, "Idempotency-Key": key})

        with ThreadPoolExecutor(len(jobs)) as pool:
            answers = list(pool.map(send, jobs))
        # a retry of every request returns the very same booking
        retries = [
            c.post("/api/v1/rides", json=b, headers={**headers, "Idempotency-Key": k}) for k, b in jobs
        ]
        vehicles = c.get("/api/v1/vehicles", headers=headers).json()
        manifests = [c.get(f"/api/v1/vehicles/{v['id']}/manifest", headers=headers).json() for v in vehicles]
    assert all(a.status_code in (201, 409) for a in answers), [a.text for a in answers]
    booked = [a.json()["id"] for a in answers if a.status_code == 201]
    assert len(booked) >= 15 and len(set(booked)) == len(booked)
    for a, r in zip(answers, retries, strict=True):
        assert r.status_code == a.status_code
        assert (r.json().get("id") or r.json().get("ride_id")) == (
            a.json().get("id") or a.json().get("ride_id")
        )
    with Session(ctx.engine) as s:
        stored = s.exec(select(Ride)).all()
    assert len(stored) == 20  # one row per request: none lost, none doubled
    assert Counter(r.idempotency_key for r in stored) == Counter(k for k, _ in jobs)
    in_plan = Counter((s["ride_id"], s["kind"]) for m in manifests for s in m["stops"])
    assert {rid for rid, _ in in_plan} == set(booked)
    assert all(n == 1 for n in in_plan.values())
    verify_plan(ctx, "ina-demo", DAY_START.date())
