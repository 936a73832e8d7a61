"""Issue 20, field data: a driver's tap that cannot be true is accepted but flagged (an event with
who and when), the operator confirms or corrects it (an event; nothing lost), the figures leave
out what is unreviewed and say how many, and a day with one rider shares 0 %.

The DB-level tests run on SQLite and PostgreSQL (the `ctx` fixture); the browser test drives the
operator console and the municipality dashboard on a real server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import DailyStats, Event, Ride
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.reporting.daily_stats import close_day, close_pending_days
from dispatcher.reporting.stats import RideFact, VehicleDay, _shared_rides, ride_figures, ridership
from dispatcher.rides.field_checks import review, to_review
from routing.geo import Point
from tests.conftest import DAY_START, JST
from tests.live import RequestLog, Server, launch, shot
from tests.riders import book_from_home, living_alone

DAY = DAY_START.date()
TENANT = "ina-demo"


def _flags(ctx: Dispatcher) -> list[Event]:
    with Session(ctx.engine) as s:
        return list(
            s.exec(
                select(Event)
                .where(col(Event.kind).in_(("ride.report_flagged", "vehicle.position_flagged")))
                .order_by(col(Event.id))
            )
        )


def test_impossible_taps_are_flagged_reviewed_and_kept_out_of_the_figures(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock: SimClock
) -> None:
    (a,) = living_alone(ctx, 1)
    clock.set(DAY_START + timedelta(minutes=5))
    booked = book_from_home(client, operator, a, 90)
    vehicle, rid = booked["vehicle_id"], booked["id"]
    events = f"/api/v1/vehicles/{vehicle}/events"
    with Session(ctx.engine) as s:
        ride = s.get_one(Ride, rid)
        start = ride.pickup_window_start.astimezone(UTC)
        origin, dest = (
            Point(ride.origin_lat, ride.origin_lon),
            Point(ride.destination_lat, ride.destination_lon),
        )
    direct_min = ctx.road(TENANT).duration(origin, dest) / 60  # the check's yardstick
    assert direct_min > 4, "the test needs a drive of some minutes"

    # the driver taps pickup 51 minutes before the window, drop-off one minute later: both accepted
    clock.set(start - timedelta(minutes=51))
    assert (
        client.post(events, json={"type": "picked_up", "ride_id": rid}, headers=operator).status_code == 200
    )
    clock.advance(timedelta(minutes=1))
    assert (
        client.post(events, json={"type": "dropped_off", "ride_id": rid}, headers=operator).status_code == 200
    )
    # and a position 30 km away a minute later (a GPS glitch)
    clock.advance(timedelta(minutes=1))
    with Session(ctx.engine) as s:
        ride = s.get_one(Ride, rid)
        far = {"lat": ride.destination_lat + 0.27, "lon": ride.destination_lon}
    assert client.post(events, json={"type": "position", **far}, headers=operator).status_code == 200

    flags = _flags(ctx)
    assert [(f.kind, (f.after or {})["check"]) for f in flags] == [
        ("ride.report_flagged", "pickup_early"),
        ("ride.report_flagged", "dropoff_too_soon"),
        ("vehicle.position_flagged", "position_jump"),
    ]
    with Session(ctx.engine) as s:
        taps = {e.id: e for e in s.exec(select(Event).where(Event.entity_id.in_((str(rid), str(vehicle)))))}  # type: ignore[attr-defined]
    for f in flags:  # who and when: the report's own
        tap = taps[f.id - 1]  # (recorded right after the report it flags)
        assert (f.actor, f.at) == (tap.actor, tap.at) and tap.kind in (
            "ride.picked_up",
            "ride.dropped_off",
            "vehicle.position",
        )
    assert (flags[0].after or {})["minutes_early"] == 51
    assert (flags[2].after or {})["speed_kmh"] > 1000

    # the figures leave the ride and the position out and say so
    got = ridership(ctx, TENANT, DAY, DAY)["totals"]
    assert (got["trips"], got["passengers"], got["unreviewed_rides"], got["unreviewed_positions"]) == (
        0,
        0,
        1,
        1,
    )
    assert got["unreviewed_records"] == 2
    assert got["passengers_per_vehicle_hour"] is None and got["sharing_rate"] is None

    # the operator's board lists the three, oldest first
    board = client.get("/api/v1/board", headers=operator).json()
    listed = board["field_flags"]
    assert [x["check"] for x in listed] == ["pickup_early", "dropoff_too_soon", "position_jump"]
    assert listed[0]["ride_id"] == rid and listed[0]["rider"] and listed[0]["reported_by"]
    assert listed[1]["ride_minutes"] == 1.0 and listed[1]["direct_minutes"] > 4

    review = "/api/v1/field-flags/{}/review"
    p_flag, d_flag, pos_flag = (x["id"] for x in listed)
    clock.set(start + timedelta(minutes=90))
    # bad decisions and times: problem details with a stable code, nothing changes
    bad = [
        (p_flag, {"decision": "corrected"}, 422, "field_flag.time_needed"),
        (p_flag, {"decision": "discarded"}, 422, "field_flag.decision"),
        (pos_flag, {"decision": "corrected", "at": start.isoformat()}, 422, "field_flag.decision"),
        (
            p_flag,
            {"decision": "corrected", "at": (start + timedelta(hours=3)).isoformat()},
            422,
            "field_flag.time_future",
        ),
        (
            p_flag,
            {"decision": "corrected", "at": (start - timedelta(days=1)).isoformat()},
            422,
            "field_flag.time_other_day",
        ),
        (999999, {"decision": "confirmed"}, 404, "field_flag.not_found"),
    ]
    for fid, body, status, code in bad:
        r = client.post(review.format(fid), json=body, headers=operator)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        codes = [problem["code"], *[e.get("code") for e in problem.get("errors", [])]]
        assert code in codes, (code, problem)
    assert len(client.get("/api/v1/field-flags", headers=operator).json()) == 3

    # the pickup first: the drop-off awaits review itself, so it does not bind the pickup's time
    right_pick = start + timedelta(minutes=3)
    r = client.post(
        review.format(p_flag), json={"decision": "corrected", "at": right_pick.isoformat()}, headers=operator
    )
    assert r.status_code == 200, r.text
    # the driver's drop-off now comes before the corrected pickup: it cannot be confirmed
    r = client.post(review.format(d_flag), json={"decision": "confirmed"}, headers=operator)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "field_flag.time_order", r.text
    right_drop = start + timedelta(minutes=3 + round(direct_min) + 2)
    r = client.post(
        review.format(d_flag), json={"decision": "corrected", "at": right_drop.isoformat()}, headers=operator
    )
    assert r.status_code == 200, r.text
    assert (
        client.post(review.format(pos_flag), json={"decision": "discarded"}, headers=operator).status_code
        == 200
    )
    again = client.post(review.format(p_flag), json={"decision": "confirmed"}, headers=operator)
    assert again.status_code == 409 and again.json()["code"] == "field_flag.reviewed"
    assert client.get("/api/v1/field-flags", headers=operator).json() == []

    with Session(ctx.engine) as s:
        ride = s.get_one(Ride, rid)
        assert ride.picked_up_at == right_pick and ride.dropped_off_at == right_drop
        reviews = list(
            s.exec(
                select(Event).where(
                    col(Event.kind).in_(("ride.report_reviewed", "vehicle.position_reviewed"))
                )
            )
        )
        taps = list(s.exec(select(Event).where(Event.entity == "ride", Event.entity_id == str(rid))))
    operator_actor = {e.actor for e in reviews}
    assert len(reviews) == 3 and len(operator_actor) == 1 and "operator" in next(iter(operator_actor))
    assert {e.after["decision"] for e in reviews} == {"corrected", "discarded"}
    # nothing lost: the driver's taps stay as they were
    picked = next(e for e in taps if e.kind == "ride.picked_up")
    assert picked.at == start - timedelta(minutes=51)

    got = ridership(ctx, TENANT, DAY, DAY)["totals"]
    assert (got["trips"], got["unreviewed_records"]) == (1, 0)
    assert got["ride_minutes_mean"] == round((right_drop - right_pick).total_seconds() / 60, 1)
    assert got["vehicle_hours"] == round((right_drop - right_pick).total_seconds() / 3600, 2)
    assert got["km"] < 40  # the discarded position adds nothing


def _refused(r: httpx.Response, code: str) -> dict[str, Any]:
    """The refusal's field error of `code` (a 422 problem whose message_ja is Japanese)."""
    assert r.status_code == 422, r.text
    problem = r.json()
    errors = {e["code"]: e for e in problem["errors"]}
    assert code in errors, problem
    return {**errors[code], "message_ja": problem["message_ja"]}


