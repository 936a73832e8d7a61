"""A cancelled ride tells what its cancellation cost (issue 20, "Every screen tells the truth",
walk findings 3, 4, 9, 22): the ride views give `cancel_outcome` (charged / waived / free) and
`cancelled_fee_yen` from the cancellation event the monthly statement reads, and `fare_text` says
「取消し料 500円（…）」, 「取消し料は免除されました」 or 「取消し料はかかりません」 in place of the fare.
A resident who presses 取り消す on a ride the operator already cancelled is told so. The API on
SQLite and PostgreSQL; the phone page, the TV and the operator console in Debian's Chromium."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session, col, select

from dispatcher.billing.statements import running_total
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event, Resident, Vehicle
from tests.conftest import DAY_START
from tests.live import Server, launch, shot
from tests.test_api_rides import eligible_resident, post_ride, ride_body
from tests.test_cancel_fee_recheck import PIN, _household, _late_fees
from tests.test_fare_rule import _book, _open_resident, _operator_page, _phone, _riders, _staff, _tv, _tv_ride
from tests.test_fare_rule import towns as towns  # noqa: F401  (the two-town fixture)

FOLDER = "cancelled-fee"


def test_ride_views_tell_charged_waived_and_free_cancellations_apart(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher, clock: SimClock
) -> None:
    riders = [eligible_resident(ctx, offset=0)]
    riders += [
        rid
        for i in range(1, 30)
        if _household(ctx, rid := eligible_resident(ctx, offset=i))
        not in {_household(ctx, x) for x in riders}
    ][:2]
    free, charged, waived = (
        post_ride(client, operator, ride_body(rid, origin={"place_id": p})).json()
        for rid, p in zip(riders, ("hall-tera", "hall-misuzu", "hall-hase"), strict=True)
    )
    fare = charged["fare_yen"]
    assert fare > 0 and charged["cancel_outcome"] is None and charged["cancelled_fee_yen"] is None
    # 08:00: an hour before the window, free
    r = client.post(f"/api/v1/rides/{free['id']}/cancel", json={"reason": "本人から電話"}, headers=operator)
    assert r.status_code == 200, r.text
    clock.set(DAY_START + timedelta(minutes=31))  # 08:31: late, the fare is due
    r = client.post(
        f"/api/v1/rides/{charged['id']}/cancel",
        json={"reason": "本人から電話", "expected_fee_yen": fare},
        headers=operator,
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/rides/{waived['id']}/cancel",
        json={"reason": "車両の故障", "fee_waived": True, "expected_fee_yen": fare},
        headers=operator,
    )
    assert r.status_code == 200, r.text
    # the statement and the views agree
    assert _late_fees(ctx, _household(ctx, riders[1])) == [fare]
    assert _late_fees(ctx, _household(ctx, riders[2])) == []

    listed = {x["id"]: x for x in client.get("/api/v1/rides?date=2026-11-24", headers=operator).json()}
    one = client.get(f"/api/v1/rides/{charged['id']}", headers=operator).json()
    assert one["cancel_outcome"] == "charged" and one["cancelled_fee_yen"] == fare
    got = {
        k: (listed[x["id"]]["cancel_outcome"], listed[x["id"]]["cancelled_fee_yen"])
        for k, x in (("free", free), ("charged", charged), ("waived", waived))
    }
    assert got == {"free": ("free", 0), "charged": ("charged", fare), "waived": ("waived", 0)}
    texts = {
        k: listed[x["id"]]["fare_text"] for k, x in (("free", free), ("charged", charged), ("waived", waived))
    }
    assert texts["charged"].startswith(f"取消し料 {fare:,}円（月末に"), texts
    assert texts["waived"] == "取消し料は免除されました"
    assert texts["free"] == "取消し料はかかりません"
    assert not any(t.startswith("料金") for t in texts.values()), texts  # not the fare

    # The resident's phone: the card says the same; cancelling again says it is already cancelled.
    assert (
        client.put(f"/api/v1/residents/{riders[1]}/pin", json={"pin": PIN}, headers=operator).status_code
        == 204
    )
    session = client.post(
        "/api/v1/m/session", json={"resident_id": riders[1], "pin": PIN, "tenant_id": "ina-demo"}
    )
    phone = {"Authorization": f"Bearer {session.json()['access_token']}"}
    card = next(
        x for x in client.get("/api/v1/me/rides", headers=phone).json()["rides"] if x["id"] == charged["id"]
    )
    assert card["cancel_outcome"] == "charged" and card["fare_text"] == texts["charged"]
    r = client.post(f"/api/v1/me/rides/{charged['id']}/cancel", json={"expected_fee_yen": 0}, headers=phone)
    assert r.status_code == 409 and r.json()["ride_status"] == "cancelled", r.text
    assert r.json()["detail"].startswith("このご予約はすでに取り消されています。"), r.text


def test_an_operator_waives_a_charged_fee_afterwards(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher, clock: SimClock
) -> None:
    """Finding 4: the resident cancelled late on the phone; the operator waives the fee afterwards,
    with a reason: a credit of the fee on this month's statement and a ride.fee_waived event."""
    rider = eligible_resident(ctx, offset=0)
    hh = _household(ctx, rider)
    free, late = (
        post_ride(client, operator, ride_body(rider, pickup_after=f"2026-11-24T{t}:00+09:00")).json()
        for t in ("09:00", "11:00")
    )
    fare = free["fare_yen"]
    assert (
        client.put(f"/api/v1/residents/{rider}/pin", json={"pin": PIN}, headers=operator).status_code == 204
    )
    session = client.post(
        "/api/v1/m/session", json={"resident_id": rider, "pin": PIN, "tenant_id": "ina-demo"}
    )
    phone = {"Authorization": f"Bearer {session.json()['access_token']}"}
    # 08:00: the 09:00 ride cancelled in time (free); 10:31: the 11:00 one, late
    r = client.post(f"/api/v1/me/rides/{free['id']}/cancel", json={"expected_fee_yen": 0}, headers=phone)
    assert r.status_code == 200, r.text
    clock.set(DAY_START + timedelta(hours=2, minutes=31))
    r = client.post(f"/api/v1/me/rides/{late['id']}/cancel", json={"expected_fee_yen": fare}, headers=phone)
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/rides/{late['id']}", headers=operator).json()["cancel_outcome"] == "charged"

    url = f"/api/v1/rides/{late['id']}/waive-fee"
    assert client.post(url, json={"reason": ""}, headers=operator).status_code == 422
    r = client.post(url, json={"reason": "道路の通行止めで迎えに行けなかった"}, headers=operator)
    assert r.status_code == 200, r.text
    assert (r.json()["cancel_outcome"], r.json()["cancelled_fee_yen"]) == ("waived", 0)
    assert r.json()["fare_text"] == "取消し料は免除されました"
    lines = running_total(ctx, "ina-demo", hh)["lines"]
    assert [ln["amount_yen"] for ln in lines if ln["kind"] == "late_cancel"] == [fare]
    credit = [ln for ln in lines if ln["kind"] == "adjustment"]
    assert [ln["amount_yen"] for ln in credit] == [-fare] and "道路の通行止め" in credit[0]["text"]
    with Session(ctx.engine) as s:
        ev = s.exec(
            select(Event).where(Event.entity_id == str(late["id"]), Event.kind == "ride.fee_waived")
        ).one()
    assert ev.actor == "user:ina-demo-operator" and ev.after is not None and ev.after["fee_yen"] == fare
    card = next(
        x for x in client.get("/api/v1/me/rides", headers=phone).json()["rides"] if x["id"] == late["id"]
    )
    assert card["fare_text"] == "取消し料は免除されました"

    # nothing left to waive: waived already, cancelled in time, not cancelled
    for ride_id in (late["id"], free["id"]):
        again = client.post(
            f"/api/v1/rides/{ride_id}/waive-fee", json={"reason": "もう一度"}, headers=operator
        )
        assert again.status_code == 409 and again.json()["code"] == "ride.fee_not_due", again.text
        assert again.json()["message_ja"].startswith("この予約には、免除する取消し料がありません")
    assert [
        ln["amount_yen"] for ln in running_total(ctx, "ina-demo", hh)["lines"] if ln["kind"] == "adjustment"
    ] == [-fare]


