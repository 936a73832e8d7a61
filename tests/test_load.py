"""Load and crash safety of `noriai serve` on PostgreSQL (issue 10).

Both tests start the real server as a subprocess (`python -m api.cli serve`, one process: the pid
is uvicorn's) on a fresh PostgreSQL schema, with the clock started inside the demo's service hours
and the booking rate limit off (NORIAI_RATE_BOOKINGS=0: these tests measure capacity and
correctness, not the limiter).

- load: `noriai loadtest` books for a few seconds with 8 clients; no 5xx, no connection error,
  every 201 in exactly one manifest, every retried Idempotency-Key answered with the same ride.
- crash: a burst of concurrent bookings, SIGKILL of the server mid-burst, a restart on the same
  database: every ride answered 201 is there, confirmed and planned exactly once; nothing is
  half-written (no ride left `requested`, no event without its ride, the stored plan passes the
  exact checker); the requests that were in flight book at most once when retried with their keys;
  the scheduler's jobs run again.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from api.cli import main
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import make_engine
from dispatcher.models import Event, PlanVersion, Ride
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.rides.plan import current_plan
from simulations.loadtest import DEMO_OPERATOR, ApiSession, Attempt, Options, Requests, verify
from tests.conftest import make_ctx, pg_schema
from tests.live import free_port, wait_until_serving
from tests.planning import verify_plan

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

START = datetime.fromisoformat("2026-11-24T09:00:00+09:00")  # a Tuesday, in the demo's service hours
TENANT = "ina-demo"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards (as conftest's `db_url`, PostgreSQL only)."""
    with pg_schema("load") as url:
        yield url


class Served:
    """`noriai serve` as a subprocess on a loopback port; its output goes to a log file."""

    def __init__(self, url: str, tmp: Path, **env: str) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "NORIAI_NOW": START.isoformat(),
            "NORIAI_CACHE_DIR": str(tmp / "cache"),
            "NORIAI_RATE_BOOKINGS": "0",  # capacity, not the limiter
            **env,
        }
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def seed(self) -> None:
        """`noriai seed-demo`, in process (the migrations and 150 demo residents)."""
        make_ctx(self.env["DATABASE_URL"], SimClock(START), residents=150).engine.dispose()

    def start(self, now: datetime = START) -> None:
        """Start the server with its clock at `now` and wait until it answers."""
        self.env["NORIAI_NOW"] = now.isoformat()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until_serving(self.base, self.proc, self.tail)

    def now(self) -> datetime:
        return datetime.fromisoformat(httpx.get(f"{self.base}/healthz").json()["now"])

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def errors(self) -> list[str]:
        """Tracebacks and 5xx answers in the server's log."""
        return [
            ln
            for ln in self.log.read_text(errors="replace").splitlines()
            if "Traceback" in ln or '" 50' in ln or "ERROR" in ln
        ]


@pytest.fixture
def served(pg_url: str, tmp_path: Path) -> Iterator[Served]:
    s = Served(pg_url, tmp_path)
    s.seed()
    try:
        yield s
    finally:
        s.stop()