def test_a_corrected_time_must_be_as_plausible_as_a_drivers_tap(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock: SimClock
) -> None:
    """Issue 20, walk finding 1: a correction is checked like a tap. The walk's case: pickup on
    time, drop-off a minute later (flagged); the operator's 'correction' to another minute-long
    ride is refused with the earliest drop-off the check accepts (said to wait while that is
    still ahead), and the ride stays out of the figures until a plausible time is given. A
    pickup correction is held to the pickup window and to the drop-off that stands."""
    a, b = living_alone(ctx, 2)
    clock.set(DAY_START + timedelta(minutes=5))
    ra, rb = book_from_home(client, operator, a, 60), book_from_home(client, operator, b, 240)
    road = ctx.road(TENANT)
    with Session(ctx.engine) as s:
        rides = [s.get_one(Ride, r["id"]) for r in (ra, rb)]
        start = [r.pickup_window_start.astimezone(JST) for r in rides]
        least = [
            timedelta(
                seconds=road.duration(
                    Point(r.origin_lat, r.origin_lon), Point(r.destination_lat, r.destination_lon)
                )
                / 2  # the tenant's dropoff_min_percent (50)
            )
            for r in rides
        ]
    assert ctx.config(TENANT).field_checks.dropoff_min_percent == 50
    assert min(least) > timedelta(minutes=2), "the test needs a drive of some minutes"
    review = "/api/v1/field-flags/{}/review"

    def tap(ride: dict[str, Any], kind: str) -> None:
        r = client.post(
            f"/api/v1/vehicles/{ride['vehicle_id']}/events",
            json={"type": kind, "ride_id": ride["id"]},
            headers=operator,
        )
        assert r.status_code == 200, r.text

    # ride A, the walk's: picked up at the window's start, dropped off a minute later
    picked = start[0]
    clock.set(picked)
    tap(ra, "picked_up")
    clock.advance(timedelta(minutes=1))
    tap(ra, "dropped_off")
    (flag,) = client.get("/api/v1/field-flags", headers=operator).json()
    assert flag["check"] == "dropoff_too_soon"
    earliest = picked + least[0]
    whole = earliest.replace(second=0, microsecond=0)
    earliest = whole if whole == earliest else whole + timedelta(minutes=1)

    # a minute later the operator 'corrects' to another minute-long ride: refused, the earliest
    # plausible drop-off named, and that it has not come yet
    clock.set(picked + timedelta(minutes=2))
    got = _refused(
        client.post(
            review.format(flag["id"]),
            json={"decision": "corrected", "at": (picked + timedelta(minutes=2)).isoformat()},
            headers=operator,
        ),
        "field_flag.time_too_soon",
    )
    assert datetime.fromisoformat(got["earliest"]) == earliest and got["not_yet"] == "1"
    assert got["message_ja"] == (
        f"乗車 {picked:%-H:%M} から降車 {picked + timedelta(minutes=2):%-H:%M} までが短すぎます"
        f"（車で約{got['direct_minutes']}分の道のりです）。"
        f"降車の時刻は {earliest:%-H:%M} からにしてください。"
        "まだその時刻になっていないので、すぎてから直してください。"
    )
    # later, one minute short of it is still refused; the ride stays out of the figures
    clock.set(start[0] + timedelta(hours=1))
    got = _refused(
        client.post(
            review.format(flag["id"]),
            json={"decision": "corrected", "at": (earliest - timedelta(minutes=1)).isoformat()},
            headers=operator,
        ),
        "field_flag.time_too_soon",
    )
    assert "not_yet" not in got
    assert got["message_ja"].endswith(f"降車の時刻は {earliest:%-H:%M} からにしてください。")
    totals = ridership(ctx, TENANT, DAY, DAY)["totals"]
    assert (totals["trips"], totals["unreviewed_rides"]) == (0, 1)
    with Session(ctx.engine) as s:
        assert s.get_one(Ride, ra["id"]).dropped_off_at == picked + timedelta(minutes=1)
    fixed = {"decision": "corrected", "at": earliest.isoformat()}
    r = client.post(review.format(flag["id"]), json=fixed, headers=operator)
    assert r.status_code == 200, r.text
    totals = ridership(ctx, TENANT, DAY, DAY)["totals"]
    assert (totals["trips"], totals["unreviewed_rides"]) == (1, 0)
    assert totals["ride_minutes_mean"] >= least[0].total_seconds() / 60

    # ride B: picked up 51 minutes early (flagged), dropped off a plausible drive later
    early = start[1] - timedelta(minutes=51)
    clock.set(early)
    tap(rb, "picked_up")
    dropped = start[1] + 2 * least[1] + timedelta(minutes=5)
    clock.set(dropped)
    tap(rb, "dropped_off")
    (flag,) = client.get("/api/v1/field-flags", headers=operator).json()
    assert flag["check"] == "pickup_early"
    clock.advance(timedelta(minutes=30))
    # 40 minutes before the window: the tenant allows 30
    got = _refused(
        client.post(
            review.format(flag["id"]),
            json={"decision": "corrected", "at": (start[1] - timedelta(minutes=40)).isoformat()},
            headers=operator,
        ),
        "field_flag.time_too_early",
    )
    assert datetime.fromisoformat(got["earliest"]) == start[1] - timedelta(minutes=30)
    end = datetime.fromisoformat(flag["pickup_window"]["end"])
    assert got["message_ja"] == (
        f"迎えの時間（{start[1]:%-H:%M}〜{end:%-H:%M}）より40分も早い乗車にはできません。"
        f"乗車の時刻は {start[1] - timedelta(minutes=30):%-H:%M} からにしてください。"
    )
    # a minute before the drop-off that stands: too short a ride
    latest = (dropped - least[1]).replace(second=0, microsecond=0)
    got = _refused(
        client.post(
            review.format(flag["id"]),
            json={"decision": "corrected", "at": (dropped - timedelta(minutes=1)).isoformat()},
            headers=operator,
        ),
        "field_flag.time_too_soon",
    )
    assert datetime.fromisoformat(got["latest"]) == latest
    assert got["message_ja"].endswith(f"乗車の時刻は {latest:%-H:%M} までにしてください。")
    assert len(client.get("/api/v1/field-flags", headers=operator).json()) == 1
    r = client.post(
        review.format(flag["id"]), json={"decision": "corrected", "at": latest.isoformat()}, headers=operator
    )
    assert r.status_code == 200, r.text
    with Session(ctx.engine) as s:
        assert s.get_one(Ride, rb["id"]).picked_up_at == latest
    totals = ridership(ctx, TENANT, DAY, DAY)["totals"]
    assert (totals["trips"], totals["unreviewed_records"]) == (2, 0)


