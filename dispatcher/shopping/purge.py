"""Shopping's step of the retention purge (`dispatcher.platform.retention`): an order up to the
horizon loses its lines (what a household bought) and its request hash and keeps its number of
items; households still shopping are not anonymised."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from dispatcher.db import changed_rows
from dispatcher.events import chunks
from dispatcher.models import Membership, OrderLine, ShopOrder


def strip_orders(session: Session, tenant_id: str, through: date, counts: Counter[str]) -> None:
    old = select(ShopOrder.id).where(
        ShopOrder.tenant_id == tenant_id,
        col(ShopOrder.delivery_date) <= through,
        col(ShopOrder.item_count).is_(None),
    )
    ids = list(session.exec(old))
    for part in chunks(ids):
        items = func.coalesce(
            select(func.sum(OrderLine.quantity))
            .where(col(OrderLine.order_id) == col(ShopOrder.id))
            .scalar_subquery(),
            0,
        )
        counts["shop_order.stripped"] += changed_rows(
            session,
            update(ShopOrder).where(col(ShopOrder.id).in_(part)).values(item_count=items, request_hash=""),
        )
        counts["shop_order_line.deleted"] += changed_rows(
            session, delete(OrderLine).where(col(OrderLine.order_id).in_(part))
        )


def households_in_use(session: Session, tenant_id: str, through: date) -> set[int]:
    """Households with a membership running after the horizon or an order delivered after it."""
    busy = set(
        session.exec(
            select(Membership.household_id).where(
                Membership.tenant_id == tenant_id,
                or_(col(Membership.ends_on).is_(None), col(Membership.ends_on) > through),
            )
        )
    )
    busy |= set(
        session.exec(
            select(ShopOrder.household_id).where(
                ShopOrder.tenant_id == tenant_id, col(ShopOrder.delivery_date) > through
            )
        )
    )
    return busy


def first_delivery_day(session: Session, tenant_id: str) -> date | None:
    """The first delivery day with an order."""
    return session.exec(
        select(func.min(ShopOrder.delivery_date)).where(ShopOrder.tenant_id == tenant_id)
    ).one()