def test_pages_say_what_a_cancellation_cost(towns: Dispatcher, clock: SimClock) -> None:
    ctx, tenant = towns, "ina-demo"
    a, b, d = _riders(ctx, tenant, 3)
    assert a.household_id is not None
    with Server(ctx) as base, sync_playwright() as pw:
        op = _staff(base, f"{tenant}-operator")
        ride_a = _book(op, a, 40, "cv-a", clock)
        ride_b = _book(op, b, 40, "cv-b", clock)
        ride_d = _book(op, d, 120, "cv-d", clock)
        fee = ride_a["fare_yen"]
        assert fee > 0
        clock.set(clock.now() + timedelta(minutes=15))  # a and b are late now; d is not
        browser = launch(pw)
        try:
            # TV: the cancellation's result states the fee; the ride then shows it, not the fare.
            tv = _tv(browser, base, op, tenant, a.household_id)
            _tv_ride(tv, ride_a["id"])
            tv.locator('[data-id="ride-cancel"]').focus()
            tv.keyboard.press("Enter")
            expect(tv.locator("#cancel-fee")).to_contain_text(f"取消し料 {fee:,}円")
            tv.locator('[data-id="yes"]').focus()
            tv.keyboard.press("Enter")
            expect(tv.locator("#screen")).to_contain_text("取り消しました")
            expect(tv.locator("#screen")).to_contain_text(f"取消し料 {fee:,}円（月末に")
            shot(tv, FOLDER, "1-tv-cancelled")
            tv.reload()
            expect(tv.locator('[data-id="menu-mine"]')).to_be_visible()
            _tv_ride(tv, ride_a["id"])
            expect(tv.locator("#ride-fare")).to_have_text(
                f"取消し料 {fee:,}円（月末にケーブルテレビ料金と一緒に請求します）"
            )

            # Phone: a ride the operator cancelled with the fee waived says so.
            r = op.post(
                f"/api/v1/rides/{ride_b['id']}/cancel",
                json={"reason": "車両の故障", "fee_waived": True, "expected_fee_yen": ride_b["fare_yen"]},
            )
            assert r.status_code == 200, r.text
            phone_b = _phone(browser, base, op, tenant, b)
            card = phone_b.locator(f'[data-id="ride-{ride_b["id"]}"]')
            expect(card.locator(".fare")).to_have_text("取消し料は免除されました")
            expect(card).not_to_contain_text("料金 ")
            shot(phone_b, FOLDER, "2-phone-waived")

            # Phone: the operator cancels while the resident's confirmation is open.
            phone = _phone(browser, base, op, tenant, d)
            phone.locator(f'[data-id="ride-{ride_d["id"]}"]').get_by_role(
                "button", name="この予約を取り消す"
            ).click()
            expect(phone.locator('[data-id="yes"]')).to_be_visible()
            assert (
                op.post(f"/api/v1/rides/{ride_d['id']}/cancel", json={"reason": "本人から電話"}).status_code
                == 200
            )
            phone.locator('[data-id="yes"]').click()
            expect(phone.locator("#flash")).to_contain_text("このご予約はすでに取り消されています")
            card = phone.locator(f'[data-id="ride-{ride_d["id"]}"]')
            expect(card.locator('[data-id="status"]')).to_have_text("取り消しました")
            expect(card.locator(".fare")).to_have_text("取消し料はかかりません")
            shot(phone, FOLDER, "3-phone-already-cancelled")

            # Operator console: charged, waived and free cancellations read differently.
            page = _operator_page(browser, base, tenant)
            for who, ride, said in (
                (a, ride_a, f"取消し料 {fee:,}円（請求）"),
                (b, ride_b, "取消し料 免除"),
                (d, ride_d, "取消し料なし"),
            ):
                _open_resident(page, who)
                expect(page.locator(f'[data-id="ride-{ride["id"]}"] .row-info')).to_contain_text(said)
            shot(page, FOLDER, "4-operator-free")

            # The resident cancelled on the TV, late: the operator waives the fee afterwards.
            _open_resident(page, a)
            row = page.locator(f'[data-id="ride-{ride_a["id"]}"]')
            expect(page.locator(f'[data-id="waive-{ride_b["id"]}"]')).to_have_count(0)  # b: waived already
            row.locator(f'[data-id="waive-{ride_a["id"]}"]').click()
            row.locator('[data-id="waive-confirm"]').click()
            expect(row.get_by_role("alert")).to_contain_text("理由を入れてください")
            row.locator("input.reason").fill("車が故障して迎えが遅れるところだった")
            shot(page, FOLDER, "5-operator-waive")
            row.locator('[data-id="waive-confirm"]').click()
            expect(page.locator("#toast")).to_contain_text(f"取消し料 {fee:,}円 を免除しました")
            expect(row.locator(".row-info")).to_contain_text("取消し料 免除")
            expect(row.locator(f'[data-id="waive-{ride_a["id"]}"]')).to_have_count(0)
            lines = running_total(ctx, tenant, a.household_id)["lines"]
            assert sum(ln["amount_yen"] for ln in lines if ln["kind"] in ("late_cancel", "adjustment")) == 0
        finally:
            browser.close()


