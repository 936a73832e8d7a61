"""Issue 8, acceptance 4: reminders on the TV page (Debian's Chromium, 1280x720, remote keys only).
A medication reminder and the day's rubbish reminder appear over whatever is on the screen, other
keys wait, Enter dismisses each; a ride booked ahead is announced 15 minutes before its pickup."""

from __future__ import annotations

from datetime import timedelta

import httpx
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import ReminderAck, Ride
from dispatcher.platform.demo import DEMO_PASSWORD
from tests.conftest import DAY_START
from tests.live import RequestLog, Server, launch, shot, text_styles
from tests.test_tv_page import _pick_household


def test_reminders_appear_on_the_tv_and_go_with_enter(sqlite_ctx: Dispatcher, clock: SimClock) -> None:
    ctx = sqlite_ctx
    hh, people = _pick_household(ctx)
    clock.set(DAY_START.replace(hour=8, minute=30))  # a Tuesday
    with Server(ctx) as base, sync_playwright() as pw:
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "ina-demo-operator", "password": DEMO_PASSWORD}
        ).json()
        op = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token['access_token']}"})
        box = httpx.post(f"{base}/api/v1/tv/devices", json={}).json()
        assert (
            op.post("/api/v1/devices/pair", json={"code": box["code"], "household_id": hh}).status_code == 200
        )
        r = op.post(
            f"/api/v1/households/{hh}/reminders",
            json={"text": "燃えるゴミの日です", "kind": "rubbish", "days": ["tue", "fri"]},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "at_time"
        r = op.post(
            f"/api/v1/households/{hh}/reminders",
            json={
                "text": "燃えるゴミの日です。8時半までに出しましょう。",
                "kind": "rubbish",
                "days": ["tue", "fri"],
                "at_time": "07:00",
            },
        )
        assert r.status_code == 201
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.add_init_script(f"localStorage.setItem('noriai.device', {box['token']!r})")
        log = RequestLog(page)
        page.goto(f"{base}/tv")
        reminder = page.locator("#reminder")
        expect(reminder).to_be_visible()  # the day's rubbish reminder covers the screen at start
        expect(page.locator("#reminder-text")).to_have_text("燃えるゴミの日です。8時半までに出しましょう。")
        styles = [s for s in text_styles(page) if s["text"]]
        assert all(s["ratio"] >= 4.5 and s["size"] >= 32 for s in styles), styles
        shot(page, "tv", "reminder-rubbish")

        # Other keys wait while a reminder is up; Enter dismisses it.
        page.keyboard.press("F1")
        page.keyboard.press("ArrowDown")
        expect(reminder).to_be_visible()
        page.keyboard.press("Enter")
        expect(reminder).to_be_hidden()
        expect(page.locator('[data-id="menu-ride"]')).to_be_focused()  # nothing happened behind it

        # A medication reminder set by the operator for now shows within the poll.
        r = op.post(
            f"/api/v1/households/{hh}/reminders",
            json={
                "text": "お昼のお薬を飲みましょう",
                "kind": "medication",
                "once_at": clock.now().isoformat(),
            },
        )
        assert r.status_code == 201
        page.evaluate("() => window.noriaiTV.pollReminders()")
        expect(page.locator("#reminder-text")).to_have_text("お昼のお薬を飲みましょう")
        page.keyboard.press("Enter")
        expect(reminder).to_be_hidden()

        # A ride booked by phone for later: 15 minutes before its pickup the TV reminds.
        rider = people[0]
        ride = op.post(
            "/api/v1/rides",
            headers={"Idempotency-Key": "reminder-ride"},
            json={
                "resident_id": rider.id,
                "origin": {"lat": rider.lat, "lon": rider.lon},
                "destination": {"place_id": rider.favourite_places[0]},
                "pickup_after": (clock.now() + timedelta(hours=2)).isoformat(),
            },
        )
        assert ride.status_code == 201, ride.text
        with Session(ctx.engine) as s:
            planned = s.get(Ride, ride.json()["id"]).planned_pickup
        clock.set(planned - timedelta(minutes=14))
        page.evaluate("() => window.noriaiTV.pollReminders()")
        expect(page.locator("#reminder-text")).to_contain_text(
            f"{planned.astimezone(DAY_START.tzinfo):%H:%M}ごろにタクシーが来ます"
        )
        shot(page, "tv", "reminder-ride")
        page.keyboard.press("Enter")
        expect(reminder).to_be_hidden()
        # the taxi is running late: planned times move, the dismissed reminder does not come back
        vehicle = next(v for v in op.get("/api/v1/vehicles").json() if v["id"] == ride.json()["vehicle_id"])
        driver_token = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": f"ina-demo-driver-{vehicle['operator']}", "password": DEMO_PASSWORD},
        ).json()["access_token"]
        delay = httpx.post(
            f"{base}/api/v1/vehicles/{vehicle['id']}/events",
            json={"type": "delay", "minutes": 4},
            headers={"Authorization": f"Bearer {driver_token}"},
        )
        assert delay.status_code == 200, delay.text
        with Session(ctx.engine) as s:
            assert s.get(Ride, ride.json()["id"]).planned_pickup != planned
        mine = httpx.get(
            f"{base}/api/v1/me/reminders", headers={"Authorization": f"Bearer {box['token']}"}
        ).json()
        assert mine == []
        page.evaluate("() => window.noriaiTV.pollReminders()")
        page.wait_for_timeout(500)
        expect(reminder).to_be_hidden()  # dismissed ones stay away
        assert not log.outside(base)
        browser.close()
    with Session(ctx.engine) as s:
        keys = sorted(a.key.split(":")[0] for a in s.exec(select(ReminderAck)))
    assert keys == ["reminder", "reminder", "ride"]


