"""Issue 20, acceptance 2: the keyboard focus stays where the person is, on every page, and axe-core
checks every page state the browser tests photograph (tests/live.py `shot`).

One server, one demo database and one Chromium for the whole module. Per page, with the keyboard:
- operator console: a favourite destination, 見積もり, 予約する, a refused quote, 取り消す, 注文する,
  この世帯に登録 (a TV) and a refused time correction each leave the focus on the control or on its
  result, never on the page's top;
- phone page: the minute's refresh keeps the focused button and reads the taxi-arrived alert once;
  the shop's cart bar covers none of the 「＋」 buttons reached with Tab;
- driver page: choosing the vehicle lands on the next stop; a delay report, an arrival report and a
  plan change keep the focus; the 「予定が変わりました」 banner covers no focused button;
- TV: a reminder takes the focus, answers the remote's keys and gives the focus back; the same
  reminder twice is dismissed once;
- phone page and TV: a cancellation refused because its fee changed meanwhile puts the focus on
  いいえ (the TV names the new fee once);
- dashboard: signing in lands on the report's title; the wide daily table is a labelled scroll
  region reached with Tab.
Every focus ring has two colours with 3:1 or more between them (WCAG 1.4.11, technique C40).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from dispatcher.models import Resident, Ride
from dispatcher.platform.demo import DEMO_PASSWORD
from tests.conftest import DAY_START, client_for, token_headers
from tests.keyboard import FOLDER, World, by_id, focus_on, keyboard_world, press, ring_ok
from tests.live import accessible, shot
from tests.riders import book_from_home, living_alone
from tests.test_phone_page import PIN, _residents, _set_pin
from tests.test_tv_page import _pick_household


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with keyboard_world(tmp_path_factory.mktemp("focus")) as w:
        yield w


def not_covered(page: Page, bar: str) -> str | None:
    """None when the focused element is wholly clear of the sticky `bar`, else how it is covered."""
    return page.evaluate(
        """bar => {
          const b = document.querySelector(bar), a = document.activeElement;
          if (!b || b.hidden || !a) return null;
          const r = a.getBoundingClientRect(), s = b.getBoundingClientRect();
          const clear = r.bottom <= s.top || r.top >= s.bottom;
          return clear ? null : (a.getAttribute('data-id') || a.id) + ' ' + r.top + '-' + r.bottom +
            ' under ' + s.top + '-' + s.bottom;
        }""",
        bar,
    )


def test_axe_reports_a_violation_with_its_rule_and_element(world: World) -> None:
    page = world.browser.new_page()
    try:
        page.goto(world.base + "/operator")
        expect(page.locator("#login-user")).to_be_visible()
        accessible(page, "operator sign-in")  # clean
        page.evaluate(
            "() => { const i = document.createElement('input'); i.id = 'no-label';"
            " document.querySelector('main, body').appendChild(i); }"
        )
        with pytest.raises(AssertionError) as caught:
            accessible(page, "operator sign-in with an unlabelled input")
        text = str(caught.value)
        assert "label" in text and "#no-label" in text, text
        # nothing is fetched for axe: the script is the package's own copy
        from axe_playwright_python.base import AXE_FILE_PATH

        assert Path(AXE_FILE_PATH).is_file()
    finally:
        page.close()


def test_operator_console_keeps_the_focus(world: World) -> None:
    ctx = world.ctx
    (rider,) = living_alone(ctx, 1)
    shopper = _residents(ctx)[0]
    fav = rider.favourite_places[0]
    page = world.browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    try:
        page.goto(world.base + "/operator")
        page.fill("#login-user", "ina-demo-operator")
        page.fill("#login-pass", DEMO_PASSWORD)
        page.press("#login-pass", "Enter")
        focus_on(page, "#search")
        page.keyboard.type(f"{rider.family_kana} {rider.given_kana}")
        by_id(page, f"resident-{rider.id}").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#r-id")).to_have_text(str(rider.id))

        # a favourite destination: the favourite button is drawn again and keeps the focus
        by_id(page, f"fav-{fav}").focus()
        page.keyboard.press("Enter")
        focus_on(page, f'[data-id="fav-{fav}"]')
        expect(by_id(page, f"fav-{fav}")).to_have_attribute("aria-pressed", "true")
        ring_ok(page, "operator favourite")

        # a quote puts the focus on 予約する; booking puts it on the confirmation
        page.focus("#quote-btn")
        page.keyboard.press("Enter")
        focus_on(page, "#book-btn")
        page.keyboard.press("Enter")
        expect(page.locator("#booked-window")).to_be_visible()
        focus_on(page, "#quote-result")
        shot(page, FOLDER, "operator-booked")

        # a refused quote (after hours): the focus stays on 見積もり
        page.check("#when-arrive")
        page.fill("#when-time", "18:00")
        page.focus("#quote-btn")
        page.keyboard.press("Enter")
        expect(page.locator("#book-error")).to_be_visible()
        focus_on(page, "#quote-btn")

        # 取り消す: the focus lands on the cancelled ride's row
        with Session(ctx.engine) as s:
            ride = s.exec(select(Ride).where(Ride.resident_id == rider.id)).one()
        by_id(page, f"cancel-{ride.id}").focus()
        page.keyboard.press("Enter")
        focus_on(page, f'[data-id="ride-{ride.id}"] input.reason')
        page.keyboard.type("本人から電話")
        by_id(page, "cancel-confirm").focus()
        page.keyboard.press("Enter")
        focus_on(page, f'#ride-list [data-id="ride-{ride.id}"]')
        expect(page.locator(f'#ride-list [data-id="ride-{ride.id}"]')).to_have_class("ride past")

        # 注文する (a shopping household): the focus lands on the new order
        page.fill("#search", f"{shopper.family_kana} {shopper.given_kana}")
        page.click(f'[data-id="resident-{shopper.id}"]')
        expect(page.locator("#r-id")).to_have_text(str(shopper.id))
        page.focus("#order-open")
        page.keyboard.press("Enter")
        focus_on(page, "#category")
        page.locator("#product-rows input.qty").first.fill("2")
        page.focus("#order-submit")
        page.keyboard.press("Enter")
        focus_on(page, '#order-list li[data-id^="order-"]')
        shot(page, FOLDER, "operator-ordered")
    finally:
        page.close()


def test_phone_page_refresh_keeps_the_focus_and_the_cart_bar_covers_nothing(world: World) -> None:
    ctx, clock = world.ctx, world.clock
    singles = {r.id for r in living_alone(ctx, 8)}
    rider = next(r for r in _residents(ctx)[1:] if r.id not in singles)
    _set_pin(ctx, rider.id)
    start = int((clock.now() - DAY_START).total_seconds() // 60)
    with client_for(ctx) as client:
        operator = token_headers(client, "ina-demo-operator")
        booked = book_from_home(client, operator, rider, start + 20)
        later = book_from_home(client, operator, rider, start + 240)  # still cancellable: a button in the day
    context = world.browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(world.base + "/m")
        page.fill("#resident-id", str(rider.id))
        page.fill("#pin", PIN)
        page.press("#pin", "Enter")
        cancel = by_id(page, f"cancel-ride-{booked['id']}")
        expect(cancel).to_be_visible()

        # the taxi arrives: an urgent notice, announced (role=alert) once
        with Session(ctx.engine) as s:
            ride = s.get(Ride, booked["id"])
            assert ride is not None and ride.planned_pickup is not None
            vehicle, pickup = ride.vehicle_id, ride.planned_pickup
        clock.set(max(clock.now(), pickup))
        with client_for(ctx) as client:
            operator = token_headers(client, "ina-demo-operator")
            ev = client.post(
                f"/api/v1/vehicles/{vehicle}/events",
                json={"type": "arrived", "ride_id": booked["id"], "at": pickup.isoformat()},
                headers=operator,
            )
            assert ev.status_code == 200, ev.text
        by_id(page, "refresh").focus()
        page.keyboard.press("Enter")
        alert = page.locator("#screen .box.urgent[data-id]")
        expect(alert).to_have_count(1)
        expect(alert).to_have_attribute("role", "alert")
        focus_on(page, '[data-id="refresh"]')  # the button pressed, not the top of the page

        # the minute's refresh (as when the phone wakes): the focused card button keeps the focus,
        # the alert is drawn again without being read out again
        key = f"cancel-ride-{later['id']}"
        by_id(page, key).focus()
        page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
        page.wait_for_function("() => !document.querySelector('#screen .box.urgent[role=alert]')")
        focus_on(page, f'[data-id="{key}"]')
        expect(alert).to_have_count(1)
        ring_ok(page, "phone home")
        shot(page, FOLDER, "phone-home-refreshed")

        # the shop: Tab through every 「＋」 of a category; the cart bar covers none
        by_id(page, "menu-shop").click()
        by_id(page, "cat-0").click()
        pluses = page.locator('[data-id^="plus-"]')
        expect(pluses.first).to_be_visible()
        page.locator("h1").focus()
        covered, seen = [], 0
        for _ in range(200):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.closest('#cartbar') !== null"):
                break
            if page.evaluate(
                "() => (document.activeElement.getAttribute('data-id') || '').startsWith('plus-')"
            ):
                seen += 1
                why = not_covered(page, "#cartbar")
                if why:
                    covered.append(why)
        assert seen == pluses.count() and seen > 3, (seen, pluses.count())
        assert not covered, covered
        shot(page, FOLDER, "phone-shop-tabbed")
    finally:
        context.close()


def test_driver_page_keeps_the_focus_and_the_banner_covers_nothing(world: World) -> None:
    ctx, clock = world.ctx, world.clock
    start = int((clock.now() - DAY_START).total_seconds() // 60)
    with client_for(ctx) as client:
        operator = token_headers(client, "ina-demo-operator")
        rides = [
            book_from_home(client, operator, r, start + m)
            for r, m in zip(living_alone(ctx, 8)[5:8], (40, 45, 50), strict=True)
        ]
        by_vehicle: dict[int, list[dict]] = {}
        for r in rides:
            by_vehicle.setdefault(r["vehicle_id"], []).append(r)
        vid, shared = max(by_vehicle.items(), key=lambda kv: len(kv[1]))
        assert len(shared) >= 2, "neighbours a few minutes apart should share a vehicle"
        vehicle = next(v for v in client.get("/api/v1/vehicles", headers=operator).json() if v["id"] == vid)
    context = world.browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(world.base + "/driver")
        page.fill("#username", f"ina-demo-driver-{vehicle['operator']}")
        page.fill("#password", DEMO_PASSWORD)
        page.press("#password", "Enter")
        by_id(page, f"vehicle-{vehicle['key']}").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#next")).to_be_visible()
        focus_on(page, "#next")  # the vehicle chosen: the focus on its next stop, not the page's top

        # a delay report: the same delay button keeps the focus
        by_id(page, "delay-5").focus()
        page.keyboard.press("Enter")
        expect(by_id(page, "delayed")).to_be_visible()
        focus_on(page, '[data-id="delay-5"]')
        ring_ok(page, "driver delay")

        # a plan change while a delay button has the focus: it keeps it, clear of the banner
        by_id(page, "delay-10").focus()
        with client_for(ctx) as client:
            operator = token_headers(client, "ina-demo-operator")
            cancelled = client.post(f"/api/v1/rides/{shared[-1]['id']}/cancel", headers=operator)
            assert cancelled.status_code == 200, cancelled.text
        page.wait_for_selector("#banner:not([hidden])", timeout=20_000)
        focus_on(page, '[data-id="delay-10"]')
        # from the bottom of the page, Tab onto each button: it scrolls into sight below the banner
        keys = page.eval_on_selector_all(
            "#screen button[data-id]:not([disabled])", "bs => bs.map(b => b.getAttribute('data-id'))"
        )
        for key in keys[:8]:
            page.evaluate(
                """key => {
                  const sel = '#banner, #screen button:not([disabled]), #screen a[href]';
                  const all = [...document.querySelectorAll(sel)];
                  const i = all.indexOf(document.querySelector(`[data-id="${key}"]`));
                  window.scrollTo(0, document.body.scrollHeight);
                  all[i - 1].focus({preventScroll: true});
                }""",
                key,
            )
            page.keyboard.press("Tab")
            focus_on(page, f'[data-id="{key}"]')
            assert not_covered(page, "#banner") is None, not_covered(page, "#banner")
        # axe judges the resting page: scrolled part-way, any sticky banner half-covers some button
        # (axe's target-size), which is scrolling, not the page; the focused one was checked above
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, FOLDER, "driver-plan-changed")

        # an arrival report: the focus lands on the next stop's card, not the page's top
        page.focus("#banner")
        page.keyboard.press("Enter")
        expect(page.locator("#banner")).to_be_hidden()
        focus_on(page, "#next")
        card = page.locator("#next")
        planned = datetime.fromisoformat(card.get_attribute("data-planned") or "")
        clock.set(max(clock.now(), planned))
        ride = card.get_attribute("data-ride")
        by_id(page, "arrived").focus()
        page.keyboard.press("Enter")
        expect(card).to_have_attribute("data-status", "vehicle_arrived")
        focus_on(page, '#next, #next [data-id="picked-up"], [data-id="arrived"]')
        assert card.get_attribute("data-ride") == ride
        shot(page, FOLDER, "driver-arrived")
    finally:
        context.close()


def test_tv_reminder_takes_the_focus_and_the_remote_keys(world: World) -> None:
    hh, _people = _pick_household(world.ctx)
    op = world.operator()
    box = httpx.post(f"{world.base}/api/v1/tv/devices", json={}).json()
    assert op.post("/api/v1/devices/pair", json={"code": box["code"], "household_id": hh}).status_code == 200
    page = world.browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(10_000)
    page.add_init_script(f"localStorage.setItem('noriai.device', {box['token']!r})")
    try:
        page.goto(world.base + "/tv")
        focus_on(page, '[data-id="menu-ride"]')
        page.keyboard.press("ArrowDown")
        before = page.evaluate("() => document.activeElement.getAttribute('data-id')")
        at = world.clock.now().astimezone(world.ctx.config("ina-demo").tz)
        for _ in range(2):  # the same reminder set twice
            r = op.post(
                f"/api/v1/households/{hh}/reminders",
                json={"text": "お薬を飲みましょう", "kind": "medication", "once_at": at.isoformat()},
            )
            assert r.status_code == 201, r.text
        page.evaluate("() => window.noriaiTV.pollReminders()")
        expect(page.locator("#reminder")).to_be_visible()
        focus_on(page, "#reminder-ok")  # the pop-up has the focus, visibly
        assert (
            page.evaluate("() => getComputedStyle(document.activeElement).backgroundColor")
            == "rgb(255, 212, 0)"
        )
        shot(page, FOLDER, "tv-reminder")
        for key in ("ArrowDown", "ArrowLeft", "F2"):  # arrows stay on it, other keys wait
            page.keyboard.press(key)
            focus_on(page, "#reminder-ok")
        expect(page.locator("#reminder")).to_be_visible()
        page.keyboard.press("Backspace")  # 戻る closes it, and the focus is back where it was
        expect(page.locator("#reminder")).to_be_hidden()
        focus_on(page, f'[data-id="{before}"]')
        page.evaluate("() => window.noriaiTV.pollReminders()")
        page.wait_for_timeout(500)
        expect(page.locator("#reminder")).to_be_hidden()  # its twin went with it
        assert op.get(f"{world.base}/api/v1/households/{hh}/reminders").status_code == 200
    finally:
        page.close()


def test_dashboard_wide_table_is_a_labelled_scroll_region(world: World) -> None:
    page = world.browser.new_page(viewport={"width": 800, "height": 900})
    page.set_default_timeout(20_000)
    try:
        page.goto(world.base + "/municipality")
        page.fill("#login-user", "ina-demo-city")
        page.fill("#login-pass", DEMO_PASSWORD)
        page.press("#login-pass", "Enter")
        page.wait_for_selector("table.figures")
        focus_on(page, "#report-title")  # signed in: the focus on the report, not the page's top
        ring_ok(page, "dashboard signed in")
        wide = page.locator(".scroll[tabindex='0']")
        sizes = page.eval_on_selector_all(".scroll", "ws => ws.map(w => [w.scrollWidth, w.clientWidth])")
        assert wide.count() >= 1, sizes
        region = wide.first
        assert region.get_attribute("role") == "region"
        label = page.locator("#" + (region.get_attribute("aria-labelledby") or "x")).inner_text()
        assert label.strip()
        region.focus()
        ring_ok(page, "dashboard table")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("End")
        page.wait_for_function("e => e.scrollLeft > 0", arg=region.element_handle())
        # every table wider than its box can be reached: none scrolls without a tab stop
        assert page.evaluate(
            "() => [...document.querySelectorAll('.scroll')].every("
            "e => e.scrollWidth <= e.clientWidth || e.tabIndex === 0)"
        )
        shot(page, FOLDER, "dashboard-table-focused")
    finally:
        page.close()


def console(world: World, rider: Resident) -> Page:
    """The operator console, signed in with the keyboard, on `rider`'s card."""
    page = world.browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    page.goto(world.base + "/operator")
    page.fill("#login-user", "ina-demo-operator")
    page.fill("#login-pass", DEMO_PASSWORD)
    page.press("#login-pass", "Enter")
    focus_on(page, "#search")
    page.keyboard.type(f"{rider.family_kana} {rider.given_kana}")
    press(page, f"resident-{rider.id}")
    expect(page.locator("#r-id")).to_have_text(str(rider.id))
    return page


