"""Grocery orders: the catalogue, placing an order before the cut-off, cancelling, reading.

An order is for the delivery day it is placed on, if that is a delivery day and the cut-off
(tenant `shopping.cutoff`, 11:00 in the demo) has not passed; otherwise it is refused with the next
day an order can be delivered. Cancelling is possible only until that day's cut-off. Prices are
yen, weights grams; every change is an event.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from dispatcher.context import Dispatcher
from dispatcher.db import RowId, sent_under_key
from dispatcher.errors import Code, Conflict, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.models import Household, Membership, OrderLine, OrderStatus, Product, Seller, ShopOrder
from dispatcher.shopping.kinds import ORDER_CANCELLED, ORDER_PLACED, order_kind
from dispatcher.tenant_config import WEEKDAYS, Shopping, TenantConfig
from dispatcher.timeline import at_local, iso_local, local_date


class LineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: RowId
    quantity: int = Field(ge=1, le=999)


class OrderRequest(BaseModel):
    """A household's order: product lines with quantities."""

    model_config = ConfigDict(extra="forbid")
    household_id: RowId
    lines: list[LineRequest] = Field(min_length=1, max_length=200)

    def fingerprint(self) -> str:
        data = {
            "household_id": self.household_id,
            "lines": sorted((x.product_id, x.quantity) for x in self.lines),
        }
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()


def shopping_rules(cfg: TenantConfig) -> Shopping:
    if cfg.shopping is None:
        raise NotFound(f"{cfg.name} does not offer shopping.", code=Code.shopping_not_offered)
    return cfg.shopping


def is_delivery_day(cfg: TenantConfig, day: date) -> bool:
    sh = shopping_rules(cfg)
    return WEEKDAYS[day.weekday()] in sh.delivery_days and day not in cfg.closed_dates


def order_day(cfg: TenantConfig, now: datetime) -> tuple[date | None, date]:
    """(the delivery day an order placed now is for, or None when ordering is closed; the next
    delivery day that still takes orders)."""
    sh = shopping_rules(cfg)
    today = local_date(now, cfg.tz)
    if is_delivery_day(cfg, today) and now < at_local(today, sh.cutoff, cfg.tz):
        return today, today
    day = today + timedelta(days=1)
    for _ in range(366):
        if is_delivery_day(cfg, day):
            return None, day
        day += timedelta(days=1)
    raise InvalidRequest("The tenant has no delivery day in the coming year.", code=Code.shopping_not_offered)


def shopping_member(session: Session, household_id: int, day: date) -> bool:
    """Whether the household's shopping membership runs on `day`."""
    return (
        session.exec(
            select(Membership).where(
                Membership.household_id == household_id,
                Membership.starts_on <= day,
                or_(col(Membership.ends_on).is_(None), col(Membership.ends_on) >= day),
            )
        ).first()
        is not None
    )


@dataclass
class Placed:
    order: ShopOrder
    lines: list[OrderLine]
    replayed: bool


def _load(session: Session, order: ShopOrder) -> list[OrderLine]:
    return list(
        session.exec(select(OrderLine).where(OrderLine.order_id == order.id).order_by(col(OrderLine.id)))
    )


def ordered_with(session: Session, tenant_id: str, key: str, actor: str) -> bool:
    """Whether `actor` already placed an order under this Idempotency-Key (a retry, which
    `place_order` answers from what is stored)."""
    return sent_under_key(session, ShopOrder, tenant_id, key, actor)


