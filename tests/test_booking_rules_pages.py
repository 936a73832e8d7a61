"""Issue 20 on the pages: pickers offer only what can be booked, one rider one ride at a time.

Debian's Chromium against a real server and database (SQLite), the demo town (08:00-17:00):
- the TV, remote alone: a favourite "now" for one person and any destination with an arrival time
  typed as digits, each within its key budget (counted); party size and wheelchair as an optional
  step; after 15:30 the picker stops at the latest pickup the server gives and says why;
- the phone: the same latest pickup, and the server's refusal of a later one in its words;
- the operator console: an overlapping booking refused naming the existing ride, then booked with
  「それでも予約する」; the same trip twice refused with no way round.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event, Resident, Ride
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.residents.eligibility import categories_on
from tests.conftest import JST
from tests.live import RequestLog, Server, focused, launch, shot, text_styles

FOLDER = "booking-rules"
PIN = "2580"
DAY = datetime(2026, 11, 24, tzinfo=JST).date()


def _eligible(ctx: Dispatcher) -> list[Resident]:
    cfg = ctx.config("ina-demo")
    with Session(ctx.engine) as s:
        rows = s.exec(select(Resident).where(Resident.active == True).order_by(col(Resident.id))).all()  # noqa: E712
    return [
        r for r in rows if r.favourite_places and categories_on(r, cfg, DAY) & set(cfg.eligibility.any_of)
    ]


def _two_rider_household(ctx: Dispatcher) -> tuple[int, list[Resident]]:
    """A household whose two members may both ride and have favourite places."""
    by_home: dict[int, list[Resident]] = {}
    for r in _eligible(ctx):
        assert r.household_id is not None
        by_home.setdefault(r.household_id, []).append(r)
    return next((hh, people) for hh, people in by_home.items() if len(people) == 2)


@pytest.fixture
def world(sqlite_ctx: Dispatcher) -> Iterator[tuple[str, httpx.Client, Any]]:
    """The server, an operator's API client and a browser."""
    with Server(sqlite_ctx) as base, sync_playwright() as p:
        op = httpx.Client(base_url=base, timeout=30)
        tok = op.post("/api/v1/auth/token", data={"username": "ina-demo-operator", "password": DEMO_PASSWORD})
        op.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
        browser = launch(p)
        try:
            yield base, op, browser
        finally:
            browser.close()


def _limits(op: httpx.Client, rider: Resident, place: str, **more: Any) -> dict[str, Any]:
    trip = {
        "resident_id": rider.id,
        "origin": {"lat": rider.lat, "lon": rider.lon},
        "destination": {"place_id": place},
    }
    r = op.post("/api/v1/rides/time-limits", json=trip | more)
    assert r.status_code == 200, r.text
    return r.json()


def _hm(iso: str) -> str:
    t = datetime.fromisoformat(iso)
    return f"{t.hour}:{t.minute:02d}"


def _rides(ctx: Dispatcher, rider: Resident) -> list[Ride]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Ride).where(Ride.resident_id == rider.id).order_by(col(Ride.id))))


class Remote:
    """Key presses on the TV, counted."""

    def __init__(self, page: Page) -> None:
        self.page, self.presses = page, 0

    def press(self, key: str, expect_focus: str | None = None) -> None:
        self.page.keyboard.press(key)
        self.presses += 1
        if expect_focus is not None:
            self.page.wait_for_selector(f'[data-id="{expect_focus}"]:focus', timeout=10_000)

    def readable(self, name: str) -> None:
        shot(self.page, FOLDER, name)
        styles = text_styles(self.page)
        assert styles and all(s["ratio"] >= 4.5 and s["size"] >= 32 for s in styles), name


