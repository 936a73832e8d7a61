"""Security: tenant isolation over every endpoint, the authorization matrix per role, personal data
kept from municipality viewers, sessions and tokens (expiry, revocation, lockout), rate limits,
cross-origin refusal and security headers.

The walks read the application's own OpenAPI schema, so an endpoint added later is walked too, and
an endpoint missing from the matrix below fails the test until someone decides who may use it.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.app import create_app
from api.ratelimit import RateLimiter
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event, Resident
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.settings import DEMO_TENANT_FILE, Settings
from tests.conftest import DAY_START, make_ctx, token_headers
from tests.security_world import (
    B_FAMILY,
    B_PHONE,
    STAFF_ROLES,
    A,
    B,
    Town,
    add_flight_and_alert,
    add_town_b,
    build_town,
    tenant_rows,
)

# Who may call each staff endpoint besides administrators (who may call all of them).
# "any": every signed-in staff role. Resident channels (/api/v1/me...) take a box or phone session.
MATRIX: dict[str, set[str]] = {
    "POST /api/v1/auth/sign-out": {"any"},
    "GET /api/v1/users": set(),
    "POST /api/v1/users/{user_id}/revoke": set(),
    "POST /api/v1/users/{user_id}/unlock": set(),
    "GET /api/v1/residents": {"operator"},
    "GET /api/v1/places": {"any"},
    "GET /api/v1/residents/{resident_id}": {"operator"},
    "PUT /api/v1/residents/{resident_id}/pin": {"operator"},
    "POST /api/v1/residents/{resident_id}/notes": {"operator"},
    "PUT /api/v1/residents/{resident_id}/favourites": {"operator"},
    "POST /api/v1/households": {"operator"},
    "GET /api/v1/households/{household_id}": {"operator"},
    "PATCH /api/v1/households/{household_id}": {"operator"},
    "POST /api/v1/households/{household_id}/move": {"operator"},
    "POST /api/v1/households/{household_id}/members": {"operator"},
    "POST /api/v1/residents/duplicates": {"operator"},
    "GET /api/v1/residents/{resident_id}/registration": {"operator"},
    "PATCH /api/v1/residents/{resident_id}/registration": {"operator"},
    "GET /api/v1/residents/{resident_id}/eligibility": {"operator"},
    "POST /api/v1/residents/{resident_id}/pause": {"operator"},
    "POST /api/v1/residents/{resident_id}/resume": {"operator"},
    "POST /api/v1/residents/{resident_id}/end": {"operator"},
    "POST /api/v1/residents/import": set(),  # the whole register: administrators only
    "GET /api/v1/residents/export.csv": set(),
    "GET /api/v1/service-area": {"operator"},
    "GET /api/v1/vehicles": {"any"},
    "GET /api/v1/vehicles/{vehicle_id}/manifest": {"operator", "driver"},
    "POST /api/v1/vehicles/{vehicle_id}/events": {"operator", "driver"},
    "POST /api/v1/vehicles/positions": {"operator", "driver"},
    "POST /api/v1/rides": {"operator"},
    "GET /api/v1/rides": {"operator"},
    "POST /api/v1/rides/quote": {"operator"},
    "POST /api/v1/rides/time-limits": {"operator"},
    "POST /api/v1/rides/{ride_id}/change": {"operator"},
    "GET /api/v1/rides/{ride_id}": {"operator"},
    "POST /api/v1/rides/{ride_id}/cancel": {"operator"},
    "POST /api/v1/rides/{ride_id}/review": {"operator"},
    "POST /api/v1/rides/{ride_id}/waive-fee": {"operator"},  # issue 20: the operator may waive a fee
    "GET /api/v1/field-flags": {"operator"},
    "POST /api/v1/field-flags/{flag_id}/review": {"operator"},
    "GET /api/v1/catalog": {"any"},  # products and prices: nothing personal
    "POST /api/v1/orders": {"operator"},
    "GET /api/v1/orders": {"operator"},
    "GET /api/v1/orders/{order_id}": {"operator"},
    "POST /api/v1/orders/{order_id}/status": {"operator"},
    "POST /api/v1/orders/{order_id}/cancel": {"operator"},
    "GET /api/v1/flights": {"operator", "drone_operator"},
    "GET /api/v1/flights/{flight_id}": {"operator", "drone_operator"},
    "GET /api/v1/flights/{flight_id}/plan": {"operator", "drone_operator"},
    "POST /api/v1/flights/{flight_id}/steps": {"operator", "drone_operator"},
    "GET /api/v1/handovers": {"operator", "support_worker"},
    "POST /api/v1/handovers/{order_id}/confirm": {"operator", "support_worker"},
    "GET /api/v1/picklists": {"operator", "seller"},
    "POST /api/v1/picklists/ready": {"operator", "seller"},
    "PUT /api/v1/weather/{day}": {"operator"},
    "GET /api/v1/weather/{day}": {"operator"},
    "GET /api/v1/board": {"operator"},
    "POST /api/v1/devices/pair": {"operator"},
    "GET /api/v1/devices": {"operator"},
    "POST /api/v1/devices/{device_id}/revoke": {"operator"},
    "GET /api/v1/devices/waiting": {"operator"},  # boxes waiting for pairing: a flood is cleared here
    "DELETE /api/v1/devices/waiting/{device_id}": {"operator"},
    "DELETE /api/v1/devices/waiting": {"operator"},
    "GET /api/v1/stats/ridership": {"municipality"},
    "GET /api/v1/stats/shopping": {"municipality"},
    "GET /api/v1/stats/dashboard": {"municipality"},
    "GET /api/v1/stats/dashboard.xlsx": {"municipality"},
    "GET /api/v1/stats/tables/{name}.csv": {"municipality"},
    "GET /api/v1/subscriptions": set(),
    "POST /api/v1/subscriptions": set(),
    "DELETE /api/v1/subscriptions/{sub_id}": set(),
    "POST /api/v1/subscriptions/{sub_id}/ping": set(),
    "GET /api/v1/subscriptions/{sub_id}/deliveries": set(),
    "GET /api/v1/jobs": {"operator"},
    "POST /api/v1/billing/close": set(),
    "GET /api/v1/billing/months": set(),
    "GET /api/v1/billing/{month}/statements": set(),
    "GET /api/v1/billing/{month}/settlements": set(),
    "GET /api/v1/billing/{month}/collection.csv": set(),
    "GET /api/v1/billing/{month}/zengin": set(),
    "POST /api/v1/billing/adjustments": set(),
    "PUT /api/v1/households/{household_id}/billing-account": {"operator"},
    "GET /api/v1/households/{household_id}/billing-account": {"operator"},
    "GET /api/v1/banks/{bank_code}": {"operator"},
    "GET /api/v1/banks/{bank_code}/branches/{branch_code}": {"operator"},
    "GET /api/v1/households/{household_id}/memberships": {"operator"},
    "POST /api/v1/households/{household_id}/memberships": {"operator"},
    "POST /api/v1/households/{household_id}/memberships/end": {"operator"},
    "GET /api/v1/households/{household_id}/watch": {"operator"},
    "PUT /api/v1/households/{household_id}/watch": {"operator"},
    "PUT /api/v1/households/{household_id}/watch/away": {"operator"},
    "GET /api/v1/watch/alerts": {"operator"},
    "POST /api/v1/watch/alerts/{episode_id}/ack": {"operator"},
    "POST /api/v1/households/{household_id}/reminders": {"operator"},
    "GET /api/v1/households/{household_id}/reminders": {"operator"},
    "DELETE /api/v1/reminders/{reminder_id}": {"operator"},
    "GET /api/v1/residents/{resident_id}/family": {"operator"},
    "POST /api/v1/residents/{resident_id}/family": {"operator"},
    "GET /api/v1/family-members": {"operator"},
    "GET /api/v1/family-members/{family_member_id}": {"operator"},
    "PUT /api/v1/family-members/{family_member_id}/password": {"operator"},
    "POST /api/v1/family-members/{family_member_id}/end": {"operator"},
    "PUT /api/v1/family-links/{link_id}": {"operator"},
    "POST /api/v1/family-links/{link_id}/revoke": {"operator"},
}
# Resident channels: a paired box or a phone session; staff tokens are not accepted.
HOUSEHOLD = {
    "GET /api/v1/me",
    "POST /api/v1/me/quote",
    "POST /api/v1/me/time-limits",
    "POST /api/v1/me/rides",
    "GET /api/v1/me/rides",
    "POST /api/v1/me/rides/{ride_id}/cancel",
    "GET /api/v1/me/catalog",
    "GET /api/v1/me/catalog/categories",
    "POST /api/v1/me/orders",
    "GET /api/v1/me/orders",
    "POST /api/v1/me/orders/{order_id}/cancel",
    "GET /api/v1/me/billing",
    "GET /api/v1/me/notices",
    "PUT /api/v1/me/watch/away",
    "GET /api/v1/me/reminders",
    "POST /api/v1/me/reminders/ack",
    "POST /api/v1/tv/activity",
    "GET /api/v1/tv/device",
}
# A family member's own account on the phone page (her session; no staff, no box). She also calls
# the HOUSEHOLD endpoints, acting for a linked resident.
FAMILY = {
    "GET /api/v1/m/family",
    "PUT /api/v1/m/family/password",
}
# Open without credentials: sign-in, a new box asking for its code, health, and the open data
# (aggregates and the service's published shape, by design public).
PUBLIC = {
    "POST /api/v1/auth/token",
    "POST /api/v1/tv/devices",
    "POST /api/v1/m/session",
    "POST /api/v1/m/session/end",
    "POST /api/v1/m/family/session",
    "GET /healthz",
    "GET /readyz",
    "GET /opendata/gtfs.zip",
    "GET /opendata/ridership.csv",
    "GET /opendata/ngsi-ld/v1/entities",
    "GET /opendata/ngsi-ld/v1/entities/{entity_id}",
}
# Operations whose body names another object by id (the walk fills it with town B's).
FOREIGN_BODY = {
    "POST /api/v1/rides",
    "POST /api/v1/rides/quote",
    "POST /api/v1/rides/time-limits",
    "POST /api/v1/orders",
    "POST /api/v1/devices/pair",
    "POST /api/v1/billing/adjustments",
    "POST /api/v1/me/quote",
    "POST /api/v1/me/time-limits",
    "POST /api/v1/me/rides",
    "POST /api/v1/me/reminders/ack",
}
# Path parameters that name no object of a municipality (a date, a month, a table name, the
# national bank master's codes).
NEUTRAL = {"day", "month", "name", "bank_code", "branch_code"}


def operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    spec = client.get("/openapi.json").json()
    return [(m.upper(), path, op) for path, ops in spec["paths"].items() for m, op in ops.items()]


def _member() -> dict[str, Any]:
    """A new person with a registration number of its own."""
    return {
        "registration_no": f"S-{uuid.uuid4().hex[:10]}",
        "family_name": "試験",
        "given_name": uuid.uuid4().hex[:6],
        "family_kana": "しけん",
        "given_kana": "たろう",
        "birth_date": "1950-01-01",
    }


def body_for(method: str, path: str, t: Town, other: Town | None = None) -> Any:
    """A valid body for the operation, naming `t`'s objects (the target town)."""
    ids = t.ids
    trip = {k: v for k, v in t.ride_body.items() if k not in ("pickup_after", "arrive_by")}  # no time
    bodies: dict[str, Any] = {
        "POST /api/v1/users/{user_id}/revoke": {"deactivate": False},
        "PUT /api/v1/residents/{resident_id}/pin": {"pin": "3825"},
        "POST /api/v1/residents/{resident_id}/family": {
            "member": {"name": "歩く 家族", "login_id": f"walk-{t.id}", "password": "walk-password"},
            "permission": "view",
            "consent_on": ids["day"],
            "consent_method": "phone",
        },
        "PUT /api/v1/family-members/{family_member_id}/password": {"password": "another-password"},
        "PUT /api/v1/family-links/{link_id}": {
            "permission": "view",
            "consent_on": ids["day"],
            "consent_method": "counter",
        },
        "PUT /api/v1/m/family/password": {"current_password": "not-the-password", "new_password": "x" * 12},
        "POST /api/v1/residents/{resident_id}/notes": {"text": "耳が遠い"},
        "PUT /api/v1/residents/{resident_id}/favourites": {"place_ids": ["hall-tera"]},
        "POST /api/v1/vehicles/{vehicle_id}/events": {"type": "position", "lat": 35.84, "lon": 137.96},
        "POST /api/v1/vehicles/positions": {
            "positions": [{"vehicle_id": ids["vehicle_id"], "lat": 35.84, "lon": 137.96}]
        },
        "POST /api/v1/rides": t.ride_body,
        "POST /api/v1/rides/quote": t.ride_body,
        "POST /api/v1/me/quote": t.ride_body,
        "POST /api/v1/rides/time-limits": trip,
        "POST /api/v1/me/time-limits": trip,
        "POST /api/v1/me/rides": t.ride_body,
        "POST /api/v1/rides/{ride_id}/change": {"request": t.ride_body, "reason": "時間変更"},
        "POST /api/v1/rides/{ride_id}/cancel": {"reason": "test"},
        "POST /api/v1/rides/{ride_id}/review": {"outcome": "no_show"},
        "POST /api/v1/rides/{ride_id}/waive-fee": {"reason": "test"},
        "POST /api/v1/field-flags/{flag_id}/review": {"decision": "confirmed"},
        "POST /api/v1/orders": {
            "household_id": ids["household_id"],
            "lines": [{"product_id": 1, "quantity": 1}],
        },
        "POST /api/v1/me/orders": {"lines": [{"product_id": 1, "quantity": 1}]},
        "POST /api/v1/orders/{order_id}/status": {"status": "picked"},
        "POST /api/v1/flights/{flight_id}/steps": {"action": "preflight", "checklist": {}},
        "POST /api/v1/picklists/ready": {"day": ids["day"]},
        "PUT /api/v1/weather/{day}": {"slots": []},
        "POST /api/v1/devices/pair": {"code": "000000", "household_id": ids["household_id"]},
        "POST /api/v1/subscriptions": {
            "channel": "webhook",
            "target": "https://partner.example/x",
            "events": ["stats.daily"],
        },
        "POST /api/v1/billing/close": {"month": "2026-10"},
        "POST /api/v1/billing/adjustments": {
            "household_id": ids["household_id"],
            "amount_yen": -100,
            "reason": "返金",
        },
        "PUT /api/v1/households/{household_id}/billing-account": {
            "customer_no": "123456",
            "bank_code": "0143",
            "branch_code": "553",
            "account_number": "1234567",
            "holder_kana": "ﾖｿ ﾀﾛｳ",
        },
        "POST /api/v1/households/{household_id}/memberships": {"starts_on": ids["day"]},
        "POST /api/v1/households/{household_id}/memberships/end": {"ends_on": ids["day"]},
        "PUT /api/v1/households/{household_id}/watch": {"enabled": False},
        "PUT /api/v1/households/{household_id}/watch/away": {
            "until": f"{ids['day']}T18:00:00+09:00",
            "reason": "外出",
        },
        "PUT /api/v1/me/watch/away": {"until": f"{ids['day']}T18:00:00+09:00", "reason": "外出"},
        "POST /api/v1/watch/alerts/{episode_id}/ack": {"note": "電話しました"},
        "POST /api/v1/households/{household_id}/reminders": {
            "text": "薬",
            "kind": "medication",
            "days": ["tue"],
            "at_time": "08:00",
        },
        "POST /api/v1/me/reminders/ack": {
            "key": f"reminder:{ids['reminder_id']}",
            "due_at": f"{ids['day']}T07:00:00+09:00",
        },
        "POST /api/v1/tv/activity": {"kind": "power_on"},
        "POST /api/v1/households": {
            "household": {"address": "手良 1番地", "lat": 35.869, "lon": 138.004},
            "members": [_member()],
        },
        "PATCH /api/v1/households/{household_id}": {"phone": "0265-00-0000"},
        "POST /api/v1/households/{household_id}/move": {
            "address": "手良 2番地",
            "lat": 35.868,
            "lon": 138.004,
        },
        "POST /api/v1/households/{household_id}/members": _member(),
        "POST /api/v1/residents/duplicates": {
            "family_name": "伊那",
            "given_name": "花子",
            "birth_date": "1950-01-01",
        },
        "PATCH /api/v1/residents/{resident_id}/registration": {"phone": "0265-00-0001"},
        "POST /api/v1/residents/{resident_id}/pause": {"reason": "入院"},
        "POST /api/v1/residents/{resident_id}/end": {"reason": "moved_away"},
        # the register file is the body itself (text/csv): one person in the caller's own town
        "POST /api/v1/residents/import": (
            "登録番号,世帯番号,氏,名,氏カナ,名カナ,生年月日,住所,緯度,経度\r\n"
            "SEC-IMPORT-1,SEC-H1,試験,一郎,しけん,いちろう,1950-01-01,手良 3番地,35.869,138.004\r\n"
        ).encode("cp932"),
    }
    return bodies.get(f"{method} {path}")


