"""Acceptance of the TV page (issue 5): Debian's Chromium at 1280x720 driven by the keyboard alone.

A new box shows a pairing code, an operator pairs it, and then, pressing only arrows, Enter,
Backspace, digits and F1-F4: book a ride to a favourite place "now" in at most 8 presses, order
three items, cancel the ride. After every key the focused element is read and compared with what a
person would expect, every text is checked for 4.5:1 contrast and 32 px type, and a screenshot is
saved (var/test-artifacts/tv/). The browser's request log must hold nothing outside the app.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from dispatcher.billing.statements import goods_paid_text
from dispatcher.context import Dispatcher
from dispatcher.models import Household, Membership, OrderLine, Resident, Ride, ShopOrder
from dispatcher.platform.demo import DEMO_PASSWORD
from tests.conftest import DAY_START
from tests.live import RequestLog, Server, focused, launch, shot, text_styles

FOLDER = "tv"


def _pick_household(ctx: Dispatcher) -> tuple[int, list[Resident]]:
    """A two-person household with a shopping membership whose members may both ride."""
    with Session(ctx.engine) as s:
        members: dict[int, list[Resident]] = {}
        for r in s.exec(select(Resident).order_by(col(Resident.id))):
            members.setdefault(r.household_id, []).append(r)
        shoppers = {m.household_id for m in s.exec(select(Membership))}
    for hh, people in members.items():
        if len(people) == 2 and hh in shoppers and all(p.favourite_places for p in people):
            return hh, people
    raise AssertionError("no suitable demo household")


class TV:
    """The page plus the checks made after every key."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base, self.presses, self.step = page, base, 0, 0
        self.log = RequestLog(page)

    def check(self, name: str) -> None:
        self.step += 1
        shot(self.page, FOLDER, f"{self.step:02d}-{name}")
        styles = text_styles(self.page)
        assert styles, "nothing on the screen"
        low = [s for s in styles if s["ratio"] < 4.5]
        small = [s for s in styles if s["size"] < 32]
        assert not low, f"{name}: contrast below 4.5:1: {low[:3]}"
        assert not small, f"{name}: type below 32 px: {small[:3]}"

    def press(self, key: str, expect: str | None = None, name: str | None = None) -> None:
        self.page.keyboard.press(key)
        self.presses += 1
        if expect is not None:
            self.page.wait_for_function(
                "id => { const e = document.activeElement; return e && e.getAttribute('data-id') === id; }",
                arg=expect,
                timeout=10_000,
            )
            assert focused(self.page) == expect
            visible = self.page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement); "
                "return s.boxShadow !== 'none' && s.boxShadow !== ''; }"
            )
            assert visible, f"the focus on {expect} is not visibly marked"
        self.check(name or key)


@pytest.fixture
def served(sqlite_ctx: Dispatcher) -> Iterator[str]:
    with Server(sqlite_ctx) as base:
        yield base


