"""Acceptance: the operator console (/operator) in a real Chromium against a real server.

An operator finds a resident by kana and books a ride for them on the phone in at most six
interactions; the booking then shows on the resident's TV page (paired from the console with the
code the TV shows). The console also changes and cancels with a reason (kept in the event log),
keeps notes, takes a grocery order, sets the phone-page PIN and shows today's board. Nothing is
fetched from outside the app, and the page logs no error (a CSP violation would be one).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from typing import Any

import httpx
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event, Membership, Resident, ResidentNote, Ride, ShopOrder, Vehicle
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.residents.eligibility import categories_on
from tests.live import RequestLog, Server, axe_seconds, launch, shot, text_styles

FOLDER = "operator"
TIMEOUT_MS = 15_000


def _rider(ctx: Dispatcher) -> Resident:
    """An eligible resident with favourites, a shopping household and a unique kana name."""
    cfg = ctx.config("ina-demo")
    today = ctx.clock.now().astimezone(cfg.tz).date()
    with Session(ctx.engine) as s:
        rows = s.exec(select(Resident).where(Resident.active == True).order_by(col(Resident.id))).all()  # noqa: E712
        members = set(s.exec(select(Membership.household_id).where(col(Membership.ends_on).is_(None))))
    kana = Counter((r.family_kana, r.given_kana) for r in rows)
    return next(
        r
        for r in rows
        if categories_on(r, cfg, today) & set(cfg.eligibility.any_of)
        and r.favourite_places
        and not r.wheelchair
        and r.household_id in members
        and kana[(r.family_kana, r.given_kana)] == 1
    )


def _readable(page: Page) -> None:
    """Every visible text meets WCAG AA contrast (4.5:1) and is at least 13 px."""
    styles = text_styles(page)
    assert len(styles) > 20
    bad = [s for s in styles if s["ratio"] < 4.5 or s["size"] < 13]
    assert not bad, bad


def _script_error(message: Any, into: list[str]) -> None:
    """Console errors other than the browser's note on an HTTP error status (which the tests
    provoke on purpose); a CSP violation or a script error lands here."""
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        into.append(message.text)


class Interactions:
    """Counts what the operator does: a click, or typing one text (however long)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0

    def click(self, selector: str) -> None:
        self.count += 1
        self.page.click(selector)

    def type(self, selector: str, text: str) -> None:
        self.count += 1
        self.page.fill(selector, text)


