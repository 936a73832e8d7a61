"""Two towns' pages from one server in a real Chromium (var/test-artifacts/towns/).

The operator console of each town shows its own name and fleet; the console of one town refuses the
other town's operator in Japanese and does not resume the other town's session; the second town's
TV page registers with its town, shows the pairing code, and after pairing its menu (rides only:
the village has no shopping); its phone page signs a resident in with the town's id. Nothing is
fetched from outside the app and no page logs a script error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import session_scope
from dispatcher.models import Resident
from dispatcher.platform.demo import DEMO_PASSWORD, demo_phone_login
from tests.live import RequestLog, Server, launch, shot, text_styles
from tests.test_tenants import rider, two_towns

FOLDER = "towns"
TIMEOUT_MS = 15_000


@pytest.fixture
def towns(sqlite_url: str, clock: SimClock) -> Iterator[Dispatcher]:
    c = two_towns(sqlite_url, clock)
    yield c
    c.engine.dispose()


def _watch(page: Page, into: list[str]) -> RequestLog:
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda e: into.append(str(e)))
    page.on(
        "console",
        lambda m: (
            into.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    return RequestLog(page)


def _readable(page: Page, min_px: float) -> None:
    styles = text_styles(page)
    assert styles
    bad = [s for s in styles if s["ratio"] < 4.5 or s["size"] < min_px]
    assert not bad, bad[:3]


def _sign_in(page: Page, user: str) -> None:
    page.fill("#login-user", user)
    page.fill("#login-pass", DEMO_PASSWORD)
    page.click("#login-submit")


def test_each_town_has_its_own_console_tv_and_phone(towns: Dispatcher) -> None:
    errors: list[str] = []
    posted: list[tuple[str, Any]] = []
    with Server(towns) as base, sync_playwright() as p:
        browser = launch(p)
        try:
            # --- the plain path: a chooser of the two towns
            op = browser.new_page(viewport={"width": 1366, "height": 768}, locale="ja-JP")
            log = _watch(op, errors)
            op.on("request", lambda r: posted.append((r.url, r.post_data)) if r.method == "POST" else None)
            op.goto(base + "/operator")
            expect(op.locator("#towns a")).to_have_text(["伊那市（デモ）", "泰阜村（デモ）"])
            _readable(op, 16)
            shot(op, FOLDER, "00-chooser")
            op.click("text=伊那市（デモ）")
            op.wait_for_url(base + "/t/ina-demo/operator")

            # --- Ina's console: its name, its fleet
            _sign_in(op, "ina-demo-operator")
            expect(op.locator("#search")).to_be_visible()
            expect(op.locator("#brand")).to_contain_text("伊那市（デモ）")
            sign_in_body = next(b for u, b in posted if u.endswith("/api/v1/auth/token"))
            assert "tenant_id=ina-demo" in sign_in_body
            op.click("#tab-board")
            expect(op.locator('[data-id="vehicle-chuo-1"]')).to_be_visible()
            # the board names each vehicle as the tenant file does, never by its id
            expect(op.locator('[data-id="vehicle-chuo-1"]')).to_contain_text("中央1号")
            expect(op.locator('[data-id="vehicle-chuo-1"]')).not_to_contain_text("chuo-1")
            shot(op, FOLDER, "01-ina-operator")

            # --- the same tab opens Yasuoka's console: Ina's session is not resumed there, and
            # Ina's operator is refused in Japanese; Yasuoka's operator gets Yasuoka's console
            op.goto(base + "/t/yasuoka-demo/operator")
            expect(op.locator("#login-user")).to_be_visible()
            expect(op.locator("#brand")).to_contain_text("泰阜村（デモ）")
            _sign_in(op, "ina-demo-operator")
            expect(op.locator("#login-error")).to_contain_text(
                "このユーザーは伊那市（デモ）の職員用です。伊那市（デモ）の画面（/t/ina-demo/…）からサインインしてください。"
            )
            expect(op.locator("#search")).to_be_hidden()
            shot(op, FOLDER, "02-yasuoka-refuses-ina")
            _sign_in(op, "yasuoka-demo-operator")
            expect(op.locator("#search")).to_be_visible()
            op.click("#tab-board")
            expect(op.locator("#vehicle-rows tr")).to_have_count(2)
            expect(op.locator('[data-id="vehicle-yasuoka-1"]')).to_contain_text("村営1号")
            expect(op.locator('[data-id="vehicle-chuo-1"]')).to_have_count(0)
            _readable(op, 13)
            shot(op, FOLDER, "03-yasuoka-operator")
            assert not log.outside(base)

            # --- Yasuoka's TV page: registers with Yasuoka, pairs with Yasuoka's operator
            resident = rider(towns, "yasuoka-demo")
            with Session(towns.engine) as s:
                household = s.get(Resident, resident).household_id
            tv = browser.new_page(viewport={"width": 1280, "height": 720})
            tv_log = _watch(tv, errors)
            registered: list[Any] = []
            tv.on(
                "request",
                lambda r: (
                    registered.append(json.loads(r.post_data or "{}"))
                    if r.url.endswith("/api/v1/tv/devices")
                    else None
                ),
            )
            tv.goto(base + "/t/yasuoka-demo/tv")
            tv.wait_for_selector("#pair-code")
            assert registered == [{"tenant_id": "yasuoka-demo"}]
            expect(tv.locator("#brand")).to_have_text("泰阜村（デモ） のりあい")
            expect(tv.locator("#call-phone")).to_contain_text("0260-00-0000")
            _readable(tv, 32)
            shot(tv, FOLDER, "04-yasuoka-tv-pairing")
            code = (tv.text_content("#pair-code") or "").replace(" ", "")
            with httpx.Client(base_url=base, timeout=30) as api:
                tok = api.post(
                    "/api/v1/auth/token",
                    data={"username": "yasuoka-demo-operator", "password": DEMO_PASSWORD},
                ).json()["access_token"]
                ina = api.post(
                    "/api/v1/auth/token", data={"username": "ina-demo-operator", "password": DEMO_PASSWORD}
                ).json()["access_token"]
                pair = {"code": code, "household_id": household}
                wrong = api.post(
                    "/api/v1/devices/pair", json=pair, headers={"Authorization": f"Bearer {ina}"}
                )
                assert wrong.status_code in (404, 422), wrong.text
                r = api.post("/api/v1/devices/pair", json=pair, headers={"Authorization": f"Bearer {tok}"})
                assert r.status_code == 200, r.text
            tv.wait_for_selector('[data-id="menu-ride"]:focus', timeout=20_000)  # the box polls
            # the village has no shopping: no shopping menu, and the red key says so
            expect(tv.locator('[data-id="menu-shop"]')).to_have_count(0)
            expect(tv.locator('[data-id="menu-mine"]')).to_be_visible()
            # the village bills by its own invoice, not with the cable-TV bill
            expect(tv.locator("#home-billing")).to_have_text("今月（11月）のご利用額 0円")
            _readable(tv, 32)
            shot(tv, FOLDER, "05-yasuoka-tv-home")
            tv.keyboard.press("F2")  # the red key
            expect(tv.locator("#screen")).to_contain_text("テレビでの買い物は、この市町村ではできません。")
            shot(tv, FOLDER, "06-yasuoka-tv-no-shopping")
            tv.keyboard.press("Backspace")
            tv.wait_for_selector('[data-id="menu-ride"]')
            assert not tv_log.outside(base)

            # --- Yasuoka's phone page: the PIN sign-in names the town
            with session_scope(towns.engine) as s:
                rid, pin = demo_phone_login(s, towns.config("yasuoka-demo"), towns.clock.now())
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            _watch(phone, errors)
            sent: list[Any] = []
            phone.on(
                "request",
                lambda r: (
                    sent.append(json.loads(r.post_data or "{}"))
                    if r.url.endswith("/api/v1/m/session")
                    else None
                ),
            )
            phone.goto(base + "/t/yasuoka-demo/m")
            phone.fill("#resident-id", str(rid))
            phone.fill("#pin", pin)
            phone.get_by_role("button", name="サインイン").click()
            expect(phone.locator("#brand")).to_contain_text("泰阜村（デモ）")
            phone.wait_for_function("() => !!window.noriaiPhone.state.me")
            assert sent == [{"resident_id": rid, "pin": pin, "tenant_id": "yasuoka-demo"}]
            shot(phone, FOLDER, "07-yasuoka-phone")
            # the same browser on Ina's phone page: the Yasuoka session stays with Yasuoka
            phone.goto(base + "/t/ina-demo/m")
            expect(phone.locator("h1")).to_have_text("サインイン")
            expect(phone.locator("#brand")).to_contain_text("伊那市（デモ）")
        finally:
            browser.close()
    assert not errors, errors