def place_order(ctx: Dispatcher, tenant_id: str, req: OrderRequest, key: str, actor: str) -> Placed:
    """Check and store an order; a replayed key returns the original order."""
    cfg = ctx.config(tenant_id)
    sh = shopping_rules(cfg)
    now = ctx.clock.now()
    fingerprint = req.fingerprint()
    with Session(ctx.engine, expire_on_commit=False) as session:
        previous = session.exec(
            select(ShopOrder).where(ShopOrder.tenant_id == tenant_id, ShopOrder.idempotency_key == key)
        ).first()
        if previous is not None:
            if previous.request_hash != fingerprint:
                raise InvalidRequest(
                    "This Idempotency-Key was already used for a different order; send a new key.",
                    [
                        field_error(
                            "Idempotency-Key",
                            "reused with a different body",
                            code=Code.idempotency_key_reused,
                        )
                    ],
                )
            return Placed(previous, _load(session, previous), True)
        day, next_day = order_day(cfg, now)
        if day is None:
            raise Conflict(
                f"Orders for today closed at {sh.cutoff:%H:%M}. The next delivery is on "
                f"{next_day.isoformat()}; order on that day before {sh.cutoff:%H:%M}.",
                title="Ordering closed",
                reason="after_cutoff",
                next_delivery_date=next_day.isoformat(),
                code=Code.ordering_closed,
            )
        errors = []
        household = session.get(Household, req.household_id)
        if household is None or household.tenant_id != tenant_id:
            errors.append(
                field_error(
                    "household_id", f"no household with id {req.household_id}", code=Code.field_invalid
                )
            )
        elif not shopping_member(session, req.household_id, day):
            errors.append(
                field_error(
                    "household_id", "the household has no shopping membership", code=Code.not_a_member
                )
            )
        if len(req.lines) > sh.max_lines_per_order:
            errors.append(
                field_error(
                    "lines", f"at most {sh.max_lines_per_order} lines per order", code=Code.order_too_large
                )
            )
        quantities: dict[int, int] = {}
        for line in req.lines:
            quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
        products = {
            p.id: p
            for p in session.exec(
                select(Product).where(Product.tenant_id == tenant_id, col(Product.id).in_(list(quantities)))
            )
        }
        for k, line in enumerate(req.lines):
            p = products.get(line.product_id)
            if p is None:
                errors.append(
                    field_error(
                        f"lines[{k}].product_id",
                        f"no product {line.product_id} in the catalogue",
                        code=Code.product_unknown,
                    )
                )
            elif not p.available:
                errors.append(
                    field_error(
                        f"lines[{k}].product_id", f"{p.name} is sold out today", code=Code.product_sold_out
                    )
                )
            if quantities[line.product_id] > sh.max_quantity_per_line:
                errors.append(
                    field_error(
                        f"lines[{k}].quantity",
                        f"at most {sh.max_quantity_per_line} of one item",
                        code=Code.order_too_large,
                    )
                )
        if errors:
            raise InvalidRequest("The order has problems; correct the fields listed in errors.", errors)
        order = ShopOrder(
            tenant_id=tenant_id,
            household_id=req.household_id,
            delivery_date=day,
            status=OrderStatus.placed.value,
            total_yen=sum(products[pid].price_yen * q for pid, q in quantities.items()),
            weight_g=sum(products[pid].weight_g * q for pid, q in quantities.items()),
            idempotency_key=key,
            request_hash=fingerprint,
            created_by=actor,
            created_at=now,
        )
        session.add(order)
        session.flush()
        assert order.id is not None
        lines = [
            OrderLine(
                order_id=order.id,
                product_id=pid,
                name=products[pid].name,
                unit_price_yen=products[pid].price_yen,
                quantity=q,
                unit_weight_g=products[pid].weight_g,
            )
            for pid, q in quantities.items()
        ]
        session.add_all(lines)
        record(
            session,
            tenant_id,
            now,
            actor,
            ORDER_PLACED,
            "order",
            order.id,
            after={"delivery_date": day.isoformat(), "total_yen": order.total_yen, "lines": len(lines)},
        )
        try:
            session.commit()
        except IntegrityError:  # the same key committed concurrently: answer as a replay
            session.rollback()
            return place_order(ctx, tenant_id, req, key, actor)
        return Placed(order, lines, False)


def cancel_order(ctx: Dispatcher, tenant_id: str, order_id: int, actor: str) -> ShopOrder:
    """Cancel an order before its day's cut-off; refused (409) afterwards or once it moved on."""
    cfg = ctx.config(tenant_id)
    sh = shopping_rules(cfg)
    now = ctx.clock.now()
    with Session(ctx.engine, expire_on_commit=False) as session:
        order = session.get(ShopOrder, order_id)
        if order is None or order.tenant_id != tenant_id:
            raise NotFound(f"No order {order_id}.", code=Code.order_not_found)
        cutoff = at_local(order.delivery_date, sh.cutoff, cfg.tz)
        if order.status != OrderStatus.placed:
            raise Conflict(
                f"Order {order_id} is {order.status}; it can no longer be cancelled.",
                title="Cannot cancel",
                order_status=order.status,
                code=Code.order_not_cancellable,
            )
        if now >= cutoff:
            raise Conflict(
                f"Order {order_id} was locked at the cut-off ({sh.cutoff:%H:%M}); the goods are being "
                "prepared. Call the operator if there is a problem with it.",
                title="Cannot cancel",
                reason="after_cutoff",
                order_status=order.status,
                code=Code.order_not_cancellable,
            )
        order.status = OrderStatus.cancelled.value
        order.cancelled_at = now
        record(
            session,
            tenant_id,
            now,
            actor,
            ORDER_CANCELLED,
            "order",
            order.id,
            before={"status": "placed"},
            after={"status": "cancelled"},
        )
        session.commit()
        return order


