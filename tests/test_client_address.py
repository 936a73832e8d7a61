"""The client address comes from the configuration (issue 19): X-Forwarded-For is believed only from
the proxies in NORIAI_TRUSTED_PROXIES (none by default), and pairing guesses are limited per
operator as well as per address.

Before: uvicorn believed X-Forwarded-For from 127.0.0.1 by default, so a caller on the machine (or
behind a proxy on it) chose a new address per request and every per-address limit fell: 200 PIN
tries in a row, 494 new TV boxes in 8.4 s, 85 pairing guesses a second with one operator's token.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from api.app import create_app
from api.ratelimit import proxy_options
from dispatcher.context import Dispatcher
from dispatcher.models import Household
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.settings import DEMO_TENANT_FILE, Settings
from tests.live import Server, free_port, wait_until_serving


def _xff(k: int) -> dict[str, str]:
    """A different made-up client address for every request."""
    return {"X-Forwarded-For": f"203.0.{113 + k // 250}.{k % 250 + 1}"}


def _sign_in(base: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[str]:
    """`noriai serve` as deployed: default settings (limits 10/min, no proxy named), the demo."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("NORIAI_TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS")
    } | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "NORIAI_NOW": "2026-11-24T08:00:00+09:00",
        "NORIAI_CACHE_DIR": str(tmp_path / "cache"),
        "NORIAI_RATE_SIGN_IN": "10",  # the defaults (the test suite turns limits off otherwise)
        "NORIAI_RATE_PAIRING": "10",
    }
    cli = [sys.executable, "-m", "api.cli"]
    for step in ("migrate", "seed-demo"):
        done = subprocess.run([*cli, step], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    port = free_port()
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--no-scheduler"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc)
        yield base
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
        print(out)


def test_rotating_x_forwarded_for_gains_nothing_against_noriai_serve(deployed: str) -> None:
    """A new X-Forwarded-For on every request, from loopback: the per-address limits still count
    the connection's address. PIN tries stop after 10, new boxes after 10, and pairing guesses
    find the address's allowance spent (boxes and pairing share it)."""
    base = deployed
    pins = [
        httpx.post(
            f"{base}/api/v1/m/session",
            json={"resident_id": 999_999, "pin": "1357", "tenant_id": "ina-demo"},
            headers=_xff(k),
        )
        for k in range(12)
    ]
    assert [r.status_code for r in pins] == [401] * 10 + [429] * 2
    assert int(pins[-1].headers["retry-after"]) >= 1
    boxes = [
        httpx.post(f"{base}/api/v1/tv/devices", json={"tenant_id": "ina-demo"}, headers=_xff(100 + k))
        for k in range(12)
    ]
    assert [r.status_code for r in boxes] == [201] * 10 + [429] * 2
    operator = _sign_in(base, "ina-demo-operator")
    guesses = [
        httpx.post(
            f"{base}/api/v1/devices/pair",
            json={"code": f"{k:06d}", "household_id": 1},
            headers=operator | _xff(200 + k),
        )
        for k in range(3)
    ]
    assert [r.status_code for r in guesses] == [429, 429, 429]
    assert "from this address" in guesses[0].json()["detail"]


def test_a_named_proxy_is_believed_and_pairing_guesses_are_limited_per_operator(
    sqlite_ctx: Dispatcher,
) -> None:
    """Behind a proxy named in NORIAI_TRUSTED_PROXIES each forwarded address has its own
    allowance (12 boxes from 12 addresses are all made). One operator's token guessing pairing
    codes from a new address every time is stopped after 10 guesses (per operator, 10/min); another
    operator still pairs a real box."""
    ctx = sqlite_ctx
    settings = Settings(
        NORIAI_TENANT_FILE=DEMO_TENANT_FILE,
        NORIAI_RATE_SIGN_IN=0,
        NORIAI_RATE_PAIRING=10,
        NORIAI_TRUSTED_PROXIES="127.0.0.1",
    )
    app = create_app(settings, ctx=ctx, scheduler=False)
    with Session(ctx.engine) as s:
        household = s.exec(
            select(Household.id).where(Household.tenant_id == "ina-demo").order_by(col(Household.id))
        ).first()
    with Server(ctx, app=app, trusted_proxies=settings.proxies()) as base:
        boxes = [
            httpx.post(f"{base}/api/v1/tv/devices", json={"tenant_id": "ina-demo"}, headers=_xff(k))
            for k in range(12)
        ]
        assert [r.status_code for r in boxes] == [201] * 12
        operator = _sign_in(base, "ina-demo-operator")
        guesses = [
            httpx.post(
                f"{base}/api/v1/devices/pair",
                json={"code": "999999" if k % 2 else "000000", "household_id": household},
                headers=operator | _xff(300 + k),
            )
            for k in range(12)
        ]
        assert [r.status_code for r in guesses] == [422] * 10 + [429] * 2
        assert "by this user" in guesses[-1].json()["detail"]
        other = _sign_in(base, "ina-demo-admin")
        code = boxes[0].json()["code"]
        paired = httpx.post(
            f"{base}/api/v1/devices/pair",
            json={"code": code, "household_id": household},
            headers=other | _xff(400),
        )
        assert paired.status_code == 200, paired.text


def test_no_proxy_is_trusted_unless_named() -> None:
    """The default names no proxy, and `noriai serve` then tells uvicorn not to read the headers;
    a proxy is named by address or network, anything else is refused at start-up."""
    assert Settings(NORIAI_TENANT_FILE=DEMO_TENANT_FILE).proxies() == []
    assert proxy_options([]) == {"proxy_headers": False}
    named = Settings(NORIAI_TRUSTED_PROXIES="10.0.0.5, 192.168.0.0/16")
    assert named.proxies() == ["10.0.0.5", "192.168.0.0/16"]
    assert proxy_options(named.proxies()) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.5", "192.168.0.0/16"],
    }
    with pytest.raises(ValueError, match="proxy.example"):
        Settings(NORIAI_TRUSTED_PROXIES="proxy.example")
