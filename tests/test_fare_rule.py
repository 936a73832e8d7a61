"""One fare rule per tenant, said the same on every surface, and fees announced before they are
incurred (issue 20, "Money"). Real server, real database with both demo towns, Debian's Chromium.

Ina (`fares.payment: monthly`, late cancellations 30 minutes before the window cost the fare) and
Yasuoka (`on_board`): the fare text of the operator console, the phone page, the TV and the driver's
manifest is the tenant's rule as `dispatcher.rides.fares` words it; after the drop-off the month's
statement holds the ride in Ina and not in Yasuoka (no double pay); the GTFS `payment_method` is 1
and 0. A late cancellation shows its fee on the phone's, the TV's and the console's confirmation
step; the phone's cancellation is billed and its notice names the fee; the operator waives the
other one with a reason, and nothing is billed. Screenshots go to var/test-artifacts/fares/."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlmodel import Session, col, select

from dispatcher.billing.statements import running_total
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event, Resident, Ride
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.residents.eligibility import categories_on
from dispatcher.rides.fares import collect_text, fare_text
from tests.conftest import DAY_START
from tests.live import RequestLog, Server, launch, shot
from tests.test_tenants import two_towns

FOLDER = "fares"
PIN = "2580"
TIMEOUT_MS = 15_000


@pytest.fixture
def towns(sqlite_url: str, clock: SimClock) -> Iterator[Dispatcher]:
    c = two_towns(sqlite_url, clock, ina=40, yasuoka=30)
    yield c
    c.engine.dispose()


def _riders(ctx: Dispatcher, tenant: str, n: int) -> list[Resident]:
    """Eligible walking residents with a favourite place and a unique kana name, one a household."""
    cfg = ctx.config(tenant)
    today = ctx.clock.now().astimezone(cfg.tz).date()
    with Session(ctx.engine) as s:
        rows = s.exec(
            select(Resident)
            .where(Resident.tenant_id == tenant, Resident.active == True)  # noqa: E712
            .order_by(col(Resident.id))
        ).all()
    kana = Counter((r.family_kana, r.given_kana) for r in rows)
    out: list[Resident] = []
    for r in rows:
        if (
            categories_on(r, cfg, today) & set(cfg.eligibility.any_of)
            and r.favourite_places
            and not r.wheelchair
            and r.household_id is not None
            and kana[(r.family_kana, r.given_kana)] == 1
            and all(o.household_id != r.household_id for o in out)
        ):
            out.append(r)
    assert len(out) >= n, f"{tenant}: too few suitable riders"
    return out[:n]


def _staff(base: str, username: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    tok = c.post("/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert tok.status_code == 200, tok.text
    c.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
    return c


def _prefix(tenant: str) -> str:
    return f"/t/{tenant}"  # a server of two towns asks which one at /operator


def _operator_page(browser: Browser, base: str, tenant: str) -> Page:
    page = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ja-JP").new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{base}{_prefix(tenant)}/operator")
    page.fill("#login-user", f"{tenant}-operator")
    page.fill("#login-pass", DEMO_PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#search")).to_be_visible()
    return page


def _open_resident(page: Page, r: Resident) -> None:
    page.fill("#search", f"{r.family_kana} {r.given_kana}")
    page.click(f'[data-id="resident-{r.id}"]')
    expect(page.locator("#r-id")).to_have_text(str(r.id))


def _tv(browser: Browser, base: str, op: httpx.Client, tenant: str, household_id: int) -> Page:
    """A TV box of the household, paired by the operator, on its home screen."""
    box = httpx.post(base + "/api/v1/tv/devices", json={"tenant_id": tenant}).json()
    assert (
        op.post("/api/v1/devices/pair", json={"code": box["code"], "household_id": household_id}).status_code
        == 200
    )
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="ja-JP")
    context.add_init_script(
        f"localStorage.setItem('noriai.device', {json.dumps(box['token'])});"
        f"localStorage.setItem('noriai.device.tenant', {json.dumps(tenant)});"
    )
    tv = context.new_page()
    tv.set_default_timeout(TIMEOUT_MS)
    tv.goto(f"{base}{_prefix(tenant)}/tv")
    expect(tv.locator('[data-id="menu-mine"]')).to_be_visible()
    return tv


def _tv_ride(tv: Page, ride_id: int) -> None:
    """From the TV's home screen to the ride's detail (green key, then the ride)."""
    tv.keyboard.press("F3")
    item = tv.locator(f'[data-id="ride-{ride_id}"]')
    expect(item).to_be_visible()
    item.focus()
    tv.keyboard.press("Enter")
    expect(tv.locator("#ride-fare")).to_be_visible()


def _phone(browser: Browser, base: str, op: httpx.Client, tenant: str, r: Resident) -> Page:
    assert op.put(f"/api/v1/residents/{r.id}/pin", json={"pin": PIN}).status_code == 204
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="ja-JP"
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{base}{_prefix(tenant)}/m")
    page.fill("#resident-id", str(r.id))
    page.fill("#pin", PIN)
    page.get_by_role("button", name="サインイン").click()
    expect(page.locator(".hello")).to_be_visible()
    return page


def _book(op: httpx.Client, r: Resident, minutes: int, key: str, clock: SimClock) -> dict[str, Any]:
    body = {
        "resident_id": r.id,
        "origin": {"lat": r.lat, "lon": r.lon},
        "destination": {"place_id": r.favourite_places[0]},
        "pickup_after": (clock.now() + timedelta(minutes=minutes)).isoformat(),
    }
    res = op.post("/api/v1/rides", json=body, headers={"Idempotency-Key": key})
    assert res.status_code == 201, res.text
    return res.json()


def _drive(op: httpx.Client, ctx: Dispatcher, clock: SimClock, ride_id: int) -> None:
    """The driver reports the ride from arrival to drop-off, the clock following the plan."""
    with Session(ctx.engine) as s:
        ride = s.get(Ride, ride_id)
        assert ride is not None and ride.planned_pickup and ride.planned_dropoff
        vehicle, pickup, dropoff = ride.vehicle_id, ride.planned_pickup, ride.planned_dropoff
    for kind, at in (("arrived", pickup), ("picked_up", pickup), ("dropped_off", dropoff)):
        clock.set(max(at, clock.now()))
        ev = op.post(f"/api/v1/vehicles/{vehicle}/events", json={"type": kind, "ride_id": ride_id})
        assert ev.status_code == 200, ev.text


def _payment_method(base: str, tenant: str) -> str:
    z = zipfile.ZipFile(io.BytesIO(httpx.get(f"{base}/opendata/gtfs.zip", params={"tenant": tenant}).content))
    rows = list(csv.DictReader(io.StringIO(z.read("fare_attributes.txt").decode("utf-8"))))
    return rows[0]["payment_method"]


def test_two_towns_say_and_bill_their_own_fare_rule(towns: Dispatcher, clock: SimClock) -> None:
    ctx = towns
    seen: dict[str, str] = {}
    with Server(ctx) as base, sync_playwright() as pw:
        browser = launch(pw)
        try:
            for tenant, start in (("ina-demo", DAY_START), ("yasuoka-demo", DAY_START + timedelta(hours=3))):
                cfg = ctx.config(tenant)
                clock.set(max(start, clock.now()))
                (rider,) = _riders(ctx, tenant, 1)
                op = _staff(base, f"{tenant}-operator")

                # Operator console: the quote and the booking say the fare with the town's rule.
                page = _operator_page(browser, base, tenant)
                log = RequestLog(page)
                _open_resident(page, rider)
                page.click(f'[data-id="fav-{rider.favourite_places[0]}"]')
                page.click("#quote-btn")
                expect(page.locator("#quote-window")).to_be_visible()
                quoted = page.locator("#quote-result").inner_text()
                page.click("#book-btn")
                expect(page.locator("#booked-window")).to_be_visible()
                with Session(ctx.engine) as s:
                    ride = s.exec(select(Ride).where(Ride.resident_id == rider.id)).one()
                assert ride.fare_yen and ride.fare_yen > 0
                said = fare_text(cfg, ride.fare_yen)
                assert said in quoted
                expect(page.locator("#booked-fare")).to_have_text(said)
                shot(page, FOLDER, f"{tenant}-1-operator-booked")
                assert log.outside(base) == []

                # Phone: the ride's card.
                phone = _phone(browser, base, op, tenant, rider)
                expect(phone.locator(f'[data-id="ride-{ride.id}"] .fare')).to_have_text(said)
                shot(phone, FOLDER, f"{tenant}-2-phone")

                # TV: the ride's detail.
                assert rider.household_id is not None
                tv = _tv(browser, base, op, tenant, rider.household_id)
                _tv_ride(tv, ride.id)
                expect(tv.locator("#ride-fare")).to_have_text(said)
                seen[tenant] = said
                shot(tv, FOLDER, f"{tenant}-3-tv")

                # Driver: the pickup says whether to take money.
                vehicles = {v["id"]: v for v in op.get("/api/v1/vehicles").json()}
                vehicle = vehicles[ride.vehicle_id]
                drv = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP").new_page()
                drv.set_default_timeout(TIMEOUT_MS)
                drv.goto(f"{base}{_prefix(tenant)}/driver")
                drv.fill("#username", f"{tenant}-driver-{vehicle['operator']}")
                drv.fill("#password", DEMO_PASSWORD)
                drv.locator('[data-id="signin"]').click()
                drv.locator(f'[data-id="vehicle-{vehicle["key"]}"]').click()
                expect(drv.locator("#next")).to_have_attribute("data-ride", str(ride.id))
                expect(drv.locator('#next [data-id="fare"]')).to_have_text(collect_text(cfg, ride.fare_yen))
                shot(drv, FOLDER, f"{tenant}-4-driver")

                # The ride is done: the statement follows the rule the screens said.
                _drive(op, ctx, clock, ride.id)
                assert rider.household_id is not None
                lines = running_total(ctx, tenant, rider.household_id)["lines"]
                billed = [ln for ln in lines if ln["kind"] == "ride" and ln.get("ride_id") == ride.id]
                if cfg.fares.payment == "monthly":
                    assert "車の中では払いません" in said and "月末" in said
                    assert [ln["amount_yen"] for ln in billed] == [ride.fare_yen]
                    assert collect_text(cfg, ride.fare_yen) == "料金は月末にまとめて請求"
                else:
                    assert said == f"料金 {ride.fare_yen:,}円（車の中でお支払いください）"
                    assert billed == []  # paid to the driver: never billed again
                    assert collect_text(cfg, ride.fare_yen) == f"{ride.fare_yen:,}円を受け取る"
                notices = httpx.get(
                    f"{base}/api/v1/me/notices",
                    headers={"Authorization": f"Bearer {_pin_token(base, op, tenant, rider)}"},
                ).json()
                assert any(said in n["text"] for n in notices), notices
                for p in (page, phone, tv, drv):
                    p.context.close()
            assert _payment_method(base, "ina-demo") == "1"  # paid before boarding: the monthly bill
            assert _payment_method(base, "yasuoka-demo") == "0"  # paid on board
            assert seen["ina-demo"].split("（")[1] != seen["yasuoka-demo"].split("（")[1]
        finally:
            browser.close()


def _pin_token(base: str, op: httpx.Client, tenant: str, r: Resident) -> str:
    """A phone session of the resident (the operator sets the PIN), for reading its notices."""
    assert op.put(f"/api/v1/residents/{r.id}/pin", json={"pin": PIN}).status_code == 204
    res = httpx.post(f"{base}/api/v1/m/session", json={"resident_id": r.id, "pin": PIN, "tenant_id": tenant})
    assert res.status_code == 200, res.text
    return str(res.json()["access_token"])


def test_late_cancellation_is_announced_billed_and_waivable(towns: Dispatcher, clock: SimClock) -> None:
    ctx = towns
    tenant = "ina-demo"
    cfg = ctx.config(tenant)
    assert cfg.billing.late_cancel_charge == "fare" and cfg.billing.late_cancel_minutes == 30
    a, b = _riders(ctx, tenant, 2)
    assert a.household_id is not None and b.household_id is not None
    with Server(ctx) as base, sync_playwright() as pw:
        op = _staff(base, f"{tenant}-operator")
        ride_a = _book(op, a, 40, "late-a", clock)
        ride_b = _book(op, b, 40, "late-b", clock)
        assert ride_a["cancel_fee_yen"] == 0 and ride_a["cancel_fee_text"] == ""  # free for now
        # 15 minutes later: within 30 minutes of the pickup window, and past the 5 free minutes
        clock.set(clock.now() + timedelta(minutes=15))
        fee_a, fee_b = ride_a["fare_yen"], ride_b["fare_yen"]
        browser = launch(pw)
        try:
            # Phone: the confirmation step names the fee; the cancellation is billed, the notice says so.
            phone = _phone(browser, base, op, tenant, a)
            phone.locator(f'[data-id="ride-{ride_a["id"]}"]').get_by_role(
                "button", name="この予約を取り消す"
            ).click()
            expect(phone.locator("#cancel-fee")).to_contain_text(f"取消し料 {fee_a:,}円")
            expect(phone.locator("#cancel-fee")).to_contain_text("30分前")
            shot(phone, FOLDER, "late-1-phone-confirm")
            phone.locator('[data-id="yes"]').click()
            expect(phone.locator("#flash")).to_contain_text("取り消しました")
            lines = running_total(ctx, tenant, a.household_id)["lines"]
            late = [ln for ln in lines if ln["kind"] == "late_cancel"]
            assert [ln["amount_yen"] for ln in late] == [fee_a] and "取消し料" in late[0]["text"]
            notices = httpx.get(
                f"{base}/api/v1/me/notices",
                headers={"Authorization": f"Bearer {_pin_token(base, op, tenant, a)}"},
            ).json()
            assert any(f"取消し料 {fee_a:,}円を月末に" in n["text"] for n in notices), notices

            # TV: the same warning before the resident says yes (then the resident says no).
            tv = _tv(browser, base, op, tenant, b.household_id)
            _tv_ride(tv, ride_b["id"])
            tv.locator('[data-id="ride-cancel"]').focus()
            tv.keyboard.press("Enter")
            expect(tv.locator("#cancel-fee")).to_contain_text(f"取消し料 {fee_b:,}円")
            shot(tv, FOLDER, "late-2-tv-confirm")

            # Operator console: the fee is shown, and the operator waives it with a reason.
            page = _operator_page(browser, base, tenant)
            _open_resident(page, b)
            page.click(f'[data-id="cancel-{ride_b["id"]}"]')
            row = page.locator(f'[data-id="ride-{ride_b["id"]}"]')
            expect(row.locator('[data-id="cancel-fee"]')).to_contain_text(f"取消し料 {fee_b:,}円")
            row.locator('[data-id="waive-fee"]').check()
            row.locator("input.reason").fill("車両の故障のため（こちらの都合）")
            shot(page, FOLDER, "late-3-operator-waiver")
            page.click('[data-id="cancel-confirm"]')
            expect(page.locator("#toast")).to_contain_text("取消し料は免除しました")
            with Session(ctx.engine) as s:
                ev = s.exec(
                    select(Event).where(
                        Event.entity == "ride",
                        Event.entity_id == str(ride_b["id"]),
                        Event.kind == "ride.cancelled",
                    )
                ).one()
            assert ev.after is not None and ev.after.get("fee_waived") is True
            assert ev.actor == f"user:{tenant}-operator"
            lines = running_total(ctx, tenant, b.household_id)["lines"]
            assert [ln for ln in lines if ln["kind"] == "late_cancel"] == []
            notices = httpx.get(
                f"{base}/api/v1/me/notices",
                headers={"Authorization": f"Bearer {_pin_token(base, op, tenant, b)}"},
            ).json()
            assert any("取消し料はかかりません" in n["text"] for n in notices), notices
        finally:
            browser.close()
