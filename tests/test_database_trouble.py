"""Issue 19, database trouble: a read-only, locked, slow or unreachable database answers 503 with
problem details and Retry-After instead of 500; `/readyz` asks the database for real (a write in a
rolled-back transaction) while `/healthz` stays the process's liveness; statements and connections
time out (NORIAI_DB_STATEMENT_TIMEOUT, NORIAI_DB_CONNECT_TIMEOUT)."""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import check_ready, database_trouble, make_engine
from tests.conftest import client_for, token_headers
from tests.test_api_rides import eligible_resident, post_ride, ride_body


def _problem_503(r: Any, reason: str) -> None:
    assert r.status_code == 503, (r.request.url, r.status_code, r.text[:300])
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert body["code"] == "service.database_unavailable" and body["reason"] == reason, body
    assert int(r.headers["Retry-After"]) == body["retry_after_seconds"] > 0
    assert "待って" in body["message_ja"]


@contextmanager
def read_only(engine: Engine) -> Iterator[None]:
    """Every new connection of the engine is read-only, as on a replica after a fail-over or a
    database set `default_transaction_read_only` (PostgreSQL) / `query_only` (SQLite)."""
    sqlite = engine.dialect.name == "sqlite"

    def ro(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA query_only = ON" if sqlite else "SET default_transaction_read_only = on")
        cur.close()
        if not sqlite:
            dbapi_conn.commit()  # a SET in a transaction rolled back by the pool would be undone

    event.listen(engine, "connect", ro)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "connect", ro)
        engine.dispose()


def test_a_read_only_database_answers_503_and_a_red_readyz(ctx: Dispatcher, clock: SimClock) -> None:
    """On both databases: a read-only database gave a generic 500 and /healthz stayed green. Now
    every change answers 503 `service.database_unavailable` (reason read_only) with Retry-After,
    reads still work, /readyz is 503 and /healthz (liveness) 200; when the database takes writes
    again, so does the service."""
    with client_for(ctx) as client:
        op = token_headers(client, "ina-demo-operator")
        rid = eligible_resident(ctx)
        assert client.get("/readyz").json() == {"status": "ready", "database": "ok"}
        with read_only(ctx.engine):
            _problem_503(post_ride(client, op, ride_body(rid)), "read_only")
            _problem_503(
                client.post(f"/api/v1/residents/{rid}/notes", json={"text": "電話あり"}, headers=op),
                "read_only",
            )
            _problem_503(client.post("/api/v1/tv/devices", json={}), "read_only")  # without a sign-in
            assert client.get(f"/api/v1/residents/{rid}", headers=op).status_code == 200  # reads go on
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json() == {
                "status": "not_ready",
                "database": "read_only",
            }
            assert int(ready.headers["Retry-After"]) > 0
            assert client.get("/healthz").status_code == 200  # the process is alive
        assert client.get("/readyz").status_code == 200
        assert post_ride(client, op, ride_body(rid)).status_code == 201


def _holding_the_write_lock(engine: Engine) -> Any:
    """A connection of another process holding the tenant's write lock: the row lock on
    PostgreSQL, the database's write lock on SQLite."""
    conn = engine.connect()
    if engine.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execute(text("SELECT id FROM tenant WHERE id = 'ina-demo' FOR UPDATE"))
    return conn


def test_a_statement_over_the_timeout_is_cancelled_and_answers_503(db_url: str, ctx: Dispatcher) -> None:
    """On both databases, with NORIAI_DB_STATEMENT_TIMEOUT at 1 s: a booking that waits for a write
    lock held elsewhere gives up after the timeout (it used to wait as long as the lock was held)
    and answers 503 with reason `timeout`; on PostgreSQL a slow statement (pg_sleep) is cancelled."""
    short = make_engine(db_url, statement_timeout_s=1.0)
    impatient = dataclasses.replace(ctx, engine=short)
    holder = make_engine(db_url)
    with client_for(impatient) as client:
        op = token_headers(client, "ina-demo-operator")
        rid = eligible_resident(ctx)
        lock = _holding_the_write_lock(holder)
        try:
            _problem_503(post_ride(client, op, ride_body(rid)), "timeout")
        finally:
            lock.rollback()
            lock.close()
        assert post_ride(client, op, ride_body(rid)).status_code == 201  # the lock is free again
    if short.dialect.name == "postgresql":
        with short.connect() as c:
            assert c.execute(text("SHOW statement_timeout")).scalar() == "1s"
            with pytest.raises(OperationalError) as slow:
                c.execute(text("SELECT pg_sleep(5)"))
        assert database_trouble(slow.value) == "timeout"
    short.dispose()
    holder.dispose()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a hung database server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]


def test_an_unreachable_database_answers_503_and_connecting_times_out(
    ctx: Dispatcher, silent_server: int
) -> None:
    """A database that does not answer: connecting gives up after NORIAI_DB_CONNECT_TIMEOUT (it
    used to wait for ever), requests answer 503 (reason unavailable), /readyz is red and
    /healthz green."""
    url = f"postgresql+psycopg://noriai@127.0.0.1:{silent_server}/noriai"
    hung = make_engine(url, connect_timeout_s=1.0)
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            hung.connect().close()
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - whatever it is, it is the outcome
            outcome.append(e)

    worker = threading.Thread(target=connect, daemon=True)
    worker.start()
    worker.join(30)  # generous: the point is that it ends at all
    assert outcome and isinstance(outcome[0], OperationalError), outcome
    assert database_trouble(outcome[0]) == "unavailable"
    assert check_ready(hung) == "unavailable"

    gone = dataclasses.replace(ctx, engine=hung)
    with client_for(gone) as client:
        _problem_503(
            client.post("/api/v1/auth/token", data={"username": "ina-demo-operator", "password": "x"}),
            "unavailable",
        )
        _problem_503(client.post("/api/v1/tv/devices", json={}), "unavailable")
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "unavailable"
        assert client.get("/healthz").status_code == 200
    hung.dispose()


def test_the_timeouts_reach_the_connection(db_url: str) -> None:
    """The settings reach the driver: PostgreSQL's statement_timeout next to the URL's own options
    (the tests' search_path), SQLite's busy timeout."""
    engine = make_engine(db_url, statement_timeout_s=2.5)
    with engine.connect() as c:
        if engine.dialect.name == "postgresql":
            assert c.execute(text("SHOW statement_timeout")).scalar() == "2500ms"
            schema = make_url(db_url).query["options"]
            assert c.execute(text("SHOW search_path")).scalar() in str(schema)
        else:
            assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500
    engine.dispose()
