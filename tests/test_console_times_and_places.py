"""Issue 20 on the operator console: its time field offers only what can be booked, and every stop
it shows names its place, the drone base included.

Debian's Chromium against a real server and database (SQLite), the demo town (08:00-17:00):
- at 15:30 the booking form's time field stops at the latest pickup the server gives for the trip
  (`POST /rides/time-limits`), the rule stands beside it in the phone's and the TV's words, and a
  later time typed in is refused in those words before anything is sent, the focus staying on
  見積もり; the latest pickup itself is quoted;
- a taxi-freight job from the drone base, and a resident's ride booked at the base's coordinates,
  show the base's name from the tenant file (not 「指定の場所」 nor an id) in the console's ride
  list and in the board's 「確認が必要」 list; `GET /rides` names both ends the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Resident, Ride
from dispatcher.platform.demo import DEMO_PASSWORD
from tests.conftest import JST, make_ctx
from tests.live import Server, focused, launch, shot
from tests.test_booking_rules_pages import _eligible, _hm, _limits
from tests.test_place_wording import _freight_at_the_base

FOLDER = "console-times-places"


@pytest.fixture
def small_ctx(sqlite_url: str, clock: SimClock) -> Iterator[Dispatcher]:
    """The demo municipality with 60 residents (seeding 400 takes longer than the test)."""
    c = make_ctx(sqlite_url, clock, residents=60)
    yield c
    c.engine.dispose()


@pytest.fixture
def world(small_ctx: Dispatcher) -> Iterator[tuple[str, httpx.Client, Any]]:
    """The server, an operator's API client and a browser."""
    with Server(small_ctx) as base, sync_playwright() as p:
        op = httpx.Client(base_url=base, timeout=30)
        tok = op.post("/api/v1/auth/token", data={"username": "ina-demo-operator", "password": DEMO_PASSWORD})
        op.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
        browser = launch(p)
        try:
            yield base, op, browser
        finally:
            browser.close()


def _console_at(browser: Any, base: str, op: httpx.Client, rider: Resident) -> Page:
    """The operator console, signed in, with the rider's card open."""
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="ja-JP")
    page.set_default_timeout(10_000)
    token = json.dumps({"token": op.headers["Authorization"].split()[1], "user": "ina-demo-operator"})
    page.add_init_script(f"sessionStorage.setItem('noriai.operator', {json.dumps(token)})")
    page.goto(base + "/operator")
    page.fill("#search", rider.phone.replace("-", ""))
    page.click(f'[data-id="resident-{rider.id}"]')
    expect(page.locator("#r-id")).to_have_text(str(rider.id))
    return page


