"""The catalogue and grocery orders (dispatcher.shopping.orders.catalogue, order_view)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from api.schemas.base import ApiModel, IsoDate, Lax, LocalTime
from dispatcher.models import OrderStatus


class Product(ApiModel):
    """A product on sale."""

    id: int
    name: str
    kana: str = Field(description="the name in hiragana (for sorting and search)")
    category: str
    price_yen: int
    weight_g: int = Field(description="grams, packed")
    seller: str | None = Field(description="the seller's key")


class OrderLine(ApiModel):
    """One product of an order, at the price it was ordered at."""

    product_id: int
    name: str
    unit_price_yen: int
    quantity: int
    subtotal_yen: int


class Order(ApiModel):
    """A grocery order with its lines."""

    id: int
    household_id: int
    delivery_date: IsoDate
    status: Annotated[OrderStatus, Lax]
    total_yen: int
    weight_g: int = Field(description="grams, every line packed")
    lines: list[OrderLine] = Field(description="empty once the retention purge removed them")
    created_at: LocalTime
    cancelled_at: LocalTime | None