def call(
    client: TestClient, method: str, path: str, op: dict[str, Any], t: Town, headers: dict[str, str]
) -> Any:
    """Call an operation with every path and query parameter naming town `t`'s objects."""
    url = path
    params: dict[str, Any] = {}
    for p in op.get("parameters", []):
        value = t.ids.get(p["name"])
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", str(value))
        elif p["in"] == "query" and value is not None:
            params[p["name"]] = value
        elif p["name"] == "tenant":
            params["tenant"] = t.id
    h = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    body = body_for(method, path, t)
    if isinstance(body, bytes):
        return client.request(method, url, params=params, headers=h, content=body)
    return client.request(method, url, params=params, headers=h, json=body if body is not None else None)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Dispatcher, Town, Town]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('security') / 'noriai.db'}"
    clock = SimClock(DAY_START.replace(hour=9))
    ctx = make_ctx(url, clock, residents=120)
    add_town_b(ctx)
    with TestClient(create_app(ctx=ctx, scheduler=False), raise_server_exceptions=False) as client:
        a, b = build_town(client, ctx, A), build_town(client, ctx, B)
        add_flight_and_alert(ctx, clock, [a, b])
        assert b.ids["flight_id"] < 2_000_000_000, "town B's order did not fly"
        yield client, ctx, a, b
    ctx.engine.dispose()


