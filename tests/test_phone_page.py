"""The smartphone page (/m) in Debian's Chromium at 390x844 against a real server and database:
sign in with a resident number and PIN, book a ride and cancel it, order groceries, the return trip
offered after a ride, the shop after the cut-off, a refusal shown in the server's words, sign out,
and five wrong PINs locking the account. Every screen is checked for horizontal
scrolling, text contrast (WCAG AA, 4.5:1) and type size (18 px or more); nothing is loaded from
outside the app. Screenshots go to var/test-artifacts/phone/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Membership, OrderLine, Resident, ResidentPin, Ride, ShopOrder
from dispatcher.residents.eligibility import categories_on
from tests.conftest import JST, client_for, token_headers
from tests.live import RequestLog, Server, launch, shot, text_styles

PIN = "2580"
WIDTH, HEIGHT = 390, 844
FOLDER = "phone"


def _residents(ctx: Dispatcher) -> list[Resident]:
    """Eligible demo residents with favourite places whose household has a shopping membership."""
    cfg = ctx.config("ina-demo")
    today = datetime(2026, 11, 24, tzinfo=JST).date()
    with Session(ctx.engine) as s:
        members = set(s.exec(select(Membership.household_id)))
        rows = s.exec(select(Resident).where(Resident.active == True).order_by(col(Resident.id))).all()  # noqa: E712
    return [
        r
        for r in rows
        if r.household_id in members
        and r.favourite_places
        and categories_on(r, cfg, today) & set(cfg.eligibility.any_of)
    ]


def _set_pin(ctx: Dispatcher, resident_id: int) -> None:
    with client_for(ctx) as client:
        operator = token_headers(client, "ina-demo-operator")
        r = client.put(f"/api/v1/residents/{resident_id}/pin", json={"pin": PIN}, headers=operator)
        assert r.status_code == 204, r.text


def _ride_there_and_drop_off(ctx: Dispatcher, clock: SimClock, rider: Resident, place_id: str) -> int:
    """An operator books a ride from home to a place; the driver reports it done (the clock follows)."""
    with client_for(ctx) as client:
        operator = token_headers(client, "ina-demo-operator")
        now = clock.now()
        body = {
            "resident_id": rider.id,
            "origin": {"lat": rider.lat, "lon": rider.lon},
            "destination": {"place_id": place_id},
            "pickup_after": (now + timedelta(minutes=20)).isoformat(),
        }
        r = client.post("/api/v1/rides", json=body, headers={**operator, "Idempotency-Key": "phone-out"})
        assert r.status_code == 201, r.text
        ride_id = r.json()["id"]
        with Session(ctx.engine) as s:
            ride = s.get(Ride, ride_id)
            assert ride is not None and ride.planned_pickup and ride.planned_dropoff
            vehicle, pickup, dropoff = ride.vehicle_id, ride.planned_pickup, ride.planned_dropoff
        for kind, at in (("arrived", pickup), ("picked_up", pickup), ("dropped_off", dropoff)):
            clock.set(at)
            ev = client.post(
                f"/api/v1/vehicles/{vehicle}/events",
                json={"type": kind, "ride_id": ride_id, "at": at.isoformat()},
                headers=operator,
            )
            assert ev.status_code == 200, ev.text
    return ride_id


@pytest.fixture
def phone(sqlite_ctx: Dispatcher) -> Iterator[tuple[Page, str, RequestLog, list[str]]]:
    """A phone-sized page on a live server, with its request log and the page's errors."""
    with Server(sqlite_ctx) as base, sync_playwright() as pw:
        browser = launch(pw)
        context = browser.new_context(
            viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True, has_touch=True, locale="ja-JP"
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        log = RequestLog(page)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # Script errors and CSP violations; a refused request (401, 422, 423) is expected here.
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and "the server responded with a status of 4" not in m.text
                else None
            ),
        )
        try:
            yield page, base, log, errors
        finally:
            browser.close()


def check(page: Page, name: str, full: bool = False) -> None:
    """No sideways scrolling, every text readable (contrast, size), and a screenshot (of the whole
    page too when `full`)."""
    page.wait_for_function("!document.querySelector('[aria-busy=\"true\"]')")  # all loaded
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


def sign_in(page: Page, resident_id: int, pin: str) -> None:
    page.fill("#resident-id", str(resident_id))
    page.fill("#pin", pin)
    page.get_by_role("button", name="サインイン").click()


def by_id(page: Page, data_id: str) -> Any:
    return page.locator(f'[data-id="{data_id}"]')


