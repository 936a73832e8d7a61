"""Issue 20, acceptance 2, the desk pages' actions beyond tests/test_keyboard_focus.py: the keyboard
focus stays where the person is after each action and each refresh.

- municipality dashboard: 表示, a quick period (今月, 直近7日…), a refused period and a table's CSV
  each leave the focus on the control pressed (表示 was disabled while loading, and a disabled
  button loses the focus to the page's top);
- operator board: a ride to review (確認が必要) armed with the keyboard keeps the focus, and its
  armed state, through the board's 15-second refresh; settling it lands on the list's heading;
- operator's day of a resident: the board's 15-second refresh redraws the rides, and a ride's
  取り消し the operator is on keeps the focus (it went to the page's top);
- operator's household services: a TV reminder added or stopped with the keyboard lands the focus
  on its block's heading (the block is drawn again; it went to the page's top);
- operator's resident forms: メモを追加 and the PIN's 設定する pressed on the button keep the focus
  there (the button was disabled while sent and the focus went to the page's top; console.js `busy`
  gives it back when the button is ready again);
- operator board's 見守り: a watch alert's 確認した keeps the focus through the board's refresh, and
  answering it lands the focus on the list's heading (both went to the page's top);
- operator's family links: 閉じる gives the focus back to ＋ ご家族を登録, a registered member's row
  and a revoked one's take it (the form closed or the list redrawn under it: the page's top);
- operator's テレビの登録待ち: 更新 keeps the focus; removing a box lands on the next box's 取り消す,
  removing them all on the count (both went to the page's top).
Every focus ring has two colours with 3:1 or more between them (ring_ok); axe-core checks every
state photographed (tests/live.py `shot`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from dispatcher.care.watchover import _hash
from dispatcher.context import Dispatcher
from dispatcher.models import Resident, Ride, WatchEpisode
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.rides.booking import Location, RideRequest, book
from tests.conftest import DAY_START
from tests.keyboard import FOLDER, World, focus_on, keyboard_world, ring_ok
from tests.live import shot
from tests.test_api_rides import eligible_resident

OVERDUE: list[int] = []
LATER: list[int] = []


def _overdue(ctx: Dispatcher) -> None:
    """Two early rides whose pickup windows pass with no tap from the driver (to review)."""
    for k, (hall, dest) in enumerate((("hall-takato", "takato-clinic"), ("hall-tera", "city-hall"))):
        req = RideRequest(
            resident_id=eligible_resident(ctx, offset=200 + k),
            origin=Location(place_id=hall),
            destination=Location(place_id=dest),
            pickup_after=DAY_START.replace(minute=20 + 5 * k),
        )
        ride = book(ctx, "ina-demo", req, str(uuid.uuid4()), "operator:test").ride
        assert ride.status == "confirmed", ride.refusal_reason
        OVERDUE.append(ride.id)
    req = RideRequest(  # and a ride later in the day, still to come
        resident_id=eligible_resident(ctx, offset=210),
        origin=Location(place_id="hall-takato"),
        destination=Location(place_id="city-hall"),
        pickup_after=DAY_START.replace(hour=11),
    )
    ride = book(ctx, "ina-demo", req, str(uuid.uuid4()), "operator:test").ride
    assert ride.status == "confirmed", ride.refusal_reason
    LATER.append(ride.id)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    OVERDUE.clear()
    LATER.clear()
    with keyboard_world(tmp_path_factory.mktemp("focus-desk"), _overdue) as w:
        w.clock.set(DAY_START.replace(minute=55))  # both windows have passed; no driver tapped
        yield w


def _dashboard_loaded(page: Page, action: object) -> None:
    """Run `action` (a key press) and wait for the dashboard's answer to be drawn."""
    with page.expect_response(lambda r: "/api/v1/stats/dashboard" in r.url):
        action()  # type: ignore[operator]
    page.wait_for_function(
        "() => { const b = document.getElementById('show'); "
        "return !b.disabled && !b.hasAttribute('aria-disabled'); }"
    )
    page.wait_for_timeout(200)  # the drawing after the answer