def test_operator_console_keeps_the_focus_after_pairing_and_a_refused_correction(
    world: World,
) -> None:
    ctx, clock = world.ctx, world.clock
    rider = living_alone(ctx, 9)[8]
    start = int((clock.now() - DAY_START).total_seconds() // 60)
    with client_for(ctx) as client:
        booked = book_from_home(client, token_headers(client, "ina-demo-operator"), rider, start + 120)
    with Session(ctx.engine) as s:
        flagged = s.get(Ride, booked["id"])
        assert flagged is not None
        window = flagged.pickup_window_start.astimezone(DAY_START.tzinfo)
    # the driver taps 乗車 51 minutes before the window: accepted, and flagged for the operator
    clock.set(max(clock.now(), window - timedelta(minutes=51)))
    op = world.operator()
    tapped = op.post(
        f"/api/v1/vehicles/{booked['vehicle_id']}/events", json={"type": "picked_up", "ride_id": booked["id"]}
    )
    assert tapped.status_code == 200, tapped.text
    box = httpx.post(f"{world.base}/api/v1/tv/devices", json={}).json()
    page = console(world, rider)
    try:
        # この世帯に登録 (a TV box's code): the focus on the new TV in the list
        page.focus("#pair-code")
        page.keyboard.type(box["code"])
        press(page, "pair-btn")
        expect(page.locator("#toast")).to_contain_text("テレビを登録しました")
        focus_on(page, '#device-list li[data-id^="device-"]')
        ring_ok(page, "operator paired")

        # a time correction refused (a time not come yet): the focus back on the time, to type again
        press(page, "tab-board")
        flag = page.locator('#flags-list > li[data-id^="flag-"]').filter(has_text=f"No.{booked['id']} ")
        fid = (flag.get_attribute("data-id") or "").removeprefix("flag-")
        press(page, f"flag-fix-{fid}")
        focus_on(page, f"#flag-time-{fid}")
        later = clock.now().astimezone(DAY_START.tzinfo) + timedelta(hours=1)
        page.fill(f"#flag-time-{fid}", f"{later:%H:%M}")
        by_id(page, f"flag-save-{fid}").focus()  # (Tab from the time field moves among its parts)
        page.keyboard.press("Enter")
        expect(page.locator("#flags-error")).to_be_visible()
        focus_on(page, f"#flag-time-{fid}[aria-invalid=true]")
        ring_ok(page, "operator correction refused")
    finally:
        page.close()
        op.close()


def test_a_fee_changed_during_the_confirmation_moves_the_focus_off_yes(world: World) -> None:
    """The cut-off passes while the phone page and the TV ask 「取り消しますか」: the press is refused
    (ride.fee_changed); the focus leaves 「はい」 for いいえ, so one more press does not cancel at the
    new fee; the TV names the fee once."""
    ctx, clock = world.ctx, world.clock
    rider = living_alone(ctx, 10)[9]
    hh, people = _pick_household(ctx)
    _set_pin(ctx, rider.id)
    op = world.operator()
    start = int((clock.now() - DAY_START).total_seconds() // 60)
    with client_for(ctx) as client:
        operator = token_headers(client, "ina-demo-operator")
        mine, theirs = (book_from_home(client, operator, r, start + 40) for r in (rider, people[0]))
    box = httpx.post(f"{world.base}/api/v1/tv/devices", json={}).json()
    assert op.post("/api/v1/devices/pair", json={"code": box["code"], "household_id": hh}).status_code == 200
    clock.advance(timedelta(minutes=6))  # still free: the cut-off is 30 minutes before the window
    phone = world.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.set_default_timeout(10_000)
    tv = world.browser.new_page(viewport={"width": 1280, "height": 720})
    tv.set_default_timeout(10_000)
    tv.add_init_script(f"localStorage.setItem('noriai.device', {box['token']!r})")
    try:
        page.goto(world.base + "/m")
        page.fill("#resident-id", str(rider.id))
        page.fill("#pin", PIN)
        page.press("#pin", "Enter")
        with page.expect_response(lambda r: r.url.endswith("/api/v1/me/rides")):
            press(page, f"cancel-ride-{mine['id']}")
        expect(page.locator("#cancel-fee")).to_be_hidden()

        tv.goto(world.base + "/tv")
        focus_on(tv, '[data-id="menu-ride"]')
        tv.keyboard.press("F3")
        focus_on(tv, f'[data-id="ride-{theirs["id"]}"], [data-id^="ride-"]')
        tv.locator(f'[data-id="ride-{theirs["id"]}"]').focus()
        tv.keyboard.press("Enter")
        focus_on(tv, '[data-id="ride-cancel"]')
        with tv.expect_response(lambda r: r.url.endswith("/api/v1/me/rides")):
            tv.keyboard.press("Enter")
        focus_on(tv, '[data-id="no"]')
        expect(tv.locator("#cancel-fee")).to_be_hidden()

        clock.advance(timedelta(minutes=10))  # they read slowly: the cut-off passes
        for ride in (mine, theirs):
            assert op.get(f"/api/v1/rides/{ride['id']}").json()["cancel_fee_yen"] == ride["fare_yen"] > 0

        # the phone: refused, the focus on いいえ, not on 「はい」 nor the page's top
        press(page, "yes")
        expect(page.locator("#cancel-error")).to_contain_text("取消し料が変わりました")
        focus_on(page, '[data-id="no"]')
        ring_ok(page, "phone fee changed")
        shot(page, FOLDER, "phone-fee-changed")

        # the TV: 「はい」 refused, the focus on いいえ; the new fee said once
        tv.keyboard.press("ArrowRight")
        focus_on(tv, '[data-id="yes"]')
        tv.keyboard.press("Enter")
        expect(tv.locator("#cancel-said")).to_contain_text("取消し料が変わりました")
        focus_on(tv, '[data-id="no"]')
        fee = f"{theirs['fare_yen']:,}円"
        said = tv.locator("#screen").inner_text()
        assert said.count(fee) == 1, said
        shot(tv, FOLDER, "tv-fee-changed")
        tv.keyboard.press("Enter")  # one more 決定: いいえ, nothing cancelled
        focus_on(tv, '[data-id="ride-cancel"]')
        for ride in (mine, theirs):
            assert op.get(f"/api/v1/rides/{ride['id']}").json()["status"] == "confirmed"
    finally:
        phone.close()
        tv.close()
        op.close()