def test_console_time_field_stops_at_the_last_pickup_and_says_why(
    world: tuple[str, httpx.Client, Any], small_ctx: Dispatcher, clock: SimClock
) -> None:
    base, op, browser = world
    rider = _eligible(small_ctx)[0]
    fav = rider.favourite_places[0]
    clock.set(datetime(2026, 11, 24, 15, 30, tzinfo=JST))
    lim = _limits(op, rider, fav)
    latest = datetime.fromisoformat(lim["latest_pickup"])
    last, last_field = _hm(lim["latest_pickup"]), f"{latest:%H:%M}"
    rule = f"17:00 までに着く必要があるため、迎えは {last} までです。"
    # 20 minutes before the latest pickup (still 15 minutes' notice): the field's own suggestion
    # (now + 30 min) would be too late
    clock.set(latest - timedelta(minutes=20))
    lim = _limits(op, rider, fav)  # the earliest times move with the clock, the latest pickup not
    assert lim["latest_pickup"] == latest.isoformat()
    page = _console_at(browser, base, op, rider)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)

    # No trip yet, no rule; the trip chosen (a favourite, by keyboard): the rule beside the field.
    expect(page.locator("#when-limit")).to_be_hidden()
    page.focus(f'[data-id="fav-{fav}"]')
    page.keyboard.press("Enter")
    expect(page.locator("#when-limit")).to_have_text(rule)
    assert focused(page) == f"fav-{fav}"  # asking the server moved no focus
    assert page.get_attribute("#when-time", "aria-describedby") == "when-limit"

    # 迎えの時刻: the suggestion is held to the latest pickup, and the field stops there.
    page.focus("#when-pickup")
    page.keyboard.press("Space")
    expect(page.locator("#when-time")).to_be_focused()
    expect(page.locator("#when-time")).to_have_attribute("max", last_field)
    expect(page.locator("#when-time")).to_have_value(last_field)
    page.keyboard.press("ArrowUp")  # the hour: there is no later one
    value = page.input_value("#when-time")
    assert value <= last_field, value
    shot(page, FOLDER, "console-01-last-pickup")

    # A later time typed in: refused in the rule's words before anything is sent; focus stays.
    later = latest + timedelta(minutes=5)
    page.fill("#when-time", f"{later:%H:%M}")
    page.focus("#quote-btn")
    sent.clear()
    page.keyboard.press("Enter")
    expect(page.locator("#book-error")).to_contain_text(rule)
    assert not [u for u in sent if "/rides/quote" in u], sent
    assert page.evaluate("document.activeElement.id") == "quote-btn"
    shot(page, FOLDER, "console-02-refused")

    # The latest pickup itself is quoted.
    page.fill("#when-time", last_field)
    page.focus("#quote-btn")
    page.keyboard.press("Enter")
    expect(page.locator("#quote-window")).to_be_visible()
    expect(page.locator("#book-error")).to_be_hidden()
    expect(page.locator("#book-btn")).to_be_focused()

    # 到着の時刻: the field takes the arrival limits, and the rule says them too.
    page.check("#when-arrive")
    arrivals = [datetime.fromisoformat(lim[k]) for k in ("earliest_arrival", "latest_arrival")]
    expect(page.locator("#when-time")).to_have_attribute("max", f"{arrivals[1]:%H:%M}")
    expect(page.locator("#when-limit")).to_contain_text(
        f"着く時刻は {_hm(lim['earliest_arrival'])}〜{_hm(lim['latest_arrival'])} です。"
    )
    page.fill("#when-time", f"{arrivals[0] - timedelta(minutes=5):%H:%M}")
    page.focus("#quote-btn")
    page.keyboard.press("Enter")
    expect(page.locator("#book-error")).to_contain_text(
        f"その到着時刻には間に合いません。もっと遅い時刻を選んでください（いちばん早くて{arrivals[0]:%H:%M}）。"
    )
    page.close()


def test_console_names_the_drone_base_for_freight_and_for_a_ride_booked_there(
    world: tuple[str, httpx.Client, Any], small_ctx: Dispatcher, clock: SimClock
) -> None:
    base, op, browser = world
    ctx = small_ctx
    cfg = ctx.config("ina-demo")
    assert cfg.drones is not None
    drone_base = cfg.drones.base
    hall = cfg.place(cfg.drones.halls[0].place_id)
    assert hall is not None
    freight = _freight_at_the_base(ctx)
    rider = _eligible(ctx)[0]
    fav = cfg.place(rider.favourite_places[0])
    assert fav is not None
    # A rider picked up where the drone base stands (booked by coordinates, as a map pin would).
    r = op.post(
        "/api/v1/rides",
        headers={"Idempotency-Key": "at-the-base"},
        json={
            "resident_id": rider.id,
            "origin": {"lat": drone_base.lat, "lon": drone_base.lon},
            "destination": {"place_id": fav.id},
            "pickup_after": "2026-11-24T14:00:00+09:00",
        },
    )
    assert r.status_code == 201, r.text
    booked = r.json()
    assert (booked["origin_name"], booked["destination_name"]) == (drone_base.name, fav.name)
    listed = {x["id"]: x for x in op.get("/api/v1/rides").json()}
    assert (listed[freight.id]["origin_name"], listed[freight.id]["destination_name"]) == (
        drone_base.name,
        hall.name,
    )

    # The freight job's pickup window is over with no tap: the board asks the operator to settle it.
    with Session(ctx.engine) as s:
        window_end = s.get_one(Ride, freight.id).pickup_window_end
    assert window_end is not None
    clock.set(window_end + timedelta(minutes=1))

    page = _console_at(browser, base, op, rider)
    ride_row = page.locator(f'#ride-list [data-id="ride-{booked["id"]}"] .row-info')
    expect(ride_row).to_contain_text(f"{drone_base.name} → {fav.name}")
    assert "指定の場所" not in ride_row.inner_text()
    shot(page, FOLDER, "console-03-ride-from-the-base")
    page.click("#tab-board")
    ends = page.locator(f'[data-id="review-ends-{freight.id}"]')
    expect(ends).to_have_text(f"{drone_base.name} → {hall.name}")
    shot(page, FOLDER, "console-04-freight-to-review")
    page.close()
