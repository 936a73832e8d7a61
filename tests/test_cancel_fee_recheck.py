"""A cancellation fee is charged only as it was shown (issue 20, "Fees are announced before they are
incurred"): every page sends the fee its confirmation step showed (`expected_fee_yen`); when the
fee due at the press differs (the late-cancellation cut-off passed while the confirmation was open),
the server refuses with 409 `ride.fee_changed` naming the new fee, and nothing is cancelled or
billed. The API on SQLite and PostgreSQL; the phone page, the TV and the operator console in
Debian's Chromium, the simulated clock moved between opening the confirmation and pressing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session, select

from dispatcher.billing.statements import running_total
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event, Resident, Ride
from tests.conftest import DAY_START
from tests.live import Server, launch, shot
from tests.test_api_rides import eligible_resident, post_ride, ride_body
from tests.test_fare_rule import _book, _open_resident, _operator_page, _phone, _riders, _staff, _tv, _tv_ride
from tests.test_tenants import two_towns

PIN = "2580"


def _cancel_events(ctx: Dispatcher, ride_id: int) -> int:
    with Session(ctx.engine) as s:
        return len(
            s.exec(
                select(Event).where(
                    Event.entity == "ride", Event.entity_id == str(ride_id), Event.kind == "ride.cancelled"
                )
            ).all()
        )


def _late_fees(ctx: Dispatcher, household_id: int) -> list[int]:
    lines = running_total(ctx, "ina-demo", household_id)["lines"]
    return [ln["amount_yen"] for ln in lines if ln["kind"] == "late_cancel"]


def _household(ctx: Dispatcher, resident_id: int) -> int:
    with Session(ctx.engine) as s:
        r = s.get(Resident, resident_id)
        assert r is not None and r.household_id is not None
        return r.household_id


def test_a_fee_that_changed_since_the_confirmation_refuses_the_cancellation(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher, clock: SimClock
) -> None:
    cfg = ctx.config("ina-demo")
    assert cfg.billing.late_cancel_charge == "fare" and cfg.billing.late_cancel_minutes == 30
    staff_rider = eligible_resident(ctx, offset=0)
    home_rider = next(  # of another household: each household's bill tells its own fee
        rid
        for i in range(1, 20)
        if _household(ctx, rid := eligible_resident(ctx, offset=i)) != _household(ctx, staff_rider)
    )
    # both pickup windows open at 09:00: a cancellation is late from 08:30 on
    a = post_ride(client, operator, ride_body(staff_rider)).json()
    b = post_ride(client, operator, ride_body(home_rider, origin={"place_id": "hall-misuzu"})).json()
    assert a["pickup_window"]["start"].endswith("T09:00:00+09:00"), a
    assert b["pickup_window"]["start"].endswith("T09:00:00+09:00"), b
    fare = a["fare_yen"]
    assert fare > 0

    clock.set(DAY_START + timedelta(minutes=25))  # 08:25: the confirmation opens, free
    shown = client.get(f"/api/v1/rides/{a['id']}", headers=operator).json()
    assert shown["cancel_fee_yen"] == 0
    clock.set(DAY_START + timedelta(minutes=31))  # 08:31: the cut-off passed before the press

    # Operator console: refused with the new fee; nothing cancelled, nothing billed.
    r = client.post(
        f"/api/v1/rides/{a['id']}/cancel",
        json={"reason": "本人から電話", "expected_fee_yen": shown["cancel_fee_yen"]},
        headers=operator,
    )
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    assert p["code"] == "ride.fee_changed" and p["type"].endswith("/ride.fee_changed")
    assert p["cancel_fee_yen"] == fare and f"取消し料 {fare:,}円" in p["cancel_fee_text"]
    assert p["message_ja"].startswith("取消し料が変わりました") and f"取消し料 {fare:,}円" in p["message_ja"]
    assert client.get(f"/api/v1/rides/{a['id']}", headers=operator).json()["status"] == "confirmed"
    assert _cancel_events(ctx, a["id"]) == 0
    assert _late_fees(ctx, _household(ctx, staff_rider)) == []
    stops = client.get(f"/api/v1/vehicles/{a['vehicle_id']}/manifest", headers=operator).json()["stops"]
    assert a["id"] in {s["ride_id"] for s in stops}  # still in the plan

    # Asked again with the fee now shown: cancelled, and billed as announced.
    r = client.post(
        f"/api/v1/rides/{a['id']}/cancel",
        json={"reason": "本人から電話", "expected_fee_yen": fare},
        headers=operator,
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    assert _late_fees(ctx, _household(ctx, staff_rider)) == [fare]

    # The resident's phone (and TV) endpoint: the same refusal, worded for residents.
    assert (
        client.put(f"/api/v1/residents/{home_rider}/pin", json={"pin": PIN}, headers=operator).status_code
        == 204
    )
    session = client.post(
        "/api/v1/m/session", json={"resident_id": home_rider, "pin": PIN, "tenant_id": "ina-demo"}
    )
    assert session.status_code == 200, session.text
    phone = {"Authorization": f"Bearer {session.json()['access_token']}"}
    card = next(
        x for x in client.get("/api/v1/me/rides", headers=phone).json()["rides"] if x["id"] == b["id"]
    )
    assert card["cancel_fee_yen"] == fare  # what the confirmation shows now
    r = client.post(f"/api/v1/me/rides/{b['id']}/cancel", json={"expected_fee_yen": 0}, headers=phone)
    assert r.status_code == 409, r.text
    p = r.json()
    assert p["code"] == "ride.fee_changed" and p["cancel_fee_yen"] == fare
    assert f"取消し料 {fare:,}円" in p["detail"] and "はい、取り消す" in p["detail"]
    assert _cancel_events(ctx, b["id"]) == 0
    r = client.post(f"/api/v1/me/rides/{b['id']}/cancel", json={"expected_fee_yen": fare}, headers=phone)
    assert r.status_code == 200, r.text
    assert _late_fees(ctx, _household(ctx, home_rider)) == [fare]

    # A client that sends no fee (older ones) is not checked; a negative fee is no fee.
    c = post_ride(
        client,
        operator,
        ride_body(eligible_resident(ctx, offset=2), pickup_after="2026-11-24T10:00:00+09:00"),
    ).json()
    bad = client.post(f"/api/v1/rides/{c['id']}/cancel", json={"expected_fee_yen": -1}, headers=operator)
    assert bad.status_code == 422
    assert client.post(f"/api/v1/rides/{c['id']}/cancel", headers=operator).status_code == 200


@pytest.fixture
def towns(sqlite_url: str, clock: SimClock) -> Iterator[Dispatcher]:
    c = two_towns(sqlite_url, clock, ina=40, yasuoka=30)
    yield c
    c.engine.dispose()


def _still_confirmed(ctx: Dispatcher, ride_id: int) -> None:
    with Session(ctx.engine) as s:
        row = s.get(Ride, ride_id)
        assert row is not None and row.status == "confirmed"


def test_every_page_shows_the_new_fee_when_the_cut_off_passes_during_the_confirmation(
    towns: Dispatcher, clock: SimClock
) -> None:
    """The phone, the TV and the operator console each open a cancellation's confirmation while it
    is free; the cut-off passes; the press is refused, the page shows the fee and asks again; the
    second press cancels, and the bill holds the fee shown (none where the operator waived it)."""
    ctx = towns
    tenant = "ina-demo"
    a, b, c = _riders(ctx, tenant, 3)
    assert a.household_id is not None and b.household_id is not None and c.household_id is not None
    with Server(ctx) as base, sync_playwright() as pw:
        op = _staff(base, f"{tenant}-operator")
        rides = [_book(op, r, 40, f"recheck-{uuid.uuid4()}", clock) for r in (a, b, c)]
        ra, rb, rc = rides
        assert all(r["fare_yen"] > 0 for r in rides)
        # past the 5 free minutes after booking, still before the cut-off (30 minutes before the window)
        clock.set(clock.now() + timedelta(minutes=6))
        browser = launch(pw)
        try:

            def fee_read(page: Page, path: str) -> Any:
                return page.expect_response(
                    lambda res: res.url.endswith(path) and res.request.method == "GET"
                )

            # All three confirmations open while the cancellation is free.
            phone = _phone(browser, base, op, tenant, a)
            with fee_read(phone, "/api/v1/me/rides"):
                phone.locator(f'[data-id="ride-{ra["id"]}"]').get_by_role(
                    "button", name="この予約を取り消す"
                ).click()
            expect(phone.locator("#cancel-fee")).to_be_hidden()
            shot(phone, "fares", "recheck-1-phone-free")

            tv = _tv(browser, base, op, tenant, b.household_id)
            _tv_ride(tv, rb["id"])
            tv.locator('[data-id="ride-cancel"]').focus()
            with fee_read(tv, "/api/v1/me/rides"):
                tv.keyboard.press("Enter")
            expect(tv.locator("#cancel-fee")).to_be_hidden()

            console = _operator_page(browser, base, tenant)
            _open_resident(console, c)
            with fee_read(console, f"/api/v1/rides/{rc['id']}"):
                console.click(f'[data-id="cancel-{rc["id"]}"]')
            row = console.locator(f'[data-id="ride-{rc["id"]}"]')
            expect(row.locator('[data-id="cancel-fee"]')).to_be_hidden()
            row.locator("input.reason").fill("本人から電話")

            # They read slowly: the cut-off passes before the press.
            clock.set(clock.now() + timedelta(minutes=10))
            assert all(
                op.get(f"/api/v1/rides/{r['id']}").json()["cancel_fee_yen"] == r["fare_yen"] for r in rides
            )

            # Phone: refused; the new fee is shown and the resident is asked again.
            fee = ra["fare_yen"]
            phone.locator('[data-id="yes"]').focus()
            phone.keyboard.press("Enter")
            expect(phone.locator("#cancel-error")).to_contain_text("取消し料が変わりました")
            # the keyboard leaves はい for いいえ: one more Enter does not cancel at the new fee
            expect(phone.locator('[data-id="no"]')).to_be_focused()
            expect(phone.locator("#cancel-error")).to_contain_text(f"取消し料 {fee:,}円")
            expect(phone.locator("#cancel-fee")).to_contain_text(f"取消し料 {fee:,}円")
            expect(phone.locator('[data-id="yes"]')).to_be_enabled()
            shot(phone, "fares", "recheck-2-phone-new-fee")
            _still_confirmed(ctx, ra["id"])
            assert _late_fees(ctx, a.household_id) == []
            phone.locator('[data-id="yes"]').click()
            expect(phone.locator("#flash")).to_contain_text("取り消しました")
            assert _late_fees(ctx, a.household_id) == [fee]

            # TV: the same, with the remote.
            fee = rb["fare_yen"]
            tv.locator('[data-id="yes"]').focus()
            tv.keyboard.press("Enter")
            expect(tv.locator("#cancel-said")).to_contain_text("取消し料が変わりました")
            expect(tv.locator("#cancel-said")).to_contain_text(f"取消し料 {fee:,}円")
            expect(tv.locator("#cancel-fee")).to_be_hidden()  # the new fee said once
            expect(tv.locator('[data-id="no"]')).to_be_focused()  # off はい: one more 決定 is いいえ
            shot(tv, "fares", "recheck-3-tv-new-fee")
            _still_confirmed(ctx, rb["id"])
            assert _late_fees(ctx, b.household_id) == []
            tv.keyboard.press("ArrowRight")  # asked again, the resident chooses はい
            expect(tv.locator('[data-id="yes"]')).to_be_focused()
            tv.keyboard.press("Enter")
            expect(tv.locator("h1")).to_contain_text("取り消しました")
            assert _late_fees(ctx, b.household_id) == [fee]

            # Operator console: the fee appears with the waiver; the operator cancels with it billed.
            fee = rc["fare_yen"]
            console.focus('[data-id="cancel-confirm"]')
            console.keyboard.press("Enter")
            expect(row.locator("p.error")).to_contain_text("取消し料が変わりました")
            expect(console.locator('[data-id="cancel-confirm"]')).to_be_focused()
            expect(row.locator('[data-id="cancel-fee"]')).to_contain_text(f"取消し料 {fee:,}円")
            expect(row.locator('[data-id="waive-fee"]')).to_be_visible()
            shot(console, "fares", "recheck-4-console-new-fee")
            _still_confirmed(ctx, rc["id"])
            assert _late_fees(ctx, c.household_id) == []
            console.click('[data-id="cancel-confirm"]')
            expect(console.locator("#toast")).to_contain_text(f"取消し料 {fee:,}円 は月末の請求に入ります")
            assert _late_fees(ctx, c.household_id) == [fee]
        finally:
            browser.close()