def leaks(text: str, markers: list[str]) -> list[str]:
    return [m for m in markers if m in text]


def test_every_endpoint_is_in_the_matrix(world: tuple[TestClient, Dispatcher, Town, Town]) -> None:
    client = world[0]
    known = set(MATRIX) | HOUSEHOLD | FAMILY | PUBLIC
    ops = {f"{m} {p}" for m, p, _ in operations(client)}
    assert ops - known == set(), "decide who may call these and add them to MATRIX"
    assert known - ops == set(), "the matrix names endpoints that no longer exist"


def test_a_foreign_municipality_reads_and_changes_nothing(
    world: tuple[TestClient, Dispatcher, Town, Town],
) -> None:
    """Town A's every credential (each staff role, a paired box) against every endpoint, with every
    id, body and query naming town B's objects: nothing of B is answered, B's rows are unchanged."""
    client, ctx, a, b = world
    with Session(ctx.engine) as s:
        names = [
            f"{r.family_name} {r.given_name}" for r in s.exec(select(Resident).where(Resident.tenant_id == B))
        ]
    markers = [B, B_FAMILY, B_PHONE, "余所町", *names]
    before = tenant_rows(ctx, B)
    credentials = {**a.staff, "box": a.box, "family": a.family}
    walked, checked = 0, Counter[int]()
    for method, path, op in operations(client):
        key = f"{method} {path}"
        if key in PUBLIC or key == "POST /api/v1/auth/sign-out":
            continue
        foreign_path = any(p["in"] == "path" and p["name"] not in NEUTRAL for p in op.get("parameters", []))
        for who, headers in credentials.items():
            r = call(client, method, path, op, b, headers)
            walked += 1
            assert r.status_code < 500, (key, who, r.status_code, r.text[:300])
            found = leaks(r.text, markers)
            assert not found, (key, who, r.status_code, found, r.text[:300])
            if not may_call(key, who) or not (foreign_path or key in FOREIGN_BODY):
                continue
            # a caller who may use the endpoint, naming town B's object: as if it did not exist
            allowed = (403, 404) if foreign_path else (403, 404, 409, 422)
            assert r.status_code in allowed, (key, who, r.status_code, r.text[:300])
            checked[r.status_code] += 1
            if r.status_code == 403:
                print(f"  403 for {who}: {key}: {r.json()['detail']}")
    assert tenant_rows(ctx, B) == before
    print(f"isolation walk: {walked} calls; {checked.total()} by a caller allowed the endpoint, naming")
    print(f"town B's objects, all refused: {dict(sorted(checked.items()))}")
    assert walked > 600 and checked.total() > 60 and checked[404] > 40, (walked, checked)