def test_nightly_figures_exclude_unreviewed_rides_and_close_again_after_review(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock: SimClock
) -> None:
    a, b = living_alone(ctx, 2)
    clock.set(DAY_START + timedelta(minutes=5))
    ra = book_from_home(client, operator, a, 60)
    rb = book_from_home(client, operator, b, 150)
    with Session(ctx.engine) as s:
        rides = {r.id: r for r in s.exec(select(Ride))}
    for booked, early in ((ra, 0), (rb, 45)):  # a's taps are right; b's pickup 45 minutes early
        ride = rides[booked["id"]]
        events = f"/api/v1/vehicles/{booked['vehicle_id']}/events"
        clock.set(max(clock.now(), ride.pickup_window_start - timedelta(minutes=early)))
        r = client.post(events, json={"type": "picked_up", "ride_id": ride.id}, headers=operator)
        assert r.status_code == 200, r.text
        clock.advance(timedelta(seconds=ride.direct_seconds * 1.2))
        r = client.post(events, json={"type": "dropped_off", "ride_id": ride.id}, headers=operator)
        assert r.status_code == 200, r.text
    assert [(f.after or {})["check"] for f in _flags(ctx)] == ["pickup_early"]

    clock.set(DAY_START + timedelta(days=1, hours=-6))  # 02:00 the next night
    closed = close_day(ctx, TENANT, DAY)
    assert closed["trips"] == 1
    with Session(ctx.engine) as s:
        row = s.exec(select(DailyStats)).one()
        assert (row.ridership["trips"], row.ridership["unreviewed_rides"]) == (1, 1)

    # two days later the operator confirms b's pickup: the next night closes that day again
    clock.set(DAY_START + timedelta(days=2, hours=1))
    (flag,) = to_review(ctx, TENANT)  # (the operator's API session of that day has expired)
    review(ctx, TENANT, flag["id"], "confirmed", "user:ina-demo-operator")
    clock.set(DAY_START + timedelta(days=3, hours=-6))
    out = close_pending_days(ctx, TENANT, DAY + timedelta(days=2))
    assert {"date": DAY.isoformat(), "status": "updated", "trips": 2} in out
    with Session(ctx.engine) as s:
        row = s.exec(select(DailyStats).where(DailyStats.service_date == DAY)).one()
        assert (row.ridership["trips"], row.ridership["unreviewed_rides"]) == (2, 0)


