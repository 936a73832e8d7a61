"""The resident channels' API on both databases: pairing a set-top box, the household's own view,
booking / cancelling / ordering from the TV or phone, notices, PIN lockout, and the operator's
phone-channel tools (quote, change and cancel with a reason, notes, live board)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from dispatcher.context import Dispatcher
from dispatcher.models import Event, Household, Resident, ResidentPin, Ride


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _household(ctx: Dispatcher, members: int = 2) -> tuple[int, list[Resident]]:
    """A demo household with the given number of members."""
    with Session(ctx.engine) as s:
        rows = s.exec(select(Resident).where(Resident.active == True).order_by(col(Resident.id))).all()  # noqa: E712
    by_hh: dict[int, list[Resident]] = {}
    for r in rows:
        by_hh.setdefault(r.household_id, []).append(r)
    hh = next(h for h, m in by_hh.items() if len(m) == members)
    return hh, by_hh[hh]


def pair_tv(client: TestClient, operator: dict[str, str], household_id: int) -> dict[str, str]:
    r = client.post("/api/v1/tv/devices", json={})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["paired"] is False and len(body["code"]) == 6
    tv = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/me", headers=tv).status_code == 403  # not yet paired
    r = client.post(
        "/api/v1/devices/pair", json={"code": body["code"], "household_id": household_id}, headers=operator
    )
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/tv/device", headers=tv).json()["paired"] is True
    return tv


def test_pairing_scopes_the_box_to_its_household_and_revoking_ends_it(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str]
) -> None:
    hh, members = _household(ctx)
    bad = client.post("/api/v1/devices/pair", json={"code": "000000", "household_id": hh}, headers=operator)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "code"
    tv = pair_tv(client, operator, hh)
    me = client.get("/api/v1/me", headers=tv).json()
    assert [m["id"] for m in me["members"]] == [m.id for m in members]
    assert me["members"][0]["favourites"], "demo residents have favourite places"
    assert "phone" not in str(me["members"])  # nothing the screen does not need

    # Another household's resident cannot be booked from this box.
    other = next(r for r in _all_residents(ctx) if r.household_id != hh)
    req = _ride_req(other.id, members[0])
    assert client.post("/api/v1/me/rides", json=req, headers={**tv, **_key()}).status_code == 403

    devices = client.get(f"/api/v1/devices?household_id={hh}", headers=operator).json()
    assert len(devices) == 1
    assert client.post(f"/api/v1/devices/{devices[0]['id']}/revoke", headers=operator).status_code == 200
    assert client.get("/api/v1/me", headers=tv).status_code == 401
    assert client.get("/api/v1/tv/device", headers=tv).status_code == 401
    with Session(ctx.engine) as s:
        kinds = set(s.exec(select(Event.kind).where(Event.entity == "device")))
    assert {"device.registered", "device.paired", "device.revoked"} <= kinds


def _all_residents(ctx: Dispatcher) -> list[Resident]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Resident).order_by(col(Resident.id))))


def _ride_req(resident_id: int, home: Resident, minutes: int = 30, place: str | None = None) -> dict:
    from tests.conftest import DAY_START

    return {
        "resident_id": resident_id,
        "origin": {"lat": home.lat, "lon": home.lon},
        "destination": {"place_id": place or home.favourite_places[0]},
        "pickup_after": (DAY_START + timedelta(minutes=minutes)).isoformat(),
    }


def test_tv_quote_book_notice_cancel_and_order(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock
) -> None:
    hh, members = _household(ctx)
    tv = pair_tv(client, operator, hh)
    rider = members[0]
    req = _ride_req(rider.id, rider)
    q = client.post("/api/v1/me/quote", json=req, headers=tv)
    assert q.status_code == 200, q.text
    quote = q.json()
    assert quote["available"] and quote["fare_yen"] > 0
    with Session(ctx.engine) as s:
        assert s.exec(select(func.count()).select_from(Ride)).one() == 0  # a quote stores nothing

    r = client.post("/api/v1/me/rides", json=req, headers={**tv, **_key()})
    assert r.status_code == 201, r.text
    card = r.json()
    assert card["status"] == "confirmed" and card["pickup_from"] == quote["pickup_window"]["start"][
        11:16
    ].lstrip("0")
    rides = client.get("/api/v1/me/rides", headers=tv).json()["rides"]
    assert [x["id"] for x in rides] == [card["id"]] and rides[0]["to"] != "指定の場所"
    notices = client.get("/api/v1/me/notices", headers=tv).json()
    assert any("予約しました" in n["text"] for n in notices)

    # Shortly before the planned pickup the TV says the taxi is coming.
    with Session(ctx.engine) as s:
        planned = s.get(Ride, card["id"]).planned_pickup
    clock.set(planned - timedelta(minutes=5))
    urgent = [n for n in client.get("/api/v1/me/notices", headers=tv).json() if n["urgent"]]
    assert urgent and "あと約5分" in urgent[0]["text"]
    mine = client.get("/api/v1/me/rides", headers=tv).json()["rides"][0]
    assert mine["eta_minutes"] == 5 and mine["late"] is False
    # An hour past the window with no driver at the door, the card says late, not "about a minute"
    clock.set(datetime.fromisoformat(quote["pickup_window"]["end"]) + timedelta(minutes=60))
    mine = client.get("/api/v1/me/rides", headers=tv).json()["rides"][0]
    assert mine["late"] is True and mine["eta_minutes"] is None
    clock.set(planned - timedelta(minutes=5))

    bad = client.post(
        "/api/v1/me/rides",
        json={**req, "pickup_after": "2026-11-24T07:00:00+09:00"},
        headers={**tv, **_key()},
    )
    assert bad.status_code == 422 and "過ぎて" in bad.json()["detail"]  # plain Japanese

    c = client.post(f"/api/v1/me/rides/{card['id']}/cancel", headers=tv)
    assert c.status_code == 200 and c.json()["rides"][0]["status"] == "cancelled"
    with Session(ctx.engine) as s:
        ev = s.exec(select(Event).where(Event.kind == "ride.cancelled")).one()
    assert ev.actor.startswith("device:")

    cats = client.get("/api/v1/me/catalog/categories", headers=tv).json()
    items = client.get(f"/api/v1/me/catalog?category={cats[0]['category']}", headers=tv).json()
    me = client.get("/api/v1/me", headers=tv).json()
    lines = [{"product_id": p["id"], "quantity": k + 1} for k, p in enumerate(items[:3])]
    o = client.post("/api/v1/me/orders", json={"lines": lines}, headers={**tv, **_key()})
    if me["shopping"]["member"]:
        assert o.status_code == 201, o.text
        assert sum(x["quantity"] for x in o.json()["items"]) == 6
        assert client.get("/api/v1/me/orders", headers=tv).json()[0]["status_label"] == "注文を受け付けました"
    else:
        assert o.status_code == 422 and "会員" in o.json()["detail"]


def test_five_wrong_pins_lock_until_the_operator_sets_a_new_one(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str]
) -> None:
    _, (rider, *_) = _household(ctx, 1)
    assert (
        client.put(f"/api/v1/residents/{rider.id}/pin", json={"pin": "1234"}, headers=operator).status_code
        == 422
    )
    assert (
        client.put(f"/api/v1/residents/{rider.id}/pin", json={"pin": "2580"}, headers=operator).status_code
        == 204
    )
    ok = client.post("/api/v1/m/session", json={"resident_id": rider.id, "pin": "2580"})
    assert ok.status_code == 200
    phone = {"Authorization": f"Bearer {ok.json()['access_token']}"}
    assert [m["id"] for m in client.get("/api/v1/me", headers=phone).json()["members"]] == [rider.id]
    for k in range(1, 6):
        r = client.post("/api/v1/m/session", json={"resident_id": rider.id, "pin": "9999"})
        assert r.status_code == (423 if k == 5 else 401), r.text
    assert "ロック" in r.json()["detail"]
    assert client.post("/api/v1/m/session", json={"resident_id": rider.id, "pin": "2580"}).status_code == 423
    assert client.get("/api/v1/me", headers=phone).status_code == 401  # the lock ends open sessions
    detail = client.get(f"/api/v1/residents/{rider.id}", headers=operator).json()
    assert detail["pin"] == {"locked": True, "failures": 5}
    assert (
        client.put(f"/api/v1/residents/{rider.id}/pin", json={"pin": "3691"}, headers=operator).status_code
        == 204
    )
    assert client.post("/api/v1/m/session", json={"resident_id": rider.id, "pin": "3691"}).status_code == 200
    with Session(ctx.engine) as s:
        pin = s.get(ResidentPin, rider.id)
        assert pin is not None and pin.failures == 0 and "3691" not in pin.pin_hash
        assert (
            s.exec(select(func.count()).select_from(Event).where(Event.kind == "resident.pin_locked")).one()
            == 1
        )


def test_operator_quote_change_cancel_with_reason_notes_and_board(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str]
) -> None:
    _, (rider, *_) = _household(ctx, 1)
    found = client.get(f"/api/v1/residents?q={rider.family_kana}", headers=operator).json()
    assert rider.id in [f["id"] for f in found]
    req = _ride_req(rider.id, rider)
    assert client.post("/api/v1/rides/quote", json=req, headers=operator).json()["available"]
    first = client.post("/api/v1/rides", json=req, headers={**operator, **_key()}).json()
    later = _ride_req(rider.id, rider, minutes=120)
    change_key = _key()
    ch = client.post(
        f"/api/v1/rides/{first['id']}/change",
        json={"request": later, "reason": "病院の予約が変わった"},
        headers={**operator, **change_key},
    )
    assert ch.status_code == 201, ch.text
    assert ch.json()["replaces"] == first["id"]
    assert client.get(f"/api/v1/rides/{first['id']}", headers=operator).json()["status"] == "cancelled"
    # a retry of the same change (same key) answers the same, and changes nothing more
    again = client.post(
        f"/api/v1/rides/{first['id']}/change",
        json={"request": later, "reason": "病院の予約が変わった"},
        headers={**operator, **change_key},
    )
    assert again.status_code == 201 and again.json()["id"] == ch.json()["id"], again.text
    with Session(ctx.engine) as s:
        from dispatcher.rides.plan import current_plan
        from tests.conftest import DAY_START

        plan = current_plan(s, "ina-demo", DAY_START.date())
        in_plan = {e["ride_id"] for stops in plan.routes.values() for e in stops}
    assert in_plan == {ch.json()["id"]}  # the old ride's stops left the plan in the same change
    # a change of a ride that is no longer confirmed is refused and stores nothing
    refused = client.post(
        f"/api/v1/rides/{first['id']}/change",
        json={"request": later, "reason": "x"},
        headers={**operator, **_key()},
    )
    assert refused.status_code == 409
    assert (
        client.post(
            f"/api/v1/rides/{ch.json()['id']}/cancel", json={"reason": "本人から電話"}, headers=operator
        ).status_code
        == 200
    )
    with Session(ctx.engine) as s:
        reasons = [
            e.after["reason"]
            for e in s.exec(select(Event).where(Event.kind == "ride.cancelled").order_by(col(Event.id)))
        ]
    assert reasons == [f"changed to ride {ch.json()['id']}: 病院の予約が変わった", "本人から電話"]

    assert (
        client.post(f"/api/v1/residents/{rider.id}/notes", json={"text": "  "}, headers=operator).status_code
        == 422
    )
    notes = client.post(
        f"/api/v1/residents/{rider.id}/notes", json={"text": "耳が遠いのでゆっくり話す"}, headers=operator
    )
    assert notes.status_code == 201 and notes.json()[0]["text"] == "耳が遠いのでゆっくり話す"

    client.post("/api/v1/rides", json=_ride_req(rider.id, rider, minutes=60), headers={**operator, **_key()})
    board = client.get("/api/v1/board", headers=operator).json()
    busy = [v for v in board["vehicles"] if v["next_stops"]]
    assert len(busy) == 1 and busy[0]["next_stops"][0]["kind"] == "pickup"
    assert all("late_risk" in s for s in busy[0]["next_stops"])
    city = {"Authorization": client.headers.get("x", "")}
    from tests.conftest import token_headers

    city = token_headers(client, "ina-demo-city")
    assert client.get("/api/v1/board", headers=city).status_code == 403  # aggregates only for the city
    assert client.get(f"/api/v1/residents/{rider.id}", headers=city).status_code == 403


def test_groceries_at_the_hall_become_a_notice(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock
) -> None:
    from dispatcher.shopping.delivery import plan_delivery
    from tests.conftest import DAY_START

    with Session(ctx.engine) as s:
        from dispatcher.models import Membership

        hh = s.exec(select(Membership.household_id).order_by(col(Membership.id))).first()
    tv = pair_tv(client, operator, hh)
    item = client.get("/api/v1/me/catalog", headers=tv).json()[0]
    placed = client.post(
        "/api/v1/me/orders",
        json={"lines": [{"product_id": item["id"], "quantity": 2}]},
        headers={**tv, **_key()},
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    clock.set(DAY_START.replace(hour=11, minute=5))
    plan_delivery(ctx, "ina-demo", DAY_START.date())
    mode = client.get(f"/api/v1/orders/{order_id}", headers=operator).json()
    assert not any("届きました" in n["text"] for n in client.get("/api/v1/me/notices", headers=tv).json())
    order = client.get("/api/v1/me/orders", headers=tv).json()[0]
    assert order["status_label"] == "お店で準備しています" and not order["cancellable"]
    via = "in_flight" if order["by"] == "drone" else "on_the_road"
    for step in ("picked", "at_base", via, "at_hall"):
        r = client.post(f"/api/v1/orders/{order_id}/status", json={"status": step}, headers=operator)
        assert r.status_code == 200, (step, r.text, mode)
    notices = client.get("/api/v1/me/notices", headers=tv).json()
    with Session(ctx.engine) as s:  # the household's hall by the tenant file's name (市野瀬集会所)
        hall = ctx.config("ina-demo").place(s.get_one(Household, hh).hall_id or "")
    assert hall is not None
    assert any(f"{hall.name}に届きました" in n["text"] for n in notices), notices
    assert client.get("/api/v1/me/orders", headers=tv).json()[0]["status_label"] == f"{hall.name}に届きました"


def test_after_arriving_at_a_place_the_return_trip_is_offered_and_books_home(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock
) -> None:
    hh, (rider, *_) = _household(ctx, 1)
    tv = pair_tv(client, operator, hh)
    ride = client.post(
        "/api/v1/me/rides", json=_ride_req(rider.id, rider, minutes=20), headers={**tv, **_key()}
    )
    assert ride.status_code == 201, ride.text
    ride_id = ride.json()["id"]
    with Session(ctx.engine) as s:
        r = s.get(Ride, ride_id)
        vehicle, pickup, dropoff = r.vehicle_id, r.planned_pickup, r.planned_dropoff
    assert client.get("/api/v1/me/rides", headers=tv).json()["return_offers"] == []
    for kind, at in (("arrived", pickup), ("picked_up", pickup), ("dropped_off", dropoff)):
        clock.set(at)
        ev = client.post(
            f"/api/v1/vehicles/{vehicle}/events",
            json={"type": kind, "ride_id": ride_id, "at": at.isoformat()},
            headers=operator,
        )
        assert ev.status_code == 200, ev.text
    offers = client.get("/api/v1/me/rides", headers=tv).json()["return_offers"]
    assert [(o["after_ride"], o["from_place_id"]) for o in offers] == [(ride_id, rider.favourite_places[0])]
    home = {"lat": rider.lat, "lon": rider.lon}
    back = client.post(
        "/api/v1/me/rides",
        json={
            "resident_id": rider.id,
            "origin": {"place_id": offers[0]["from_place_id"]},
            "destination": home,
            "pickup_after": (dropoff + timedelta(minutes=60)).isoformat(),
        },
        headers={**tv, **_key()},
    )
    assert back.status_code == 201 and back.json()["to"] == "自宅", back.text
    assert client.get("/api/v1/me/rides", headers=tv).json()["return_offers"] == []  # taken


def test_operator_search_by_katakana_full_kana_name_and_phone_digits(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str]
) -> None:
    _, (r, *_) = _household(ctx, 1)
    kata = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in r.family_kana)
    for q in (kata, f"{r.family_kana} {r.given_kana}", r.phone.replace("-", ""), r.family_name):
        found = client.get("/api/v1/residents", params={"q": q, "limit": 500}, headers=operator).json()
        assert r.id in [f["id"] for f in found], q
    detail = client.get(f"/api/v1/residents/{r.id}", headers=operator).json()
    assert isinstance(detail["shopping_member"], bool)
    nobody = client.get("/api/v1/residents", params={"q": "該当なしの名前"}, headers=operator).json()
    assert nobody == []


def test_parallel_wrong_pins_cannot_beat_the_lockout(ctx: Dispatcher) -> None:
    """Twenty wrong PINs sent at once against a real server: the lock holds, the right PIN fails.

    The cap on concurrent checks is raised to 20 here, so that every guess is checked in parallel
    (the cap itself would refuse most of them with 429: tests/test_sign_in_costs.py)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from dispatcher.db import session_scope
    from dispatcher.identity import passwords
    from dispatcher.identity.pins import set_pin
    from tests.live import Server

    _, (rider, *_) = _household(ctx, 1)
    with session_scope(ctx.engine) as s:
        set_pin(s, "ina-demo", rider.id, "2580", ctx.clock.now(), "test")
    cost, cap = passwords.current_cost(), passwords.concurrency()
    passwords.configure(cost, 20)
    with Server(ctx) as base:
        barrier = threading.Barrier(20)

        def guess(k: int) -> int:
            barrier.wait()
            r = httpx.post(f"{base}/api/v1/m/session", json={"resident_id": rider.id, "pin": f"{k + 3000}"})
            return r.status_code

        try:
            with ThreadPoolExecutor(20) as pool:
                codes = list(pool.map(guess, range(20)))
        finally:
            passwords.configure(cost, cap)
        assert codes.count(401) <= 4 and codes.count(423) >= 16, codes
        right = httpx.post(f"{base}/api/v1/m/session", json={"resident_id": rider.id, "pin": "2580"})
        assert right.status_code == 423
    with Session(ctx.engine) as s:
        pin = s.get(ResidentPin, rider.id)
        assert pin is not None and pin.locked_at is not None


def test_now_chosen_a_few_minutes_ago_still_books(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock
) -> None:
    """An elderly resident takes time on the confirm screen: "now" from five minutes ago is still now."""
    hh, (rider, *_) = _household(ctx, 1)
    tv = pair_tv(client, operator, hh)
    clock.set(clock.now() + timedelta(minutes=70))
    asked = clock.now() - timedelta(minutes=5)
    r = client.post(
        "/api/v1/me/rides",
        json={**_ride_req(rider.id, rider), "pickup_after": asked.isoformat()},
        headers={**tv, **_key()},
    )
    assert r.status_code == 201, r.text
    lead = ctx.config("ina-demo").booking.min_lead_minutes
    h, m = map(int, r.json()["pickup_from"].split(":"))
    local = clock.now().astimezone(ctx.config("ina-demo").tz)
    assert h * 60 + m >= local.hour * 60 + local.minute + lead
    late = {**_ride_req(rider.id, rider), "pickup_after": (clock.now() - timedelta(minutes=15)).isoformat()}
    assert client.post("/api/v1/me/rides", json=late, headers={**tv, **_key()}).status_code == 422
