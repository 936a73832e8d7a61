"""Two municipalities on one database, each with its staff of every role, a paired box, a family
member signed in on the phone page, a ride, an order, a watch-over, a reminder, a subscription and a
spare user to revoke: the ground on which
tests/test_security.py walks every endpoint of the OpenAPI schema.

Town B's residents all carry the family name 余所野 and phone numbers 0266-99-xxxx (an area code the
demo never gives town A: a whole-register export of A contains none), so any response that leaks
one of them can be found by a plain text search.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import session_scope
from dispatcher.models import Flight, Household, Membership, Resident, Role, User, WatchEpisode
from dispatcher.platform.demo import DEMO_PASSWORD, seed_demo
from dispatcher.residents.eligibility import categories_on
from dispatcher.shopping.delivery import plan_delivery
from tests.conftest import DAY_START, demo_as, token_headers

A, B = "ina-demo", "yoso-town"
B_FAMILY, B_PHONE = "余所野", "0266-99-"
DAY = DAY_START.date().isoformat()
STAFF_ROLES = [r.value for r in Role]


@dataclass
class Town:
    """One municipality's credentials and the ids of its objects, by the API's parameter names."""

    id: str
    staff: dict[str, dict[str, str]] = field(default_factory=dict)  # role -> bearer header
    box: dict[str, str] = field(default_factory=dict)  # a paired set-top box of `ids["household_id"]`
    family: dict[str, str] = field(default_factory=dict)  # a family member linked to `ids["resident_id"]`
    ids: dict[str, Any] = field(default_factory=dict)
    ride_body: dict[str, Any] = field(default_factory=dict)


def add_town_b(ctx: Dispatcher) -> None:
    """Town B: the demo's rules under another id, its own operators, 60 residents named 余所野."""
    cfg = demo_as(B, "余所町", "yoso-")
    with session_scope(ctx.engine) as s:
        seed_demo(s, cfg, ctx.clock.now(), residents=60, seed=7)
        s.flush()
        for i, r in enumerate(s.exec(select(Resident).where(Resident.tenant_id == B)).all()):
            r.family_name, r.phone = B_FAMILY, f"{B_PHONE}{i:04d}"
            s.add(r)
        for hh in s.exec(select(Household).where(Household.tenant_id == B)).all():
            hh.address, hh.phone = "余所町 1-1", f"{B_PHONE}9{hh.id % 1000:03d}"
            s.add(hh)