def _fact(rid: int, resident: int, t0: int, t1: int, vehicle: int = 1) -> RideFact:
    at = DAY_START.astimezone(UTC)
    return RideFact(
        id=rid,
        resident_id=resident,
        service_date=DAY,
        party_size=1,
        direct_s=600,
        confirmed=True,
        picked_up_at=at + timedelta(minutes=t0),
        dropped_off_at=at + timedelta(minutes=t1),
        vehicle_id=vehicle,
    )


def test_a_day_with_one_rider_shares_nothing() -> None:
    tz = DAY_START.tzinfo
    # one resident, two bookings whose taps overlap (a return trip tapped early): not shared
    alone = [_fact(1, 7, 0, 30), _fact(2, 7, 20, 50)]
    shared = _shared_rides(alone, tz)
    assert shared == set()
    assert ride_figures(alone, shared, [VehicleDay(hours=1.0)])["sharing_rate"] == 0.0
    # another rider aboard at the same time: both shared
    two = [_fact(1, 7, 0, 30), _fact(2, 8, 20, 50)]
    assert _shared_rides(two, tz) == {1, 2}
    # one after the other, or in another vehicle: not shared
    assert _shared_rides([_fact(1, 7, 0, 30), _fact(2, 8, 30, 50)], tz) == set()
    assert _shared_rides([_fact(1, 7, 0, 30), _fact(2, 8, 20, 50, vehicle=2)], tz) == set()
    # a ride awaiting review neither counts nor makes another shared
    held = _fact(2, 8, 20, 50)
    held.open_flags.add(99)
    figures = ride_figures([_fact(1, 7, 0, 30), held], _shared_rides([_fact(1, 7, 0, 30), held], tz), [])
    assert (figures["trips"], figures["sharing_rate"], figures["unreviewed_rides"]) == (1, 0.0, 1)


