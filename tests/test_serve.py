"""Acceptance: `noriai serve` (what `make run` starts) serves the API and its docs, offline.

The docs pages are opened in Debian's Chromium through Playwright; every request the page makes
must stay on the local server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.live import launch, wait_until_serving


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def noriai(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "NORIAI_NOW": "2026-11-24T08:00:00+09:00",
        "NORIAI_CACHE_DIR": str(tmp_path / "cache"),
    }
    assert noriai("migrate", env=env).returncode == 0
    seeded = noriai("seed-demo", env=env)
    assert seeded.returncode == 0, seeded.stderr
    assert "ina-demo-operator" in seeded.stdout and "noriai-demo" in seeded.stdout
    # the demo ships two towns, each with its logins and its own page paths
    assert "smartphone page /t/ina-demo/m: resident number 1, PIN 2580" in seeded.stdout
    assert "yasuoka-demo-operator" in seeded.stdout and "/t/yasuoka-demo/m: resident number" in seeded.stdout
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc)
        yield base, env
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
        print(out)


def test_serve_prints_urls_and_serves_openapi(served: tuple[str, dict[str, str]]) -> None:
    base, env = served
    schema = httpx.get(f"{base}/openapi.json").json()
    for path in [
        "/api/v1/auth/token",
        "/api/v1/rides",
        "/api/v1/rides/{ride_id}",
        "/api/v1/rides/{ride_id}/cancel",
        "/api/v1/vehicles",
        "/api/v1/vehicles/{vehicle_id}/manifest",
        "/api/v1/vehicles/{vehicle_id}/events",
        "/api/v1/residents",
        "/api/v1/places",
    ]:
        assert path in schema["paths"], path
    # every page is served, with a policy that lets it load nothing from elsewhere
    from api.pages import PAGES

    assert "/municipality" in PAGES
    for page in PAGES:
        for town in ("ina-demo", "yasuoka-demo"):
            r = httpx.get(f"{base}/t/{town}{page}")
            assert r.status_code == 200 and f'data-tenant="{town}"' in r.text, (town, page)
            assert "default-src 'self'" in r.headers["content-security-policy"]
        # two towns: the plain path lets people choose
        r = httpx.get(f"{base}{page}")
        assert r.status_code == 200 and f'href="/t/yasuoka-demo{page}"' in r.text, page
    # the open data needs no sign-in
    for path, kind in [
        ("/opendata/gtfs.zip", "application/zip"),
        ("/opendata/ridership.csv", "text/csv"),
        ("/opendata/ngsi-ld/v1/entities", "application/ld+json"),
    ]:
        r = httpx.get(f"{base}{path}", params={"tenant": "ina-demo"})
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind), path
    # the demo resident signs in on the phone page with the PIN printed by seed-demo
    pin = {"resident_id": 1, "pin": "2580"}
    assert httpx.post(f"{base}/api/v1/m/session", json={**pin, "tenant_id": "ina-demo"}).status_code == 200
    # not on another town's page, and not without naming the town on a server of two
    assert (
        httpx.post(f"{base}/api/v1/m/session", json={**pin, "tenant_id": "yasuoka-demo"}).status_code == 401
    )
    assert httpx.post(f"{base}/api/v1/m/session", json=pin).status_code == 422
    # the clock starts at NORIAI_NOW and runs on
    now = httpx.get(f"{base}/healthz").json()["now"]
    assert now.startswith("2026-11-23T23:0")


def test_docs_page_renders_without_internet(served: tuple[str, dict[str, str]]) -> None:
    from playwright.sync_api import sync_playwright

    base, _ = served
    hosts: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            pg = browser.new_page(viewport={"width": 390, "height": 844})
            pg.on("request", lambda r: hosts.append(urlparse(r.url).hostname or ""))
            pg.goto(base + "/docs")
            pg.get_by_text("/api/v1/rides").first.wait_for(timeout=30_000)
            assert "Noriai API" in pg.title()
        finally:
            browser.close()
    # only the local server (data: URLs have no host)
    assert "127.0.0.1" in hosts and set(hosts) <= {"127.0.0.1", ""}, set(hosts)


def test_cli_user_create_and_plan_show(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "NORIAI_NOW": "2026-11-24T08:00:00+09:00",
    }
    assert noriai("seed-demo", "--residents", "20", env=env).returncode == 0
    create = [
        "user",
        "create",
        "--tenant",
        "ina-demo",
        "--role",
        "operator",
        "--username",
        "tanaka",
        "--password",
        "a-long-password",
    ]
    ok = noriai(*create, env=env)
    assert ok.returncode == 0, ok.stderr
    dup = noriai(*create, env=env)
    assert dup.returncode == 1 and "--username: 'tanaka' is taken" in dup.stderr
    weak = noriai(
        "user",
        "create",
        "--tenant",
        "nowhere",
        "--role",
        "driver",
        "--username",
        "x",
        "--password",
        "short",
        env=env,
    )
    assert weak.returncode == 1 and "--tenant" in weak.stderr and "--password" in weak.stderr
    # the scheduler's jobs with their next run times (the clock starts at 08:00 on a Tuesday)
    jobs = noriai("jobs", env=env)
    assert jobs.returncode == 0, jobs.stderr
    lines = {ln.split()[1]: ln for ln in jobs.stdout.splitlines()[1:] if ln.startswith("ina-demo ")}
    from tests.test_scheduler import JOBS

    assert set(lines) == set(JOBS)
    assert "2026-11-24T11:00:00+09:00" in lines["delivery-cutoff"]
    assert "2026-11-25T02:00:00+09:00" in lines["statistics"]
    hook = noriai(
        "subscription",
        "add",
        "--webhook",
        "https://partner.example/h",
        "--events",
        "manifest.published",
        "--tenant",
        "ina-demo",
        env=env,
    )
    assert hook.returncode == 1 and "--operator" in hook.stderr
    # a booking through the API, then the plan on the command line
    from fastapi.testclient import TestClient

    from api.app import create_app
    from dispatcher.settings import Settings

    with TestClient(
        create_app(Settings(DATABASE_URL=env["DATABASE_URL"], NORIAI_NOW=env["NORIAI_NOW"]), scheduler=False)
    ) as c:
        tok = c.post("/api/v1/auth/token", data={"username": "tanaka", "password": "a-long-password"}).json()
        h = {"Authorization": f"Bearer {tok['access_token']}", "Idempotency-Key": "cli-1"}
        res = c.get("/api/v1/residents", params={"limit": 50}, headers=h).json()
        rid = next(r["id"] for r in res if r["eligible"])
        r = c.post(
            "/api/v1/rides",
            headers=h,
            json={
                "resident_id": rid,
                "origin": {"place_id": "hall-tera"},
                "destination": {"place_id": "central-hospital"},
                "pickup_after": "2026-11-24T10:00:00+09:00",
            },
        )
        assert r.status_code == 201, r.text
    unnamed = noriai("plan", "show", "--date", "2026-11-24", env=env)  # two towns: which one?
    assert unnamed.returncode == 2 and "ina-demo, yasuoka-demo" in unnamed.stderr
    shown = noriai("plan", "show", "--date", "2026-11-24", "--tenant", "ina-demo", env=env)
    assert shown.returncode == 0, shown.stderr
    assert (
        f"ride {r.json()['id']}" in shown.stdout and "pickup" in shown.stdout and "中央病院" in shown.stdout
    )
