"""Sellers mark their pick list of a delivery day ready for collection; an order is picked when
every seller with goods in it is ready. Support workers confirm hand-overs at their hall."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.db import lock_tenant
from dispatcher.errors import Code, Conflict, Forbidden, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.models import Household, OrderLine, OrderStatus, PickReady, Product, Seller, ShopOrder
from dispatcher.shopping.kinds import ORDER_PICKED, PICKLIST_READY
from dispatcher.shopping.orders import advance_order, shopping_rules
from dispatcher.timeline import at_local, iso_local


def seller_key(ctx: Dispatcher, tenant_id: str, seller_id: int | None) -> str | None:
    """The key of a tenant's seller (None when there is no such seller)."""
    if seller_id is None:
        return None
    with Session(ctx.engine) as session:
        sel = session.get(Seller, seller_id)
    return sel.key if sel is not None and sel.tenant_id == tenant_id else None


def mark_ready(ctx: Dispatcher, tenant_id: str, key: str, day: date, actor: str) -> dict[str, Any]:
    """The seller's goods for `day` are picked and packed. Only after the cut-off (the pick list is
    final then); twice is refused. Returns the orders that became picked."""
    cfg = ctx.config(tenant_id)
    sh = shopping_rules(cfg)
    now = ctx.clock.now()
    cutoff = at_local(day, sh.cutoff, cfg.tz)
    with Session(ctx.engine, expire_on_commit=False) as session:
        lock_tenant(session, tenant_id)  # two sellers at once must both see each other ready
        seller = session.exec(select(Seller).where(Seller.tenant_id == tenant_id, Seller.key == key)).first()
        if seller is None or seller.id is None:
            raise InvalidRequest("Which seller?", [field_error("seller_id", f"unknown seller {key!r}")])
        seller_id = seller.id
        if now < cutoff:
            raise Conflict(
                f"The pick list of {day.isoformat()} is final only after the cut-off at {sh.cutoff:%H:%M}.",
                title="Too early",
                cutoff=f"{sh.cutoff:%H:%M}",
                code=Code.picklist_too_early,
            )
        orders = {
            o.id: o
            for o in session.exec(
                select(ShopOrder).where(
                    ShopOrder.tenant_id == tenant_id,
                    ShopOrder.delivery_date == day,
                    ShopOrder.status != OrderStatus.cancelled.value,
                )
            )
        }
        sellers_of: dict[int, set[int]] = {}
        if orders:
            for line, product in session.exec(
                select(OrderLine, Product)
                .join(Product, col(OrderLine.product_id) == Product.id)
                .where(col(OrderLine.order_id).in_(list(orders)))
            ):
                sellers_of.setdefault(line.order_id, set()).add(product.seller_id)
        ready = {
            r.seller_id
            for r in session.exec(
                select(PickReady).where(PickReady.tenant_id == tenant_id, PickReady.service_date == day)
            )
        }
        if seller_id in ready:
            raise Conflict(
                f"{seller.name} already marked {day.isoformat()} ready.",
                title="Already ready",
                code=Code.picklist_already_ready,
            )
        ready.add(seller_id)
        session.add(
            PickReady(
                tenant_id=tenant_id, seller_id=seller_id, service_date=day, ready_at=now, ready_by=actor
            )
        )
        record(
            session,
            tenant_id,
            now,
            actor,
            PICKLIST_READY,
            "seller",
            seller_id,
            after={"date": day.isoformat()},
        )
        picked = []
        for oid, sellers in sellers_of.items():
            o = orders[oid]
            if seller_id in sellers and sellers <= ready and o.status == OrderStatus.locked:
                o.status = OrderStatus.picked.value
                session.add(o)
                record(
                    session,
                    tenant_id,
                    now,
                    actor,
                    ORDER_PICKED,
                    "order",
                    oid,
                    before={"status": "locked"},
                    after={"status": "picked"},
                )
                picked.append(oid)
        try:
            session.commit()
        except IntegrityError:  # the same seller, at the same moment, from another screen
            session.rollback()
            raise Conflict(
                f"{seller.name} already marked {day.isoformat()} ready.",
                title="Already ready",
                code=Code.picklist_already_ready,
            ) from None
        return {
            "seller": seller.key,
            "date": day.isoformat(),
            "ready_at": iso_local(now, cfg.tz),
            "orders_picked": sorted(picked),
        }


def ready_sellers(ctx: Dispatcher, tenant_id: str, day: date) -> dict[str, str]:
    """seller key -> when its pick list was marked ready (local ISO)."""
    cfg = ctx.config(tenant_id)
    with Session(ctx.engine) as session:
        keys = {s.id: s.key for s in session.exec(select(Seller).where(Seller.tenant_id == tenant_id))}
        return {
            keys[r.seller_id]: iso_local(r.ready_at, cfg.tz)
            for r in session.exec(
                select(PickReady).where(PickReady.tenant_id == tenant_id, PickReady.service_date == day)
            )
        }


def confirm_handover(
    ctx: Dispatcher, tenant_id: str, order_id: int, hall_id: str | None, actor: str
) -> ShopOrder:
    """A support worker handed the order to its household (409 while it is not at the hall yet,
    e.g. still in the air). `hall_id`: the worker's hall, None for every hall."""
    with Session(ctx.engine) as session:
        order = session.get(ShopOrder, order_id)
        if order is None or order.tenant_id != tenant_id:
            raise NotFound(f"No order {order_id}.", code=Code.order_not_found)
        hh = session.get(Household, order.household_id)
        if hall_id is not None and (hh is None or hh.hall_id != hall_id):
            raise Forbidden(f"Order {order_id} is not for your hall.", code=Code.order_not_your_hall)
        status = order.status
    if status == OrderStatus.in_flight:
        raise Conflict(
            f"Order {order_id} is still in the air; confirm the hand-over after the drone has landed.",
            title="Illegal order transition",
            order_status=status,
            code=Code.order_in_flight,
        )
    return advance_order(ctx, tenant_id, order_id, OrderStatus.handed_over.value, actor)
