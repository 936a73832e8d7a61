"""Grocery orders through the API on SQLite and PostgreSQL: catalogue, cut-off, cancellation."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event, Household, Membership, OrderLine, ShopOrder
from tests.conftest import DAY_START, token_headers


def member_household(ctx: Dispatcher, member: bool = True) -> int:
    with Session(ctx.engine) as s:
        members = {m.household_id for m in s.exec(select(Membership))}
        households = s.exec(select(Household.id).order_by(Household.id)).all()
    return next(h for h in households if (h in members) == member)


def order(client: TestClient, headers: dict[str, str], body: dict, key: str | None = None):
    return client.post(
        "/api/v1/orders", json=body, headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())}
    )


def counts(ctx: Dispatcher) -> tuple[int, int, int]:
    with Session(ctx.engine) as s:
        return (
            s.exec(select(func.count()).select_from(ShopOrder)).one(),
            s.exec(select(func.count()).select_from(OrderLine)).one(),
            s.exec(select(func.count()).select_from(Event)).one(),
        )


def test_catalogue_has_the_demo_range(client: TestClient, operator: dict[str, str]) -> None:
    items = client.get("/api/v1/catalog", headers=operator).json()
    assert 350 <= len(items) <= 400
    assert all(i["price_yen"] > 0 and i["weight_g"] > 0 for i in items)
    fruit = client.get("/api/v1/catalog", params={"category": "果物"}, headers=operator).json()
    assert fruit and {i["category"] for i in fruit} == {"果物"}


def test_order_before_cutoff_totals_and_idempotency(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher
) -> None:
    items = client.get("/api/v1/catalog", headers=operator).json()
    a, b = items[0], items[5]
    body = {
        "household_id": member_household(ctx),
        "lines": [{"product_id": a["id"], "quantity": 2}, {"product_id": b["id"], "quantity": 1}],
    }
    r = order(client, operator, body, key="o-1")
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["status"] == "placed" and o["delivery_date"] == DAY_START.date().isoformat()
    assert o["total_yen"] == 2 * a["price_yen"] + b["price_yen"]
    assert o["weight_g"] == 2 * a["weight_g"] + b["weight_g"]
    again = order(client, operator, body, key="o-1")
    assert again.json()["id"] == o["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in r.headers and r.headers["Location"] == f"/api/v1/orders/{o['id']}"
    other = order(client, operator, {**body, "lines": [{"product_id": a["id"], "quantity": 3}]}, key="o-1")
    assert other.status_code == 422
    listed = client.get(
        "/api/v1/orders", params={"date": DAY_START.date().isoformat()}, headers=operator
    ).json()
    assert [x["id"] for x in listed] == [o["id"]]
    assert client.get(f"/api/v1/orders/{o['id']}", headers=operator).json()["lines"][0]["quantity"] == 2


def test_after_cutoff_order_and_cancel_are_refused_and_nothing_changes(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher, clock: SimClock
) -> None:
    item = client.get("/api/v1/catalog", headers=operator).json()[0]
    body = {"household_id": member_household(ctx), "lines": [{"product_id": item["id"], "quantity": 1}]}
    placed = order(client, operator, body).json()
    clock.set(DAY_START.replace(hour=11, minute=0))
    before = counts(ctx)
    late = order(client, operator, body)
    assert late.status_code == 409
    problem = late.json()
    assert problem["reason"] == "after_cutoff" and problem["next_delivery_date"] == "2026-11-25"
    assert "11:00" in problem["detail"] and "2026-11-25" in problem["detail"]
    cancel = client.post(f"/api/v1/orders/{placed['id']}/cancel", headers=operator)
    assert cancel.status_code == 409 and cancel.json()["reason"] == "after_cutoff"
    assert counts(ctx) == before
    assert client.get(f"/api/v1/orders/{placed['id']}", headers=operator).json()["status"] == "placed"


def test_saturday_evening_order_points_to_monday(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher, clock: SimClock
) -> None:
    item = client.get("/api/v1/catalog", headers=operator).json()[0]
    clock.set(DAY_START.replace(day=28, hour=15))  # Saturday afternoon; no delivery on Sunday
    operator = token_headers(client, "ina-demo-operator")  # a new shift, a new sign-in
    r = order(
        client,
        operator,
        {"household_id": member_household(ctx), "lines": [{"product_id": item["id"], "quantity": 1}]},
    )
    assert r.status_code == 409 and r.json()["next_delivery_date"] == "2026-11-30"


def test_cancel_before_cutoff(client: TestClient, operator: dict[str, str], ctx: Dispatcher) -> None:
    item = client.get("/api/v1/catalog", headers=operator).json()[0]
    o = order(
        client,
        operator,
        {"household_id": member_household(ctx), "lines": [{"product_id": item["id"], "quantity": 1}]},
    ).json()
    r = client.post(f"/api/v1/orders/{o['id']}/cancel", headers=operator)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/orders/{o['id']}/cancel", headers=operator).status_code == 409


def test_bad_orders_name_the_field_and_store_nothing(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher
) -> None:
    item = client.get("/api/v1/catalog", headers=operator).json()[0]
    line = [{"product_id": item["id"], "quantity": 1}]
    cases = {
        "household_id": {"household_id": 999_999, "lines": line},
        "household_id ": {"household_id": member_household(ctx, member=False), "lines": line},
        "lines[0].product_id": {
            "household_id": member_household(ctx),
            "lines": [{"product_id": 999_999, "quantity": 1}],
        },
        "lines[0].quantity": {
            "household_id": member_household(ctx),
            "lines": [{"product_id": item["id"], "quantity": 0}],
        },
        "lines": {"household_id": member_household(ctx), "lines": []},
    }
    before = counts(ctx)
    for field, body in cases.items():
        r = order(client, operator, body)
        assert r.status_code == 422, (field, r.text)
        assert field.strip() in [e["field"] for e in r.json()["errors"]], (field, r.json())
    assert client.post("/api/v1/orders", json=cases["lines"], headers=operator).status_code == 422
    assert counts(ctx) == before


def test_every_demo_household_belongs_to_a_hall(ctx: Dispatcher) -> None:
    cfg = ctx.config("ina-demo")
    halls = {p.id for p in cfg.places if p.kind == "community_hall"}
    with Session(ctx.engine) as s:
        households = s.exec(select(Household)).all()
    assert households and all(h.hall_id in halls for h in households)
