"""The ride API on SQLite and PostgreSQL: booking, idempotency, bad input, lifecycle, roles."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.messages import JA
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.errors import Code
from dispatcher.models import Event, PlanVersion, Resident, Ride
from dispatcher.residents.eligibility import categories_on
from tests.conftest import DAY_START, token_headers
from tests.planning import verify_plan

DAY = DAY_START.date()


def at(hhmm: str, day: date = DAY) -> str:
    return f"{day.isoformat()}T{hhmm}:00+09:00"


def eligible_resident(ctx: Dispatcher, wheelchair: bool = False, offset: int = 0) -> int:
    cfg = ctx.config("ina-demo")
    with Session(ctx.engine) as s:
        rows = s.exec(select(Resident).where(Resident.wheelchair == wheelchair).order_by(Resident.id)).all()
    ok = [r.id for r in rows if categories_on(r, cfg, DAY) & set(cfg.eligibility.any_of)]
    return ok[offset]


def ineligible_resident(ctx: Dispatcher) -> int:
    cfg = ctx.config("ina-demo")
    with Session(ctx.engine) as s:
        rows = s.exec(select(Resident).order_by(Resident.id)).all()
    return next(r.id for r in rows if not categories_on(r, cfg, DAY))


def ride_body(resident_id: int, **kw) -> dict:
    body = {
        "resident_id": resident_id,
        "origin": {"place_id": "hall-tera"},
        "destination": {"place_id": "central-hospital"},
        "pickup_after": at("09:00"),
        "party_size": 1,
        "wheelchair": False,
    }
    body.update(kw)
    return body


def post_ride(client: TestClient, headers: dict[str, str], body: dict, key: str | None = None):
    h = dict(headers)
    h["Idempotency-Key"] = key or str(uuid.uuid4())
    return client.post("/api/v1/rides", json=body, headers=h)


def counts(ctx: Dispatcher) -> tuple[int, int, int]:
    with Session(ctx.engine) as s:
        return (
            s.exec(select(func.count()).select_from(Ride)).one(),
            s.exec(select(func.count()).select_from(Event)).one(),
            s.exec(select(func.count()).select_from(PlanVersion)).one(),
        )


def test_book_confirms_with_window_and_appears_in_manifest(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher
) -> None:
    rid = eligible_resident(ctx)
    r = post_ride(client, operator, ride_body(rid))
    assert r.status_code == 201, r.text
    ride = r.json()
    assert ride["status"] == "confirmed"
    assert ride["pickup_window"] == {"start": at("09:00"), "end": at("09:15")}
    assert ride["latest_arrival"] > ride["pickup_window"]["end"]
    assert ride["fare_yen"] in (250, 500)
    assert ride["pickup_window"]["start"] <= ride["planned_pickup"] <= ride["pickup_window"]["end"]
    m = client.get(
        f"/api/v1/vehicles/{ride['vehicle_id']}/manifest", params={"date": DAY.isoformat()}, headers=operator
    ).json()
    kinds = [(s["ride_id"], s["kind"]) for s in m["stops"]]
    assert kinds == [(ride["id"], "pickup"), (ride["id"], "dropoff")]
    assert m["stops"][0]["window"]["start"] == at("09:00")
    assert client.get(f"/api/v1/rides/{ride['id']}", headers=operator).json()["status"] == "confirmed"
    listed = client.get(
        "/api/v1/rides", params={"date": DAY.isoformat(), "resident_id": rid}, headers=operator
    )
    assert [x["id"] for x in listed.json()] == [ride["id"]]
    verify_plan(ctx, "ina-demo", DAY)


def test_idempotency_same_body_same_booking_different_body_422(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher
) -> None:
    rid = eligible_resident(ctx)
    first = post_ride(client, operator, ride_body(rid), key="abc-1")
    again = post_ride(client, operator, ride_body(rid), key="abc-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert first.headers["Location"] == again.headers["Location"] == f"/api/v1/rides/{first.json()['id']}"
    before = counts(ctx)
    other = post_ride(client, operator, ride_body(rid, party_size=2), key="abc-1")
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert counts(ctx) == before


def test_bad_input_names_the_field_and_stores_nothing(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher
) -> None:
    rid = eligible_resident(ctx)
    cases = {
        "origin": ride_body(rid, origin={"lat": 35.0, "lon": 137.0}),
        "pickup_after": ride_body(rid, pickup_after=at("07:00")),
        "pickup_after ": ride_body(rid, pickup_after=at("10:00", DAY + timedelta(days=1))),
        "party_size": ride_body(rid, party_size=12),
        "resident_id": ride_body(999_999),
        "resident_id ": ride_body(ineligible_resident(ctx)),
        "origin.lat": ride_body(rid, origin={"lat": "north", "lon": 137.95}),
        "origin.lat ": ride_body(rid, origin={"lat": 200, "lon": 137.95}),
        "destination.place_id": ride_body(rid, destination={"place_id": "nowhere"}),
        "body": ride_body(rid, arrive_by=at("10:00")),  # both times given
    }
    before = counts(ctx)
    for field, body in cases.items():
        r = post_ride(client, operator, body)
        assert 400 <= r.status_code < 500, (field, r.text)
        problem = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert problem["status"] == r.status_code and problem["title"] and problem["detail"]
        fields = [e["field"] for e in problem["errors"]]
        assert field.strip() in fields, (field, problem)
        assert all(e["message"] for e in problem["errors"])
    missing_key = client.post("/api/v1/rides", json=ride_body(rid), headers=operator)
    assert missing_key.status_code == 422
    assert missing_key.json()["errors"] == [
        {
            "field": "Idempotency-Key",
            "message": "is required",
            "code": "idempotency_key.required",
            "message_ja": JA[Code.idempotency_key_required],
        }
    ]
    assert counts(ctx) == before


def test_messages_say_what_to_fix(client: TestClient, operator: dict[str, str], ctx: Dispatcher) -> None:
    rid = eligible_resident(ctx)
    tomorrow = post_ride(client, operator, ride_body(rid, pickup_after=at("10:00", DAY + timedelta(days=1))))
    assert "today (2026-11-24)" in tomorrow.json()["errors"][0]["message"]
    past = post_ride(client, operator, ride_body(rid, pickup_after=at("07:00")))
    assert "in the past" in past.json()["errors"][0]["message"]
    party = post_ride(client, operator, ride_body(rid, party_size=12))
    assert "at most 4" in party.json()["errors"][0]["message"]


def test_arrive_by_promises_arrival(client: TestClient, operator: dict[str, str], ctx: Dispatcher) -> None:
    body = ride_body(eligible_resident(ctx), pickup_after=None, arrive_by=at("11:00"))
    r = post_ride(client, operator, body)
    assert r.status_code == 201, r.text
    ride = r.json()
    assert ride["latest_arrival"] == at("11:00")
    assert ride["planned_dropoff"] <= at("11:00")
    assert ride["pickup_window"]["end"] < at("11:00")


def test_full_fleet_refuses_with_alternatives_and_reason(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher
) -> None:
    refused = None
    for k in range(14):
        body = ride_body(
            eligible_resident(ctx, offset=k),
            origin={"place_id": "hall-hase"},
            destination={"place_id": "hall-nishiminowa"},
            party_size=4,
        )
        key = f"party-{k}"
        r = post_ride(client, operator, body, key=key)
        assert r.status_code in (201, 409), r.text
        if r.status_code == 409:
            refused = r.json()
            assert "Idempotent-Replayed" not in r.headers
            # the same request again (an answer lost on the way): the same refusal, said to be so
            again = post_ride(client, operator, body, key=key)
            assert again.status_code == 409 and again.headers.get("Idempotent-Replayed") == "true"
            assert again.json()["ride_id"] == refused["ride_id"]
            break
    assert refused is not None, "the demo fleet took 14 parties of four at once"
    assert refused["reason"] == "no_vehicle_available"
    assert "09:00–09:15" in refused["detail"]
    assert refused["alternatives"], refused
    for alt in refused["alternatives"]:
        assert alt["pickup_window"]["start"] != at("09:00")
    # an alternative really can be booked
    alt = refused["alternatives"][0]
    body = ride_body(
        eligible_resident(ctx, offset=20),
        origin={"place_id": "hall-hase"},
        destination={"place_id": "hall-nishiminowa"},
        party_size=4,
        pickup_after=alt["pickup_after"],
    )
    taken = post_ride(client, operator, body)
    assert taken.status_code == 201, taken.text
    assert taken.json()["pickup_window"] == alt["pickup_window"]
    with Session(ctx.engine) as s:
        stored = s.get(Ride, refused["ride_id"])
        assert stored is not None and stored.status == "refused"
    verify_plan(ctx, "ina-demo", DAY)


def test_trip_lifecycle_and_illegal_transitions(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher, clock: SimClock
) -> None:
    ride = post_ride(client, operator, ride_body(eligible_resident(ctx))).json()
    vid, rid = ride["vehicle_id"], ride["id"]
    vehicles = {v["id"]: v for v in client.get("/api/v1/vehicles", headers=operator).json()}
    driver = token_headers(client, f"ina-demo-driver-{vehicles[vid]['operator']}")
    other_op = next(v["operator"] for v in vehicles.values() if v["operator"] != vehicles[vid]["operator"])
    stranger = token_headers(client, f"ina-demo-driver-{other_op}")
    url = f"/api/v1/vehicles/{vid}/events"

    early = client.post(url, json={"type": "dropped_off", "ride_id": rid}, headers=driver)
    assert early.status_code == 409 and "picked up" in early.json()["detail"]
    assert client.post(url, json={"type": "arrived", "ride_id": rid}, headers=stranger).status_code == 403
    assert client.get(f"/api/v1/vehicles/{vid}/manifest", headers=stranger).status_code == 403

    clock.set(DAY_START.replace(hour=9, minute=2))
    assert (
        client.post(url, json={"type": "position", "lat": 35.869, "lon": 138.003}, headers=driver).status_code
        == 200
    )
    assert (
        client.post(url, json={"type": "arrived", "ride_id": rid}, headers=driver).json()["status"]
        == "vehicle_arrived"
    )
    clock.set(DAY_START.replace(hour=9, minute=4))
    assert (
        client.post(url, json={"type": "picked_up", "ride_id": rid}, headers=driver).json()["status"]
        == "on_board"
    )
    verify_plan(ctx, "ina-demo", DAY)
    cancel = client.post(f"/api/v1/rides/{rid}/cancel", headers=operator)
    assert cancel.status_code == 409 and cancel.json()["ride_status"] == "on_board"
    clock.set(DAY_START.replace(hour=9, minute=15))
    done = client.post(url, json={"type": "dropped_off", "ride_id": rid}, headers=driver)
    assert done.json()["status"] == "completed"
    again = client.post(url, json={"type": "dropped_off", "ride_id": rid}, headers=driver)
    assert again.status_code == 409
    m = client.get(
        f"/api/v1/vehicles/{vid}/manifest", params={"date": DAY.isoformat()}, headers=driver
    ).json()
    assert [(s["kind"], s["done"]) for s in m["stops"]] == [("pickup", True), ("dropoff", True)]
    with Session(ctx.engine) as s:
        kinds = [
            e.kind
            for e in s.exec(
                select(Event).where(Event.entity == "ride", Event.entity_id == str(rid)).order_by(Event.id)
            )
        ]
    assert kinds == ["ride.requested", "ride.confirmed", "ride.arrived", "ride.picked_up", "ride.dropped_off"]
    verify_plan(ctx, "ina-demo", DAY)


def test_cancel_frees_the_plan(client: TestClient, operator: dict[str, str], ctx: Dispatcher) -> None:
    a = post_ride(client, operator, ride_body(eligible_resident(ctx, offset=0))).json()
    b = post_ride(
        client, operator, ride_body(eligible_resident(ctx, offset=1), origin={"place_id": "hall-misuzu"})
    ).json()
    r = client.post(f"/api/v1/rides/{a['id']}/cancel", headers=operator)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/rides/{a['id']}/cancel", headers=operator).status_code == 409
    stops = client.get(f"/api/v1/vehicles/{b['vehicle_id']}/manifest", headers=operator).json()["stops"]
    assert a["id"] not in {s["ride_id"] for s in stops}
    verify_plan(ctx, "ina-demo", DAY)


def test_auth_roles_and_errors(client: TestClient, operator: dict[str, str], ctx: Dispatcher) -> None:
    assert client.get("/api/v1/residents").status_code == 401
    bad = client.post(
        "/api/v1/auth/token", data={"username": "ina-demo-operator", "password": "wrong-password"}
    )
    assert bad.status_code == 401 and bad.headers["content-type"].startswith("application/problem+json")
    city = token_headers(client, "ina-demo-city")
    assert client.get("/api/v1/residents", headers=city).status_code == 403
    assert client.post("/api/v1/rides", json={}, headers={**city, "Idempotency-Key": "x"}).status_code in (
        403,
        422,
    )
    assert client.get("/api/v1/vehicles", headers=city).status_code == 200
    res = client.get("/api/v1/residents", params={"limit": 5}, headers=operator).json()
    assert len(res) == 5 and all("phone" in r for r in res)
    name = res[0]["name"].split()[0]
    found = client.get("/api/v1/residents", params={"q": name, "limit": 500}, headers=operator).json()
    assert found and all(name in r["name"] for r in found)
    places = client.get("/api/v1/places", headers=operator).json()
    assert {"id", "name", "lat", "lon", "kind"} <= set(places[0])
    vehicles = client.get("/api/v1/vehicles", headers=operator).json()
    assert len(vehicles) == 8 and {"id", "operator", "seats", "wheelchair_places"} <= set(vehicles[0])
    assert client.get("/api/v1/rides/999999", headers=operator).status_code == 404


def test_another_municipality_sees_nothing_of_this_one(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher
) -> None:
    from dispatcher.db import session_scope
    from dispatcher.identity.auth import create_user
    from dispatcher.tenants import sync_tenant
    from tests.conftest import demo_as

    other = demo_as("other-town", "よその町", "other-")
    with session_scope(ctx.engine) as s:
        sync_tenant(s, other, ctx.clock.now())
        create_user(s, "other-town", "operator", "other-operator", "other-password", ctx.clock.now())
    ride = post_ride(client, operator, ride_body(eligible_resident(ctx))).json()
    foreign = token_headers(client, "other-operator", "other-password")
    assert client.get(f"/api/v1/rides/{ride['id']}", headers=foreign).status_code == 404
    assert client.post(f"/api/v1/rides/{ride['id']}/cancel", headers=foreign).status_code == 404
    assert client.get(f"/api/v1/vehicles/{ride['vehicle_id']}/manifest", headers=foreign).status_code == 404
    event = {"type": "arrived", "ride_id": ride["id"]}
    assert (
        client.post(f"/api/v1/vehicles/{ride['vehicle_id']}/events", json=event, headers=foreign).status_code
        == 404
    )
    assert client.get("/api/v1/residents", headers=foreign).json() == []
    assert client.get("/api/v1/rides", params={"date": DAY.isoformat()}, headers=foreign).json() == []
    own_vehicles = {v["id"] for v in client.get("/api/v1/vehicles", headers=foreign).json()}
    assert own_vehicles and ride["vehicle_id"] not in own_vehicles
    # booking one of this town's residents from the other town fails as an unknown resident
    r = post_ride(client, foreign, ride_body(ride["resident_id"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "resident_id"
    assert client.get(f"/api/v1/rides/{ride['id']}", headers=operator).json()["status"] == "confirmed"
