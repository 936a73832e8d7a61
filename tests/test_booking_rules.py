"""Issue 20, API: one rider, one ride at a time; the times a trip can be asked for.

Real app, real SQLite database, real travel times. A booking overlapping a live ride of the same
rider is refused naming that ride (an operator may book anyway, a resident's channel may not); the
same trip twice is refused regardless; a replay under the same Idempotency-Key still answers from
what is stored. The latest pickup and earliest arrival `time-limits` gives are exactly where the
booking rules start refusing, and the refusal names the rule and the time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event, Resident, Ride
from dispatcher.residents.eligibility import categories_on
from tests.conftest import JST, client_for, token_headers

PIN = "2580"


def _riders(ctx: Dispatcher, n: int) -> list[Resident]:
    """Eligible demo residents with a favourite place, first `n`."""
    cfg = ctx.config("ina-demo")
    day = datetime(2026, 11, 24, tzinfo=JST).date()
    with Session(ctx.engine) as s:
        rows = s.exec(select(Resident).where(Resident.active == True).order_by(col(Resident.id))).all()  # noqa: E712
    ok = [r for r in rows if r.favourite_places and categories_on(r, cfg, day) & set(cfg.eligibility.any_of)]
    return ok[:n]


def _at(hhmm: str) -> str:
    return f"2026-11-24T{hhmm}:00+09:00"


def _trip(r: Resident, place: str, **when: str) -> dict[str, Any]:
    return {
        "resident_id": r.id,
        "origin": {"lat": r.lat, "lon": r.lon},
        "destination": {"place_id": place},
    } | when


def test_one_rider_one_ride_at_a_time(sqlite_ctx: Dispatcher) -> None:
    ctx = sqlite_ctx
    cfg = ctx.config("ina-demo")
    rider = _riders(ctx, 1)[0]
    fav = rider.favourite_places[0]
    other = next(p.id for p in cfg.places if p.id != fav)
    with client_for(ctx) as c:
        op = token_headers(c, "ina-demo-operator")

        def post(body: dict[str, Any], key: str, path: str = "/api/v1/rides", headers: Any = None) -> Any:
            return c.post(path, json=body, headers={**(headers or op), "Idempotency-Key": key})

        first = post(_trip(rider, fav, pickup_after=_at("09:00")), "k-first")
        assert first.status_code == 201, first.text
        ride_id = first.json()["id"]

        # The same trip again (a second click, a second channel): refused, even "anyway".
        for anyway in (False, True):
            again = post(
                _trip(rider, fav, pickup_after=_at("09:05")) | {"book_anyway": anyway}, f"k-dup-{anyway}"
            )
            assert again.status_code == 409, again.text
            p = again.json()
            assert p["code"] == "ride.duplicate" and p["existing_ride"]["id"] == ride_id
            assert p["existing_ride_id"] == ride_id and p["existing_ride"]["pickup_window"]["start"]
            assert "同じ予約がもうあります" in p["message_ja"] and "9:00〜9:15 迎え" in p["message_ja"]

        # Another destination at an overlapping time: refused naming the existing ride, and the
        # quote says so before anything is booked.
        place_name = cfg.place(fav).name  # type: ignore[union-attr]
        overlap = post(_trip(rider, other, pickup_after=_at("09:10")), "k-overlap")
        assert overlap.status_code == 409, overlap.text
        p = overlap.json()
        assert p["code"] == "ride.overlaps" and p["existing_ride"]["id"] == ride_id
        assert f"9:00〜9:15 迎え、{place_name}行き" in p["message_ja"], p["message_ja"]
        assert p["existing_ride"]["destination"] == place_name
        assert p["existing_ride_id"] == ride_id and p["existing_ride"]["pickup_window"]["start"]
        q = c.post("/api/v1/rides/quote", json=_trip(rider, other, pickup_after=_at("09:10")), headers=op)
        assert q.status_code == 409 and q.json()["code"] == "ride.overlaps"

        # A replay of the first booking still answers from what is stored.
        replay = post(_trip(rider, fav, pickup_after=_at("09:00")), "k-first")
        assert replay.status_code == 201 and replay.json()["id"] == ride_id
        assert replay.headers.get("Idempotent-Replayed") == "true"

        # The resident's own channel refuses too, and cannot override.
        c.put(f"/api/v1/residents/{rider.id}/pin", json={"pin": PIN}, headers=op)
        s = c.post("/api/v1/m/session", json={"resident_id": rider.id, "pin": PIN, "tenant_id": "ina-demo"})
        me = {"Authorization": f"Bearer {s.json()['access_token']}"}
        mine = post(_trip(rider, other, pickup_after=_at("09:10")), "k-me", "/api/v1/me/rides", me)
        assert mine.status_code == 409 and mine.json()["code"] == "ride.overlaps"
        assert "9:00〜9:15 迎え" in mine.json()["detail"]  # residents read the Japanese as detail
        forced = post(
            _trip(rider, other, pickup_after=_at("09:10")) | {"book_anyway": True},
            "k-me2",
            "/api/v1/me/rides",
            me,
        )
        assert forced.status_code == 422, forced.text

        # An operator books anyway: stored, with who did it; a later trip never clashed.
        anyway = post(_trip(rider, other, pickup_after=_at("09:10")) | {"book_anyway": True}, "k-overlap")
        assert anyway.status_code == 201, anyway.text
        later = post(_trip(rider, other, pickup_after=_at("13:00")), "k-later")
        assert later.status_code == 201, later.text
    with Session(ctx.engine) as s:
        rides = s.exec(select(Ride).where(Ride.resident_id == rider.id).order_by(col(Ride.id))).all()
        asked = {
            int(e.entity_id): e
            for e in s.exec(
                select(Event).where(
                    Event.kind == "ride.requested", col(Event.entity_id).in_([str(r.id) for r in rides])
                )
            )
        }
    assert [r.status for r in rides] == ["confirmed"] * 3
    assert [asked[r.id].after.get("book_anyway") for r in rides] == [None, True, None]
    assert asked[rides[1].id].actor == asked[rides[0].id].actor  # the operator who overrode


def test_the_way_back_from_where_a_ride_ends_is_not_an_overlap(sqlite_ctx: Dispatcher) -> None:
    """The day's errand: to the hospital, and back home from it. The way back may be picked up
    once the rider is planned to be there, even before the first ride's latest arrival (its
    promise); one asked for before that is still refused, naming the first ride."""
    ctx = sqlite_ctx
    cfg = ctx.config("ina-demo")
    rider = _riders(ctx, 1)[0]
    fav = rider.favourite_places[0]
    place = cfg.place(fav)
    assert place is not None
    home = {"lat": rider.lat, "lon": rider.lon}
    with client_for(ctx) as c:
        op = token_headers(c, "ina-demo-operator")

        def post(body: dict[str, Any], key: str) -> Any:
            return c.post("/api/v1/rides", json=body, headers={**op, "Idempotency-Key": key})

        out = post(_trip(rider, fav, pickup_after=_at("09:00")), "k-out")
        assert out.status_code == 201, out.text
        with Session(ctx.engine) as s:
            first = s.get(Ride, out.json()["id"])
            assert first is not None and first.planned_dropoff and first.latest_arrival
        there = first.planned_dropoff.astimezone(JST)
        promise = first.latest_arrival.astimezone(JST)
        back_at = (there + timedelta(minutes=1)).replace(second=0, microsecond=0)
        assert back_at < promise, "the way back starts inside the first ride's promise"

        def back(at: datetime) -> dict[str, Any]:
            return {
                "resident_id": rider.id,
                "origin": {"place_id": fav},
                "destination": home,
                "pickup_after": at.isoformat(),
            }

        early = post(back(there - timedelta(minutes=10)), "k-early")
        assert early.status_code == 409 and early.json()["code"] == "ride.overlaps", early.text
        ok = post(back(back_at), "k-back")
        assert ok.status_code == 201, ok.text
        # a third ride elsewhere inside either promise still overlaps
        elsewhere = next(p.id for p in cfg.places if p.id != fav)
        clash = post(_trip(rider, elsewhere, pickup_after=back_at.isoformat()), "k-third")
        assert clash.status_code == 409 and clash.json()["code"] == "ride.overlaps", clash.text


def test_time_limits_are_where_the_rules_start_refusing(sqlite_ctx: Dispatcher, clock: SimClock) -> None:
    ctx = sqlite_ctx
    rider = _riders(ctx, 1)[0]
    fav = rider.favourite_places[0]
    clock.set(datetime(2026, 11, 24, 14, 0, tzinfo=JST))
    with client_for(ctx) as c:
        op = token_headers(c, "ina-demo-operator")
        trip = _trip(rider, fav)
        lim = c.post("/api/v1/rides/time-limits", json=trip, headers=op)
        assert lim.status_code == 200, lim.text
        got = lim.json()
        assert got["service_hours"] == {"start": "08:00", "end": "17:00"}
        last = datetime.fromisoformat(got["latest_pickup"])
        first_arrival = datetime.fromisoformat(got["earliest_arrival"])
        assert datetime.fromisoformat(got["latest_arrival"]) == datetime(2026, 11, 24, 17, 0, tzinfo=JST)
        # The ride must end by 17:00: window (15 min) + boarding + the longest ride allowed.
        assert datetime(2026, 11, 24, 15, 30, tzinfo=JST) < last < datetime(2026, 11, 24, 16, 40, tzinfo=JST)

        def quote(**when: str) -> Any:
            return c.post("/api/v1/rides/quote", json=trip | when, headers=op)

        assert quote(pickup_after=last.isoformat()).status_code == 200
        late = quote(pickup_after=(last + timedelta(minutes=1)).isoformat())
        assert late.status_code == 422
        err = late.json()["errors"][0]
        assert err["code"] == "time.after_last_pickup"
        assert err["message_ja"] == f"17:00 までに着く必要があるため、迎えは {last:%-H:%M} までです。"
        assert quote(arrive_by=first_arrival.isoformat()).status_code == 200
        early = quote(arrive_by=(first_arrival - timedelta(minutes=1)).isoformat())
        assert early.status_code == 422 and early.json()["errors"][0]["code"] == "time.too_soon"

        # A wheelchair boards longer: its last pickup is earlier.
        chair = c.post("/api/v1/rides/time-limits", json=trip | {"wheelchair": True}, headers=op).json()
        assert datetime.fromisoformat(chair["latest_pickup"]) < last

        # Before opening, the earliest arrival is bound by the opening time instead.
        clock.set(datetime(2026, 11, 24, 7, 0, tzinfo=JST))
        morning = c.post("/api/v1/rides/time-limits", json=trip, headers=op).json()
        opening_arrival = datetime.fromisoformat(morning["earliest_arrival"])
        assert datetime.fromisoformat(morning["earliest_pickup"]) == datetime(2026, 11, 24, 8, 0, tzinfo=JST)
        too_early = quote(arrive_by=(opening_arrival - timedelta(minutes=1)).isoformat())
        assert too_early.status_code == 422
        err = too_early.json()["errors"][0]
        assert err["code"] == "time.before_first_arrival"
        assert (
            err["message_ja"]
            == f"タクシーは 8:00 から走るため、着く時刻は {opening_arrival:%-H:%M} からです。"
        )
        assert quote(arrive_by=opening_arrival.isoformat()).status_code == 200

        # After the last pickup of the day, nothing is offered.
        clock.set(datetime(2026, 11, 24, 16, 50, tzinfo=JST))
        evening = c.post("/api/v1/rides/time-limits", json=trip, headers=op).json()
        assert evening["latest_pickup"] is None and evening["earliest_arrival"] is None