def test_tv_key_budget_digit_times_party_size_and_the_last_pickup(
    world: tuple[str, httpx.Client, Any], sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    base, op, browser = world
    ctx = sqlite_ctx
    cfg = ctx.config("ina-demo")
    hh, (a, b) = _two_rider_household(ctx)
    box = httpx.post(base + "/api/v1/tv/devices", json={}).json()
    assert op.post("/api/v1/devices/pair", json={"code": box["code"], "household_id": hh}).status_code == 200
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.add_init_script(f"localStorage.setItem('noriai.device', {box['token']!r})")
    log = RequestLog(page)
    page.goto(base + "/tv")
    page.wait_for_selector('[data-id="menu-ride"]:focus')
    tv = Remote(page)

    # A favourite "now" for one person: 青, rider 1, favourite 1, 今すぐ 1, 予約する = 5 presses.
    tv.press("F1", f"rider-{a.id}")
    tv.press("1", f"to-{a.favourite_places[0]}")
    tv.press("1", "when-now")
    tv.press("1", "confirm")
    expect(page.locator("#quote-party")).to_have_text("1人で乗ります")
    tv.press("Enter")
    page.wait_for_selector("text=予約しました")
    assert tv.presses <= 7, tv.presses
    now_presses = tv.presses
    (ride,) = _rides(ctx, a)
    assert ride.status == "confirmed" and ride.party_size == 1

    # Any destination, arrival time typed: the second community-hall page, its last place, 10:30.
    groups: list[tuple[str, list[Any]]] = []
    kinds = [["hospital", "clinic"], ["supermarket"], ["station"], ["city_hall", "post_office", "bank"]]
    kinds += [["community_hall"], ["school"]]
    rest = list(cfg.places)
    for ks in kinds:
        mine = [p for p in rest if p.kind in ks]
        rest = [p for p in rest if p.kind not in ks]
        groups += [("", mine[i : i + 10]) for i in range(0, len(mine), 10)]
    groups += [("", rest[i : i + 10]) for i in range(0, len(rest), 10)]
    g = max(i for i, (_, ps) in enumerate(groups) if ps[0].kind == "community_hall")  # its last page
    place = groups[g][1][-1]
    assert place.id not in b.favourite_places
    tv.presses = 0
    page.keyboard.press("Backspace")  # the booked message: back home (not counted: a new errand)
    page.wait_for_selector('[data-id="menu-ride"]:focus')
    tv.press("F1", f"rider-{a.id}")
    tv.press("2", f"to-{b.favourite_places[0]}")
    tv.press(str(len(b.favourite_places) + 1), "group-0")  # ほかの行き先
    tv.press(str((g + 1) % 10), f"place-{groups[g][1][0].id}")
    tv.readable("tv-01-places")
    tv.press(str(len(groups[g][1]) % 10), "when-now")
    tv.press("5", "time-ok")  # 着きたい時刻をえらぶ
    expect(page.locator("#time-limit")).to_contain_text("17:00 までに着く必要があります")
    for d in "103":
        tv.press(d)
    expect(page.locator("#time-value")).to_have_text("10:3_")
    tv.press("0", "confirm")  # a whole time typed: straight to the confirmation
    expect(page.locator("#screen")).to_contain_text("10:30 までに着きます")
    tv.press("Enter")
    page.wait_for_selector("text=予約しました")
    assert tv.presses <= 11, tv.presses
    arrival_presses = tv.presses
    (ride,) = _rides(ctx, b)
    assert ride.destination_place_id == place.id
    assert ride.arrive_by is not None and ride.arrive_by.astimezone(JST).strftime("%H:%M") == "10:30"

    # Two people and a wheelchair: the optional step from the confirmation.
    tv.presses = 0
    page.keyboard.press("Backspace")
    page.wait_for_selector('[data-id="menu-ride"]:focus')
    tv.press("F1", f"rider-{a.id}")
    tv.press("2", f"to-{b.favourite_places[0]}")
    tv.press("1", "when-now")
    tv.press("1", "confirm")
    tv.press("ArrowDown", "party")
    tv.press("Enter", "party-1")
    tv.press("ArrowDown")
    tv.press("ArrowDown", "chair")
    tv.press("Enter", "chair")
    expect(page.locator('[data-id="chair"]')).to_contain_text("はい")
    tv.readable("tv-02-party")
    tv.press("2", "confirm")
    expect(page.locator("#quote-party")).to_have_text("2人（車いす）で乗ります")
    tv.press("Enter")
    page.wait_for_selector("text=予約しました")
    party_presses = tv.presses
    ride = _rides(ctx, b)[-1]
    assert (ride.party_size, ride.wheelchair, ride.status) == (2, True, "confirmed")

    # 15:30: the picker stops at the latest pickup the server allows and says why.
    clock.set(datetime(2026, 11, 24, 15, 30, tzinfo=JST))
    fav = a.favourite_places[0]
    last = _hm(_limits(op, a, fav)["latest_pickup"])
    rule = f"17:00 までに着く必要があるため、迎えは {last} までです。"
    page.keyboard.press("Backspace")
    page.wait_for_selector('[data-id="menu-ride"]:focus')
    tv.press("F1", f"rider-{a.id}")
    tv.press("1", f"to-{fav}")
    tv.press("1", "when-now")
    expect(page.locator("#when-limit")).to_have_text(rule)
    expect(page.locator('[data-id="when-60"]')).to_have_count(0)  # 16:30 would end after 17:00
    tv.press("4", "time-ok")  # 出発の時刻をえらぶ
    expect(page.locator("#time-limit")).to_have_text(rule)
    for _ in range(3):
        tv.press("ArrowRight")  # +1 hour, three times: it stops at the last pickup
    expect(page.locator("#time-value")).to_have_text(last)
    for d in "1650":
        tv.press(d)
    expect(page.locator("#time-refusal")).to_have_text(rule)
    expect(page.locator("#time-value")).to_have_text(last)
    assert focused(page) == "time-ok"
    tv.readable("tv-03-last-pickup")
    tv.press("Enter", "confirm")  # the last pickup itself can be booked
    assert not log.outside(base)
    print(f"TV presses: favourite now {now_presses}, any place by arrival {arrival_presses}")
    print(f"TV presses: two people and a wheelchair {party_presses}")


def test_phone_picker_stops_at_the_last_pickup_and_shows_the_rule(
    world: tuple[str, httpx.Client, Any], sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    base, op, browser = world
    rider = _eligible(sqlite_ctx)[0]
    fav = rider.favourite_places[0]
    assert op.put(f"/api/v1/residents/{rider.id}/pin", json={"pin": PIN}).status_code == 204
    clock.set(datetime(2026, 11, 24, 15, 30, tzinfo=JST))
    lim = _limits(op, rider, fav)
    last = _hm(lim["latest_pickup"])
    rule = f"17:00 までに着く必要があるため、迎えは {last} までです。"
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(base + "/m")
    page.fill("#resident-id", str(rider.id))
    page.fill("#pin", PIN)
    page.get_by_role("button", name="サインイン").click()
    page.locator('[data-id="menu-ride"]').click()
    page.locator(f'[data-id="to-{fav}"]').click()
    expect(page.locator("#time-limit")).to_have_text(rule)
    expect(page.locator('[data-id="when-60"]')).to_be_hidden()  # 16:30 would end after 17:00
    page.locator('[data-id="when-pick"]').click()
    options = page.locator("#depart-time option").all_inner_texts()
    assert options[-1] == f"{last} ごろに迎え", options
    shot(page, FOLDER, "phone-01-last-pickup")
    styles = text_styles(page)
    assert all(s["ratio"] >= 4.5 and s["size"] >= 18 for s in styles)

    # A later time (as a page opened long ago might send) is refused in the rule's words.
    later = (datetime.fromisoformat(lim["latest_pickup"]) + timedelta(minutes=10)).isoformat()
    page.evaluate(
        "v => { const s = document.getElementById('depart-time'); const o = document.createElement('option');"
        " o.value = v; o.textContent = 'x'; s.appendChild(o); s.value = v; }",
        later,
    )
    page.locator('[data-id="quote"]').click()
    expect(page.locator("#quote-error")).to_have_text(re.compile(re.escape(rule)))
    shot(page, FOLDER, "phone-02-refused")
    # The last pickup itself is quoted.
    page.go_back()
    page.locator(f'[data-id="to-{fav}"]').click()
    page.locator('[data-id="when-pick"]').click()
    page.select_option("#depart-time", index=len(options) - 1)
    page.locator('[data-id="quote"]').click()
    expect(page.locator("#quote-window")).to_be_visible()


def test_operator_sees_the_overlap_and_may_book_anyway(
    world: tuple[str, httpx.Client, Any], sqlite_ctx: Dispatcher
) -> None:
    base, op, browser = world
    ctx = sqlite_ctx
    cfg = ctx.config("ina-demo")
    rider = _eligible(ctx)[0]
    fav = rider.favourite_places[0]
    other = next(p for p in cfg.places if p.id not in rider.favourite_places)
    first = op.post(
        "/api/v1/rides",
        headers={"Idempotency-Key": "pages-first"},
        json={
            "resident_id": rider.id,
            "origin": {"lat": rider.lat, "lon": rider.lon},
            "destination": {"place_id": fav},
            "pickup_after": "2026-11-24T09:00:00+09:00",
        },
    )
    assert first.status_code == 201, first.text
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="ja-JP")
    page.set_default_timeout(10_000)
    token = json.dumps({"token": op.headers["Authorization"].split()[1], "user": "ina-demo-operator"})
    page.add_init_script(f"sessionStorage.setItem('noriai.operator', {json.dumps(token)})")
    page.goto(base + "/operator")
    page.fill("#search", rider.phone.replace("-", ""))
    page.click(f'[data-id="resident-{rider.id}"]')
    expect(page.locator("#r-id")).to_have_text(str(rider.id))

    # The same trip again: refused, nothing to override.
    page.click(f'[data-id="fav-{fav}"]')
    page.check("#when-pickup")
    page.fill("#when-time", "09:05")
    page.click("#quote-btn")
    expect(page.locator("#book-error")).to_contain_text("同じ予約がもうあります（9:00〜9:15 迎え")
    expect(page.locator("#book-anyway")).to_have_count(0)

    # Another place at an overlapping time: the existing ride named, then booked anyway.
    page.select_option("#dest", other.id)
    page.check("#when-pickup")
    page.fill("#when-time", "09:10")
    page.click("#quote-btn")
    name = cfg.place(fav).name  # type: ignore[union-attr]
    expect(page.locator("#overlap-text")).to_contain_text(f"9:00〜9:15 迎え、{name}行き")
    expect(page.locator("#book-anyway")).to_be_focused()
    expect(page.locator("#book-btn")).to_be_disabled()
    shot(page, FOLDER, "operator-01-overlap")
    page.click("#book-anyway")
    expect(page.locator("#booked-window")).to_be_visible()
    shot(page, FOLDER, "operator-02-booked-anyway")
    rides = _rides(ctx, rider)
    assert [(r.status, r.destination_place_id) for r in rides] == [
        ("confirmed", fav),
        ("confirmed", other.id),
    ]
    with Session(ctx.engine) as s:
        asked = s.exec(
            select(Event).where(Event.kind == "ride.requested", Event.entity_id == str(rides[1].id))
        ).one()
    assert asked.after["book_anyway"] is True and asked.actor


def test_phone_refuses_the_same_trip_twice_naming_the_booked_ride(
    world: tuple[str, httpx.Client, Any], sqlite_ctx: Dispatcher
) -> None:
    """The resident's own channel: the same trip again is refused before booking, in the resident's
    words, naming the ride already booked (it was confirmed twice)."""
    base, op, browser = world
    rider = _eligible(sqlite_ctx)[0]
    fav = rider.favourite_places[0]
    assert op.put(f"/api/v1/residents/{rider.id}/pin", json={"pin": PIN}).status_code == 204
    first = op.post(
        "/api/v1/rides",
        headers={"Idempotency-Key": "phone-first"},
        json={
            "resident_id": rider.id,
            "origin": {"lat": rider.lat, "lon": rider.lon},
            "destination": {"place_id": fav},
            "pickup_after": "2026-11-24T09:00:00+09:00",
        },
    )
    assert first.status_code == 201, first.text
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(base + "/m")
    page.fill("#resident-id", str(rider.id))
    page.fill("#pin", PIN)
    page.get_by_role("button", name="サインイン").click()
    page.locator('[data-id="menu-ride"]').click()
    page.locator(f'[data-id="to-{fav}"]').click()
    page.locator('[data-id="when-pick"]').click()
    page.select_option("#depart-time", label="9:00 ごろに迎え")
    page.locator('[data-id="quote"]').click()
    refusal = page.locator("#quote-error")
    expect(refusal).to_contain_text("同じタクシーを、もう予約しています（9:00〜9:15 迎え")
    expect(page.locator("#quote-window")).to_have_count(0)
    shot(page, FOLDER, "phone-03-same-trip-refused")
    assert [r.status for r in _rides(sqlite_ctx, rider)] == ["confirmed"]
    context.close()


def test_tv_refuses_the_same_ride_now_twice(
    world: tuple[str, httpx.Client, Any], sqlite_ctx: Dispatcher
) -> None:
    """The TV, remote alone: a favourite "now" booked, then the same again: refused on the screen in
    the resident's words, naming the ride already booked; one ride stored."""
    base, op, browser = world
    hh, (a, _b) = _two_rider_household(sqlite_ctx)
    box = httpx.post(base + "/api/v1/tv/devices", json={}).json()
    assert op.post("/api/v1/devices/pair", json={"code": box["code"], "household_id": hh}).status_code == 200
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.add_init_script(f"localStorage.setItem('noriai.device', {box['token']!r})")
    page.goto(base + "/tv")
    page.wait_for_selector('[data-id="menu-ride"]:focus')
    tv = Remote(page)
    for attempt in (1, 2):
        tv.press("F1", f"rider-{a.id}")
        tv.press("1", f"to-{a.favourite_places[0]}")
        tv.press("1", "when-now")
        if attempt == 1:
            tv.press("1", "confirm")
            tv.press("Enter")
            page.wait_for_selector("text=予約しました")
            page.keyboard.press("Backspace")
            page.wait_for_selector('[data-id="menu-ride"]:focus')
        else:
            page.keyboard.press("1")
    expect(page.locator("#screen")).to_contain_text(
        re.compile(r"同じタクシーを、もう予約しています（\d+:\d\d〜\d+:\d\d 迎え")
    )
    assert "予約しました" not in page.locator("#screen").inner_text()
    tv.readable("tv-04-same-ride-refused")
    assert [r.status for r in _rides(sqlite_ctx, a)] == ["confirmed"]