def test_operator_books_by_kana_and_the_ride_shows_on_the_tv(sqlite_ctx: Dispatcher, clock: SimClock) -> None:
    ctx = sqlite_ctx
    rider = _rider(ctx)
    fav = rider.favourite_places[0]
    place_name = ctx.config("ina-demo").place(fav).name
    started, axe_before = time.monotonic(), axe_seconds()
    with Server(ctx) as base, sync_playwright() as p:
        browser = launch(p)
        try:
            op = browser.new_page(viewport={"width": 1366, "height": 768}, locale="ja-JP")
            log = RequestLog(op)
            problems: list[str] = []
            op.on("console", lambda m: _script_error(m, problems))
            op.on("pageerror", lambda e: problems.append(str(e)))
            op.set_default_timeout(TIMEOUT_MS)

            # --- sign in: a wrong password is refused in plain Japanese, the right one opens the console
            op.goto(base + "/operator")
            op.fill("#login-user", "ina-demo-operator")
            op.fill("#login-pass", "wrong-password")
            op.click("#login-submit")
            expect(op.locator("#login-error")).to_contain_text("パスワードが違います")
            shot(op, FOLDER, "00-sign-in-refused")
            op.fill("#login-pass", DEMO_PASSWORD)
            op.click("#login-submit")
            expect(op.locator("#search")).to_be_visible()
            expect(op.locator("#clock")).to_contain_text("8:00")  # the server's clock, not this machine's
            shot(op, FOLDER, "01-signed-in")

            # --- a phone booking: search by kana, the resident, a favourite, (今すぐ), quote, book
            ui = Interactions(op)
            ui.type("#search", f"{rider.family_kana} {rider.given_kana}")
            expect(op.locator("#results button.result")).to_have_count(1)
            ui.click(f'[data-id="resident-{rider.id}"]')
            expect(op.locator("#r-id")).to_have_text(str(rider.id))
            expect(op.locator("#r-kana")).to_have_text(f"{rider.family_kana} {rider.given_kana}")
            ui.click(f'[data-id="fav-{fav}"]')
            expect(op.locator("#when-now")).to_be_checked()  # 今すぐ is the default: no action needed
            expect(op.locator("#book-btn")).to_be_disabled()  # nothing to book before a quote
            ui.click("#quote-btn")
            expect(op.locator("#quote-window")).to_have_text("迎え 8:15〜8:30")
            expect(op.locator("#quote-result")).to_contain_text(place_name)
            shot(op, FOLDER, "02-quote")
            ui.click("#book-btn")
            expect(op.locator("#booked-window")).to_have_text("迎え 8:15〜8:30")
            assert ui.count <= 6, f"a phone booking took {ui.count} interactions"
            with Session(ctx.engine) as s:
                ride = s.exec(select(Ride).where(Ride.resident_id == rider.id)).one()
                vehicle = s.get(Vehicle, ride.vehicle_id)
            assert ride.status == "confirmed" and ride.destination_place_id == fav
            assert ride.created_by == "user:ina-demo-operator" and vehicle is not None
            expect(op.locator(f'#ride-list [data-id="ride-{ride.id}"]')).to_contain_text("予約済み")
            shot(op, FOLDER, "03-booked")
            _readable(op)

            # --- pair the resident's TV by the code it shows
            box = httpx.post(base + "/api/v1/tv/devices", json={}).json()
            op.fill("#pair-code", box["code"][:3] + " " + box["code"][3:])  # as read out, with a space
            op.click("#pair-btn")
            expect(op.locator("#device-list li.device")).to_have_count(1)
            tv_auth = {"Authorization": f"Bearer {box['token']}"}
            assert httpx.get(base + "/api/v1/tv/device", headers=tv_auth).json()["paired"] is True

            # --- the booking on the resident's TV (green key = 予約の確認)
            tv_ctx = browser.new_context(viewport={"width": 1280, "height": 720}, locale="ja-JP")
            tv_ctx.add_init_script(f"localStorage.setItem('noriai.device', {json.dumps(box['token'])})")
            tv = tv_ctx.new_page()
            tv_log = RequestLog(tv)
            tv.set_default_timeout(TIMEOUT_MS)
            tv.goto(base + "/tv")
            expect(tv.locator('[data-id="menu-mine"]')).to_be_visible()
            tv.keyboard.press("F3")
            card = tv.locator(f'[data-id="ride-{ride.id}"]')
            expect(card).to_contain_text("8:15〜8:30")
            expect(card).to_contain_text(place_name)
            shot(tv, FOLDER, "04-tv-shows-the-booking")

            # --- the board: the booked vehicle's next stop is this pickup
            op.click("#tab-board")
            row = op.locator(f'[data-id="vehicle-{vehicle.key}"]')
            stop = row.locator(f'li[data-ride="{ride.id}"][data-kind="pickup"]')
            expect(stop).to_contain_text(f"{rider.family_name} {rider.given_name}")
            expect(stop).to_contain_text("余裕")
            expect(op.locator("#refused-list")).to_contain_text("ありません")
            shot(op, FOLDER, "05-board")
            _readable(op)
            op.click("#tab-residents")

            # --- a note
            op.fill("#note-text", "耳が遠いのでゆっくり話す")
            op.click("#note-add")
            expect(op.locator("#note-list li").first).to_contain_text("耳が遠いのでゆっくり話す")
            with Session(ctx.engine) as s:
                notes = s.exec(select(ResidentNote.text).where(ResidentNote.resident_id == rider.id)).all()
            assert notes == ["耳が遠いのでゆっくり話す"]

            # --- change the time with a reason: the new ride replaces the old one
            op.click(f'[data-id="change-{ride.id}"]')
            op.fill(f'[data-id="ride-{ride.id}"] input[type="time"]', "09:30")
            op.fill(f'[data-id="ride-{ride.id}"] input.reason', "病院の予約が変わった")
            op.click('[data-id="change-confirm"]')
            expect(op.locator(f'[data-id="ride-{ride.id}"] .badge')).to_have_text("取り消し")
            with Session(ctx.engine) as s:
                new = s.exec(
                    select(Ride).where(Ride.resident_id == rider.id, Ride.status == "confirmed")
                ).one()
            new_row = op.locator(f'[data-id="ride-{new.id}"]')
            expect(new_row).to_contain_text("迎え 9:30〜9:45")

            # --- cancel with a reason: refused without one, recorded with one
            op.click(f'[data-id="cancel-{new.id}"]')
            op.click('[data-id="cancel-confirm"]')
            expect(new_row.locator(".error")).to_contain_text("理由を入れてください")
            op.fill(f'[data-id="ride-{new.id}"] input.reason', "本人から電話")
            shot(op, FOLDER, "06-cancel-with-reason")
            op.click('[data-id="cancel-confirm"]')
            expect(new_row.locator(".badge")).to_have_text("取り消し")
            with Session(ctx.engine) as s:
                reasons = [
                    e.after["reason"]
                    for e in s.exec(
                        select(Event).where(Event.kind == "ride.cancelled").order_by(col(Event.id))
                    )
                ]
            assert reasons == [f"changed to ride {new.id}: 病院の予約が変わった", "本人から電話"]

            # --- the phone-page PIN
            op.fill("#pin-input", "1234")
            op.click("#pin-btn")
            expect(op.locator("#pin-error")).to_contain_text("推測されやすい")
            op.fill("#pin-input", "2580")
            op.click("#pin-btn")
            expect(op.locator("#pin-state")).to_contain_text("設定済み")
            session = httpx.post(base + "/api/v1/m/session", json={"resident_id": rider.id, "pin": "2580"})
            assert session.status_code == 200, session.text

            # --- a grocery order for the household
            op.click("#order-open")
            first = op.locator("#product-rows input.qty").first
            first.fill("2")
            expect(op.locator("#cart-summary")).to_contain_text("×2")
            shot(op, FOLDER, "07-order-form")
            op.click("#order-submit")
            expect(op.locator("#order-list li.order")).to_have_count(1)
            with Session(ctx.engine) as s:
                order = s.exec(select(ShopOrder).where(ShopOrder.household_id == rider.household_id)).one()
            assert order.status == "placed" and order.created_by == "user:ina-demo-operator"
            expect(op.locator(f'[data-id="order-{order.id}"]')).to_contain_text("受付済み")

            # --- the same console on a large screen
            op.set_viewport_size({"width": 1920, "height": 1080})
            shot(op, FOLDER, "08-resident-1920")
            op.click("#tab-board")
            expect(op.locator("#vehicle-rows tr")).to_have_count(len(_vehicles(ctx)))
            shot(op, FOLDER, "09-board-1920")

            assert log.outside(base) == [] and tv_log.outside(base) == []
            assert problems == [], problems
        finally:
            browser.close()
    assert time.monotonic() - started - (axe_seconds() - axe_before) < 60  # the checks' own time aside


