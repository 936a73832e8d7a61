"""Monthly billing: closed months, statements, sellers' settlements, adjustments, bank accounts
(dispatcher.billing.statements). Money in integer yen."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.base import ApiModel, IsoDate, Number, OffsetTime, YearMonth

KIND_NOTE = "yen by kind: ride, no_show, late_cancel, membership, goods, adjustment"


class MonthTotals(ApiModel):
    households: int = Field(description="households with a statement")
    total_yen: int
    by_kind: dict[str, int] = Field(description=KIND_NOTE)
    sellers_gross_yen: int
    commission_yen: int
    sellers_net_yen: int


class BillingMonth(ApiModel):
    """A closed month."""

    month: YearMonth
    closed_at: OffsetTime
    closed_by: str
    debit_date: IsoDate = Field(description="when the bank debits the households")
    totals: MonthTotals


class ClosedMonth(BillingMonth):
    status: Literal["closed", "already closed"] = Field(
        description="already closed: it was closed before; nothing changed"
    )


class StatementLine(ApiModel):
    """A charge (or, negative, a credit). It names what it charges for: a ride (`ride_id`), a
    membership month (`membership_id`), an order (`order_id`) or an adjustment (`adjustment_id`)."""

    kind: Literal["ride", "no_show", "late_cancel", "membership", "goods", "adjustment"]
    date: IsoDate | None = Field(description="the day it is for (null: an adjustment)")
    text: str = Field(description="as printed on the statement, in Japanese")
    amount_yen: int
    ride_id: int | None = None
    membership_id: int | None = None
    order_id: int | None = None
    adjustment_id: int | None = None
    late: YearMonth | None = Field(
        None, description="it belongs to that closed month but was reported after it closed"
    )


class Statement(ApiModel):
    """A household's statement of a closed month."""

    household_id: int
    by_kind: dict[str, int] = Field(description=KIND_NOTE)
    total_yen: int
    lines: list[StatementLine]


class Settlement(ApiModel):
    """A seller's settlement of a month: gross of the goods billed, commission (rounded down), payout.
    An open month's (`closed` false) also names the seller; a closed month's has only its id."""

    seller_id: int
    seller: str | None = Field(None, description="the seller's key (open months only)")
    name: str | None = Field(None, description="the seller's name (open months only)")
    orders: int
    gross_yen: int
    commission_percent: Number
    commission_yen: int
    net_yen: int
    closed: bool = Field(description="false: the month is open; the figures are as it would close now")


class Adjustment(ApiModel):
    """A correction, charged (or credited) on this month's statement."""

    id: int
    household_id: int
    month: YearMonth = Field(description="the month whose statement carries it")
    corrects: YearMonth | None = Field(description="the closed month it corrects")
    amount_yen: int = Field(description="positive: charge; negative: credit")
    reason: str


class Account(ApiModel):
    """A household's direct-debit account (口座振替依頼書), the account number masked."""

    customer_no: str = Field(description="the cable-TV company's customer number")
    bank_code: str
    bank_name: str = Field(description="half-width katakana, as the debit file carries it")
    bank_name_ja: str = Field(description="as people read it, from the Zengin bank master")
    branch_code: str
    branch_name: str = Field(description="half-width katakana, as the debit file carries it")
    branch_name_ja: str = Field(description="as people read it, from the Zengin bank master")
    account_type: Literal[1, 2, 4] = Field(description="1 ordinary, 2 current, 4 savings")
    account_number: str = Field(description="all but the last three digits masked with *")
    holder_kana: str = Field(description="half-width katakana, as the debit file carries it")


class Bank(ApiModel):
    """A bank of the Zengin bank master (全銀協 金融機関コード)."""

    code: str = Field(description="4 digits")
    name: str = Field(description="as people read it, e.g. 八十二長野")
    kana: str = Field(description="half-width katakana, as the debit file carries it (at most 15)")
    master_date: str = Field(description="the date of the master's data, YYYY-MM-DD")


class Branch(ApiModel):
    """A branch of a bank in the Zengin bank master."""

    bank_code: str
    bank_name: str
    code: str = Field(description="3 digits (店番号)")
    name: str = Field(description="as people read it, e.g. 伊那")
    kana: str = Field(description="half-width katakana, as the debit file carries it (at most 15)")