def _eligible(ctx: Dispatcher, tenant: str) -> tuple[int, int]:
    """A resident who may ride today, with a household that shops (member) at a hall the drones
    reach: (resident, household)."""
    cfg = ctx.config(tenant)
    assert cfg.drones is not None
    flown = {c.to for c in cfg.drones.corridors}
    with Session(ctx.engine) as s:
        members = {
            m.household_id
            for m, hall in s.exec(
                select(Membership, Household.hall_id)
                .join(Household, col(Household.id) == Membership.household_id)
                .where(Membership.tenant_id == tenant)
            )
            if hall in flown
        }
        rows = s.exec(
            select(Resident).where(Resident.tenant_id == tenant, Resident.wheelchair == False)  # noqa: E712
        ).all()
    for r in sorted(rows, key=lambda r: r.id or 0):
        cats = categories_on(r, cfg, DAY_START.date()) & set(cfg.eligibility.any_of)
        if cats and r.household_id in members:
            return r.id, r.household_id
    raise AssertionError(f"no eligible member in {tenant}")


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def build_town(client: TestClient, ctx: Dispatcher, tenant: str) -> Town:
    """Sign in every role, pair a box, book a ride, place an order and set up the household."""
    t = Town(tenant)
    t.staff["admin"] = token_headers(client, f"{tenant}-admin")
    t.staff["operator"] = token_headers(client, f"{tenant}-operator")
    t.staff["municipality"] = token_headers(client, f"{tenant}-city")
    t.staff["drone_operator"] = token_headers(client, f"{tenant}-drone")
    t.staff["support_worker"] = token_headers(client, f"{tenant}-support")
    op = t.staff["operator"]
    resident, household = _eligible(ctx, tenant)
    t.ride_body = {
        "resident_id": resident,
        "origin": {"place_id": "hall-tera"},
        "destination": {"place_id": "central-hospital"},
        "pickup_after": f"{DAY}T10:00:00+09:00",
        "party_size": 1,
        "wheelchair": False,
    }
    ride = _ok(
        client.post("/api/v1/rides", json=t.ride_body, headers={**op, "Idempotency-Key": uuid.uuid4().hex}),
        201,
    )
    vehicles = {v["id"]: v for v in _ok(client.get("/api/v1/vehicles", headers=op))}
    t.staff["driver"] = token_headers(client, f"{tenant}-driver-{vehicles[ride['vehicle_id']]['operator']}")
    product = _ok(client.get("/api/v1/catalog", headers=op))[0]
    order_body = {"household_id": household, "lines": [{"product_id": product["id"], "quantity": 1}]}
    order = _ok(
        client.post("/api/v1/orders", json=order_body, headers={**op, "Idempotency-Key": uuid.uuid4().hex}),
        201,
    )
    with Session(ctx.engine) as s:
        sellers = s.exec(select(User.username).where(User.role == "seller", User.tenant_id == tenant)).all()
    t.staff["seller"] = token_headers(client, sorted(sellers)[0])
    boxes = []
    for _ in range(2):  # one to use, one to revoke
        box = _ok(client.post("/api/v1/tv/devices", json={"tenant_id": tenant}), 201)
        paired = _ok(
            client.post(
                "/api/v1/devices/pair", json={"code": box["code"], "household_id": household}, headers=op
            )
        )
        boxes.append((box["token"], paired["id"]))
    t.box = {"Authorization": f"Bearer {boxes[0][0]}"}
    _ok(
        client.put(
            f"/api/v1/households/{household}/watch",
            json={
                "contacts": [{"name": "家族", "email": "family@example.org", "relation": "長女"}],
                "consent": {"on": DAY, "method": "written", "given_by": "本人"},
            },
            headers=op,
        )
    )
    reminder = _ok(
        client.post(
            f"/api/v1/households/{household}/reminders",
            json={"text": "ゴミの日", "kind": "rubbish", "days": ["tue"], "at_time": "07:00"},
            headers=op,
        ),
        201,
    )
    sub = _ok(
        client.post(
            "/api/v1/subscriptions",
            json={
                "channel": "webhook",
                "target": "https://partner.example/hook",
                "events": ["stats.daily"],
            },
            headers=t.staff["admin"],
        ),
        201,
    )
    _ok(client.get("/api/v1/jobs", headers=op))  # the scheduler's job rows exist before any walk
    link = _ok(
        client.post(
            f"/api/v1/residents/{resident}/family",
            json={
                "member": {"name": "家族 花子", "login_id": f"{tenant}-family", "password": DEMO_PASSWORD},
                "permission": "book",
                "consent_on": DAY,
                "consent_method": "written",
            },
            headers=op,
        ),
        201,
    )
    signed = _ok(
        client.post(
            "/api/v1/m/family/session",
            json={"tenant_id": tenant, "login_id": f"{tenant}-family", "password": DEMO_PASSWORD},
        )
    )
    t.family = {"Authorization": f"Bearer {signed['access_token']}"}
    with session_scope(ctx.engine) as s:
        from dispatcher.identity.auth import create_user

        spare = create_user(s, tenant, "operator", f"{tenant}-spare", DEMO_PASSWORD, ctx.clock.now())
        spare_id = spare.id
    t.ids = {
        "resident_id": resident,
        "household_id": household,
        "ride_id": ride["id"],
        "vehicle_id": ride["vehicle_id"],
        "order_id": order["id"],
        "device_id": boxes[1][1],
        "reminder_id": reminder["id"],
        "sub_id": sub["id"],
        "user_id": spare_id,
        "family_member_id": link["family_member"]["id"],
        "link_id": link["id"],
        "episode_id": None,  # set by add_flight_and_alert
        "flight_id": None,
        "flag_id": 2_000_000_000,  # no flagged report in the world: its review answers 404 to an operator
        "seller_id": None,
        "hall_id": "hall-tera",
        "day": DAY,
        "date": DAY,
        "month": "2026-10",
        "name": "ridership",
        "entity_id": f"urn:ngsi-ld:Noriai:{tenant}",
        "bank_code": "0143",  # the bank master is the same for every town
        "branch_code": "553",
    }
    return t


def tenant_rows(ctx: Dispatcher, tenant: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table that has a tenant_id, for one tenant, in a stable order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    insp = inspect(ctx.engine)
    with ctx.engine.connect() as c:
        for table in sorted(insp.get_table_names()):
            cols = [col["name"] for col in insp.get_columns(table)]
            if "tenant_id" not in cols:
                continue
            rows = c.execute(text(f'SELECT * FROM "{table}" WHERE tenant_id = :t'), {"t": tenant}).all()
            out[table] = sorted((tuple(str(v) for v in r) for r in rows), key=repr)
    return out


def add_flight_and_alert(ctx: Dispatcher, clock: SimClock, towns: list[Town]) -> None:
    """After the shopping cut-off each town's order flies; a silent TV opens a watch-over alert.

    The clock goes back to where it was: the walks run in the morning, with bookings still open.
    """
    start = clock.now()
    clock.set(DAY_START.replace(hour=11, minute=5))
    for t in towns:
        plan_delivery(ctx, t.id, DAY_START.date())
        with session_scope(ctx.engine) as s:
            flight = s.exec(select(Flight).where(Flight.tenant_id == t.id).order_by(col(Flight.id))).first()
            episode = WatchEpisode(
                tenant_id=t.id,
                household_id=t.ids["household_id"],
                inactive_since=start - timedelta(hours=30),
                alerted_at=start - timedelta(hours=2),
                ack_token_hash=uuid.uuid4().hex,
            )
            s.add(episode)
            s.flush()
            t.ids["flight_id"] = flight.id if flight is not None else 2_000_000_000
            t.ids["episode_id"] = episode.id
    clock.set(start)