def may_call(key: str, who: str) -> bool:
    """Whether the credential `who` (a staff role, "box" or "family") may use the endpoint at all."""
    if key in FAMILY or who == "family":
        return (key in FAMILY or key in HOUSEHOLD) and who == "family"
    if key in HOUSEHOLD or who == "box":
        return key in HOUSEHOLD and who == "box"
    allowed = MATRIX[key]
    return who == "admin" or "any" in allowed or who in allowed


def test_each_role_reaches_only_what_it_needs(world: tuple[TestClient, Dispatcher, Town, Town]) -> None:
    """Every staff endpoint with its own town's objects: 403 exactly for the roles the matrix leaves
    out; a box or no credential at all is not a staff member (401)."""
    client, _ctx, a, _b = world
    ops = [(m, p, op) for m, p, op in operations(client) if f"{m} {p}" in MATRIX and "sign-out" not in p]
    wrong: list[tuple[str, str, int]] = []
    for method, path, op in ops:
        for role in STAFF_ROLES:
            r = call(client, method, path, op, a, a.staff[role])
            assert r.status_code < 500, (method, path, role, r.text[:300])
            may = may_call(f"{method} {path}", role)
            if (r.status_code == 403) == may or r.status_code == 401:
                wrong.append((f"{method} {path}", role, r.status_code))
        assert call(client, method, path, op, a, a.box).status_code == 401, (method, path)
        assert call(client, method, path, op, a, a.family).status_code == 401, (method, path)
        assert call(client, method, path, op, a, {}).status_code == 401, (method, path)
    assert wrong == [], "\n".join(map(str, wrong))
    for key in HOUSEHOLD | FAMILY:
        method, path = key.split(" ")
        op = next(o for m, p, o in operations(client) if m == method and p == path)
        assert call(client, method, path, op, a, a.staff["admin"]).status_code == 401, key
        assert call(client, method, path, op, a, {}).status_code == 401, key
    for key in FAMILY:  # her own account: a box is not her
        method, path = key.split(" ")
        op = next(o for m, p, o in operations(client) if m == method and p == path)
        assert call(client, method, path, op, a, a.box).status_code == 401, key