def _sign_in(page: Page, world: World) -> None:
    """The operator console, signed in by keyboard, the focus on the resident search."""
    page.goto(world.base + "/operator")
    page.fill("#login-user", "ina-demo-operator")
    page.fill("#login-pass", DEMO_PASSWORD)
    page.press("#login-pass", "Enter")
    focus_on(page, "#search")


def _open_rider(page: Page, world: World, rider: Resident) -> None:
    """Signed in, the resident found by kana and opened with Enter."""
    _sign_in(page, world)
    page.keyboard.type(f"{rider.family_kana} {rider.given_kana}")
    page.focus(f'[data-id="resident-{rider.id}"]')
    page.keyboard.press("Enter")
    expect(page.locator("#r-id")).to_have_text(str(rider.id))


def test_dashboard_actions_keep_the_focus(world: World) -> None:
    page = world.browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(20_000)
    try:
        page.goto(world.base + "/municipality")
        page.fill("#login-user", "ina-demo-city")
        page.fill("#login-pass", DEMO_PASSWORD)
        page.press("#login-pass", "Enter")
        page.wait_for_selector("table.figures")

        # 表示: the figures are drawn again, the focus stays on 表示
        page.focus('[data-range="this-year"]')
        page.keyboard.press("Tab")
        focus_on(page, "#show")
        _dashboard_loaded(page, lambda: page.keyboard.press("Enter"))
        focus_on(page, "#show")
        ring_ok(page, "dashboard 表示")
        shot(page, FOLDER, "dashboard-shown")

        # a quick period: its button keeps the focus once the figures are back
        for rng in ("last-7", "last-month", "this-month"):
            page.focus(f'[data-range="{rng}"]')
            _dashboard_loaded(page, lambda: page.keyboard.press("Enter"))
            focus_on(page, f'[data-range="{rng}"]')
            ring_ok(page, f"dashboard {rng}")

        # a table's CSV: the download leaves the focus on its button
        csv = page.locator("button.csv").first
        csv.focus()
        with page.expect_download():
            page.keyboard.press("Enter")
        focus_on(page, "button.csv")

        # a refused period (no start): the message is shown, the focus stays on 表示
        page.fill("#from", "")
        page.focus("#show")
        page.keyboard.press("Enter")
        expect(page.locator("#report-error")).to_contain_text("期間のはじめとおわりを入れてください")
        focus_on(page, "#show")
        shot(page, FOLDER, "dashboard-refused")
    finally:
        page.close()


def test_board_review_keeps_the_focus_through_the_refresh(world: World) -> None:
    first, second = OVERDUE
    page = world.browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(15_000)
    try:
        _sign_in(page, world)
        page.focus("#tab-board")
        page.keyboard.press("Enter")
        items = page.locator("#review-list > li[data-id^='review-']")
        expect(items).to_have_count(2)

        # 乗車なし, once: armed (it asks again); the board's refresh keeps the focus and the question
        no_show = f'[data-id="review-no_show-{first}"]'
        page.focus(no_show)
        page.keyboard.press("Enter")
        expect(page.locator(no_show)).to_have_text("「乗車なし」で確定")
        page.evaluate("() => Operator.refreshBoard()")
        page.wait_for_timeout(300)
        focus_on(page, no_show)
        expect(page.locator(no_show)).to_have_text("「乗車なし」で確定")
        ring_ok(page, "board review armed")
        shot(page, FOLDER, "board-review-armed-refreshed")

        # the second press settles it: the focus lands on the list's heading, not the page's top
        page.keyboard.press("Enter")
        expect(items).to_have_count(1)
        expect(page.locator(f'[data-id="review-{second}"]')).to_be_visible()
        focus_on(page, "#review-heading")
        shot(page, FOLDER, "board-review-settled")
    finally:
        page.close()