def _operator(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    tok = c.post("/api/v1/auth/token", data={"username": "ina-demo-operator", "password": DEMO_PASSWORD})
    c.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
    return c


def test_tv_remote_alone_books_orders_and_cancels(served: str, sqlite_ctx: Dispatcher) -> None:
    from playwright.sync_api import sync_playwright

    ctx = sqlite_ctx
    hh, people = _pick_household(ctx)
    rider = people[0]
    fav = rider.favourite_places[0]
    op = _operator(served)
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            tv = TV(page, served)
            page.goto(served + "/tv")
            page.wait_for_selector("#pair-code")
            tv.check("pairing-code")
            code = page.text_content("#pair-code").replace(" ", "")
            r = op.post("/api/v1/devices/pair", json={"code": code, "household_id": hh})
            assert r.status_code == 200, r.text
            page.wait_for_selector('[data-id="menu-ride"]:focus', timeout=15_000)  # the box polls
            page.wait_for_selector("#home-shop")
            page.wait_for_selector("#home-billing")  # this month's running total, as billed
            from dispatcher.billing.statements import running_total

            total = running_total(ctx, "ina-demo", hh)["total_yen"]
            assert total >= 1000  # a shopping member: the month's fee at least
            assert f"11月）のご利用額 {total:,}円" in (page.text_content("#home-billing") or "")
            tv.check("home")

            # Ride "now" to the first favourite: F1, rider 1, favourite 1, now, confirm = 5 presses.
            tv.presses = 0
            tv.press("F1", expect=f"rider-{rider.id}", name="ride-who")
            tv.press("ArrowDown", expect=f"rider-{people[1].id}", name="ride-who-down")
            tv.press("ArrowUp", expect=f"rider-{rider.id}", name="ride-who-up")
            tv.press("Enter", expect=f"to-{fav}", name="ride-where")
            tv.press("Enter", expect="when-now", name="ride-when")
            tv.press("Enter", expect="confirm", name="ride-confirm")
            window = page.text_content("#quote-window")
            tv.press("Enter", name="ride-booked")
            page.wait_for_selector("text=予約しました")
            tv.check("ride-booked-message")
            assert tv.presses <= 8, tv.presses
            with Session(ctx.engine) as s:
                ride = s.exec(select(Ride).where(Ride.resident_id == rider.id)).one()
            assert ride.status == "confirmed" and ride.destination_place_id == fav
            assert window and ride.pickup_window_start is not None
            assert f"{ride.pickup_window_start.astimezone(ctx.config('ina-demo').tz):%-H:%M}" in window

            # Shopping: three items with quantities typed as digits.
            tv.press("F2", expect="cat-0", name="shop-categories")
            tv.press("Enter", name="shop-items")
            page.wait_for_selector(".grid .f[data-id^='item-']:focus")
            first = focused(page)
            tv.press("Enter", expect="qty-ok", name="shop-qty")
            tv.press("2", name="shop-qty-2")
            assert page.text_content("#qty-value") == "2"
            tv.press("Enter", expect=first, name="shop-back-to-item")  # back on the same item
            ids = page.eval_on_selector_all(".grid .f", "els => els.map(e => e.getAttribute('data-id'))")
            tv.press("ArrowRight", expect=ids[1], name="shop-right")
            tv.press("Enter", expect="qty-ok", name="shop-qty-b")
            tv.press("Enter", expect=ids[1], name="shop-one")  # 1 is the default quantity
            tv.press("ArrowDown", expect=ids[3], name="shop-down")  # two per row: below ids[1]
            tv.press("Enter", expect="qty-ok", name="shop-qty-c")
            tv.press("1", name="shop-qty-1")
            tv.press("2", name="shop-qty-12")
            assert page.text_content("#qty-value") == "12"
            tv.press("Enter", expect=ids[3], name="shop-back-c")
            tv.press("ArrowUp", expect=ids[1], name="shop-up")
            tv.press("ArrowUp", expect="cart", name="shop-cart-button")
            assert "（15）" in (page.text_content("[data-id=cart]") or "")
            tv.press("Enter", expect="order", name="shop-cart")
            tv.press("Enter", expect="order-confirm", name="shop-confirm")
            # the household's hall by its name, and how the goods are paid in the statement's words
            cfg = ctx.config("ina-demo")
            with Session(ctx.engine) as s:
                hall = cfg.place(s.get_one(Household, hh).hall_id or "")
            assert hall is not None
            assert f"{hall.name}へ届けます" in (page.text_content("#order-where") or "")
            assert page.text_content("#order-payment") == goods_paid_text(cfg) + "。"
            tv.press("Enter", name="shop-ordered")
            page.wait_for_selector("text=注文しました")
            tv.check("shop-ordered-message")
            with Session(ctx.engine) as s:
                order = s.exec(select(ShopOrder).where(ShopOrder.household_id == hh)).one()
                lines = s.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
            assert sorted(x.quantity for x in lines) == [1, 2, 12]
            assert order.created_by.startswith("device:")

            # Cancel the ride from 予約の確認 (green): the safe answer is focused first.
            tv.press("F3", expect=f"ride-{ride.id}", name="mine")
            assert page.is_visible(f"[data-id=order-{order.id}]")
            tv.press("Enter", expect="ride-cancel", name="ride-detail")
            tv.press("Enter", expect="no", name="ride-cancel-ask")
            tv.press("ArrowRight", expect="yes", name="ride-cancel-yes")
            tv.press("Enter", name="ride-cancelled")
            page.wait_for_selector("text=取り消しました")
            tv.check("ride-cancelled-message")
            with Session(ctx.engine) as s:
                assert s.get(Ride, ride.id).status == "cancelled"

            # Backspace goes back; F4 shows the notices of the day.
            tv.press("F4", name="notices")
            page.wait_for_selector("text=予約しました")
            assert page.is_visible("text=取り消しました")
            tv.press("Backspace", expect="menu-ride", name="back-home")
            assert not tv.log.outside(served), tv.log.outside(served)
        finally:
            browser.close()


def test_tv_colour_keys_vk_codes_notices_cutoff_and_full_hd(
    served: str, sqlite_ctx: Dispatcher, clock: Any
) -> None:
    """ARIB key codes 403-406 open the four menus; a taxi about to arrive shows a banner; after the
    cut-off the shop says when the next delivery is; the home screen at 1920x1080 keeps its checks."""
    from playwright.sync_api import sync_playwright

    ctx = sqlite_ctx
    hh, people = _pick_household(ctx)
    op = _operator(served)
    box = httpx.post(served + "/api/v1/tv/devices", json={}).json()
    assert op.post("/api/v1/devices/pair", json={"code": box["code"], "household_id": hh}).status_code == 200
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.add_init_script(f"localStorage.setItem('noriai.device', {box['token']!r})")
            log = RequestLog(page)
            page.goto(served + "/tv")
            page.wait_for_selector('[data-id="menu-ride"]:focus')
            assert page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)") >= 48
            shot(page, FOLDER, "fullhd-home")
            assert all(s["ratio"] >= 4.5 for s in text_styles(page))

            def vk(code: int) -> None:
                page.evaluate(
                    """code => { const e = new KeyboardEvent('keydown', {bubbles: true});
                    Object.defineProperty(e, 'keyCode', {get: () => code});
                    document.dispatchEvent(e); }""",
                    code,
                )

            for code, marker in ((403, "#cutoff"), (404, "text=予約の確認（今日）"), (405, "text=お知らせ")):
                vk(code)
                page.wait_for_selector(marker)
                vk(8)  # back
                page.wait_for_selector('[data-id="menu-ride"]:focus')
            vk(406)
            page.wait_for_selector(f"[data-id=rider-{people[0].id}]:focus")

            # Digits choose numbered items; an arrival time picked with the arrow keys.
            page.keyboard.press("Enter")
            page.wait_for_selector(f"[data-id=to-{people[0].favourite_places[0]}]:focus")
            page.keyboard.press("1")
            page.wait_for_selector("[data-id=when-now]:focus")
            page.keyboard.press("5")  # 着きたい時刻をえらぶ
            page.wait_for_selector("#time-value")
            h, m = map(int, (page.text_content("#time-value") or "").split(":"))
            lead = ctx.config("ina-demo").booking.min_lead_minutes
            assert 60 * h + m >= 8 * 60 + lead + 60  # an hour after the earliest bookable pickup
            for key in ("ArrowUp", "ArrowUp", "ArrowRight", "ArrowDown"):  # +10 +10 +60 -10 minutes
                page.keyboard.press(key)
            t = 60 * h + m + 70
            picked = f"{t // 60}:{t % 60:02d}"
            assert page.text_content("#time-value") == picked
            assert focused(page) == "time-ok"
            page.keyboard.press("Enter")
            page.wait_for_selector("[data-id=confirm]:focus")
            assert f"{picked} までに着きます" in (page.text_content("#screen") or "")
            shot(page, FOLDER, "fullhd-arrive-by")
            for _ in range(5):
                page.keyboard.press("Backspace")
            page.wait_for_selector('[data-id="menu-ride"]:focus')

            # A ride booked by phone; five minutes before its planned pickup the TV says so.
            rider = people[0]
            booked = op.post(
                "/api/v1/rides",
                headers={"Idempotency-Key": "tv-notice-1"},
                json={
                    "resident_id": rider.id,
                    "origin": {"lat": rider.lat, "lon": rider.lon},
                    "destination": {"place_id": rider.favourite_places[0]},
                    "pickup_after": (clock.now() + timedelta(minutes=30)).isoformat(),
                },
            )
            assert booked.status_code == 201, booked.text
            with Session(ctx.engine) as s:
                planned = s.get(Ride, booked.json()["id"]).planned_pickup
            clock.set(planned - timedelta(minutes=5))
            page.evaluate("() => window.noriaiTV.pollNotices()")
            page.wait_for_selector("#banner:not([hidden])")
            assert "あと約5分" in (page.text_content("#banner") or "")
            shot(page, FOLDER, "fullhd-banner")

            # After the cut-off: the next delivery day instead of the catalogue.
            clock.set(DAY_START.replace(hour=11, minute=30, second=17, microsecond=123456))
            page.reload()
            page.wait_for_selector('[data-id="menu-ride"]:focus')
            assert page.text_content("#clock") == "11:30"  # server time with microseconds, read right
            page.keyboard.press("F2")
            page.wait_for_selector("#cutoff")
            text = page.text_content("#cutoff") or ""
            assert "締め切りました" in text and "11月25日（水）" in text
            shot(page, FOLDER, "fullhd-after-cutoff")
            assert not log.outside(served)
        finally:
            browser.close()