def test_plausible_taps_raise_no_flag(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock: SimClock
) -> None:
    (a,) = living_alone(ctx, 1)
    clock.set(DAY_START + timedelta(minutes=5))
    booked = book_from_home(client, operator, a, 60)
    events = f"/api/v1/vehicles/{booked['vehicle_id']}/events"
    with Session(ctx.engine) as s:
        ride = s.get_one(Ride, booked["id"])
    threshold = ctx.config(TENANT).field_checks.pickup_early_minutes
    clock.set(ride.pickup_window_start - timedelta(minutes=threshold - 1))  # early, within reason
    assert (
        client.post(events, json={"type": "picked_up", "ride_id": ride.id}, headers=operator).status_code
        == 200
    )
    # a few metres on, and a drive at 60 km/h: positions, no jump
    for k in range(1, 4):
        clock.advance(timedelta(minutes=1))
        r = client.post(
            events,
            json={"type": "position", "lat": ride.origin_lat + 0.009 * k, "lon": ride.origin_lon},
            headers=operator,
        )
        assert r.status_code == 200, r.text
    clock.set(ride.pickup_window_start + timedelta(seconds=ride.direct_seconds * 0.8))
    assert (
        client.post(events, json={"type": "dropped_off", "ride_id": ride.id}, headers=operator).status_code
        == 200
    )
    assert _flags(ctx) == []
    assert ridership(ctx, TENANT, DAY, DAY)["totals"]["trips"] == 1