def test_tv_queue_removals_keep_the_focus(world: World) -> None:
    for _ in range(3):
        assert httpx.post(world.base + "/api/v1/tv/devices", json={}).status_code in (200, 201)
    page = world.browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(15_000)
    try:
        _sign_in(page, world)
        page.focus("#tab-tvqueue")
        page.keyboard.press("Enter")
        rows = page.locator("#tvqueue-rows tr[data-id^='waiting-']")
        expect(rows).to_have_count(3)
        ids = [(r.get_attribute("data-id") or "").removeprefix("waiting-") for r in rows.all()]

        # 更新: the list is drawn again, the focus stays on 更新
        page.focus("#tvqueue-refresh")
        page.keyboard.press("Enter")
        page.wait_for_timeout(300)
        focus_on(page, "#tvqueue-refresh")

        # 取り消す on the first box, twice (it asks once more): the focus goes to the next box's
        page.focus(f'[data-id="remove-{ids[0]}"]')
        page.keyboard.press("Enter")
        expect(page.locator(f'[data-id="remove-{ids[0]}"]')).to_have_text("本当に取り消す")
        page.keyboard.press("Enter")
        expect(rows).to_have_count(2)
        focus_on(page, f'[data-id="remove-{ids[1]}"]')
        ring_ok(page, "tv queue next box")
        shot(page, FOLDER, "tvqueue-removed-one")

        # すべて取り消す, twice: the focus lands on the count (0 waiting), not the page's top
        page.focus("#tvqueue-clear")
        page.keyboard.press("Enter")
        expect(page.locator("#tvqueue-clear")).to_contain_text("本当にすべて取り消す（2台）")
        page.keyboard.press("Enter")
        expect(page.locator("#tvqueue-summary")).to_have_text(re.compile(r"^0台が登録待ち"))
        focus_on(page, "#tvqueue-summary")
        shot(page, FOLDER, "tvqueue-cleared")
    finally:
        page.close()


def test_ride_list_keeps_the_focus_through_the_board_refresh(world: World) -> None:
    (ride_id,) = LATER
    with Session(world.ctx.engine) as s:
        ride = s.get_one(Ride, ride_id)
        rider = s.get_one(Resident, ride.resident_id)
    page = world.browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(15_000)
    try:
        _open_rider(page, world, rider)

        # on the ride's 取り消し, not pressed yet: the board's refresh (every 15 s) redraws the
        # day's rides, and the focus stays on that button
        cancel = f'#ride-list [data-id="cancel-{ride_id}"]'
        page.focus(cancel)
        with page.expect_response(lambda r: "/api/v1/rides?resident_id=" in r.url):
            page.evaluate("() => Operator.refreshBoard()")
        page.wait_for_timeout(300)
        focus_on(page, cancel)
        ring_ok(page, "ride list after the refresh")
        shot(page, FOLDER, "operator-rides-refreshed")
    finally:
        page.close()


def test_household_services_land_on_their_block_after_a_change(world: World) -> None:
    (ride_id,) = LATER
    with Session(world.ctx.engine) as s:
        rider = s.get_one(Resident, s.get_one(Ride, ride_id).resident_id)
    page = world.browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(15_000)
    try:
        _open_rider(page, world, rider)

        # a TV reminder added with the keyboard: the block is drawn again with it, the focus on the
        # block's heading (it went to the page's top with the button pressed)
        page.focus('[data-id="reminder-text"]')
        page.keyboard.type("お昼の薬をのみましょう")
        page.focus('[data-id="reminder-day-tue"]')
        page.keyboard.press("Space")
        page.focus('[data-id="reminder-add"]')
        page.keyboard.press("Enter")
        row = page.locator('[data-id="reminder-list"] li[data-id^="reminder-"]')
        expect(row).to_have_count(1)
        focus_on(page, "#svc-remind-title")
        shot(page, FOLDER, "services-reminder-added")

        # 止める, twice: the same
        stop = row.locator("button")
        stop.focus()
        page.keyboard.press("Enter")
        expect(stop).to_have_text("本当に止める")
        page.keyboard.press("Enter")
        expect(page.locator('[data-id="reminder-list"]')).to_contain_text("お知らせはありません")
        focus_on(page, "#svc-remind-title")
    finally:
        page.close()


