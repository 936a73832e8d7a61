"""The field pages in Debian's Chromium at 390x844 against a real server and database: the delivery
afternoon as the staff live it on their phones.

Sellers (/seller) are refused before the cut-off, then mark their pick lists ready (orders become
picked); the drone operator (/drone) is refused loading before that, then loads, confirms the
checklist, takes off, downloads the .plan, lands at every hall and returns (flight returned, orders at
the hall); the support worker (/support) cannot hand over bags still in the air, then confirms the
hand-overs (orders handed over); a second flight aborted through the page shows the taxis its orders
go by. Every screen is checked for horizontal scrolling, text contrast (WCAG AA, 4.5:1) and type size
(18 px or more); nothing is loaded from outside the app. Screenshots go to var/test-artifacts/field/.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import ApiToken, Flight, Household, ShopOrder, User
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.shopping.delivery import plan_delivery
from tests.conftest import DAY_START, client_for, token_headers
from tests.live import ARTIFACTS, RequestLog, Server, launch, shot, text_styles
from tests.test_delivery import DAY, place_orders

WIDTH, HEIGHT = 390, 844
FOLDER = "field"


def revoked_by_page(ctx: Dispatcher, username: str) -> None:
    """Wait until the page has revoked the user's tokens on the server (signing out, wrong account)."""
    for _ in range(50):
        with Session(ctx.engine) as s:
            user = s.exec(select(User).where(User.username == username)).one()
            tokens = s.exec(select(ApiToken).where(ApiToken.user_id == user.id)).all()
        if tokens and all(t.revoked_at is not None for t in tokens):
            return
        time.sleep(0.1)
    raise AssertionError(f"{username}'s token is still live after signing out")


@pytest.fixture
def phones(sqlite_ctx: Dispatcher) -> Iterator[tuple[BrowserContext, str, list[RequestLog], list[str]]]:
    """A phone-sized browser on a live server; every page it opens is logged (requests, errors)."""
    with Server(sqlite_ctx) as base, sync_playwright() as pw:
        browser = launch(pw)
        context = browser.new_context(
            viewport={"width": WIDTH, "height": HEIGHT},
            is_mobile=True,
            has_touch=True,
            locale="ja-JP",
            accept_downloads=True,
        )
        context.set_default_timeout(10_000)
        errors: list[str] = []
        logs: list[RequestLog] = []

        def watch(page: Page) -> None:
            logs.append(RequestLog(page))
            page.on("pageerror", lambda e: errors.append(str(e)))
            # Script errors and CSP violations; a refused request (409) is expected here.
            page.on(
                "console",
                lambda m: (
                    errors.append(m.text)
                    if m.type == "error" and "the server responded with a status of 4" not in m.text
                    else None
                ),
            )

        context.on("page", watch)
        try:
            yield context, base, logs, errors
        finally:
            browser.close()


def check(page: Page, name: str, full: bool = False) -> None:
    """No sideways scrolling, every text readable (contrast, size), and a screenshot (of the whole
    page too when `full`)."""
    assert page.evaluate("document.scrollingElement.scrollWidth") <= WIDTH, name
    styles = text_styles(page)
    assert styles, name
    low = [s for s in styles if s["ratio"] < 4.5]
    small = [s for s in styles if s["size"] < 18]
    assert not low, (name, low)
    assert not small, (name, small)
    path = shot(page, FOLDER, name)
    if full:
        page.screenshot(path=str(path.with_name(f"{name}-full.png")), full_page=True)


def hm(instant: datetime, cfg: Any) -> str:
    """9:05, as the pages write a time"""
    t = instant.astimezone(cfg.tz)
    return f"{t.hour}:{t.minute:02d}"


def by_id(page: Page | Any, data_id: str) -> Any:
    return page.locator(f'[data-id="{data_id}"]')


