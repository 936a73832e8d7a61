"""Issue 20, acceptance 2, the drone operator's page (/drone) where the server says no and where a
flight is aborted: with the keyboard only (Tab, Enter, Space), the focus stays on the control or
lands on the result, through each refusal, the abort and the page's own refresh; every refusal is
said in Japanese; axe-core checks every state photographed (tests/live.py `shot`).

A day of its own (one server, one demo database and one Chromium for the module): 24 orders, the
cut-off passed and the flights planned at 11:05, no seller has marked its list ready yet. Flights
aborted here change nothing of tests/test_keyboard_focus_field.py's day.
- 積み込みました before the goods are ready: refused; the focus stays on 積み込みました, the
  refusal says why in Japanese, and a refresh (another flight changed) keeps both;
- 中止する: the form at its heading; without a reason, refused on the page with the focus kept on
  the button; a refresh leaves the form, the reason typed and the focus alone; refused by the server
  (another operator aborted it meanwhile): the focus back on the button, the refusal in Japanese;
  done: the focus on the result's heading, kept by a refresh; 一覧へ: the list at its heading.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.models import Flight
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
from tests.test_delivery import DAY, place_orders

# An English word (the problem's detail, its code): never on a staff page. 集荷OK is the pages' own
# word for a seller's list made ready.
ENGLISH = re.compile(r"[A-Za-z]{3,}")


def _day_planned(ctx: Dispatcher) -> None:
    with client_for(ctx) as client:
        place_orders(client, token_headers(client, "ina-demo-operator"), ctx, 24, seed=7)
    ctx.clock.set(DAY_START.replace(hour=11, minute=5))
    plan_delivery(ctx, "ina-demo", DAY)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with keyboard_world(tmp_path_factory.mktemp("focus-drone"), _day_planned) as w:
        yield w


def flights(world: World) -> list[Flight]:
    with Session(world.ctx.engine) as s:
        return list(
            s.exec(select(Flight).where(Flight.active == True).order_by(col(Flight.number)))  # noqa: E712
        )


def aborted_by_another_operator(world: World, flight: Flight) -> None:
    op = world.operator()
    try:
        r = op.post(f"/api/v1/flights/{flight.id}/steps", json={"action": "aborted", "reason": "強風"})
        assert r.status_code == 200, r.text
    finally:
        op.close()


def refreshed(page: Page) -> None:
    """The page's own refresh (`wake`), waited for: the day's flights fetched again and handled."""
    with page.expect_response(lambda r: r.url.endswith("/api/v1/flights")):
        wake(page)
    page.wait_for_timeout(200)


def japanese(text: str) -> None:
    assert text.strip() and not ENGLISH.search(text), text


def open_flight(page: Page, flight: Flight) -> None:
    press(page, f"open-{flight.id}")
    expect(page.locator("h1")).to_have_text(f"第{flight.number}便")
    focus_on(page, "h1")


def test_a_refused_step_keeps_the_focus_on_its_button(world: World) -> None:
    day = flights(world)
    assert len(day) >= 4, day
    first, last = day[0], day[-1]
    page = phone(world, "/drone", "ina-demo-drone")
    try:
        expect(page.locator("h1")).to_have_text("今日のフライト")
        open_flight(page, first)

        # 積み込みました before any seller marked its list ready: refused, nothing changes; the focus
        # stays on the button pressed (not the page's top), the refusal says why in Japanese
        press(page, "loaded")
        problem = by_id(page, "problem")
        expect(problem).to_contain_text("お店の準備（集荷OK）ができていない荷物があります")
        focus_on(page, '[data-id="loaded"]')
        expect(by_id(page, "loaded")).to_contain_text("積み込みました")
        expect(by_id(page, "status")).to_have_text("予定")
        japanese(problem.inner_text())
        ring_ok(page, "drone refused step")
        shot(page, FOLDER, "drone-step-refused")

        # the refresh (another operator aborted another flight): the flight is drawn again, the
        # focus stays on 積み込みました and the refusal stays on show
        aborted_by_another_operator(world, last)
        mark(page)
        wake(page)
        redrawn(page)
        focus_on(page, '[data-id="loaded"]')
        expect(problem).to_contain_text("まだ積めません")

        # pressed again (still not ready): refused again, the focus still on the button
        page.keyboard.press("Enter")
        expect(by_id(page, "problem")).to_contain_text("お店の準備（集荷OK）ができていない荷物があります")
        focus_on(page, '[data-id="loaded"]')
        ring_ok(page, "drone refused step again")
    finally:
        page.context.close()


def test_the_abort_form_keeps_the_focus_and_lands_on_the_result(world: World) -> None:
    first, second, third = [f for f in flights(world) if f.status == "planned"][:3]
    page = phone(world, "/drone", "ina-demo-drone")
    try:
        expect(page.locator("h1")).to_have_text("今日のフライト")
        open_flight(page, first)
        press(page, "abort")
        expect(page.locator("h1")).to_have_text(f"第{first.number}便を中止しますか")
        focus_on(page, "h1")

        # without a reason: refused on the page, the focus stays on the button
        press(page, "abort-yes")
        alert = page.locator("#screen [role=alert]")
        expect(alert).to_have_text("中止の理由をえらんでください。")
        focus_on(page, '[data-id="abort-yes"]')
        ring_ok(page, "drone abort without a reason")
        shot(page, FOLDER, "drone-abort-no-reason")

        # a reason by the keyboard: Space picks one, the arrow moves to the next, Tab to the box
        press(page, "reason-0", " ")
        expect(by_id(page, "reason-0")).to_be_checked()
        page.keyboard.press("ArrowDown")
        focus_on(page, '[data-id="reason-1"]')
        expect(by_id(page, "reason-1")).to_be_checked()
        page.keyboard.press("Tab")
        focus_on(page, "#reason-more")
        page.keyboard.type("プロペラに傷")
        page.keyboard.press("Tab")
        focus_on(page, '[data-id="abort-yes"]')

        # the refresh (another flight changed): the form stays as it is, the focus on the button
        aborted_by_another_operator(world, third)
        refreshed(page)
        focus_on(page, '[data-id="abort-yes"]')
        expect(page.locator("#reason-more")).to_have_value("プロペラに傷")
        expect(by_id(page, "reason-1")).to_be_checked()

        # refused by the server (another operator aborted this flight meanwhile): the button is
        # back and has the focus; the refusal says why in Japanese
        aborted_by_another_operator(world, first)
        page.keyboard.press("Enter")
        problem = by_id(page, "problem")
        expect(problem).to_contain_text("中止できませんでした。")
        expect(problem).to_contain_text("この便はいま「中止」です")
        japanese(problem.inner_text())
        expect(by_id(page, "abort-yes")).to_be_enabled()
        focus_on(page, '[data-id="abort-yes"]')
        ring_ok(page, "drone abort refused")
        shot(page, FOLDER, "drone-abort-refused")

        # もどる: the flight, shown as aborted; back to the list and another flight, aborted by keyboard
        press(page, "abort-no")
        expect(by_id(page, "status")).to_have_text("中止")
        focus_on(page, "h1")
        press(page, "back")
        expect(page.locator("h1")).to_have_text("今日のフライト")
        open_flight(page, second)
        press(page, "abort")
        press(page, "reason-0", " ")
        expect(by_id(page, "reason-0")).to_be_checked()
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        focus_on(page, '[data-id="abort-yes"]')
        page.keyboard.press("Enter")

        # done: the focus on the result (its heading), where the goods go by ground
        expect(page.locator("h1")).to_have_text(f"第{second.number}便を中止しました")
        focus_on(page, "h1")
        expect(by_id(page, "ground")).to_be_visible()
        japanese(by_id(page, "ground").inner_text())
        shot(page, FOLDER, "drone-aborted")

        # the refresh (the list has changed: this flight): the result and the focus stay
        refreshed(page)
        expect(page.locator("h1")).to_have_text(f"第{second.number}便を中止しました")
        focus_on(page, "h1")

        # 今日のフライト一覧へ: the list, at its heading; the flight shows as aborted
        press(page, "home")
        expect(page.locator("h1")).to_have_text("今日のフライト")
        focus_on(page, "h1")
        expect(by_id(page, f"flight-{second.id}").locator('[data-id="status"]')).to_have_text("中止")
    finally:
        page.context.close()