def test_a_full_fleet_offers_alternatives_and_the_board_lists_refusals(sqlite_ctx: Dispatcher) -> None:
    ctx = sqlite_ctx
    with Session(ctx.engine) as s:  # one vehicle on duty: it fills up quickly
        for v in s.exec(select(Vehicle).order_by(col(Vehicle.id))).all()[1:]:
            v.active = False
            s.add(v)
        s.commit()
        others = s.exec(select(Resident).order_by(col(Resident.id)).limit(40)).all()
    rider = _rider(ctx)
    fav = rider.favourite_places[0]
    with Server(ctx) as base, sync_playwright() as p:
        api = httpx.Client(base_url=base)
        login = {"username": "ina-demo-operator", "password": DEMO_PASSWORD}
        tok = api.post("/api/v1/auth/token", data=login)
        auth = {"Authorization": f"Bearer {tok.json()['access_token']}"}
        now = "2026-11-24T08:00:00+09:00"
        mine = {
            "resident_id": rider.id,
            "origin": {"lat": rider.lat, "lon": rider.lon},
            "destination": {"place_id": fav},
            "pickup_after": now,
        }
        # Neighbours book the same trip from the rider's door until the vehicle's seats are
        # taken: the rider's own request then no longer fits, and the next one is refused.
        refused: list[Resident] = []
        for r in (x for x in others if x.household_id != rider.household_id):
            full = not api.post("/api/v1/rides/quote", json=mine, headers=auth).json()["available"]
            if full and refused:
                break
            key = {"Idempotency-Key": uuid.uuid4().hex}
            booked = api.post("/api/v1/rides", json={**mine, "resident_id": r.id}, headers={**auth, **key})
            assert booked.status_code in (201, 409), booked.text
            if booked.status_code == 409:
                refused.append(r)
        assert not api.post("/api/v1/rides/quote", json=mine, headers=auth).json()["available"]
        assert refused, "the single vehicle should have refused someone"

        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="ja-JP")
            log = RequestLog(page)
            page.set_default_timeout(TIMEOUT_MS)
            # A signed-in tab (token in sessionStorage) reopens on the resident in the address.
            token = json.dumps({"token": tok.json()["access_token"], "user": "ina-demo-operator"})
            page.add_init_script(f"sessionStorage.setItem('noriai.operator', {json.dumps(token)})")
            page.goto(f"{base}/operator")
            # a phone number typed without hyphens finds the resident
            page.fill("#search", rider.phone.replace("-", ""))
            page.click(f'[data-id="resident-{rider.id}"]')
            expect(page.locator("#r-id")).to_have_text(str(rider.id))

            # after the service hours: the rule is explained in Japanese
            page.click(f'[data-id="fav-{fav}"]')
            page.check("#when-arrive")
            page.fill("#when-time", "18:00")
            page.click("#quote-btn")
            expect(page.locator("#book-error")).to_contain_text("運行時間（08:00–17:00）の中で")

            # 今すぐ does not fit: the alternatives are offered and one click quotes the first
            page.check("#when-now")
            page.click("#quote-btn")
            expect(page.locator("#quote-result")).to_contain_text("空いている車両がありません")
            first = page.locator('[data-id="alt-0"]')
            window = first.inner_text().removeprefix("迎え ")
            shot(page, FOLDER, "10-alternatives")
            first.click()
            expect(page.locator("#quote-window")).to_have_text(f"迎え {window}")
            expect(page.locator("#when-pickup")).to_be_checked()
            page.click("#book-btn")
            expect(page.locator("#booked-window")).to_have_text(f"迎え {window}")

            # the refused requests of the day; a name opens that resident
            page.click("#tab-board")
            names = page.locator("#refused-list li button.link")
            expect(names).to_have_count(len(refused))
            expected = sorted(f"{r.family_name} {r.given_name}" for r in refused)
            assert sorted(names.all_inner_texts()) == expected
            shot(page, FOLDER, "11-board-refusals")
            who = names.last.inner_text()
            names.last.click()
            expect(page.locator("#r-name")).to_have_text(who)
            expect(page.locator("#residents-view")).to_be_visible()
            assert log.outside(base) == []

            # signing out revokes the token on the server: a console left open keeps nothing usable
            token = page.evaluate("() => JSON.parse(sessionStorage.getItem('noriai.operator')).token")
            assert api.get("/api/v1/board", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            page.click("#logout")
            expect(page.locator("#login-user")).to_be_visible()
            for _ in range(50):
                r = api.get("/api/v1/board", headers={"Authorization": f"Bearer {token}"})
                if r.status_code == 401:
                    break
                time.sleep(0.1)
            assert r.status_code == 401, "the token still works after signing out"
        finally:
            browser.close()
            api.close()


def _vehicles(ctx: Dispatcher) -> list[Any]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Vehicle).where(Vehicle.active == True)))  # noqa: E712