def open_page(context: BrowserContext, base: str, path: str, username: str, timers: bool = False) -> Page:
    """A new page signed in as `username`; `timers`: the page's timers run under Playwright's clock,
    so a test can move them forward (the page's polling)."""
    page = context.new_page()
    if timers:
        page.clock.install()
    page.goto(base + path)
    expect(page.locator("h1")).to_have_text("サインイン")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    by_id(page, "signin").click()
    expect(page.locator("h1")).not_to_have_text("サインイン")
    return page


def statuses(ctx: Dispatcher, order_ids: list[int]) -> set[str]:
    with Session(ctx.engine) as s:
        return {o.status for o in s.exec(select(ShopOrder).where(col(ShopOrder.id).in_(order_ids)))}


def hall_of(ctx: Dispatcher) -> dict[int, str]:
    """order id -> its household's hall"""
    with Session(ctx.engine) as s:
        halls = {h.id: h.hall_id for h in s.exec(select(Household))}
        return {o.id: halls[o.household_id] for o in s.exec(select(ShopOrder))}


def open_hall(page: Page, hall: str) -> None:
    """On the support page: from the list of halls (or another hall) to `hall`."""
    if by_id(page, "halls").count():
        by_id(page, "halls").click()
    by_id(page, f"hall-{hall}").click()
    expect(by_id(page, "tally")).to_be_visible()


