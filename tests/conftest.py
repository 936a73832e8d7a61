"""Shared fixtures: real databases (SQLite file and PostgreSQL), a simulated clock, the demo tenant.

Database tests take the `db_url` fixture, which runs them once on SQLite and once on PostgreSQL
(a fresh schema per test in the `test` database). Under CI=true a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import session_scope
from dispatcher.platform.bootstrap import build_dispatcher
from dispatcher.platform.demo import DEMO_PASSWORD, seed_demo
from dispatcher.settings import DEMO_TENANT_FILE, Settings
from dispatcher.tenant_config import TenantConfig, parse_tenant

# Tests sign in and book far faster than people do: rate limits are off unless a test sets them
# (tests/test_security.py builds its apps with explicit limits).
for _name in (
    "NORIAI_RATE_SIGN_IN",
    "NORIAI_RATE_PAIRING",
    "NORIAI_RATE_BOOKINGS",
    "NORIAI_RATE_TV_POLL",
    "NORIAI_RATE_TV_POLL_ADDRESS",
):
    os.environ.setdefault(_name, "0")

JST = ZoneInfo("Asia/Tokyo")
# A Tuesday: the demo runs 08:00-17:00 on weekdays.
DAY_START = datetime(2026, 11, 24, 8, 0, tzinfo=JST)
PG_URL = os.environ.get("NORIAI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_available() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as c:
            c.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as e:  # noqa: BLE001 - any failure means "not reachable"
        return str(e).splitlines()[0]


_PG_PROBLEM = _postgres_available()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'noriai.db'}"
        return
    with pg_schema() as url:
        yield url


@contextmanager
def pg_schema(prefix: str = "t") -> Iterator[str]:
    """A new PostgreSQL schema's URL, dropped afterwards; fails under CI=true, else skips, without one."""
    if _PG_PROBLEM is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but not reachable at {PG_URL}: {_PG_PROBLEM}")
        pytest.skip(f"PostgreSQL not reachable: {_PG_PROBLEM}")
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'noriai.db'}"


@pytest.fixture
def clock() -> SimClock:
    return SimClock(DAY_START)


def demo_as(tenant_id: str, name: str, prefix: str) -> TenantConfig:
    """The demo's rules as another municipality: its id and name, operators and vehicles prefixed."""
    data = yaml.safe_load(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    data["id"], data["name"] = tenant_id, name
    for op in data["operators"]:
        op["id"] = prefix + op["id"]
        for v in op["vehicles"]:
            v["id"] = prefix + v["id"]
    return parse_tenant(data)


def make_ctx(url: str, clock: SimClock, residents: int = 400) -> Dispatcher:
    settings = Settings(DATABASE_URL=url, NORIAI_TENANT_FILE=DEMO_TENANT_FILE, NORIAI_CACHE_DIR="var/cache")
    ctx = build_dispatcher(settings, clock)
    cfg = ctx.config("ina-demo")
    with session_scope(ctx.engine) as session:
        seed_demo(session, cfg, clock.now(), residents=residents)
    return ctx


@pytest.fixture
def ctx(db_url: str, clock: SimClock) -> Iterator[Dispatcher]:
    """The demo municipality on a fresh database (both backends)."""
    c = make_ctx(db_url, clock)
    yield c
    c.engine.dispose()


@pytest.fixture
def sqlite_ctx(sqlite_url: str, clock: SimClock) -> Iterator[Dispatcher]:
    """The demo municipality on a fresh SQLite file (for tests that are not about the backend)."""
    c = make_ctx(sqlite_url, clock)
    yield c
    c.engine.dispose()


def client_for(ctx: Dispatcher) -> TestClient:
    return TestClient(create_app(ctx=ctx, scheduler=False), raise_server_exceptions=False)


def token_headers(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def client(ctx: Dispatcher) -> Iterator[TestClient]:
    with client_for(ctx) as c:
        yield c


@pytest.fixture
def operator(client: TestClient) -> dict[str, str]:
    return token_headers(client, "ina-demo-operator")