def test_load_run_loses_nothing_and_books_nothing_twice(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served.start()
    out = tmp_path / "load.json"
    args = ["--url", served.base, "--seconds", "8", "--concurrency", "8", "--seed", "3", "--json", str(out)]
    code = main(["loadtest", *args])
    printed = capsys.readouterr().out
    print(printed)
    assert code == 0, printed
    r = json.loads(out.read_text())
    assert r["ok"] and r["confirmed"] > 0
    assert r["server_errors"] == 0 and r["connection_errors"] == 0
    assert set(r["by_status"]) <= {"201", "409"}  # realistic requests: confirmed or refused, never invalid
    assert r["retries"] > 0 and r["retries_same"] == r["retries"] and not r["retry_mismatches"]
    v = r["verification"]
    assert v["ok"] and v["in_one_manifest"] == v["confirmed"] >= r["confirmed"]
    assert "confirmed bookings/s" in printed and "p95" in printed and "result: OK" in printed
    assert not served.errors(), served.tail()


# ------------------------------------------------------------------------------- crash safety


async def _burst(
    served: Served, workers: int, kill_after_201: int, aim_s: float = 5.0
) -> tuple[list[Attempt], datetime]:
    """Book with `workers` concurrent clients and SIGKILL the server mid-burst: once `kill_after_201`
    bookings were confirmed, at the first moment the database holds more rides than the clients
    have answers for (a booking committed whose 201 is still on its way), or `aim_s` later.
    Returns every attempt (no status: no answer) and the server's clock at the kill."""
    assert served.proc is not None
    pid = served.proc.pid
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"api.cli" in cmdline and b"serve" in cmdline  # the uvicorn process itself, no wrapper
    attempts: list[Attempt] = []
    killed = asyncio.Event()
    engine = make_engine(served.env["DATABASE_URL"])

    def stored() -> int:
        with engine.connect() as c:
            return c.execute(text("SELECT count(*) FROM ride")).scalar_one()

    async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
        session = await ApiSession.sign_in(client)
        now = await session.server_now()
        t0 = time.monotonic()
        kill_clock = now

        def kill() -> None:
            nonlocal kill_clock
            if not killed.is_set():
                os.kill(pid, signal.SIGKILL)
                kill_clock = now + timedelta(seconds=time.monotonic() - t0)
                killed.set()

        async def worker(k: int) -> None:
            requests = Requests(session, now, Options(), random.Random(100 + k))
            n = 0
            while not killed.is_set():
                n += 1
                attempts.append(await session.book(requests.next(), f"crash-{k}-{n}", t0))

        async def aim() -> None:
            while sum(a.status == 201 for a in attempts) < kill_after_201:
                await asyncio.sleep(0.005)
            give_up = time.monotonic() + aim_s
            while time.monotonic() < give_up:
                if await asyncio.to_thread(stored) > sum(a.ride_id is not None for a in attempts):
                    break
            kill()

        try:
            await asyncio.wait_for(asyncio.gather(aim(), *(worker(k) for k in range(workers))), 60)
        finally:
            engine.dispose()
    return attempts, kill_clock


def _db_state(url: str, now: datetime) -> dict[str, Any]:
    """What the database holds, checked for half-written bookings."""
    engine = make_engine(url)
    try:
        ctx = Dispatcher(engine=engine, clock=SimClock(now))
        day = now.astimezone(ctx.config(TENANT).tz).date()
        with Session(engine) as s:
            rides = {r.id: r for r in s.exec(select(Ride).where(Ride.tenant_id == TENANT))}
            events = list(s.exec(select(Event).where(Event.tenant_id == TENANT, Event.entity == "ride")))
            versions = list(s.exec(select(PlanVersion).order_by(col(PlanVersion.version))))
            plan = current_plan(s, TENANT, day)
        # no ride stopped half-way: every stored ride is confirmed and planned, or refused
        assert {r.status for r in rides.values()} <= {"confirmed", "refused"}, Counter(
            r.status for r in rides.values()
        )
        for r in rides.values():
            if r.status == "confirmed":
                assert r.vehicle_id and r.planned_pickup and r.planned_dropoff and r.fare_yen, r
        # every event of a ride names a stored ride; every ride has its request and its outcome once
        kinds: dict[int, Counter[str]] = {}
        for e in events:
            assert int(e.entity_id) in rides, f"event {e.kind} of ride {e.entity_id}, which is not stored"
            kinds.setdefault(int(e.entity_id), Counter())[e.kind] += 1
        for rid, r in rides.items():
            assert kinds.get(rid) == Counter({"ride.requested": 1, f"ride.{r.status}": 1}), (
                rid,
                kinds.get(rid),
            )
        # each confirmation stored its own plan version, and the newest plan holds exactly the confirmed
        # rides, each as a pickup then a drop-off on its vehicle, every route passing the exact checker
        confirmed_versions = [e.after["plan_version"] for e in events if e.kind == "ride.confirmed"]
        assert len(set(confirmed_versions)) == len(confirmed_versions)
        if versions:
            assert max(confirmed_versions, default=0) <= plan.version == versions[-1].version
        counts = verify_plan(ctx, TENANT, day)
        planned = {s["ride_id"] for stops in plan.routes.values() for s in stops}
        assert planned == {rid for rid, r in rides.items() if r.status == "confirmed"}
        return {"rides": rides, "open": counts["open"], "plan_version": plan.version}
    finally:
        engine.dispose()


async def _after_restart(
    served: Served, day: date, confirmed: set[int], in_flight: list[Attempt], stored: dict[str, Ride]
) -> tuple[set[int], list[Attempt]]:
    """Every 201 ride is confirmed and in one manifest; the in-flight keys, retried, book once."""
    async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
        session = await ApiSession.sign_in(client)
        for rid in confirmed:
            r = await client.get(f"/api/v1/rides/{rid}", headers=session.headers)
            assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
        v = await verify(session, day, confirmed)
        assert v.ok and v.in_one_manifest == len(confirmed), v
        retried = [await session.book(a.body, a.key, time.monotonic(), retry=True) for a in in_flight]
        for a in retried:
            assert a.status in (201, 409), (a.status, a.error)
            before = stored.get(a.key)
            if before is not None:  # committed before the kill, its answer lost: the same ride again
                assert a.replayed and a.ride_id == before.id, (a, before.id)
            else:
                assert not a.replayed
        now_confirmed = confirmed | {a.ride_id for a in retried if a.status == 201 and a.ride_id}
        answered = now_confirmed | {a.ride_id for a in retried if a.ride_id}
        # every ride of the day is one some answer named; none booked without one
        everyone = {r.id for r in stored.values()} | answered
        v = await verify(session, day, now_confirmed, everyone, set())
        assert v.ok and v.in_one_manifest == len(now_confirmed), v
        return now_confirmed, retried


def _jobs_resumed(served: Served, since: datetime, names: set[str]) -> list[dict[str, Any]]:
    """Wait until each named job of the scheduler has run for a fire time after `since`."""
    with httpx.Client(base_url=served.base, timeout=30) as c:
        tok = c.post(
            "/api/v1/auth/token", data={"username": DEMO_OPERATOR, "password": DEMO_PASSWORD}
        ).json()["access_token"]
        deadline = time.monotonic() + 45
        while True:
            jobs = c.get("/api/v1/jobs", headers={"Authorization": f"Bearer {tok}"}).json()
            ran = {
                j["job"]
                for j in jobs
                if j["last_due"]
                and datetime.fromisoformat(j["last_due"]) > since
                and j["last_status"] == "ok"
            }
            if names <= ran:
                return jobs
            assert time.monotonic() < deadline, f"jobs did not resume: {jobs}"
            time.sleep(0.5)


def test_sigkill_mid_burst_loses_no_confirmed_booking(pg_url: str, tmp_path: Path) -> None:
    # a re-optimization every minute (1 s solves): after the restart it is due at once
    served = Served(pg_url, tmp_path, NORIAI_REOPTIMIZE_MINUTES="1", NORIAI_SOLVER_SECONDS="1")
    served.seed()
    try:
        served.start()
        attempts, kill_clock = asyncio.run(_burst(served, workers=8, kill_after_201=40))
        assert served.proc is not None
        assert served.proc.wait(10) == -signal.SIGKILL
        with pytest.raises(httpx.ConnectError):  # nothing else was serving that port
            httpx.get(f"{served.base}/healthz", timeout=2)
        confirmed = {a.ride_id for a in attempts if a.status == 201 and a.ride_id is not None}
        in_flight = [a for a in attempts if a.status is None]
        assert len(confirmed) >= 40 and in_flight, Counter(a.status for a in attempts)
        assert all(a.status in (201, 409, None) for a in attempts), Counter(a.status for a in attempts)

        # the database as the crash left it
        state = _db_state(pg_url, kill_clock)
        rides: dict[int, Ride] = state["rides"]
        assert confirmed <= {rid for rid, r in rides.items() if r.status == "confirmed"}
        by_key = {r.idempotency_key: r for r in rides.values()}
        answered = {a.key for a in attempts if a.status is not None}
        lost_answers = {k for k in by_key if k not in answered}  # committed, but the answer died
        print(
            f"crash: {len(attempts)} bookings sent, {len(confirmed)} answered 201, "
            f"{sum(a.status == 409 for a in attempts)} answered 409, {len(in_flight)} in flight at SIGKILL "
            f"({len(lost_answers)} of them committed); {state['open']} rides planned, "
            f"plan version {state['plan_version']}"
        )

        # restart on the same database, a minute later
        restart_clock = kill_clock + timedelta(minutes=1)
        served.start(restart_clock)
        day = rides[next(iter(confirmed))].service_date
        now_confirmed, retried = asyncio.run(
            _after_restart(served, day, confirmed, in_flight, {k: by_key[k] for k in lost_answers})
        )
        print(
            f"after restart: {len(confirmed)} of {len(confirmed)} confirmed rides present and planned; "
            f"{len(retried)} in-flight keys retried: {Counter(a.status for a in retried)}, "
            f"{sum(a.replayed for a in retried)} replayed"
        )
        # each key is one ride, at most
        final = _db_state(pg_url, served.now())
        keys = Counter(r.idempotency_key for r in final["rides"].values())
        assert max(keys.values()) == 1
        assert {a.key for a in attempts} >= set(keys)

        # the scheduler took up its timeline again: the jobs due since the kill ran
        jobs = _jobs_resumed(served, kill_clock, {"outbox", "publish-changes", "reoptimize"})
        print("jobs after restart:", {j["job"]: (j["last_due"], j["last_status"]) for j in jobs})
        _db_state(pg_url, served.now())  # a re-optimization, if it replaced the plan, kept everyone
        assert not served.errors(), served.tail()
    finally:
        served.stop()