def test_phone_page_books_cancels_and_orders_at_390x844(
    phone: tuple[Page, str, RequestLog, list[str]], sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    page, base, log, errors = phone
    rider = _residents(sqlite_ctx)[0]
    _set_pin(sqlite_ctx, rider.id)

    page.goto(base + "/m")
    expect(page.locator("h1")).to_have_text("サインイン")
    assert page.locator("#pin").get_attribute("inputmode") == "numeric"
    check(page, "01-sign-in")
    sign_in(page, rider.id, PIN)
    expect(page.locator("h1")).to_have_text("今日は 11月24日（火）")
    expect(page.locator(".hello")).to_have_text(f"{rider.family_name} {rider.given_name} さん")
    expect(page.locator("#clock")).to_have_text("いま 8:00")  # the server's clock, not the browser's
    expect(page.get_by_text("今日の予約と注文は、まだありません。")).to_be_visible()
    check(page, "02-home-empty")
    assert page.evaluate("JSON.parse(localStorage.getItem('noriai.phone')).token")

    # Book: a favourite destination, in 30 minutes; the quote shows the window and the fare.
    by_id(page, "menu-ride").click()
    expect(page.locator("h1")).to_have_text("タクシーを予約")
    favourite = sqlite_ctx.config("ina-demo").place(rider.favourite_places[0])
    assert favourite is not None
    by_id(page, f"to-{favourite.id}").click()
    expect(by_id(page, f"to-{favourite.id}")).to_have_attribute("aria-pressed", "true")
    page.get_by_text("30分後", exact=True).click()
    check(page, "03-ride-form", full=True)
    by_id(page, "quote").click()
    expect(page.locator("#quote-window")).to_have_text(re.compile(r"迎え 8:30〜8:45"))
    expect(page.get_by_text(favourite.name)).to_be_visible()
    check(page, "04-ride-quote")
    by_id(page, "book").click()
    expect(page.locator("h1")).to_have_text("予約しました")
    window = page.locator("#done-window").inner_text()
    assert window == "迎え 8:30〜8:45"
    check(page, "05-ride-booked")
    by_id(page, "home").click()
    with Session(sqlite_ctx.engine) as s:
        ride = s.exec(select(Ride).where(Ride.resident_id == rider.id)).one()
    assert ride.status == "confirmed" and ride.destination_place_id == favourite.id
    card = by_id(page, f"ride-{ride.id}")
    expect(card.locator('[data-id="window"]')).to_have_text(window)
    expect(card.locator('[data-id="status"]')).to_have_text("予約済み")
    check(page, "06-home-with-ride")

    # The phone's own back button stays inside the page.
    by_id(page, "menu-ride").click()
    expect(page.locator("h1")).to_have_text("タクシーを予約")
    page.go_back()
    expect(page.locator("h1")).to_have_text("今日は 11月24日（火）")

    # Cancel, with a confirm step.
    card.get_by_role("button", name="この予約を取り消す").click()
    expect(page.locator("h1")).to_have_text("この予約を取り消しますか")
    check(page, "07-ride-cancel-confirm")
    by_id(page, "yes").click()
    expect(page.locator("#flash")).to_contain_text("取り消しました")
    expect(card.locator('[data-id="status"]')).to_have_text("取り消しました")
    expect(card.get_by_role("button", name="この予約を取り消す")).to_have_count(0)
    with Session(sqlite_ctx.engine) as s:
        assert s.get(Ride, ride.id).status == "cancelled"
    check(page, "08-home-cancelled")

    # Shopping: two items from one category, one from another, then the cart and the order.
    by_id(page, "menu-shop").click()
    expect(page.locator("#cutoff")).to_contain_text("11:00 まで（あと 3時間）")
    expect(by_id(page, "cat-0")).to_be_visible()
    check(page, "09-shop-categories")
    by_id(page, "cat-0").click()
    plus = page.locator('[data-id^="plus-"]')
    expect(plus.first).to_be_visible()
    plus.nth(0).click()
    plus.nth(0).click()
    plus.nth(1).click()
    expect(page.locator("#cart-summary")).to_have_text(re.compile(r"^かご 3点"))
    check(page, "10-shop-items", full=True)
    by_id(page, "back").click()
    by_id(page, "cat-1").click()
    page.locator('[data-id^="plus-"]').first.click()
    expect(page.locator("#cart-summary")).to_have_text(re.compile(r"^かご 4点"))
    by_id(page, "to-cart").click()
    expect(page.locator("h1")).to_have_text("かごの中")
    expect(page.locator("li.product")).to_have_count(3)
    check(page, "11-cart")
    total = page.locator("#cart-total").inner_text()
    by_id(page, "order").click()
    expect(page.locator("h1")).to_have_text("注文しました")
    expect(page.locator("#order-done")).to_have_text(total)
    check(page, "12-ordered")
    with Session(sqlite_ctx.engine) as s:
        order = s.exec(select(ShopOrder).where(ShopOrder.household_id == rider.household_id)).one()
        lines = s.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    assert order.status == "placed" and total == f"合計 {order.total_yen:,}円"
    assert sorted(x.quantity for x in lines) == [1, 1, 2]
    by_id(page, "home").click()
    status = by_id(page, f"order-{order.id}").locator('[data-id="status"]')
    expect(status).to_have_text("注文を受け付けました")
    check(page, "13-home-with-order", full=True)

    # After a ride to a place has ended, home offers the taxi back, which books a ride home.
    out_id = _ride_there_and_drop_off(sqlite_ctx, clock, rider, favourite.id)
    by_id(page, "refresh").click()
    offer = by_id(page, f"return-{out_id}")
    expect(offer).to_contain_text(f"{favourite.name} → 自宅")
    expect(by_id(page, f"ride-{out_id}").locator('[data-id="status"]')).to_have_text("到着しました")
    check(page, "14-home-return-offer")
    offer.click()
    expect(by_id(page, "to-home")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#from-select")).to_have_value(favourite.id)
    page.get_by_text("1時間後", exact=True).click()
    by_id(page, "quote").click()
    expect(page.locator("#quote-window")).to_be_visible()
    check(page, "15-return-quote")
    by_id(page, "book").click()
    expect(page.locator("h1")).to_have_text("予約しました")
    by_id(page, "home").click()
    with Session(sqlite_ctx.engine) as s:
        back = s.exec(select(Ride).where(Ride.origin_place_id == favourite.id)).one()
    assert back.status == "confirmed" and back.resident_id == rider.id and back.destination_place_id is None
    expect(by_id(page, f"ride-{back.id}")).to_contain_text(f"{favourite.name} → 自宅")
    expect(by_id(page, f"return-{out_id}")).to_have_count(0)

    # After the cut-off the shop shows the next delivery day instead of ordering.
    clock.set(datetime(2026, 11, 24, 11, 30, tzinfo=JST))
    by_id(page, "menu-shop").click()
    expect(page.locator("#next-delivery")).to_have_text("次のお届けは 11月25日（水） です。")
    expect(page.locator("#closed")).to_contain_text("11:00 で締め切りました")
    expect(by_id(page, "cat-0")).to_have_count(0)
    check(page, "16-shop-after-cutoff")

    # A request the server refuses shows its plain-Japanese reason.
    by_id(page, "home").click()
    by_id(page, "menu-ride").click()
    by_id(page, f"to-{favourite.id}").click()
    page.select_option("#from-select", favourite.id)
    by_id(page, "quote").click()
    expect(page.locator("#quote-error")).to_have_text("出発と行き先が同じ場所です。")
    check(page, "17-ride-refused")

    # Late in the day the page says booking is over instead of offering times that cannot work.
    clock.set(datetime(2026, 11, 24, 16, 50, tzinfo=JST))
    by_id(page, "home").click()
    by_id(page, "refresh").click()
    expect(page.locator("#clock")).to_have_text("いま 16:50")
    by_id(page, "menu-ride").click()
    expect(page.locator("#rides-closed")).to_be_visible()
    check(page, "18-rides-closed")

    # Sign out ends the session on the server too.
    token = page.evaluate("JSON.parse(localStorage.getItem('noriai.phone')).token")
    by_id(page, "home").click()
    by_id(page, "signout").click()
    by_id(page, "signout-yes").click()
    expect(page.locator("h1")).to_have_text("サインイン")
    assert page.evaluate("localStorage.getItem('noriai.phone')") is None
    with client_for(sqlite_ctx) as client:
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    assert log.outside(base) == []
    assert errors == []


def test_five_wrong_pins_through_the_page_lock_the_account(
    phone: tuple[Page, str, RequestLog, list[str]], sqlite_ctx: Dispatcher
) -> None:
    page, base, log, errors = phone
    rider = _residents(sqlite_ctx)[1]
    _set_pin(sqlite_ctx, rider.id)
    page.goto(base + "/m")
    error = page.locator("#signin-error")
    for k in range(4):  # one answer, whether or not the resident has a PIN: no count of tries left
        with page.expect_response(lambda r: r.url.endswith("/api/v1/m/session")) as answer:
            sign_in(page, rider.id, "9999")
        assert answer.value.status == 401
        expect(page.get_by_role("button", name="サインイン")).to_be_enabled()  # the answer is shown
        expect(error).to_contain_text("5回続けてまちがえると、ロックされます")
        if k == 0:
            check(page, "20-wrong-pin")
    sign_in(page, rider.id, "9999")
    expect(error).to_contain_text("ロックしました")
    check(page, "21-locked")
    sign_in(page, rider.id, PIN)  # even the right PIN is refused now
    expect(error).to_contain_text("ロックされています")
    expect(page.locator("h1")).to_have_text("サインイン")
    with Session(sqlite_ctx.engine) as s:
        pin = s.get(ResidentPin, rider.id)
        assert pin is not None and pin.locked_at is not None and pin.failures == 5
    assert page.evaluate("localStorage.getItem('noriai.phone')") is None
    assert log.outside(base) == []
    assert errors == []