def test_delivery_afternoon_on_the_field_pages(
    phones: tuple[BrowserContext, str, list[RequestLog], list[str]], sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    context, base, logs, errors = phones
    ctx = sqlite_ctx
    cfg = ctx.config("ina-demo")
    sellers = [s.id for s in cfg.shopping.sellers]
    with client_for(ctx) as client:
        place_orders(client, token_headers(client, "ina-demo-operator"), ctx, 30, seed=7)

    # 08:00, before the cut-off: the seller sees the list so far, but may not mark it ready yet.
    seller = open_page(context, base, "/seller", f"ina-demo-seller-{sellers[0]}")
    page_h1 = seller.locator("h1")
    expect(page_h1).to_have_text("ピッキングリスト")
    expect(by_id(seller, f"sheet-{sellers[0]}")).to_contain_text("11月24日（火） お届け分")
    expect(seller.locator("#clock")).to_have_text("いま 8:00")  # the server's clock
    check(seller, "seller-01-list-before-cutoff")
    by_id(seller, "ready").click()
    expect(page_h1).to_have_text("集荷OKにしますか")
    check(seller, "seller-02-confirm")
    expect(by_id(seller, "ready-yes")).to_be_disabled()  # nothing ticked: the seller says so first
    by_id(seller, "unticked-ok").check()
    by_id(seller, "ready-yes").click()
    problem = by_id(seller, "problem")
    expect(problem).to_contain_text("集荷OKにできませんでした。")
    expect(problem).to_contain_text("注文の締め切り（11:00）の前なので")
    check(seller, "seller-03-too-early")
    by_id(seller, "ready-no").click()

    # 11:05: the cut-off has passed; the day is planned into flights.
    clock.set(DAY_START.replace(hour=11, minute=5))
    plan_delivery(ctx, "ina-demo", DAY)
    with Session(ctx.engine) as s:
        flights = list(s.exec(select(Flight).where(Flight.active == True).order_by(col(Flight.number))))  # noqa: E712
    assert len(flights) >= 2
    first, second = flights[0], flights[1]
    halls = hall_of(ctx)

    # The drone operator: another role's account is turned away; then today's flights, and loading
    # before the sellers are ready is refused.
    drone = context.new_page()
    drone.goto(base + "/drone")
    drone.fill("#username", "ina-demo-support")
    drone.fill("#password", DEMO_PASSWORD)
    by_id(drone, "signin").click()
    expect(by_id(drone, "problem")).to_contain_text("この画面は「ドローン運航」のアカウントで使います。")
    revoked_by_page(ctx, "ina-demo-support")  # the wrong account's token is not left live
    check(drone, "drone-00-wrong-account")
    drone.fill("#username", "ina-demo-drone")
    drone.fill("#password", DEMO_PASSWORD)
    by_id(drone, "signin").click()
    expect(drone.locator("h1")).to_have_text("今日のフライト")
    expect(drone.locator("article.card")).to_have_count(len(flights))
    card = by_id(drone, f"flight-{first.id}")
    expect(card).to_contain_text(f"第{first.number}便")
    expect(card).to_contain_text(f"注文 {len(first.order_ids)}件")
    expect(by_id(card, "status")).to_have_text("予定")
    check(drone, "drone-01-flights", full=True)
    by_id(drone, f"open-{first.id}").click()
    expect(drone.locator("h1")).to_have_text(f"第{first.number}便")
    by_id(drone, "loaded").click()
    problem = by_id(drone, "problem")
    expect(problem).to_contain_text("まだ積み込めません。")
    expect(problem).to_contain_text("（注文 #")
    for oid in first.order_ids:  # the orders not ready, by number
        expect(problem).to_contain_text(f"#{oid}")
    assert "not ready" not in problem.inner_text()
    check(drone, "drone-02-load-refused")
    assert statuses(ctx, first.order_ids) == {"locked"}

    # 11:50: every seller marks its list ready through the page; the orders become picked.
    clock.set(DAY_START.replace(hour=11, minute=50))
    seller.bring_to_front()  # a page behind others is throttled: every step would wait
    for k, key in enumerate(sellers):
        if k:
            by_id(seller, "signout").click()
            expect(seller.locator("h1")).to_have_text("サインイン")
            revoked_by_page(ctx, f"ina-demo-seller-{sellers[k - 1]}")
            seller.fill("#username", f"ina-demo-seller-{key}")
            seller.fill("#password", DEMO_PASSWORD)
            by_id(seller, "signin").click()
        else:
            by_id(seller, "refresh").click()
        sheet = by_id(seller, f"sheet-{key}")
        expect(sheet).to_be_visible()
        assert seller.locator("section.sheet").count() == 1  # a seller sees only its own list
        expect(by_id(sheet, "ready-state")).to_contain_text("まだ集荷OKにしていません")
        if k == 0:
            seller.locator('li.pick input[type="checkbox"]').first.check()  # a tick while picking
            expect(seller.locator("li.pick.got")).to_have_count(1)
            seller.emulate_media(media="print")
            assert not seller.locator("#top").is_visible() and not by_id(seller, "ready").is_visible()
            shot(seller, FOLDER, "seller-04-print")
            seller.pdf(path=str(ARTIFACTS / FOLDER / "seller-04-print.pdf"))
            seller.emulate_media(media="screen")
        by_id(seller, "ready").click()
        by_id(seller, "unticked-ok").check()  # not every item ticked on this phone
        by_id(seller, "ready-yes").click()
        expect(seller.locator("#flash")).to_contain_text("集荷OKを伝えました（11:50）")
        expect(by_id(sheet, "ready-state")).to_contain_text("集荷OK 済み（11:50）")
        expect(by_id(seller, "ready")).to_have_count(0)
        check(seller, f"seller-05-ready-{key}")
    assert statuses(ctx, first.order_ids + second.order_ids) == {"picked"}

    # The drone operator loads, confirms the checklist and takes off; the .plan downloads.
    drone.bring_to_front()
    by_id(drone, "loaded").click()
    expect(drone.locator("#flash")).to_contain_text("積み込みました")
    expect(by_id(drone, "problem")).to_have_count(0)
    go = by_id(drone, "departed")
    expect(go).to_be_disabled()  # the checklist comes first
    by_id(drone, "check-battery").check()
    by_id(drone, "check-weather").check()
    expect(go).to_be_disabled()
    by_id(drone, "check-corridor").check()
    expect(go).to_be_enabled()
    check(drone, "drone-03-checklist", full=True)
    go.click()
    expect(by_id(drone, "status")).to_have_text("飛行中")
    # It took off at 11:50, ten minutes before the planned 12:00: every estimate moves with it
    # (the actual take-off + the planned flight time), on the drone page and the support page.
    early = first.depart_at - DAY_START.replace(hour=11, minute=50)
    assert early == timedelta(minutes=10)
    expected = {h: datetime.fromisoformat(t) - early for h, t in first.arrivals.items()}
    expect(by_id(drone, "times")).to_have_text(
        f"離陸 11:50 → 帰着 {hm(first.return_at - early, cfg)} ごろ（予定は {hm(first.depart_at, cfg)} 出発）"
    )
    for hall in first.halls:
        expect(by_id(drone, f"hall-{hall}")).to_contain_text(f"{hm(expected[hall], cfg)} 着予定")
    # The operator's board shows the flight by its real take-off, not the planned 12:00.
    op = context.new_page()
    op.set_viewport_size({"width": 1366, "height": 768})
    op.goto(base + "/operator")
    op.fill("#login-user", "ina-demo-operator")
    op.fill("#login-pass", DEMO_PASSWORD)
    op.click("#login-submit")
    expect(op.locator("#search")).to_be_visible()
    op.click("#tab-board")
    row = by_id(op, f"flight-{first.id}")
    expect(row).to_contain_text("11:50 離陸")
    expect(row).not_to_contain_text("12:00 発")
    expect(row).to_contain_text(f"集会所・公民館 {len(first.halls)}か所")
    shot(op, FOLDER, "operator-board-flying")
    op.close()
    drone.bring_to_front()
    with drone.expect_download() as download:
        by_id(drone, "plan").click()
    plan = download.value
    assert plan.suggested_filename == f"{DAY.isoformat()}-flight{first.number}-{first.drone}.plan"
    doc = json.loads(Path(plan.path()).read_text(encoding="utf-8"))
    assert doc["fileType"] == "Plan" and doc["mission"]["items"]
    expect(drone.locator("#flash")).to_contain_text("ダウンロードしました")
    assert statuses(ctx, first.order_ids) == {"in_flight"}

    # The support worker: bags still in the air cannot be handed over.
    support = open_page(context, base, "/support", "ina-demo-support", timers=True)
    expect(support.locator("h1")).to_have_text("今日のお届け")
    check(support, "support-01-halls")
    flying = first.order_ids[0]
    open_hall(support, halls[flying])
    card = by_id(support, f"order-{flying}")
    expect(by_id(card, "status")).to_have_text("飛行中")
    expect(by_id(card, f"hand-{flying}")).to_be_disabled()
    expect(by_id(card, f"hand-{flying}")).to_contain_text("着陸してから押せます")
    expect(by_id(card, "how")).to_have_text(f"ドローン便・{hm(expected[halls[flying]], cfg)} 着予定")
    card.scroll_into_view_if_needed()
    check(support, "support-02-in-the-air")

    # The drone lands at every hall and returns.
    drone.bring_to_front()
    # A landing tapped in the minute of the take-off is refused in Japanese; at its time it counts.
    by_id(drone, f"landed-{first.halls[0]}").click()
    expect(by_id(drone, "problem")).to_contain_text(
        f"まだ{cfg.place(first.halls[0]).name}に着陸したことにはできません。11:50 に離陸した便は"
    )
    expect(by_id(drone, f"hall-{first.halls[0]}")).to_contain_text("着予定")
    assert statuses(ctx, first.order_ids) == {"in_flight"}
    for hall in first.halls:
        clock.set(expected[hall])
        by_id(drone, f"landed-{hall}").click()
        landed_at = hm(expected[hall], cfg)
        expect(by_id(drone, f"hall-{hall}")).to_contain_text(f"着陸 {landed_at}")
        expect(drone.locator("#flash")).to_contain_text(f"{cfg.place(hall).name}に着陸しました。 {landed_at}")
    check(drone, "drone-04-landed")
    now = hm(clock.now(), cfg)
    by_id(drone, "returned").click()
    expect(by_id(drone, "status")).to_have_text("帰還済み")
    expect(by_id(drone, "finished")).to_contain_text("この便は終わりです")
    check(drone, "drone-05-returned")
    with Session(ctx.engine) as s:
        assert s.get(Flight, first.id).status == "returned"
    assert statuses(ctx, first.order_ids) == {"at_hall"}

    # The support worker's list follows within 20 s (its polling), then the bags are handed over,
    # household by household, with a confirm step.
    support.bring_to_front()
    expect(by_id(by_id(support, f"order-{flying}"), "status")).to_have_text("飛行中")
    support.clock.fast_forward(20_000)
    at_hall = f"{cfg.place(halls[flying]).name}に着いています"  # the household's hall by its name
    expect(by_id(by_id(support, f"order-{flying}"), "status")).to_have_text(at_hall)
    for n, oid in enumerate(sorted(first.order_ids, key=lambda o: halls[o])):
        if not by_id(support, f"order-{oid}").count():
            open_hall(support, halls[oid])
        card = by_id(support, f"order-{oid}")
        expect(by_id(card, "status")).to_have_text(f"{cfg.place(halls[oid]).name}に着いています")
        by_id(card, f"hand-{oid}").click()
        expect(by_id(card, "yes")).to_be_visible()
        if n == 0:
            check(support, "support-03-confirm")
        by_id(card, "yes").click()
        expect(by_id(card, "status")).to_have_text(f"お届け済み {now}")
        expect(support.locator("#flash")).to_contain_text(f"に渡しました（{now}）")
    check(support, "support-04-handed-over", full=True)
    assert statuses(ctx, first.order_ids) == {"handed_over"}

    # The second flight takes off and is aborted: the page says which taxi takes which hall's bags.
    drone.bring_to_front()
    by_id(drone, "back").click()
    by_id(drone, f"open-{second.id}").click()
    by_id(drone, "loaded").click()
    for c in ("battery", "weather", "corridor"):
        by_id(drone, f"check-{c}").check()
    by_id(drone, "departed").click()
    expect(by_id(drone, "status")).to_have_text("飛行中")
    clock.set(DAY_START.replace(hour=12, minute=30))
    by_id(drone, "abort").click()
    expect(drone.locator("h1")).to_have_text(f"第{second.number}便を中止しますか")
    by_id(drone, "abort-yes").click()
    expect(drone.locator('[role="alert"]')).to_contain_text("中止の理由をえらんでください")
    by_id(drone, "reason-0").check()
    check(drone, "drone-06-abort", full=True)
    by_id(drone, "abort-yes").click()
    expect(drone.locator("h1")).to_have_text(f"第{second.number}便を中止しました")
    ground = by_id(drone, "ground")
    for hall in second.halls:
        taxi = by_id(ground, f"taxi-{hall}")
        expect(taxi).to_contain_text("タクシー")
        expect(taxi).to_contain_text(cfg.place(hall).name)
    check(drone, "drone-07-aborted")
    with Session(ctx.engine) as s:
        orders = list(s.exec(select(ShopOrder).where(col(ShopOrder.id).in_(second.order_ids))))
        assert s.get(Flight, second.id).status == "aborted"
    assert {o.delivery_mode for o in orders} == {"ground"} and {o.status for o in orders} == {"at_base"}
    assert None not in {o.freight_ride_id for o in orders}
    by_id(drone, "home").click()
    expect(by_id(by_id(drone, f"flight-{second.id}"), "status")).to_have_text("中止")
    check(drone, "drone-08-flights-after")

    # The support worker sees those bags coming by ground, not yet to hand over.
    support.bring_to_front()
    by_id(support, "refresh").click()
    moved = second.order_ids[0]
    open_hall(support, halls[moved])
    card = by_id(support, f"order-{moved}")
    expect(by_id(card, "status")).to_have_text("地上便の出発待ち")
    expect(by_id(card, "reason")).to_contain_text(f"第{second.number}便が中止になりました（強風）")
    expect(by_id(card, f"hand-{moved}")).to_be_disabled()
    card.scroll_into_view_if_needed()
    check(support, "support-05-ground")

    assert len(logs) == 4 and all(lg.urls for lg in logs)
    assert [u for lg in logs for u in lg.outside(base)] == []
    assert errors == []