def advance_order(ctx: Dispatcher, tenant_id: str, order_id: int, to: str, actor: str) -> ShopOrder:
    """Move an order along its lifecycle (picked, at_base, in_flight, on_the_road, at_hall,
    handed_over); an illegal step is refused with 409 and the reason."""
    from dispatcher.models import ORDER_TRANSITIONS

    now = ctx.clock.now()
    try:
        target = OrderStatus(to)
    except ValueError:
        raise InvalidRequest(
            "Unknown order status.",
            [field_error("status", f"must be one of {', '.join(s.value for s in OrderStatus)}")],
        ) from None
    with Session(ctx.engine, expire_on_commit=False) as session:
        order = session.get(ShopOrder, order_id)
        if order is None or order.tenant_id != tenant_id:
            raise NotFound(f"No order {order_id}.", code=Code.order_not_found)
        current = OrderStatus(order.status)
        if target == OrderStatus.cancelled:
            raise Conflict(
                "Cancel with POST /api/v1/orders/{id}/cancel (allowed before the cut-off).",
                title="Illegal order transition",
                order_status=current.value,
                code=Code.order_illegal_transition,
            )
        if target not in ORDER_TRANSITIONS[current]:
            raise Conflict(
                f"Order {order_id} is {current.value}; it cannot become {target.value}.",
                title="Illegal order transition",
                order_status=current.value,
                code=Code.order_illegal_transition,
            )
        if target == OrderStatus.in_flight and order.delivery_mode != "drone":
            raise Conflict(
                f"Order {order_id} goes by ground, not by drone.",
                title="Illegal order transition",
                order_status=current.value,
                code=Code.order_illegal_transition,
            )
        move_order(session, tenant_id, order, target, now, actor)
        session.commit()
        return order


def order_view(order: ShopOrder, lines: list[OrderLine], cfg: TenantConfig) -> dict[str, Any]:
    return {
        "id": order.id,
        "household_id": order.household_id,
        "delivery_date": order.delivery_date.isoformat(),
        "status": order.status,
        "total_yen": order.total_yen,
        "weight_g": order.weight_g,
        "lines": [
            {
                "product_id": x.product_id,
                "name": x.name,
                "unit_price_yen": x.unit_price_yen,
                "quantity": x.quantity,
                "subtotal_yen": x.unit_price_yen * x.quantity,
            }
            for x in lines
        ],
        "created_at": iso_local(order.created_at, cfg.tz),
        "cancelled_at": iso_local(order.cancelled_at, cfg.tz),
    }


def get_order(ctx: Dispatcher, tenant_id: str, order_id: int) -> dict[str, Any]:
    cfg = ctx.config(tenant_id)
    with Session(ctx.engine) as session:
        order = session.get(ShopOrder, order_id)
        if order is None or order.tenant_id != tenant_id:
            raise NotFound(f"No order {order_id}.", code=Code.order_not_found)
        return order_view(order, _load(session, order), cfg)


def list_orders(
    ctx: Dispatcher, tenant_id: str, day: date | None, household_id: int | None
) -> list[dict[str, Any]]:
    cfg = ctx.config(tenant_id)
    with Session(ctx.engine) as session:
        stmt = select(ShopOrder).where(ShopOrder.tenant_id == tenant_id)
        if day is not None:
            stmt = stmt.where(ShopOrder.delivery_date == day)
        if household_id is not None:
            stmt = stmt.where(ShopOrder.household_id == household_id)
        return [order_view(o, _load(session, o), cfg) for o in session.exec(stmt.order_by(col(ShopOrder.id)))]


def catalogue(ctx: Dispatcher, tenant_id: str, category: str | None) -> list[dict[str, Any]]:
    """Available products (optionally of one category), by category and name."""
    shopping_rules(ctx.config(tenant_id))
    with Session(ctx.engine) as session:
        sellers = {s.id: s.key for s in session.exec(select(Seller).where(Seller.tenant_id == tenant_id))}
        stmt = select(Product).where(Product.tenant_id == tenant_id, Product.available == True)  # noqa: E712
        if category:
            stmt = stmt.where(Product.category == category)
        rows = session.exec(stmt.order_by(col(Product.category), col(Product.kana), col(Product.id)))
        return [
            {
                "id": p.id,
                "name": p.name,
                "kana": p.kana,
                "category": p.category,
                "price_yen": p.price_yen,
                "weight_g": p.weight_g,
                "seller": sellers.get(p.seller_id),
            }
            for p in rows
        ]


def move_order(
    session: Session, tenant_id: str, order: ShopOrder, to: OrderStatus, at: datetime, actor: str, **why: Any
) -> None:
    """Give an order its next status and record it (`why`: more members of the event's `after`).
    The caller has checked that the step is legal."""
    before = order.status
    order.status = to.value
    session.add(order)
    record(
        session,
        tenant_id,
        at,
        actor,
        order_kind(to),
        "order",
        order.id,
        before={"status": before},
        after={"status": to.value, **why},
    )
