"""Groceries in a taxi (貨客混載): what a driver's report of a freight ride means for the orders.

Registered with `dispatcher.rides.cargo` for rides of kind `freight`, so that rides never touches
the orders' table: a taxi loads groceries only when their sellers have picked them; loaded at the
base they are on the road, unloaded at the hall they are at the hall (ready for the support worker).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from dispatcher.errors import Code, Conflict
from dispatcher.models import OrderStatus, Ride, ShopOrder
from dispatcher.rides import cargo
from dispatcher.shopping.orders import move_order


def _orders(session: Session, ride: Ride) -> list[ShopOrder]:
    ids = (ride.cargo or {}).get("orders", [])
    return list(session.exec(select(ShopOrder).where(col(ShopOrder.id).in_(ids)))) if ids else []


class GroceryCargo:
    """The cargo handler of freight rides."""

    def check_loadable(self, session: Session, ride: Ride) -> None:
        waiting = [o.id for o in _orders(session, ride) if o.status == OrderStatus.locked]
        if waiting:
            raise Conflict(
                f"Orders {waiting} are not picked yet: their seller has not marked them ready.",
                title="Illegal ride transition",
                orders=waiting,
                code=Code.cargo_not_ready,
            )

    def carried(
        self, session: Session, tenant_id: str, ride: Ride, step: cargo.Step, at: datetime, actor: str
    ) -> None:
        moves = (
            {OrderStatus.picked: OrderStatus.on_the_road, OrderStatus.at_base: OrderStatus.on_the_road}
            if step == "picked_up"
            else {OrderStatus.on_the_road: OrderStatus.at_hall}
        )
        for order in _orders(session, ride):
            to = moves.get(OrderStatus(order.status))
            if to is None:
                continue
            move_order(session, tenant_id, order, to, at, actor, freight_ride_id=ride.id)


cargo.register("freight", GroceryCargo())