def test_operator_reviews_flagged_taps_in_the_console_and_the_dashboard_says_what_it_left_out(
    sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    """Playwright: the driver's two impossible taps show on the board under 「確認が必要な記録」 and
    in the dashboard's note; the operator corrects the pickup, is told in Japanese why the drop-off
    cannot stand, corrects it, and the note goes away."""
    ctx = sqlite_ctx
    (a,) = living_alone(ctx, 1)
    clock.set(DAY_START + timedelta(minutes=5))
    with Server(ctx) as base, sync_playwright() as pw:
        api = httpx.Client(base_url=base)
        tok = api.post(
            "/api/v1/auth/token", data={"username": "ina-demo-operator", "password": DEMO_PASSWORD}
        )
        auth = {"Authorization": f"Bearer {tok.json()['access_token']}"}
        booked = api.post(
            "/api/v1/rides",
            json={
                "resident_id": a.id,
                "origin": {"lat": a.lat, "lon": a.lon},
                "destination": {"place_id": a.favourite_places[0]},
                "pickup_after": (DAY_START + timedelta(minutes=90)).isoformat(),
            },
            headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
        ).json()
        rid, events = booked["id"], f"/api/v1/vehicles/{booked['vehicle_id']}/events"
        with Session(ctx.engine) as s:
            start = s.get_one(Ride, rid).pickup_window_start.astimezone(DAY_START.tzinfo)
        clock.set(start - timedelta(minutes=51))
        assert api.post(events, json={"type": "picked_up", "ride_id": rid}, headers=auth).status_code == 200
        clock.advance(timedelta(minutes=1))
        assert api.post(events, json={"type": "dropped_off", "ride_id": rid}, headers=auth).status_code == 200
        clock.set(start + timedelta(hours=2))

        browser = launch(pw)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="ja-JP")
            context.set_default_timeout(15_000)
            city = context.new_page()
            city.goto(f"{base}/municipality")
            city.fill("#login-user", "ina-demo-city")
            city.fill("#login-pass", DEMO_PASSWORD)
            city.click("#login-submit")
            expect(city.locator("#report-unreviewed")).to_have_text(
                "確認待ちの記録 1件は集計に含めていません（オペレーターが確かめると含めます）。"
            )
            shot(city, "municipality", "20-unreviewed-note")

            op = context.new_page()
            log = RequestLog(op)
            op.goto(f"{base}/operator")
            op.fill("#login-user", "ina-demo-operator")
            op.fill("#login-pass", DEMO_PASSWORD)
            op.click("#login-submit")
            op.click("#tab-board")
            items = op.locator("#flags-list > li")
            expect(items).to_have_count(2)
            expect(op.locator("#flags-count")).to_have_text("2件")
            expect(items.nth(0)).to_contain_text("51分早い乗車です")
            expect(items.nth(1)).to_contain_text("1分で降車しています（車で少なくとも約")
            shot(op, "operator", "20-field-flags")

            pick, drop = (items.nth(i).get_attribute("data-id").removeprefix("flag-") for i in range(2))
            right = start + timedelta(minutes=3)
            op.click(f'[data-id="flag-fix-{pick}"]')
            expect(op.locator(f"#flag-time-{pick}")).to_be_focused()
            op.fill(f"#flag-time-{pick}", f"{right:%H:%M}")
            op.click(f'[data-id="flag-save-{pick}"]')
            expect(items).to_have_count(1)
            # 9:33 as on every page, not 09:33 (walk finding 19)
            expect(op.locator("#toast")).to_have_text(
                f"予約 No.{rid} の乗車時刻を {right:%-H:%M} に直しました。"
            )
            expect(items.nth(0)).to_contain_text(f"乗車 {right:%-H:%M} より前の降車です")
            expect(op.locator("#flags-heading")).to_be_focused()
            # the driver's drop-off came before the corrected pickup: it cannot be confirmed as it is
            op.click(f'[data-id="flag-confirm-{drop}"]')
            op.click(f'[data-id="flag-confirm-{drop}"]')
            expect(op.locator("#flags-error")).to_contain_text("降りた時刻は乗った時刻より後にしてください")
            shot(op, "operator", "21-field-flag-refused")
            op.click(f'[data-id="flag-fix-{drop}"]')
            # a minute after the corrected pickup cannot be true either (walk finding 1): refused,
            # with the earliest drop-off that can, and the focus stays on the time to type again
            op.fill(f"#flag-time-{drop}", f"{right + timedelta(minutes=1):%H:%M}")
            op.click(f'[data-id="flag-save-{drop}"]')
            expect(op.locator("#flags-error")).to_contain_text(
                f"乗車 {right:%-H:%M} から降車 {right + timedelta(minutes=1):%-H:%M} までが短すぎます"
            )
            expect(op.locator("#flags-error")).to_contain_text("降車の時刻は")
            expect(op.locator(f"#flag-time-{drop}")).to_be_focused()
            expect(op.locator(f"#flag-time-{drop}")).to_have_attribute("aria-invalid", "true")
            expect(items).to_have_count(1)
            shot(op, "operator", "22-field-flag-correction-refused")
            op.fill(f"#flag-time-{drop}", f"{right + timedelta(minutes=25):%H:%M}")
            op.click(f'[data-id="flag-save-{drop}"]')
            expect(op.locator("#flags-list")).to_have_text("ありません。")
            assert log.outside(base) == []

            city.click("#show")
            expect(city.locator("#report-unreviewed")).to_be_hidden()
        finally:
            browser.close()
    with Session(ctx.engine) as s:
        ride = s.get_one(Ride, rid)
        assert (ride.picked_up_at, ride.dropped_off_at) == (right, right + timedelta(minutes=25))
