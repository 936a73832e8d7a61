"""What the keyboard tests (tests/test_keyboard_focus*.py) share: one server, one demo database and
one Chromium per module (`keyboard_world`), and the checks and keys they use on every page: where
the focus is (`focus_on`), its ring (`ring_ok`), Tab onto a control and press a key on it
(`press`), a phone-sized signed-in page (`phone`) and the field pages' own refresh (`wake`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect, sync_playwright

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.platform.demo import DEMO_PASSWORD
from tests.conftest import DAY_START, make_ctx
from tests.live import Server, launch

FOLDER = "keyboard"  # the screenshots' folder under the test artifacts


@dataclass
class World:
    ctx: Dispatcher
    clock: SimClock
    base: str
    browser: Browser

    def operator(self) -> httpx.Client:
        """An API client signed in as the demo operator."""
        c = httpx.Client(base_url=self.base, timeout=30)
        tok = c.post("/api/v1/auth/token", data={"username": "ina-demo-operator", "password": DEMO_PASSWORD})
        c.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
        return c


@contextmanager
def keyboard_world(folder: Path, prepare: Callable[[Dispatcher], None] | None = None) -> Iterator[World]:
    """The demo town on a simulated clock at DAY_START, in a SQLite file in `folder`, prepared by
    `prepare(ctx)` (e.g. orders placed) before the server starts; served on loopback to a Chromium."""
    clock = SimClock(DAY_START)
    ctx = make_ctx(f"sqlite:///{folder / 'noriai.db'}", clock)
    try:
        if prepare is not None:
            prepare(ctx)
        with Server(ctx) as base, sync_playwright() as pw:
            browser = launch(pw)
            try:
                yield World(ctx, clock, base, browser)
            finally:
                browser.close()
    finally:
        ctx.engine.dispose()


def by_id(page: Page, data_id: str) -> Any:
    return page.locator(f'[data-id="{data_id}"]')


def focus_on(page: Page, selector: str) -> None:
    """Wait until the focused element matches `selector` (the focus never went to the page's top)."""
    page.wait_for_function(
        "s => { const a = document.activeElement; return !!a && a.matches(s); }", arg=selector
    )


# The focused element's ring: outline colour and width, the colour of the edge drawn around it
# (box-shadow), and the contrast between the two.
RING_JS = """
() => {
  const s = getComputedStyle(document.activeElement);
  const rgb = t => ((t || '').match(/rgba?\\(([^)]+)\\)/) || [0, '0,0,0'])[1].split(',').map(Number);
  const lum = c => 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const ring = rgb(s.outlineColor), edge = rgb(s.boxShadow);
  const a = lum(ring), b = lum(edge);
  return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow,
          ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
}
"""


def ring_ok(page: Page, where: str) -> None:
    ring = page.evaluate(RING_JS)
    assert ring["style"] != "none" and ring["width"] >= 2, (where, ring)
    assert ring["shadow"] != "none" and ring["ratio"] >= 3, (where, ring)


def phone(world: World, path: str, username: str) -> Page:
    """A phone-sized page at `path`, signed in as `username` with the keyboard (Enter in the form)."""
    context = world.browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(world.base + path)
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.press("#password", "Enter")
    expect(page.locator("h1")).not_to_have_text("サインイン")
    return page


def press(page: Page, data_id: str, key: str = "Enter") -> None:
    """Tab onto the control (from the one before it; Shift+Tab from the one after it when it comes
    first) and press `key` on it."""
    page.wait_for_selector(f'[data-id="{data_id}"], #{data_id}')
    tab = page.evaluate(
        """key => {
          const sel = 'button:not([disabled]), a[href], input, select, textarea, h1, [tabindex="0"]';
          const all = [...document.querySelectorAll(sel)].filter(e => e.getClientRects().length);
          const me = document.querySelector(`[data-id="${key}"]`) || document.getElementById(key);
          const i = all.indexOf(me);
          if (i > 0) { all[i - 1].focus(); return 'Tab'; }
          if (i === 0 && all.length > 1) { all[1].focus(); return 'Shift+Tab'; }
          me.focus();
          return '';
        }""",
        data_id,
    )
    if tab:
        page.keyboard.press(tab)
    focus_on(page, f'[data-id="{data_id}"], #{data_id}')
    page.keyboard.press(key)


def mark(page: Page) -> None:
    """Mark the screen on show; `redrawn` waits until the page has drawn it again."""
    page.evaluate("() => document.querySelector('#screen > *').setAttribute('data-old', '')")


def redrawn(page: Page) -> None:
    page.wait_for_function("() => !document.querySelector('#screen > [data-old]')")


def wake(page: Page) -> None:
    """The page's own refresh, as its timer or the phone waking runs it (visibilitychange)."""
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