def test_resident_forms_keep_the_focus_on_their_button(world: World) -> None:
    (ride_id,) = LATER
    with Session(world.ctx.engine) as s:
        rider = s.get_one(Resident, s.get_one(Ride, ride_id).resident_id)
    page = world.browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(15_000)
    try:
        _open_rider(page, world, rider)

        # メモを追加, pressed on the button: the note is listed, the focus stays on the button (it
        # was disabled while sent, and the focus went to the page's top)
        page.focus("#note-text")
        page.keyboard.type("耳が遠いのでゆっくり話す")
        page.keyboard.press("Tab")
        focus_on(page, "#note-add")
        page.keyboard.press("Enter")
        expect(page.locator("#note-list")).to_contain_text("耳が遠いのでゆっくり話す")
        focus_on(page, "#note-add")
        ring_ok(page, "note added")

        # 暗証番号を設定, the same
        page.focus("#pin-input")
        page.keyboard.type("2580")
        page.keyboard.press("Tab")
        focus_on(page, "#pin-btn")
        page.keyboard.press("Enter")
        expect(page.locator("#toast")).to_contain_text("暗証番号を設定しました")
        focus_on(page, "#pin-btn")
        shot(page, FOLDER, "operator-pin-set")
    finally:
        page.close()


def test_board_watch_alert_keeps_the_focus_and_lands_after_the_answer(world: World) -> None:
    ctx = world.ctx
    (ride_id,) = LATER
    now = world.clock.now()
    with Session(ctx.engine) as s:
        household = s.get_one(Resident, s.get_one(Ride, ride_id).resident_id).household_id
        ep = WatchEpisode(
            tenant_id="ina-demo",
            household_id=household,
            inactive_since=now,
            alerted_at=now,
            ack_token_hash=_hash("keyboard-desk-watch-0001"),
        )
        s.add(ep)
        s.commit()
        episode = ep.id
    page = world.browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(15_000)
    try:
        _sign_in(page, world)
        page.focus("#tab-board")
        page.keyboard.press("Enter")
        ack = f'[data-id="watch-ack-{episode}"]'
        expect(page.locator(ack)).to_be_visible()

        # on 確認した, not pressed yet: the board's refresh keeps the focus there
        page.focus(ack)
        with page.expect_response(lambda r: r.url.endswith("/api/v1/board")):
            page.evaluate("() => Operator.refreshBoard()")
        page.wait_for_timeout(300)
        focus_on(page, ack)
        ring_ok(page, "watch alert after the refresh")

        # pressed: the alert is answered, the focus lands on the list's heading
        page.keyboard.press("Enter")
        expect(page.locator(f'[data-id="watch-{episode}"]')).to_contain_text("確認済み")
        focus_on(page, "#watch-heading")
        shot(page, FOLDER, "board-watch-answered")
    finally:
        page.close()


def test_family_form_in_the_console_keeps_the_focus(world: World) -> None:
    (ride_id,) = LATER
    with Session(world.ctx.engine) as s:
        rider = s.get_one(Resident, s.get_one(Ride, ride_id).resident_id)
    page = world.browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(15_000)
    try:
        _open_rider(page, world, rider)

        # ＋ ご家族を登録, then 閉じる: the focus goes back to ＋ ご家族を登録
        page.focus("#family-open")
        page.keyboard.press("Enter")
        focus_on(page, "#family-name")
        page.focus("#family-close")
        page.keyboard.press("Enter")
        expect(page.locator("#family-form")).to_be_hidden()
        focus_on(page, "#family-open")

        # registered with 登録する pressed on the button: the focus on the new member's row
        page.keyboard.press("Enter")
        focus_on(page, "#family-name")
        page.keyboard.type("伊那 太郎")
        page.keyboard.press("Tab")
        page.keyboard.type(f"taro-{uuid.uuid4().hex[:6]}")
        page.keyboard.press("Tab")
        page.keyboard.type("taro-2026-pass")
        page.focus("#family-submit")
        page.keyboard.press("Enter")
        row = page.locator("#family-list li", has_text="伊那 太郎")
        expect(row).to_have_count(1)
        focus_on(page, "#family-list li[data-id^='family-']")
        shot(page, FOLDER, "operator-family-added")

        # 取り消す, twice: the row is drawn again (取り消し済み) with the focus on it
        revoke = row.locator("button")
        revoke.focus()
        page.keyboard.press("Enter")
        expect(revoke).to_have_text("本当に取り消す")
        page.keyboard.press("Enter")
        expect(row).to_contain_text("取り消し済み")
        focus_on(page, "#family-list li[data-id^='family-']")
    finally:
        page.close()