def test_automatic_reminders_evening_before_and_groceries_at_the_hall(
    sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    """Without any setting: at 19:00 the evening before a ride booked ahead, and when the
    household's groceries reach the community hall."""
    from dispatcher.care.reminders import due
    from dispatcher.models import Household, ShopOrder
    from dispatcher.shopping.delivery import plan_delivery
    from tests.conftest import client_for, token_headers
    from tests.test_delivery import fly, place_orders

    ctx = sqlite_ctx
    hh, people = _pick_household(ctx)
    tomorrow = DAY_START + timedelta(days=1)
    with Session(ctx.engine) as s:  # a ride for tomorrow, booked this morning (a tenant booking ahead)
        ride = Ride(
            tenant_id="ina-demo",
            resident_id=people[0].id,
            service_date=tomorrow.date(),
            status="confirmed",
            origin_lat=people[0].lat,
            origin_lon=people[0].lon,
            destination_lat=35.8448,
            destination_lon=137.9629,
            pickup_window_start=tomorrow.replace(hour=9),
            pickup_window_end=tomorrow.replace(hour=9, minute=15),
            planned_pickup=tomorrow.replace(hour=9, minute=5),
            idempotency_key="ahead",
            request_hash="x",
            created_at=DAY_START,
        )
        s.add(ride)
        s.commit()
        s.refresh(ride)
    clock.set(DAY_START.replace(hour=18, minute=59))
    assert not [r for r in due(ctx, "ina-demo", hh) if r["key"].startswith("ride:")]
    clock.set(DAY_START.replace(hour=19, minute=1))
    (eve,) = [r for r in due(ctx, "ina-demo", hh) if r["key"] == f"ride:{ride.id}:eve"]
    assert "あした 11月25日 09:05ごろ" in eve["text"] and people[0].given_name in eve["text"]

    # groceries: the day's flights land; a household whose order is at its hall is told
    with client_for(ctx) as client:
        operator = token_headers(client, "ina-demo-operator")
        clock.set(DAY_START.replace(hour=9))
        place_orders(client, operator, ctx, 12, seed=7)
        clock.set(DAY_START.replace(hour=11, minute=5))
        plan_delivery(ctx, "ina-demo", DAY_START.date())
        for sel in ctx.config("ina-demo").shopping.sellers:
            client.post(
                "/api/v1/picklists/ready", json={}, headers=token_headers(client, f"ina-demo-seller-{sel.id}")
            )
        drone = token_headers(client, "ina-demo-drone")
        clock.set(DAY_START.replace(hour=12))
        first = client.get("/api/v1/flights", headers=drone).json()[0]
        fly(client, clock, first, drone, minutes_per_hall=10)
    with Session(ctx.engine) as s:
        landed = s.exec(select(ShopOrder).where(ShopOrder.status == "at_hall")).first()
        assert landed is not None
        hall = s.get(Household, landed.household_id).hall_id
    hall_name = ctx.config("ina-demo").place(hall).name
    groceries = [r for r in due(ctx, "ina-demo", landed.household_id) if r["key"].startswith("order:")]
    assert groceries and all(f"お買い物が{hall_name}に届きました" in r["text"] for r in groceries)
    assert (
        not [r for r in due(ctx, "ina-demo", hh) if r["key"] == f"order:{landed.id}:hall"]
        or hh == landed.household_id
    )
