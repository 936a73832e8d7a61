"""Issue 20, acceptance 2, the pages beyond tests/test_keyboard_focus.py: the keyboard focus stays
where the person is after each action and after the page's own refresh; axe-core checks every state
photographed (tests/live.py `shot`).

One server, one demo database and one Chromium for the module; the delivery day goes on from test
to test (orders before the cut-off, the seller's list, flights, hand-overs at a hall). With the
keyboard only:
- seller: a tick, 「最新にする」 and the refresh (new orders) keep the focus on the control;
  「準備できました」 opens the confirmation at its heading; a refusal leaves the focus on the button;
- drone: opening a flight lands on its heading, each step on 「次にすること」 (kept there by the
  refresh after 離陸しました); the checklist keeps the focus; a refresh (another flight changed)
  keeps it on the landing button;
  (a refused step and the abort form: tests/test_keyboard_focus_drone.py, on a day of their own)
- support: 「渡しました」 puts the focus on the question, 「やめる」 back on 「渡しました」, a refresh
  keeps it there, a confirmed hand-over lands on the order's card;
- family on /m: a refused password keeps the focus on the password; 画面を新しくする keeps it;
- watch link: its one button is the first tab stop; Enter acknowledges;
- registration (operator console): the neighbour's point, ＋ 家族を追加 and a refused 登録する;
- town pages: every link reached with Tab; TV: colour keys, 戻る and the polls keep the focus.
Every focus ring has two colours with 3:1 or more between them (ring_ok); the TV's fill has 3:1
or more against the screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from dispatcher.care.watchover import _hash
from dispatcher.context import Dispatcher
from dispatcher.models import Flight, WatchEpisode
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.shopping.delivery import plan_delivery
from tests.conftest import DAY_START, client_for, token_headers
from tests.keyboard import (
    FOLDER,
    World,
    by_id,
    focus_on,
    keyboard_world,
    mark,
    phone,
    press,
    redrawn,
    ring_ok,
    wake,
)
from tests.live import shot
from tests.riders import book_from_home
from tests.test_delivery import DAY, place_orders
from tests.test_family_pages import PASSWORD, _family, _two_residents
from tests.test_tv_page import _pick_household


def _orders(ctx: Dispatcher) -> None:
    with client_for(ctx) as client:
        place_orders(client, token_headers(client, "ina-demo-operator"), ctx, 24, seed=7)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with keyboard_world(tmp_path_factory.mktemp("focus-field"), _orders) as w:
        yield w


def test_seller_page_keeps_the_focus(world: World) -> None:
    ctx = world.ctx
    shopping = ctx.config("ina-demo").shopping
    assert shopping is not None
    seller = shopping.sellers[0].id
    page = phone(world, "/seller", f"ina-demo-seller-{seller}")
    try:
        sheet = by_id(page, f"sheet-{seller}")
        expect(sheet).to_be_visible()
        tick = page.locator('li.pick input[type="checkbox"]').first
        key = tick.get_attribute("data-id")
        press(page, key or "", " ")
        expect(tick).to_be_checked()
        focus_on(page, f'[data-id="{key}"]')
        ring_ok(page, "seller tick")

        # the list's refresh with new orders: drawn again, the tick keeps the focus
        summary = by_id(sheet, "summary").inner_text()
        with client_for(ctx) as client:
            place_orders(client, token_headers(client, "ina-demo-operator"), ctx, 8, seed=11)
        for _ in range(20):
            wake(page)
            page.wait_for_timeout(250)
            if by_id(sheet, "summary").inner_text() != summary:
                break
        assert by_id(sheet, "summary").inner_text() != summary, "new orders should change the list"
        focus_on(page, f'[data-id="{key}"]')
        expect(page.locator(f'[data-id="{key}"]')).to_be_checked()
        shot(page, FOLDER, "seller-refreshed")

        # 最新にする: the button keeps the focus
        mark(page)
        press(page, "refresh")
        redrawn(page)
        focus_on(page, '[data-id="refresh"]')
        ring_ok(page, "seller refresh")

        # 準備できました: the confirmation, at its heading; refused before the cut-off, the focus
        # stays on the button pressed
        press(page, "ready")
        expect(page.locator("h1")).to_have_text("集荷OKにしますか")
        focus_on(page, "h1")
        press(page, "unticked-ok", " ")
        expect(by_id(page, "unticked-ok")).to_be_checked()
        press(page, "ready-yes")
        expect(by_id(page, "problem")).to_contain_text("集荷OKにできませんでした。")
        focus_on(page, '[data-id="ready-yes"]')
        shot(page, FOLDER, "seller-refused")
        press(page, "ready-no")
        focus_on(page, "h1")
    finally:
        page.context.close()


def test_drone_page_keeps_the_focus(world: World) -> None:
    ctx, clock = world.ctx, world.clock
    # 11:05, after the cut-off: the day's flights; 11:50: every seller has marked its list ready
    clock.set(max(clock.now(), DAY_START.replace(hour=11, minute=5)))
    plan_delivery(ctx, "ina-demo", DAY)
    clock.set(max(clock.now(), DAY_START.replace(hour=11, minute=50)))
    shopping = ctx.config("ina-demo").shopping
    assert shopping is not None
    with client_for(ctx) as client:
        operator = token_headers(client, "ina-demo-operator")
        for shop in shopping.sellers:
            r = client.post("/api/v1/picklists/ready", json={"seller_id": shop.id}, headers=operator)
            assert r.status_code == 200, r.text
    with Session(ctx.engine) as s:
        first, second = list(
            s.exec(select(Flight).where(Flight.active == True).order_by(col(Flight.number)))  # noqa: E712
        )[:2]
    page = phone(world, "/drone", "ina-demo-drone")
    try:
        expect(page.locator("h1")).to_have_text("今日のフライト")
        press(page, f"open-{first.id}")
        expect(page.locator("h1")).to_have_text(f"第{first.number}便")
        focus_on(page, "h1")

        # 積み込みました: the focus on what comes next (the checklist), not the top of the page
        press(page, "loaded")
        expect(page.locator("#next-h")).to_have_text("離陸前の確認")
        focus_on(page, "#next-h")
        for check in ("check-battery", "check-weather", "check-corridor"):
            press(page, check, " ")
            expect(by_id(page, check)).to_be_checked()
            focus_on(page, f'[data-id="{check}"]')
        ring_ok(page, "drone checklist")
        shot(page, FOLDER, "drone-checked")
        press(page, "departed")
        expect(page.locator("#next-h")).to_have_text("次にすること")
        focus_on(page, "#next-h")
        ring_ok(page, "drone next step")
        # the refresh right after (the flight on show has changed): the focus stays on 次にすること
        mark(page)
        wake(page)
        redrawn(page)
        focus_on(page, "#next-h")

        # the list's refresh (another flight loaded meanwhile): the landing button keeps the focus
        land = page.locator('[data-id^="landed-"]').first
        key = land.get_attribute("data-id") or ""
        land.focus()
        with client_for(ctx) as client:
            r = client.post(f"/api/v1/flights/{second.id}/steps", json={"action": "loaded"}, headers=operator)
            assert r.status_code == 200, r.text
        mark(page)
        wake(page)
        redrawn(page)
        focus_on(page, f'[data-id="{key}"]')
        ring_ok(page, "drone landing")
        shot(page, FOLDER, "drone-refreshed")
        with client_for(ctx) as client:  # the landing is reported once the drone can be there
            flying = client.get("/api/v1/flights", headers=operator).json()
        expected = next(f for f in flying if f["id"] == first.id)["expected"][key.removeprefix("landed-")]
        clock.set(max(clock.now(), datetime.fromisoformat(expected)))
        press(page, key)
        focus_on(page, "#next-h")
        expect(page.locator("#flash")).to_contain_text("着陸しました")
        shot(page, FOLDER, "drone-landed")
    finally:
        page.context.close()


def test_support_page_keeps_the_focus(world: World) -> None:
    ctx = world.ctx
    with Session(ctx.engine) as s:
        second = list(
            s.exec(select(Flight).where(Flight.active == True).order_by(col(Flight.number)))  # noqa: E712
        )[1]
    page = phone(world, "/support", "ina-demo-support")
    try:
        hall = page.locator('[data-id^="hall-"].go').first  # a hall with bags to hand over
        press(page, hall.get_attribute("data-id") or "")
        expect(by_id(page, "tally")).to_be_visible()
        focus_on(page, "h1")
        hand = page.locator('[data-id^="hand-"]:not([disabled])').first
        key = hand.get_attribute("data-id") or ""
        order = key.removeprefix("hand-")

        # 渡しました: the question takes the focus; やめる gives it back to 渡しました
        press(page, key)
        focus_on(page, f'[data-id="order-{order}"] [data-id="yes"]')
        ring_ok(page, "support question")
        shot(page, FOLDER, "support-question")
        press(page, "no")
        focus_on(page, f'[data-id="{key}"]')

        # the list's refresh (another flight took off meanwhile): 渡しました keeps the focus
        with client_for(ctx) as client:
            operator = token_headers(client, "ina-demo-operator")
            checklist = {"battery": True, "weather": True, "corridor": True}
            r = client.post(
                f"/api/v1/flights/{second.id}/steps",
                json={"action": "departed", "checklist": checklist},
                headers=operator,
            )
            assert r.status_code == 200, r.text
        mark(page)
        wake(page)
        redrawn(page)
        focus_on(page, f'[data-id="{key}"]')
        ring_ok(page, "support hand-over")

        # はい、渡しました: the focus on the order, now handed over
        press(page, key)
        press(page, "yes")
        expect(page.locator("#flash")).to_contain_text("に渡しました")
        focus_on(page, f'[data-id="order-{order}"]')
        expect(by_id(page, f"order-{order}")).to_have_class("card delivery done")
        ring_ok(page, "support handed over")
        shot(page, FOLDER, "support-handed-over")
    finally:
        page.context.close()


def test_family_sign_in_and_home_keep_the_focus(world: World) -> None:
    mother, in_law = _two_residents(world.ctx)
    _family(world.ctx, mother, in_law)
    context = world.browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(world.base + "/m")
        expect(page.locator("h1")).to_have_text("サインイン")
        press(page, "to-family")
        expect(page.locator("h1")).to_have_text("ご家族の方のサインイン")
        focus_on(page, "h1")
        page.keyboard.press("Tab")
        focus_on(page, "#login-id")
        ring_ok(page, "family login id")
        page.keyboard.type("hanako@example.jp")
        page.keyboard.press("Tab")
        focus_on(page, "#password")
        page.keyboard.type("wrong-password")
        page.keyboard.press("Enter")
        expect(page.locator("#family-error")).to_contain_text("ログインIDかパスワードがちがいます")
        focus_on(page, "#password")  # refused: the focus on the password, to type it again
        shot(page, FOLDER, "family-refused")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text("どなたの予定を見ますか")
        focus_on(page, "h1")
        press(page, f"pick-{mother.id}")
        expect(page.locator("#acting-name")).to_contain_text(mother.family_name)
        focus_on(page, "h1")

        # 画面を新しくする: the button keeps the focus; so does the page's own refresh (waking)
        press(page, "refresh")
        page.wait_for_function("() => !document.querySelector('[aria-busy=\"true\"]')")
        focus_on(page, '[data-id="refresh"]')
        ring_ok(page, "family refresh")
        wake(page)
        page.wait_for_timeout(300)
        focus_on(page, '[data-id="refresh"]')
        shot(page, FOLDER, "family-home-refreshed")
    finally:
        context.close()


def test_watch_link_is_answered_with_the_keyboard(world: World) -> None:
    ctx = world.ctx
    hh, _ = _two_residents(ctx)
    assert hh.household_id is not None
    token = "keyboard-watch-link-0001"
    now = world.clock.now()
    with Session(ctx.engine) as s:
        ep = WatchEpisode(
            tenant_id="ina-demo",
            household_id=hh.household_id,
            inactive_since=now,
            alerted_at=now,
            ack_token_hash=_hash(token),
        )
        s.add(ep)
        s.commit()
        episode = ep.id
    page = world.browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{world.base}/t/ina-demo/watch/ack/{token}")
        page.keyboard.press("Tab")  # the one button is the first stop
        focus_on(page, "#ack")
        ring_ok(page, "watch ack")
        shot(page, FOLDER, "watch-ask")
        page.keyboard.press("Enter")
        expect(page.locator("#done")).to_be_visible()
        shot(page, FOLDER, "watch-done")
        with Session(ctx.engine) as s:
            done = s.get(WatchEpisode, episode)
            assert done is not None and done.acknowledged_at is not None
    finally:
        page.close()


def test_registration_form_keeps_the_focus(world: World) -> None:
    neighbour = _two_residents(world.ctx)[1]
    page = world.browser.new_page(viewport={"width": 1366, "height": 768})
    page.set_default_timeout(10_000)
    try:
        page.goto(world.base + "/operator")
        page.fill("#login-user", "ina-demo-operator")
        page.fill("#login-pass", DEMO_PASSWORD)
        page.press("#login-pass", "Enter")
        focus_on(page, "#search")
        press(page, "register-open")
        focus_on(page, "#reg-address")
        ring_ok(page, "registration address")

        # the home's point from a neighbour's, by keyboard: the search keeps the focus afterwards
        page.focus("#reg-neighbour")
        page.keyboard.type(f"{neighbour.family_kana}{neighbour.given_kana}")
        page.keyboard.press("Enter")
        press(page, f"copy-point-{neighbour.id}")
        expect(page.locator("#reg-point-status")).to_contain_text("区域内")
        focus_on(page, "#reg-neighbour")
        ring_ok(page, "registration neighbour search")

        # ＋ 家族を追加: the focus in the new member's first field; 登録する with fields missing:
        # the focus on the first one refused
        press(page, "reg-add-member")
        focus_on(page, '[data-id="m1-registration_no"]')
        shot(page, FOLDER, "registration-member-added")
        press(page, "reg-submit")
        expect(page.locator("#reg-error")).to_be_visible()
        focus_on(page, "#reg-address, [data-id^='m0-']")
        ring_ok(page, "registration refused")
        shot(page, FOLDER, "registration-refused")
    finally:
        page.close()


def test_town_pages_are_reached_with_the_keyboard(world: World) -> None:
    page = world.browser.new_page(viewport={"width": 1024, "height": 768})
    page.set_default_timeout(10_000)
    try:
        # the town's own list of its pages: Tab reaches each link with the ring; Enter opens it
        page.goto(world.base + "/t/ina-demo")
        links = page.locator("#pages a")
        assert links.count() >= 3
        page.keyboard.press("Tab")
        focus_on(page, "#pages a")
        ring_ok(page, "town pages")
        for _ in range(links.count() - 1):
            page.keyboard.press("Tab")
            focus_on(page, "#pages a")
        shot(page, FOLDER, "town-pages")
        first = links.first.get_attribute("href") or ""
        for _ in range(links.count() - 1):
            page.keyboard.press("Shift+Tab")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**{first}")

        # an unknown town: the 404 page's list of the towns served is reached the same way
        page.goto(world.base + "/t/no-such-town")
        expect(page.locator("#unknown")).to_be_visible()
        page.keyboard.press("Tab")
        focus_on(page, "#towns a")
        ring_ok(page, "unknown town")
        shot(page, FOLDER, "town-unknown")
    finally:
        page.close()


# The TV marks the focus with a fill, not an outline: the focused item's background against the
# screen's (WCAG 2.4.13's change of contrast, 3:1 or more).
TV_FOCUS_JS = """
() => {
  const rgb = t => ((t || '').match(/rgba?\\(([^)]+)\\)/) || [0, '0,0,0'])[1].split(',').map(Number);
  const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const lum = c => 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  const a = lum(rgb(getComputedStyle(document.activeElement).backgroundColor));
  const b = lum(rgb(getComputedStyle(document.body).backgroundColor));
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}
"""


def tv_focus(page: Page, data_id: str) -> None:
    focus_on(page, f'[data-id="{data_id}"]')
    ratio = page.evaluate(TV_FOCUS_JS)
    assert ratio >= 3, (data_id, ratio)


def test_tv_menus_keep_the_focus_through_back_and_the_polls(world: World) -> None:
    ctx, clock = world.ctx, world.clock
    hh, people = _pick_household(ctx)
    start = int((clock.now() - DAY_START).total_seconds() // 60)
    with client_for(ctx) as client:
        operator = token_headers(client, "ina-demo-operator")
        ride = book_from_home(client, operator, people[0], start + 90)
        box = client.post("/api/v1/tv/devices", json={}).json()
        paired = client.post(
            "/api/v1/devices/pair", json={"code": box["code"], "household_id": hh}, headers=operator
        )
        assert paired.status_code == 200, paired.text
    page = world.browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(10_000)
    page.add_init_script(f"localStorage.setItem('noriai.device', {box['token']!r})")
    try:
        page.goto(world.base + "/tv")
        tv_focus(page, "menu-ride")
        page.keyboard.press("ArrowDown")  # the remote's arrows move among the four menus
        page.keyboard.press("ArrowRight")
        here = page.evaluate("() => document.activeElement.getAttribute('data-id')")
        assert here and here.startswith("menu-") and here != "menu-ride", here

        # 緑 予約の確認: the ride, its detail, and 戻る twice back to where the person was
        page.keyboard.press("F3")
        tv_focus(page, f"ride-{ride['id']}")
        shot(page, FOLDER, "tv-mine")
        page.keyboard.press("Enter")
        tv_focus(page, "ride-cancel")
        page.keyboard.press("Backspace")
        tv_focus(page, f"ride-{ride['id']}")
        page.keyboard.press("Backspace")
        tv_focus(page, here)

        # the polls (notices, reminders) and the clock leave the focus where it is
        page.evaluate("() => { window.noriaiTV.pollNotices(); window.noriaiTV.pollReminders(); }")
        page.wait_for_timeout(500)
        tv_focus(page, here)
        shot(page, FOLDER, "tv-home-polled")

        # 黄 お知らせ and back
        page.keyboard.press("F4")
        page.wait_for_function("() => document.activeElement !== document.body")
        shot(page, FOLDER, "tv-notices")
        page.keyboard.press("Backspace")
        tv_focus(page, here)
    finally:
        page.close()
