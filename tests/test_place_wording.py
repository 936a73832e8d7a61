"""Words match places (issue 20): every stop named the same on every page, notice and command.

Seen before: the TV said 「家の前でお待ちください」 for a pickup at the hospital, notices said
「（指定の場所まで）」 for a trip home, the taxi-freight pickup at the drone base was 「自宅など」 on
the board and raw coordinates in `noriai plan show`, and the driver saw 「自宅」 with no address and
only a `geo:` link (which opens nothing on iOS).

Names come from `dispatcher.rides.place_names.name_stop`; these tests read them where people read them:
the TV and phone pages, the notices, the operator board, the driver page and `plan show`.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.identity.auth import HouseholdPrincipal
from dispatcher.models import Household, Resident, Ride, Vehicle
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.rides.place_names import name_stop, navigation_url
from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import parse_tenant
from routing.geo import Point
from tests.conftest import client_for, make_ctx, token_headers
from tests.live import RequestLog, Server, launch, shot

FOLDER = "places"
HOSPITAL = "central-hospital"
PIN = "2580"


@pytest.fixture
def small_ctx(sqlite_url: str, clock: SimClock) -> Iterator[Dispatcher]:
    """The demo municipality with 60 residents (seeding 400 takes longer than the test)."""
    c = make_ctx(sqlite_url, clock, residents=60)
    yield c
    c.engine.dispose()


def _household_of_one_rider(ctx: Dispatcher) -> tuple[int, Resident]:
    """An eligible resident (the TV asks no "who" when the household has one rider)."""
    from dispatcher.residents.eligibility import categories_on

    cfg = ctx.config("ina-demo")
    day = ctx.clock.now().astimezone(cfg.tz).date()
    with Session(ctx.engine) as s:
        rows = s.exec(select(Resident).where(col(Resident.active).is_(True)).order_by(col(Resident.id))).all()
        addresses = {h.id: h.address for h in s.exec(select(Household))}
    by_hh: dict[int, list[Resident]] = {}
    for r in rows:
        if r.household_id is not None:
            by_hh.setdefault(r.household_id, []).append(r)
    for hh, people in by_hh.items():
        ok = [p for p in people if categories_on(p, cfg, day) & set(cfg.eligibility.any_of)]
        if len(people) == 1 and ok and addresses.get(hh):
            return hh, ok[0]
    raise AssertionError("no suitable demo household")


def _book(client: Any, operator: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/v1/rides", json=body, headers={**operator, "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _freight_at_the_base(ctx: Dispatcher) -> Ride:
    """A taxi-freight job from the drone base to a hall, as an aborted flight books it."""
    from dispatcher.rides.freight import book_freight

    cfg = ctx.config("ina-demo")
    assert cfg.drones is not None
    now = ctx.clock.now()
    base = cfg.drones.base
    ride = book_freight(
        ctx,
        "ina-demo",
        now.astimezone(cfg.tz).date(),
        Point(base.lat, base.lon),
        cfg.drones.halls[0].place_id,
        [],
        3.0,
        now + timedelta(minutes=5),
        now + timedelta(hours=3),
        "test",
    )
    assert ride is not None, "no taxi had the idle time for the freight job"
    return ride


def test_a_stop_is_named_home_place_note_drone_base_or_point() -> None:
    data = yaml.safe_load(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    cfg = parse_tenant(data)
    assert cfg.drones is not None
    base = cfg.drones.base
    hospital = cfg.place(HOSPITAL)
    assert hospital is not None
    home = Point(35.83, 137.95)
    at_home = name_stop(cfg, None, home.lat + 0.0001, home.lon, home)
    assert (at_home.name, at_home.polite, at_home.wait_at) == ("自宅", "ご自宅", "家の前で")
    there = name_stop(cfg, HOSPITAL, hospital.lat, hospital.lon, home)
    assert (there.name, there.polite, there.wait_at) == (
        "伊那中央病院",
        "伊那中央病院",
        "伊那中央病院の玄関で",
    )
    station = name_stop(cfg, "inashi-station", 0, 0, None)
    assert station.wait_at == "伊那市駅の前で"
    # the drone base by id and by its coordinates (freight booked before the base had an id on it)
    for by in (
        name_stop(cfg, base.id, base.lat, base.lon, None),
        name_stop(cfg, None, base.lat, base.lon, None),
    ):
        assert (by.name, by.kind, by.place_id) == (base.name, "drone_base", base.id)
    # a tenant place reached by coordinates; an unknown point
    assert name_stop(cfg, None, hospital.lat, hospital.lon + 0.0003, None).name == "伊那中央病院"
    assert name_stop(cfg, None, 35.70, 137.80, home).name == "指定の場所"
    # a pickup note from the tenant file wins over the generic wording
    for p in data["places"]:
        if p["id"] == HOSPITAL:
            p["pickup_note"] = "正面玄関前のタクシー乗り場で"
    noted = parse_tenant(data)
    assert name_stop(noted, HOSPITAL, 0, 0, None).wait_at == "正面玄関前のタクシー乗り場で"
    data["places"][0]["pickup_note"] = "あ" * 41
    with pytest.raises(Exception, match="pickup_note"):
        parse_tenant(data)
    # the driver's navigation link: https (Android and iOS), not geo: (nothing on iOS)
    assert navigation_url(35.8448, 137.9629) == (
        "https://www.google.com/maps/dir/?api=1&destination=35.844800,137.962900&travelmode=driving"
    )


def test_notices_name_the_real_place_both_ways(small_ctx: Dispatcher) -> None:
    """Out from home and back from the hospital: each notice names where the taxi comes, and
    says 「家の前で」 only at home; nothing is 「指定の場所」."""
    from dispatcher.channels.resident_view import notices

    ctx = small_ctx
    hh, rider = _household_of_one_rider(ctx)
    now = ctx.clock.now()
    with client_for(ctx) as client:
        op = token_headers(client, "ina-demo-operator")
        home = {"lat": rider.lat, "lon": rider.lon}
        out = _book(
            client,
            op,
            {
                "resident_id": rider.id,
                "origin": home,
                "destination": {"place_id": HOSPITAL},
                "pickup_after": (now + timedelta(minutes=30)).isoformat(),
            },
        )
        back = _book(
            client,
            op,
            {
                "resident_id": rider.id,
                "origin": {"place_id": HOSPITAL},
                "destination": home,
                "pickup_after": (now + timedelta(hours=3)).isoformat(),
            },
        )
        assert client.post(f"/api/v1/rides/{back['id']}/cancel", headers=op).status_code == 200
    texts = [n["text"] for n in notices(ctx, HouseholdPrincipal("ina-demo", hh, (rider.id,), "device:test"))]
    who = rider.given_name
    assert any(
        t.startswith(f"{who}さんのタクシーを予約しました。")
        and "にご自宅へ迎えに行きます（伊那中央病院まで）。家の前でお待ちください。" in t
        for t in texts
    ), texts
    assert any(
        "に伊那中央病院へ迎えに行きます（ご自宅まで）。伊那中央病院の玄関でお待ちください。" in t
        for t in texts
    ), texts
    assert any("のタクシー（伊那中央病院からご自宅まで）を取り消しました。" in t for t in texts), texts
    assert not [t for t in texts if "指定の場所" in t], texts
    assert out["id"] != back["id"]


def _signed_in_driver(browser: Any, base: str, vehicle: Vehicle, operator_key: str) -> Page:
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="ja-JP")
    page.set_default_timeout(10_000)
    page.goto(base + "/driver")
    page.fill("#username", f"ina-demo-driver-{operator_key}")
    page.fill("#password", DEMO_PASSWORD)
    page.locator('[data-id="signin"]').click()
    page.locator(f'[data-id="vehicle-{vehicle.key}"]').click()
    expect(page.locator("#next")).to_be_visible()
    return page


def test_words_match_places_on_the_tv_phone_board_driver_and_plan_show(
    small_ctx: Dispatcher,
    clock: SimClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = small_ctx
    cfg = ctx.config("ina-demo")
    assert cfg.drones is not None
    base_name = cfg.drones.base.name
    hh, rider = _household_of_one_rider(ctx)
    with Session(ctx.engine) as s:
        address = s.get_one(Household, hh).address
    with client_for(ctx) as client:
        op = token_headers(client, "ina-demo-operator")
        assert (
            client.put(f"/api/v1/residents/{rider.id}/pin", json={"pin": PIN}, headers=op).status_code == 204
        )
    freight = _freight_at_the_base(ctx)
    assert freight.origin_place_id == cfg.drones.base.id

    with Server(ctx) as base, sync_playwright() as pw:
        browser = launch(pw)
        try:
            # --- the TV books from the hospital back home: wait at the hospital's door, not 家の前
            opc = httpx.Client(base_url=base, timeout=30)
            tok = opc.post(
                "/api/v1/auth/token", data={"username": "ina-demo-operator", "password": DEMO_PASSWORD}
            )
            opc.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
            box = httpx.post(base + "/api/v1/tv/devices", json={}).json()
            assert (
                opc.post("/api/v1/devices/pair", json={"code": box["code"], "household_id": hh}).status_code
                == 200
            )
            tv = browser.new_page(viewport={"width": 1280, "height": 720})
            tv_log = RequestLog(tv)
            tv.add_init_script(f"localStorage.setItem('noriai.device', {box['token']!r})")
            tv.goto(base + "/tv")
            tv.wait_for_selector('[data-id="menu-ride"]:focus')
            tv.keyboard.press("F1")
            for target in ("to-home", "group-0", f"place-{HOSPITAL}", "when-now", "confirm"):  # 病院・診療所
                tv.wait_for_selector(f'[data-id="{target}"]')
                tv.focus(f'[data-id="{target}"]')
                tv.keyboard.press("Enter")
            tv.wait_for_selector("text=予約しました")
            said = tv.locator("#screen").inner_text()
            assert "伊那中央病院の玄関でお待ちください" in said, said
            assert "家の前" not in said, said
            shot(tv, FOLDER, "tv-booked-at-the-hospital")
            with Session(ctx.engine) as s:
                ride = s.exec(select(Ride).where(Ride.resident_id == rider.id)).one()
            assert ride.origin_place_id == HOSPITAL and ride.planned_pickup is not None
            tv.keyboard.press("F4")  # the notices: the real place, both ends
            tv.wait_for_selector("text=伊那中央病院へ迎えに行きます（ご自宅まで）")
            assert "指定の場所" not in tv.locator("#screen").inner_text()
            shot(tv, FOLDER, "tv-notice")
            assert tv_log.outside(base) == []

            # --- the phone, five minutes before the taxi: where to wait, and the notice
            clock.set(max(clock.now(), ride.planned_pickup - timedelta(minutes=5)))
            phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="ja-JP")
            phone.set_default_timeout(10_000)
            phone.goto(base + "/m")
            phone.fill("#resident-id", str(rider.id))
            phone.fill("#pin", PIN)
            phone.get_by_role("button", name="サインイン").click()
            expect(phone.locator(".box.urgent").first).to_contain_text("伊那中央病院の玄関でお待ちください")
            expect(phone.locator("body")).to_contain_text("伊那中央病院へ迎えに行きます（ご自宅まで）")
            assert "家の前" not in phone.locator("body").inner_text()
            shot(phone, FOLDER, "phone-wait-at-the-hospital")

            # --- the operator board: every next stop named, the drone base's freight pickup too
            board = browser.new_page(viewport={"width": 1366, "height": 768}, locale="ja-JP")
            board.set_default_timeout(10_000)
            board.goto(base + "/operator")
            board.fill("#login-user", "ina-demo-operator")
            board.fill("#login-pass", DEMO_PASSWORD)
            board.click("#login-submit")
            board.click("#tab-board")
            pickup = board.locator(f'li[data-ride="{freight.id}"][data-kind="pickup"] .where')
            expect(pickup).to_have_text(base_name)
            expect(board.locator(f'li[data-ride="{ride.id}"][data-kind="pickup"] .where')).to_have_text(
                "伊那中央病院"
            )
            wheres = board.locator("#board-view li[data-ride] .where").all_inner_texts()
            assert wheres and all(w.strip() for w in wheres) and "自宅など" not in wheres, wheres
            shot(board, FOLDER, "board-drone-base")

            # --- the driver: the home's address, a navigation link for Android and iOS
            with Session(ctx.engine) as s:
                vehicle = s.get_one(Vehicle, ride.vehicle_id)
                freight_vehicle = s.get_one(Vehicle, freight.vehicle_id)
            company = next(v["operator"] for v in opc.get("/api/v1/vehicles").json() if v["id"] == vehicle.id)
            driver = _signed_in_driver(browser, base, vehicle, company)
            drop = driver.locator(f'[data-id="stop-{ride.id}-dropoff"]')
            expect(drop).to_contain_text(f"自宅　{address}")
            expect(driver.locator("#next")).to_have_attribute("data-ride", str(ride.id))
            expect(driver.locator('[data-id="next-place"]')).to_have_text("伊那中央病院")
            nav = driver.locator('#next [data-id="map"]').get_attribute("href") or ""
            assert nav.startswith(
                "https://www.google.com/maps/dir/?api=1&destination=35.844800,137.962900"
            ), nav
            assert "自宅など" not in driver.locator("body").inner_text()
            shot(driver, FOLDER, "driver-address-and-navigation")
            if freight_vehicle.id != vehicle.id:  # the freight job's vehicle, maybe another company
                company = next(
                    v["operator"] for v in opc.get("/api/v1/vehicles").json() if v["id"] == freight_vehicle.id
                )
                driver = _signed_in_driver(browser, base, freight_vehicle, company)
            expect(driver.locator(f'[data-id="stop-{freight.id}-pickup"]')).to_contain_text(base_name)
            shot(driver, FOLDER, "driver-drone-base")
            # the address goes to the drivers who go there, not to the board
            board_rows = opc.get("/api/v1/board").json()["vehicles"]
            assert all(s["address"] is None for v in board_rows for s in v["next_stops"])
            fleet = opc.get("/api/v1/vehicles").json()
            own = next(v["operator"] for v in fleet if v["id"] == vehicle.id)
            other = next(v["operator"] for v in fleet if v["operator"] != own)
            tok = httpx.post(
                base + "/api/v1/auth/token",
                data={"username": f"ina-demo-driver-{other}", "password": DEMO_PASSWORD},
            ).json()["access_token"]
            theirs = httpx.get(
                f"{base}/api/v1/vehicles/{vehicle.id}/manifest", headers={"Authorization": f"Bearer {tok}"}
            )
            assert theirs.status_code == 403 and address not in theirs.text
        finally:
            browser.close()

    # --- noriai plan show: the drone base by name, no raw coordinates
    from api import cli

    monkeypatch.setattr(cli, "_ctx", lambda settings: ctx)
    assert cli.cmd_plan_show(argparse.Namespace(tenant="ina-demo", date=None, json=False), None) == 0  # type: ignore[arg-type]
    shown = capsys.readouterr().out
    line = next(ln for ln in shown.splitlines() if f"ride {freight.id} " in ln and "pickup" in ln)
    assert line.rstrip().endswith(base_name), line
    assert f"{rider.family_name} {rider.given_name}さん" in shown
    assert f"{cfg.drones.base.lat:.4f}" not in shown