def test_tv_alternatives_to_a_full_arrival_say_pickup_and_arrival(towns: Dispatcher, clock: SimClock) -> None:
    """Finding 7: asked to arrive at 10:30 when the taxi is full, the TV's choices are pickup times:
    each says 迎え and 着, and the confirmation of one that arrives later says by how much."""
    ctx, tenant = towns, "ina-demo"
    with Session(ctx.engine) as s:  # one vehicle on duty: it fills up quickly
        for v in s.exec(select(Vehicle).where(Vehicle.tenant_id == tenant).order_by(col(Vehicle.id))).all()[
            1:
        ]:
            v.active = False
            s.add(v)
        s.commit()
        others = s.exec(select(Resident).where(Resident.tenant_id == tenant).order_by(col(Resident.id))).all()
    rider = _riders(ctx, tenant, 1)[0]
    assert rider.household_id is not None
    mine = {
        "resident_id": rider.id,
        "origin": {"lat": rider.lat, "lon": rider.lon},
        "destination": {"place_id": rider.favourite_places[0]},
        "arrive_by": "2026-11-24T10:30:00+09:00",
    }
    with Server(ctx) as base, sync_playwright() as pw:
        op = _staff(base, f"{tenant}-operator")
        for r in (x for x in others if x.household_id != rider.household_id):
            if not op.post("/api/v1/rides/quote", json=mine).json()["available"]:
                break
            body = {**mine, "resident_id": r.id, "party_size": 1}
            op.post("/api/v1/rides", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        quote = op.post("/api/v1/rides/quote", json=mine).json()
        assert not quote["available"], "the single vehicle should be full"
        alts = quote["alternatives"]
        late = next(i for i, a in enumerate(alts) if a["latest_arrival"] > mine["arrive_by"])
        browser = launch(pw)
        try:
            tv = _tv(browser, base, op, tenant, rider.household_id)
            tv.keyboard.press("F1")
            expect(tv.locator(f'[data-id="rider-{rider.id}"]')).to_be_focused()
            tv.keyboard.press("Enter")
            expect(tv.locator(f'[data-id="to-{rider.favourite_places[0]}"]')).to_be_focused()
            tv.keyboard.press("Enter")
            expect(tv.locator('[data-id="when-now"]')).to_be_focused()
            tv.keyboard.press("5")  # 着きたい時刻をえらぶ
            expect(tv.locator("#time-value")).to_be_visible()
            for key in "1030":
                tv.keyboard.press(key)
            expect(tv.locator("#screen")).to_contain_text("その時間は、タクシーがいっぱいです")
            expect(tv.locator("#alt-said")).to_contain_text("迎えに行く時刻と、着く時刻")
            for i, a in enumerate(alts):
                pickup, arrival = _hm(a["pickup_after"]), _hm(a["latest_arrival"])
                expect(tv.locator(f'[data-id="alt-{i}"]')).to_contain_text(
                    f"迎え {pickup}ごろ・着 {arrival}ごろまで"
                )
            shot(tv, FOLDER, "5-tv-alternatives")
            tv.locator(f'[data-id="alt-{late}"]').focus()
            tv.keyboard.press("Enter")
            expect(tv.locator('[data-id="confirm"]')).to_be_focused()
            # the promise is the one the choice was offered with: its window, its arrival
            chosen = alts[late]
            start, end = _hm(chosen["pickup_window"]["start"]), _hm(chosen["pickup_window"]["end"])
            expect(tv.locator("#quote-window")).to_have_text(f"迎え {start}〜{end}")
            arrival = _hm(chosen["latest_arrival"])
            expect(tv.locator("#quote-arrival")).to_have_text(f"{arrival} までに着きます")
            h, m = map(int, arrival.split(":"))
            expect(tv.locator("#quote-late")).to_have_text(
                f"ご希望の 10:30 より {60 * h + m - 630}分おそく着きます。"
            )
            shot(tv, FOLDER, "6-tv-later-arrival")
            tv.keyboard.press("Enter")
            expect(tv.locator("#screen")).to_contain_text("予約しました")
            booked = [
                x
                for x in op.get("/api/v1/rides", params={"resident_id": rider.id}).json()
                if x["status"] == "confirmed"
            ]
            assert [(x["arrive_by"], x["latest_arrival"], x["pickup_window"]) for x in booked] == [
                (chosen["latest_arrival"], chosen["latest_arrival"], chosen["pickup_window"])
            ]
        finally:
            browser.close()


def _hm(iso: str) -> str:
    """'2026-11-24T09:32:00+09:00' -> '9:32'."""
    return iso[11:16].lstrip("0")