def test_municipality_viewers_see_no_personal_data(world: tuple[TestClient, Dispatcher, Town, Town]) -> None:
    client, ctx, a, _b = world
    with Session(ctx.engine) as s:
        residents = s.exec(select(Resident).where(Resident.tenant_id == A)).all()
    markers = [f"{r.family_name} {r.given_name}" for r in residents] + [r.phone for r in residents if r.phone]
    seen = 0
    for method, path, op in operations(client):
        if method != "GET" or f"{method} {path}" in HOUSEHOLD:
            continue
        r = call(client, method, path, op, a, a.staff["municipality"])
        if r.status_code == 200:
            seen += 1
            assert not leaks(r.text, markers), (path, leaks(r.text, markers)[:3])
    assert seen >= 8, seen


# --- sessions and tokens ------------------------------------------------------------------------


@pytest.fixture
def fresh(sqlite_ctx: Dispatcher) -> Iterator[TestClient]:
    with TestClient(create_app(ctx=sqlite_ctx, scheduler=False), raise_server_exceptions=False) as c:
        yield c


def test_tokens_expire_and_sign_out_revokes(
    fresh: TestClient, sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    op = token_headers(fresh, "ina-demo-operator")
    assert fresh.get("/api/v1/board", headers=op).status_code == 200
    clock.advance(timedelta(hours=sqlite_ctx.token_hours) - timedelta(minutes=1))
    assert fresh.get("/api/v1/board", headers=op).status_code == 200
    clock.advance(timedelta(minutes=2))
    expired = fresh.get("/api/v1/board", headers=op)
    assert expired.status_code == 401 and expired.headers["www-authenticate"] == "Bearer"
    op = token_headers(fresh, "ina-demo-operator")
    assert fresh.post("/api/v1/auth/sign-out", headers=op).status_code == 204
    assert fresh.get("/api/v1/board", headers=op).status_code == 401
    with Session(sqlite_ctx.engine) as s:
        stored = [e.kind for e in s.exec(select(Event).where(Event.entity == "user").order_by(Event.id))]
    assert "user.signed_out" in stored


def test_a_lost_tablet_is_revoked_and_the_user_deactivated(fresh: TestClient, sqlite_ctx: Dispatcher) -> None:
    admin = token_headers(fresh, "ina-demo-admin")
    users = {u["username"]: u for u in fresh.get("/api/v1/users", headers=admin).json()}
    assert all("password" not in k for u in users.values() for k in u)
    driver_name = next(n for n in users if n.startswith("ina-demo-driver-"))
    tablet, phone = token_headers(fresh, driver_name), token_headers(fresh, driver_name)
    r = fresh.post(
        f"/api/v1/users/{users[driver_name]['id']}/revoke", json={"deactivate": True}, headers=admin
    )
    assert r.status_code == 200 and r.json()["revoked_tokens"] == 2 and r.json()["active"] is False
    assert fresh.get("/api/v1/vehicles", headers=tablet).status_code == 401
    assert fresh.get("/api/v1/vehicles", headers=phone).status_code == 401
    again = fresh.post("/api/v1/auth/token", data={"username": driver_name, "password": DEMO_PASSWORD})
    assert again.status_code == 401
    assert (
        fresh.post(f"/api/v1/users/{users[driver_name]['id']}/unlock", headers=admin).json()["active"] is True
    )
    assert token_headers(fresh, driver_name)


def test_repeated_wrong_passwords_lock_the_user(
    fresh: TestClient, sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    def sign_in(password: str, username: str = "ina-demo-operator") -> Any:
        return fresh.post("/api/v1/auth/token", data={"username": username, "password": password})

    for attempt in range(5):
        r = sign_in(f"wrong-{attempt}")
        assert r.status_code == 401, r.text
    wrong = r.json()
    assert "15 minutes" in wrong["hint"] and "administrator" in wrong["hint"]
    locked = sign_in(DEMO_PASSWORD)  # even the right password
    assert locked.status_code == 401 and locked.headers["content-type"].startswith("application/problem+json")
    # the answer says nothing a guesser could use: the same for a locked user and an unknown name
    unknown = sign_in(DEMO_PASSWORD, "no-such-user")
    assert locked.json() == wrong == unknown.json() | {"instance": wrong["instance"]}
    admin = token_headers(fresh, "ina-demo-admin")
    listed = {u["username"]: u for u in fresh.get("/api/v1/users", headers=admin).json()}
    assert listed["ina-demo-operator"]["locked_until"] is not None  # administrators see the lock
    clock.advance(timedelta(minutes=14))
    assert sign_in(DEMO_PASSWORD).status_code == 401  # attempts while locked do not extend it
    clock.advance(timedelta(minutes=2))
    assert sign_in(DEMO_PASSWORD).status_code == 200  # the lock ends by itself
    for attempt in range(5):
        sign_in(f"wrong-again-{attempt}")
    assert sign_in(DEMO_PASSWORD).status_code == 401
    uid = listed["ina-demo-operator"]["id"]
    assert fresh.post(f"/api/v1/users/{uid}/unlock", headers=admin).json()["locked_until"] is None
    assert sign_in(DEMO_PASSWORD).status_code == 200
    with Session(sqlite_ctx.engine) as s:
        kinds = [e.kind for e in s.exec(select(Event).where(Event.entity_id == str(uid)).order_by(Event.id))]
    assert kinds.count("user.sign_in_failed") == 10 and "user.unlocked" in kinds


def test_secrets_are_argon2_hashes(sqlite_ctx: Dispatcher) -> None:
    from sqlalchemy import text

    with sqlite_ctx.engine.connect() as c:
        hashes = c.execute(text('SELECT password_hash FROM "user"')).scalars().all()
        tokens = c.execute(text("SELECT token_hash FROM device")).scalars().all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all(re.fullmatch(r"[0-9a-f]{64}", t) for t in tokens)  # tokens: only their SHA-256 is kept


# --- rate limits -----------------------------------------------------------------------------------


def limited_client(ctx: Dispatcher, **rates: int) -> TestClient:
    settings = Settings(
        NORIAI_TENANT_FILE=DEMO_TENANT_FILE,
        NORIAI_RATE_SIGN_IN=rates.get("sign_in", 0),
        NORIAI_RATE_PAIRING=rates.get("pairing", 0),
        NORIAI_RATE_BOOKINGS=rates.get("bookings", 0),
    )
    return TestClient(create_app(settings, ctx=ctx, scheduler=False), raise_server_exceptions=False)


def test_rate_limits_answer_429_with_retry_after(sqlite_ctx: Dispatcher) -> None:
    with limited_client(sqlite_ctx, sign_in=3, pairing=2, bookings=2) as c:
        codes = [
            c.post("/api/v1/auth/token", data={"username": f"nobody-{i}", "password": "x"}).status_code
            for i in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        r = c.post("/api/v1/auth/token", data={"username": "ina-demo-operator", "password": DEMO_PASSWORD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        body = r.json()
        assert body["status"] == 429 and body["retry_after_seconds"] >= 1 and "Wait" in body["detail"]
        assert [c.post("/api/v1/tv/devices", json={}).status_code for _ in range(3)] == [201, 201, 429]
        pins = [c.post("/api/v1/m/session", json={"resident_id": 1, "pin": "1357"}) for _ in range(4)]
        assert [p.status_code for p in pins] == [401, 401, 401, 429]  # its own bucket, not staff's
        assert "待って" in pins[3].json()["detail"]  # residents read Japanese
    with limited_client(sqlite_ctx, bookings=2) as c:
        op = token_headers(c, "ina-demo-operator")
        other = token_headers(c, "ina-demo-admin")
        body = {"resident_id": 1, "origin": {"place_id": "hall-tera"}, "destination": {"place_id": "x"}}
        codes = [c.post("/api/v1/rides/quote", json=body, headers=op).status_code for _ in range(3)]
        assert 429 not in codes[:2] and codes[2] == 429
        assert c.post("/api/v1/rides/quote", json=body, headers=other).status_code != 429  # per user
        again = token_headers(c, "ina-demo-operator")  # signing in again buys no fresh allowance
        assert c.post("/api/v1/rides/quote", json=body, headers=again).status_code == 429
        bogus = {"Authorization": "bearer not-a-token"}  # refused as unknown, before any bucket
        assert c.post("/api/v1/rides/quote", json=body, headers=bogus).status_code == 401


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.take("x", "k", 6) for _ in range(6)] == [0.0] * 6
    assert limiter.take("x", "k", 6) == pytest.approx(10.0)  # one every 10 s
    assert limiter.take("x", "other", 6) == 0.0
    now[0] = 9.0
    assert limiter.take("x", "k", 6) == pytest.approx(1.0)
    now[0] = 10.0
    assert limiter.take("x", "k", 6) == 0.0
    assert limiter.take("x", "k", 0) == 0.0  # 0: no limit
    small = RateLimiter(clock=lambda: now[0], max_keys=2)
    assert [small.take("x", k, 1) for k in ("a", "b", "a", "c")] == [0.0, 0.0, 60.0, 0.0]
    assert small.take("x", "b", 1) == 0.0  # "b" was the least recently used: dropped, starts full
    assert small.take("x", "a", 1) == 0.0  # and so was "a" when "b" came back


# --- cross-origin refusal and headers -----------------------------------------------------------


def test_cross_origin_form_posts_are_refused(fresh: TestClient, sqlite_ctx: Dispatcher) -> None:
    form = {"username": "ina-demo-operator", "password": DEMO_PASSWORD}
    before = tenant_rows(sqlite_ctx, A)["event"]
    refused = [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
        {"Origin": "http://["},  # not even a URL: refused, not a 500
    ]
    for headers in refused:
        r = fresh.post("/api/v1/auth/token", data=form, headers=headers)
        assert r.status_code == 403, headers
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["title"] == "Cross-origin request refused"
        ack = fresh.post("/watch/ack/some-token", data={"note": "x"}, headers=headers)
        assert ack.status_code == 403
    assert tenant_rows(sqlite_ctx, A)["event"] == before  # nobody signed in
    same = fresh.post(
        "/api/v1/auth/token",
        data=form,
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert same.status_code == 200
    # an older browser sends no Sec-Fetch-Site; from our own page its Origin is ours (pages send
    # Referrer-Policy: same-origin, under which a form keeps its Origin)
    assert (
        fresh.post("/api/v1/auth/token", data=form, headers={"Origin": "http://testserver"}).status_code
        == 200
    )
    assert fresh.post("/api/v1/auth/token", data=form).status_code == 200  # a script: no Origin
    # a bearer token cannot come from another site's page (that would need CORS): not checked
    op = token_headers(fresh, "ina-demo-operator")
    hinted = {**op, "Origin": "http://tv-proxy.example", "Sec-Fetch-Site": "cross-site"}
    assert fresh.get("/api/v1/board", headers=hinted).status_code == 200
    assert fresh.post("/api/v1/auth/sign-out", headers=hinted).status_code == 204


def test_security_headers_on_pages_and_api(fresh: TestClient) -> None:
    page = fresh.get("/operator")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    api = fresh.get("/api/v1/board")
    for r in (page, api, fresh.get("/healthz"), fresh.get("/static/operator.js")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
    assert api.headers["cache-control"] == "no-store"
    assert api.headers["content-security-policy"].startswith("default-src 'none'")


def test_a_lost_phone_is_cut_off_by_a_new_pin_and_a_lost_box_by_revocation(
    fresh: TestClient, sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    op = token_headers(fresh, "ina-demo-operator")
    rid = fresh.get("/api/v1/residents", params={"limit": 1}, headers=op).json()[0]["id"]
    assert fresh.put(f"/api/v1/residents/{rid}/pin", json={"pin": "2468"}, headers=op).status_code == 204
    signed = fresh.post("/api/v1/m/session", json={"resident_id": rid, "pin": "2468"})
    assert signed.status_code == 200, signed.text
    phone = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    assert fresh.get("/api/v1/me", headers=phone).status_code == 200
    clock.advance(timedelta(minutes=1))
    assert fresh.put(f"/api/v1/residents/{rid}/pin", json={"pin": "9173"}, headers=op).status_code == 204
    cut = fresh.get("/api/v1/me", headers=phone)
    assert cut.status_code == 401 and cut.json()["detail"] == "サインインしてください。"
    with Session(sqlite_ctx.engine) as s:
        household = s.get(Resident, rid).household_id
    box = fresh.post("/api/v1/tv/devices", json={}).json()
    paired = fresh.post(
        "/api/v1/devices/pair", json={"code": box["code"], "household_id": household}, headers=op
    )
    tv = {"Authorization": f"Bearer {box['token']}"}
    assert fresh.get("/api/v1/me", headers=tv).status_code == 200
    assert fresh.post(f"/api/v1/devices/{paired.json()['id']}/revoke", headers=op).status_code == 200
    assert fresh.get("/api/v1/me", headers=tv).status_code == 401
