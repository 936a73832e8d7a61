"""Monthly billing through the cable-TV company, computed from the event log.

A household's statement of a month holds:
- ride: the fare of each completed ride of its residents (the fare confirmed at booking, by the
  tenant's fare table: the rider's best fare plus companions), when the tenant bills fares monthly
  (`fares.payment: monthly`); a tenant whose riders pay on board bills no rides (no double pay);
- no_show / late_cancel: the ride's fare where the tenant's rules charge it (a cancellation is late
  when it happens less than `billing.late_cancel_minutes` before the pickup window opens; a ride
  changed into another one is not a cancellation);
- membership: the shopping membership fee for a month in which the membership ran on any day;
- goods: each order delivered that month (reached the hall or handed over), at its price as placed;
- adjustment: corrections of a closed month, made later, with their reason.
A seller's settlement: gross sales of its goods delivered that month, the commission at the
tenant's rate (rounded down to the yen), the payout.

`close_month` writes a month once: closing it again changes nothing; a correction is an
`Adjustment`, which lands on the month in which it is made (the next open one).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from dispatcher.billing.kinds import BILLING_ACCOUNT_SET, BILLING_ADJUSTED, BILLING_CLOSED
from dispatcher.context import Dispatcher
from dispatcher.db import id_of
from dispatcher.errors import Code, Conflict, InvalidRequest, NotFound, field_error
from dispatcher.events import chunks, events_of, record
from dispatcher.exports import csv_text
from dispatcher.models import (
    Adjustment,
    BillingAccount,
    BillingMonth,
    Event,
    Membership,
    OrderLine,
    Product,
    Resident,
    Ride,
    Seller,
    SellerSettlement,
    ShopOrder,
    Statement,
    Tenant,
)
from dispatcher.rides.booking import cancelled_by_change
from dispatcher.rides.fares import billed_with, is_late
from dispatcher.rides.kinds import RIDE_CANCELLED, RIDE_CONFIRMED, RIDE_DROPPED_OFF, RIDE_NO_SHOW
from dispatcher.shopping.kinds import ORDER_AT_HALL, ORDER_CANCELLED, ORDER_HANDED_OVER, ORDER_PLACED
from dispatcher.tenant_config import TenantConfig
from dispatcher.tenants import household
from dispatcher.timeline import EARLIEST_DAY, LATEST_DAY, local_date, midnight, out_of_range

KINDS = ("ride", "no_show", "late_cancel", "membership", "goods", "adjustment")
KIND_LABELS = {
    "ride": "乗合タクシー運賃",
    "no_show": "不在（乗車なし）",
    "late_cancel": "直前の取消し料",
    "membership": "買い物 月会費",
    "goods": "商品代",
    "adjustment": "調整",
}


def goods_paid_text(cfg: TenantConfig) -> str:
    """How delivered goods are paid, in the statement's words (its 商品代 line): 「商品代は、月末に
    ケーブルテレビ料金と一緒にまとめて請求します」 (without the cable-TV part when no collector)."""
    return f"{KIND_LABELS['goods']}は、月末に{billed_with(cfg)}まとめて請求します"


def parse_month(value: str) -> tuple[date, date]:
    """'2026-11' -> (first day, last day); InvalidRequest naming `month` otherwise."""
    try:
        y, m = (int(x) for x in value.split("-"))
        first = date(y, m, 1)
    except (ValueError, TypeError):
        raise InvalidRequest(
            "Give the month as YYYY-MM.", [field_error("month", "must be YYYY-MM, e.g. 2026-11")]
        ) from None
    why = out_of_range(first)
    if why is not None:
        raise InvalidRequest(
            f"{value} is outside the calendar Noriai serves.",
            [
                field_error(
                    "month",
                    why,
                    code=Code.date_out_of_range,
                    earliest=EARLIEST_DAY.isoformat(),
                    latest=LATEST_DAY.isoformat(),
                )
            ],
        )
    return first, date(y, m, calendar.monthrange(y, m)[1])


def first_service_day(session: Session, cfg: TenantConfig) -> date:
    """The first day of the municipality's life in Noriai: the day its tenant was stored, or the
    first day of a membership, ride or order if one is older (a register carried over from an
    earlier system). No month before it has anything to bill."""
    tenant = session.get(Tenant, cfg.id)
    days = [local_date(tenant.created_at, cfg.tz)] if tenant is not None else []
    for column, where in (
        (Membership.starts_on, Membership.tenant_id == cfg.id),
        (Ride.service_date, Ride.tenant_id == cfg.id),
        (ShopOrder.delivery_date, ShopOrder.tenant_id == cfg.id),
    ):
        oldest = session.exec(select(func.min(column)).where(where)).one()
        if oldest is not None:
            days.append(oldest)
    return min(days) if days else EARLIEST_DAY


def month_of(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


@dataclass
class Bill:
    """A household's charges of a month (not stored until the month closes)."""

    household_id: int
    lines: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: str, amount: int, day: date | None, text: str, **ref: Any) -> None:
        self.lines.append(
            {
                "kind": kind,
                "date": day.isoformat() if day else None,
                "text": text,
                "amount_yen": amount,
                **ref,
            }
        )

    @property
    def by_kind(self) -> dict[str, int]:
        out = dict.fromkeys(KINDS, 0)
        for ln in self.lines:
            out[ln["kind"]] += ln["amount_yen"]
        return out

    @property
    def total(self) -> int:
        return sum(ln["amount_yen"] for ln in self.lines)


def _ride_charges(
    session: Session, cfg: TenantConfig, first: date, last: date, bills: dict[int, Bill], only: int | None
) -> None:
    people = select(Resident.id, Resident.household_id).where(
        Resident.tenant_id == cfg.id, col(Resident.household_id).is_not(None)
    )
    if only is not None:
        people = people.where(Resident.household_id == only)
    home: dict[int | None, int] = {rid: hid for rid, hid in session.exec(people) if hid is not None}
    q = select(Ride).where(
        Ride.tenant_id == cfg.id,
        Ride.kind == "passenger",
        col(Ride.service_date) >= first,
        col(Ride.service_date) <= last,
    )
    if only is not None:
        q = q.where(col(Ride.resident_id).in_(list(home)))
    by_id = {str(r.id): r for r in session.exec(q) if r.resident_id in home}
    events: dict[str, dict[str, Event]] = defaultdict(dict)
    for e in events_of(session, cfg.id, "ride", by_id):
        events[e.entity_id].setdefault(e.kind, e)
    rules = cfg.billing
    for rid, ride in sorted(by_id.items(), key=lambda kv: int(kv[0])):
        ev = events.get(rid, {})
        confirmed = ev.get(RIDE_CONFIRMED)
        if confirmed is None:
            continue  # refused: nothing to pay
        fare = int((confirmed.after or {}).get("fare_yen") or ride.fare_yen or 0)
        hh = home[ride.resident_id]
        bill = bills.setdefault(hh, Bill(hh))
        day = ride.service_date
        if RIDE_DROPPED_OFF in ev:
            if cfg.fares.payment == "on_board":
                continue  # the driver took the fare in the vehicle
            bill.add("ride", fare, day, f"乗車 {day.month}/{day.day}（{ride.party_size}名）", ride_id=ride.id)
        elif RIDE_NO_SHOW in ev and rules.no_show_charge == "fare":
            bill.add("no_show", fare, day, f"不在 {day.month}/{day.day}", ride_id=ride.id)
        elif (
            RIDE_CANCELLED in ev
            and rules.late_cancel_charge == "fare"
            and _late_cancel(ev[RIDE_CANCELLED], confirmed, rules.late_cancel_minutes)
        ):
            bill.add(
                "late_cancel",
                fare,
                day,
                f"取消し料 {day.month}/{day.day}（迎えの{rules.late_cancel_minutes}分前を過ぎた取消し）",
                ride_id=ride.id,
            )


def _late_cancel(cancel: Event, confirmed: Event, minutes: int) -> bool:
    """Whether a cancellation is charged as late (`dispatcher.rides.fares.is_late`: closer than
    `minutes` to the opening of the pickup window, not a change of mind within FREE_CHANGE_OF_MIND
    of booking), made by the household's side (not waived by an operator: the service's own fault,
    a vehicle breakdown) and not a change into another ride."""
    after = cancel.after or {}
    if after.get("fee_waived") or cancelled_by_change(after):
        return False  # waived, or a change
    window = (confirmed.after or {}).get("pickup_window") or [None]
    if not window[0]:
        return False
    return is_late(minutes, datetime.fromisoformat(window[0]), confirmed.at, cancel.at)


def _membership_charges(
    session: Session, cfg: TenantConfig, first: date, last: date, bills: dict[int, Bill], only: int | None
) -> None:
    q = select(Membership).where(
        Membership.tenant_id == cfg.id,
        col(Membership.starts_on) <= last,
        (col(Membership.ends_on).is_(None))
        | ((col(Membership.ends_on) >= first) & (col(Membership.ends_on) >= col(Membership.starts_on))),
    )
    if only is not None:
        q = q.where(Membership.household_id == only)
    charged: set[int] = set()
    for m in session.exec(q.order_by(col(Membership.id))):
        if m.household_id in charged:
            continue  # one fee a month, however many membership rows overlap it
        charged.add(m.household_id)
        bills.setdefault(m.household_id, Bill(m.household_id)).add(
            "membership", m.fee_yen, first, f"買い物 月会費 {first.month}月", membership_id=m.id
        )


ARRIVED = (ORDER_AT_HALL, ORDER_HANDED_OVER)


def _delivered_orders(
    session: Session, cfg: TenantConfig, first: date, last: date, household_id: int | None = None
) -> tuple[list[ShopOrder], dict[int, int], dict[int, date]]:
    """Orders delivered in the month (reached the hall or the household, by the local date of the
    first such report), not cancelled; each one's price as placed and its delivery day."""
    t0, t1 = midnight(first, cfg.tz), midnight(last + timedelta(days=1), cfg.tz)
    in_month = select(Event.entity_id).where(
        Event.tenant_id == cfg.id,
        Event.entity == "order",
        col(Event.kind).in_(ARRIVED),
        col(Event.at) >= t0,
        col(Event.at) < t1,
    )
    candidates = {int(x) for x in session.exec(in_month)}
    if household_id is not None and candidates:
        mine = select(ShopOrder.id).where(ShopOrder.household_id == household_id)
        candidates &= set(session.exec(mine))
    arrived: dict[int, datetime] = {}
    placed: dict[int, int] = {}
    for e in events_of(session, cfg.id, "order", candidates, (*ARRIVED, ORDER_PLACED, ORDER_CANCELLED)):
        oid = int(e.entity_id)
        if e.kind in ARRIVED:
            arrived.setdefault(oid, e.at)  # oldest first: the first arrival
        elif e.kind == ORDER_CANCELLED:
            placed[oid] = -1
        elif e.after is not None and "total_yen" in e.after and placed.get(oid) != -1:
            placed[oid] = int(e.after["total_yen"])
    ids = [oid for oid, at in arrived.items() if at >= t0 and placed.get(oid) != -1]  # not arrived before
    orders: list[ShopOrder] = []
    for part in chunks(ids):
        orders += session.exec(select(ShopOrder).where(col(ShopOrder.id).in_(part))).all()
    days: dict[int, date] = {}
    for o in orders:
        oid = id_of(o)
        days[oid] = arrived[oid].astimezone(cfg.tz).date()
    return sorted(orders, key=lambda o: o.id or 0), placed, days


def _goods_charges(
    session: Session, cfg: TenantConfig, first: date, last: date, bills: dict[int, Bill], only: int | None
) -> None:
    orders, placed, days = _delivered_orders(session, cfg, first, last, only)
    for o in orders:
        oid = id_of(o)
        day = days[oid]
        bills.setdefault(o.household_id, Bill(o.household_id)).add(
            "goods",
            placed.get(oid, o.total_yen),
            day,
            f"お買い物 {day.month}/{day.day}",
            order_id=oid,
        )


def _adjustments(
    session: Session, cfg: TenantConfig, month: str, bills: dict[int, Bill], only: int | None
) -> None:
    q = select(Adjustment).where(Adjustment.tenant_id == cfg.id, Adjustment.month == month)
    if only is not None:
        q = q.where(Adjustment.household_id == only)
    for a in session.exec(q.order_by(col(Adjustment.id))):
        text = f"調整（{a.corrects}分）: {a.reason}" if a.corrects else f"調整: {a.reason}"
        bills.setdefault(a.household_id, Bill(a.household_id)).add(
            "adjustment", a.amount_yen, None, text, adjustment_id=a.id
        )


def bills_of(
    session: Session, cfg: TenantConfig, month: str, household_id: int | None = None
) -> dict[int, Bill]:
    """Every household's charges of a month as the events tell them now."""
    first, last = parse_month(month)
    bills: dict[int, Bill] = {}
    _ride_charges(session, cfg, first, last, bills, household_id)
    _membership_charges(session, cfg, first, last, bills, household_id)
    _goods_charges(session, cfg, first, last, bills, household_id)
    _adjustments(session, cfg, month, bills, household_id)
    return bills


CARRY_MONTHS = 3  # late reports of this many closed months before are still billed


def _ref(line: dict[str, Any]) -> tuple[Any, ...]:
    """What a line charges for: the same ride, order, membership month or adjustment is one charge."""
    for key in ("ride_id", "order_id", "adjustment_id"):
        if line.get(key) is not None:
            return (line["kind"], key, line[key])
    return (line["kind"], "membership", line.get("membership_id"), line.get("date"))


def bills_to_close(
    session: Session, cfg: TenantConfig, month: str, household_id: int | None = None
) -> dict[int, Bill]:
    """A month's bills as they would close now: the month's own charges, and what happened in the
    CARRY_MONTHS closed months before but was reported after they closed (a drop-off reported late,
    groceries that reached the hall after the 1st), marked with the month it belongs to."""
    bills = bills_of(session, cfg, month, household_id)
    earlier = session.exec(
        select(BillingMonth.month)
        .where(BillingMonth.tenant_id == cfg.id, col(BillingMonth.month) < month)
        .order_by(col(BillingMonth.month).desc())
        .limit(CARRY_MONTHS)
    ).all()
    if not earlier:
        return bills
    q = select(Statement).where(Statement.tenant_id == cfg.id, col(Statement.month) >= min(earlier))
    if household_id is not None:
        q = q.where(Statement.household_id == household_id)
    billed = {_ref(ln) for st in session.exec(q) for ln in st.lines}
    for past in sorted(earlier):
        for hid, b in bills_of(session, cfg, past, household_id).items():
            for ln in b.lines:
                if ln["kind"] != "adjustment" and _ref(ln) not in billed:
                    bills.setdefault(hid, Bill(hid)).lines.append(
                        {**ln, "text": f"（{past}分）{ln['text']}", "late": past}
                    )
    return bills


def commission_yen(gross_yen: int, percent: float) -> int:
    """The seller's commission, rounded down to the yen, in decimal arithmetic (4.1 % of 3,000 yen
    is 123 yen, which binary floating point would make 122)."""
    return int((Decimal(gross_yen) * Decimal(str(percent)) / 100).to_integral_value(rounding=ROUND_FLOOR))


def settlements_of(session: Session, cfg: TenantConfig, bills: dict[int, Bill]) -> list[dict[str, Any]]:
    """Each seller's gross of the goods on the month's bills (late ones too, so the sellers are
    paid exactly what the households pay), commission rounded down to the yen, payout."""
    ids = sorted({ln["order_id"] for b in bills.values() for ln in b.lines if ln["kind"] == "goods"})
    gross: dict[int, int] = defaultdict(int)
    count: dict[int, set[int]] = defaultdict(set)
    products = {p.id: p.seller_id for p in session.exec(select(Product).where(Product.tenant_id == cfg.id))}
    for part in chunks(ids):
        for ln in session.exec(select(OrderLine).where(col(OrderLine.order_id).in_(part))):
            seller = products[ln.product_id]
            gross[seller] += ln.unit_price_yen * ln.quantity
            count[seller].add(ln.order_id)
    rate = cfg.shopping.seller_commission_percent if cfg.shopping else 0.0
    out = []
    for s in session.exec(select(Seller).where(Seller.tenant_id == cfg.id).order_by(col(Seller.id))):
        g = gross.get(id_of(s), 0)
        commission = commission_yen(g, rate)
        out.append(
            {
                "seller_id": s.id,
                "seller": s.key,
                "name": s.name,
                "orders": len(count.get(id_of(s), ())),
                "gross_yen": g,
                "commission_percent": rate,
                "commission_yen": commission,
                "net_yen": g - commission,
            }
        )
    return out


def bank_business_day(day: date) -> bool:
    """Banks in Japan are closed on weekends, national holidays and from 31 December to 3 January."""
    import jpholiday

    if day.weekday() >= 5 or jpholiday.is_holiday(day):
        return False
    return not ((day.month, day.day) == (12, 31) or (day.month == 1 and day.day <= 3))


def debit_date(cfg: TenantConfig, month: str) -> date:
    """The day the bank debits a month's bills: `billing.debit_day` of the month after, or the next
    bank business day when that is a weekend or a holiday."""
    _first, last = parse_month(month)
    day = (last + timedelta(days=1)).replace(day=cfg.billing.debit_day)
    while not bank_business_day(day):
        day += timedelta(days=1)
    return day


def close_month(ctx: Dispatcher, tenant_id: str, month: str, actor: str) -> dict[str, Any]:
    """Close a finished month: write every statement and settlement once. Closing a month that is
    closed already changes nothing and returns what was written then."""
    cfg = ctx.config(tenant_id)
    first, last = parse_month(month)
    now = ctx.clock.now()
    if now < midnight(last + timedelta(days=1), cfg.tz):
        raise Conflict(
            f"{month} is not over yet; close it from {last + timedelta(days=1)} on.",
            title="Month not over",
            code=Code.billing_month_not_over,
        )
    with Session(ctx.engine, expire_on_commit=False) as session:
        existing = session.exec(
            select(BillingMonth).where(BillingMonth.tenant_id == tenant_id, BillingMonth.month == month)
        ).first()
        if existing is not None:
            return {**month_view(existing), "status": "already closed"}
        started = first_service_day(session, cfg)
        if last < started:  # a closed month is for ever: none before the service began
            raise InvalidRequest(
                f"{month} is before {cfg.name} began with Noriai ({started}); nothing can be billed there.",
                [
                    field_error(
                        "month",
                        f"must be {month_of(started)} or later",
                        code=Code.billing_month_before_service,
                        month=month,
                        first_month=month_of(started),
                    )
                ],
            )
        bills = bills_to_close(session, cfg, month)
        sellers = settlements_of(session, cfg, bills)
        totals = {
            "households": sum(1 for b in bills.values() if b.lines),
            "total_yen": sum(b.total for b in bills.values()),
            "by_kind": {k: sum(b.by_kind[k] for b in bills.values()) for k in KINDS},
            "sellers_gross_yen": sum(s["gross_yen"] for s in sellers),
            "commission_yen": sum(s["commission_yen"] for s in sellers),
            "sellers_net_yen": sum(s["net_yen"] for s in sellers),
        }
        bm = BillingMonth(
            tenant_id=tenant_id,
            month=month,
            closed_at=now,
            closed_by=actor,
            debit_date=debit_date(cfg, month),
            totals=totals,
        )
        session.add(bm)
        for hid, b in sorted(bills.items()):
            if b.lines:
                session.add(
                    Statement(
                        tenant_id=tenant_id,
                        month=month,
                        household_id=hid,
                        lines=b.lines,
                        by_kind=b.by_kind,
                        total_yen=b.total,
                    )
                )
        for s in sellers:
            session.add(
                SellerSettlement(
                    tenant_id=tenant_id,
                    month=month,
                    seller_id=s["seller_id"],
                    orders=s["orders"],
                    gross_yen=s["gross_yen"],
                    commission_percent=s["commission_percent"],
                    commission_yen=s["commission_yen"],
                    net_yen=s["net_yen"],
                )
            )
        nxt = month_of(last + timedelta(days=1))
        for hid, b in sorted(bills.items()):
            if b.total < 0:  # more credit than charges: the rest is taken off next month's bill
                session.add(
                    Adjustment(
                        tenant_id=tenant_id,
                        household_id=hid,
                        month=nxt,
                        corrects=month,
                        amount_yen=b.total,
                        reason="前月の残り（返金分の繰り越し）",
                        created_at=now,
                        created_by=actor,
                    )
                )
        record(session, tenant_id, now, actor, BILLING_CLOSED, "billing", month, after=totals)
        try:
            session.commit()
        except IntegrityError:  # closed by someone else at the same moment
            session.rollback()
            existing = session.exec(
                select(BillingMonth).where(BillingMonth.tenant_id == tenant_id, BillingMonth.month == month)
            ).one()
            return {**month_view(existing), "status": "already closed"}
        return {**month_view(bm), "status": "closed"}


def month_view(bm: BillingMonth) -> dict[str, Any]:
    return {
        "month": bm.month,
        "closed_at": bm.closed_at.isoformat(),
        "closed_by": bm.closed_by,
        "debit_date": bm.debit_date.isoformat(),
        "totals": bm.totals,
    }


def add_adjustment(
    ctx: Dispatcher,
    tenant_id: str,
    household_id: int,
    amount_yen: int,
    reason: str,
    actor: str,
    corrects: str | None = None,
) -> Adjustment:
    """A correction: it is charged (or credited) on the statement of the current month, which is
    open; the month it corrects stays as it was closed."""
    cfg = ctx.config(tenant_id)
    now = ctx.clock.now()
    errors = []
    if amount_yen == 0:
        errors.append(field_error("amount_yen", "must not be 0"))
    if not reason.strip():
        errors.append(field_error("reason", "say what the correction is for"))
    if corrects is not None:
        parse_month(corrects)
    if errors:
        raise InvalidRequest("The adjustment cannot be made.", errors)
    month = month_of(local_date(now, cfg.tz))
    with Session(ctx.engine, expire_on_commit=False) as session:
        household(session, tenant_id, household_id)
        a = adjust_open_month(
            session, tenant_id, household_id, month, amount_yen, reason, corrects, now, actor
        )
        session.commit()
        return a


def adjust_open_month(
    session: Session,
    tenant_id: str,
    household_id: int,
    month: str,
    amount_yen: int,
    reason: str,
    corrects: str | None,
    now: datetime,
    actor: str,
) -> Adjustment:
    """Charge (or credit, amount_yen < 0) a household on `month`'s statement and record it, inside
    the caller's transaction; Conflict (`billing.month_closed`) when that month is closed."""
    if session.exec(
        select(BillingMonth).where(BillingMonth.tenant_id == tenant_id, BillingMonth.month == month)
    ).first():
        raise Conflict(
            f"{month} is closed already; corrections go into the month after.",
            title="Month closed",
            code=Code.billing_month_closed,
        )
    a = Adjustment(
        tenant_id=tenant_id,
        household_id=household_id,
        month=month,
        corrects=corrects,
        amount_yen=amount_yen,
        reason=reason.strip(),
        created_at=now,
        created_by=actor,
    )
    session.add(a)
    session.flush()
    record(
        session,
        tenant_id,
        now,
        actor,
        BILLING_ADJUSTED,
        "household",
        household_id,
        after={
            "adjustment_id": a.id,
            "month": month,
            "corrects": corrects,
            "amount_yen": amount_yen,
            "reason": a.reason,
        },
    )
    return a


ACCOUNT_FIELDS = ("customer_no", "bank_code", "branch_code", "account_type", "account_number", "holder_kana")
HOLDER_WIDTH = 30  # half-width characters of the holder's name in the debit file


def check_account(fields: dict[str, Any]) -> dict[str, Any]:
    """An account as written on the bank's form, checked against the Zengin bank master: the bank
    and branch codes must be there (the branch one of that bank's), their names (half-width kana,
    as the debit file carries them) come from the master, and the holder's name is fitted to the
    file's characters (kana only: kanji refused). Returns the fields to store, or InvalidRequest
    naming each bad field."""
    from dispatcher.zengin import TooLong, bank, branch, fit

    errors = []
    out = {k: fields[k] for k in ACCOUNT_FIELDS if k in fields}
    b = bank(str(fields.get("bank_code", "")))
    if b is None:
        errors.append(
            field_error(
                "bank_code",
                f"no bank {fields.get('bank_code')!r} in the Zengin bank master",
                code=Code.bank_unknown,
                bank_code=str(fields.get("bank_code", "")),
            )
        )
    else:
        out["bank_name"] = b.kana
        br = branch(b.code, str(fields.get("branch_code", "")))
        if br is None:
            errors.append(
                field_error(
                    "branch_code",
                    f"{b.name} ({b.code}) has no branch {fields.get('branch_code')!r}",
                    code=Code.branch_unknown,
                    branch_code=str(fields.get("branch_code", "")),
                    bank_name=b.name,
                )
            )
        else:
            out["branch_name"] = br.kana
    try:
        out["holder_kana"] = fit(str(fields.get("holder_kana", "")), HOLDER_WIDTH)
        if not out["holder_kana"]:
            raise ValueError("empty")
    except TooLong:
        errors.append(
            field_error(
                "holder_kana",
                f"at most {HOLDER_WIDTH} half-width characters",
                code=Code.holder_too_long,
                width=str(HOLDER_WIDTH),
            )
        )
    except ValueError:
        errors.append(
            field_error(
                "holder_kana",
                "write the holder's name in kana, as in the passbook",
                code=Code.holder_not_kana,
            )
        )
    if errors:
        raise InvalidRequest("The account cannot be registered.", errors)
    out["account_number"] = str(fields["account_number"]).rjust(7, "0")
    return out


def set_account(
    ctx: Dispatcher, tenant_id: str, household_id: int, fields: dict[str, Any], actor: str
) -> BillingAccount:
    """Register a household's direct-debit account (customer number, bank, branch, type, number,
    holder) as written on the bank's form, checked against the bank master (`check_account`);
    names are stored as the Zengin file will carry them."""
    values = check_account(fields)
    now = ctx.clock.now()
    with Session(ctx.engine, expire_on_commit=False) as session:
        household(session, tenant_id, household_id)
        acc = session.get(BillingAccount, household_id) or BillingAccount(
            household_id=household_id,
            tenant_id=tenant_id,
            customer_no="",
            bank_code="",
            branch_code="",
            account_number="",
            holder_kana="",
            updated_at=now,
        )
        for k, v in values.items():
            setattr(acc, k, v)
        acc.updated_at, acc.updated_by = now, actor
        session.add(acc)
        record(
            session,
            tenant_id,
            now,
            actor,
            BILLING_ACCOUNT_SET,
            "household",
            household_id,
            after={
                "customer_no": acc.customer_no,
                "bank_code": acc.bank_code,
                "branch_code": acc.branch_code,
            },
        )
        session.commit()
        return acc


def account_of(session: Session, tenant_id: str, household_id: int) -> BillingAccount:
    """The household's registered direct-debit account, or NotFound."""
    household(session, tenant_id, household_id)
    acc = session.get(BillingAccount, household_id)
    if acc is None or acc.tenant_id != tenant_id:
        raise NotFound(
            f"Household {household_id} has no direct-debit account.", code=Code.billing_account_not_found
        )
    return acc


def first_open_day(session: Session, tenant_id: str) -> date | None:
    """The first day of the first month after the last closed one (what may still be billed as
    it happens), or None when no month is closed."""
    last = session.exec(
        select(BillingMonth.month)
        .where(BillingMonth.tenant_id == tenant_id)
        .order_by(col(BillingMonth.month).desc())
        .limit(1)
    ).first()
    if last is None:
        return None
    return parse_month(last)[1] + timedelta(days=1)


def running_total(ctx: Dispatcher, tenant_id: str, household_id: int) -> dict[str, Any]:
    """This month so far, for the household's own screens."""
    cfg = ctx.config(tenant_id)
    month = month_of(local_date(ctx.clock.now(), cfg.tz))
    with Session(ctx.engine) as session:
        bill = bills_to_close(session, cfg, month, household_id).get(household_id, Bill(household_id))
    return {"month": month, "total_yen": bill.total, "by_kind": bill.by_kind, "lines": bill.lines}


# ------------------------------------------------------------------------------------ exports


def _closed(session: Session, tenant_id: str, month: str) -> BillingMonth:
    bm = session.exec(
        select(BillingMonth).where(BillingMonth.tenant_id == tenant_id, BillingMonth.month == month)
    ).first()
    if bm is None:
        raise NotFound(
            f"{month} is not closed; close it first (noriai billing close --month {month}).",
            code=Code.billing_month_not_closed,
        )
    return bm


def _closed_statements(
    session: Session, tenant_id: str, month: str
) -> tuple[BillingMonth, list[Statement], dict[int, BillingAccount]]:
    """A closed month, its statements by household, and the households' debit accounts."""
    bm = _closed(session, tenant_id, month)
    statements = session.exec(
        select(Statement)
        .where(Statement.tenant_id == tenant_id, Statement.month == month)
        .order_by(col(Statement.household_id))
    ).all()
    accounts = {
        a.household_id: a
        for a in session.exec(select(BillingAccount).where(BillingAccount.tenant_id == tenant_id))
    }
    return bm, list(statements), accounts


def collection_csv(ctx: Dispatcher, tenant_id: str, month: str) -> bytes:
    """For the cable-TV company: one row per household billed, amounts by kind and the total."""
    with Session(ctx.engine) as session:
        _bm, statements, accounts = _closed_statements(session, tenant_id, month)
    header = ["請求月", "顧客番号", "世帯番号", *[KIND_LABELS[k] for k in KINDS], "合計", "口座振替"]
    rows = []
    for s in statements:
        acc = accounts.get(s.household_id)
        rows.append(
            [
                month,
                acc.customer_no if acc else "",
                s.household_id,
                *[s.by_kind.get(k, 0) for k in KINDS],
                s.total_yen,
                "対象" if acc and s.total_yen > 0 else ("口座未登録" if not acc else "請求なし（0円以下）"),
            ]
        )
    return csv_text(header, rows).encode("utf-8")


def zengin_file(ctx: Dispatcher, tenant_id: str, month: str) -> tuple[bytes, list[dict[str, Any]]]:
    """The direct-debit request for the bank, validated; and the households left out with why."""
    from dispatcher import zengin

    cfg = ctx.config(tenant_id)
    c = cfg.billing.collector
    if c is None:
        raise Conflict(
            "The tenant file has no billing.collector (the cable-TV company's bank details).",
            title="No collector",
            code=Code.billing_no_collector,
        )
    with Session(ctx.engine) as session:
        bm, statements, accounts = _closed_statements(session, tenant_id, month)
        closed_at = {
            m.month: m.closed_at
            for m in session.exec(select(BillingMonth).where(BillingMonth.tenant_id == tenant_id))
        }
        debited: dict[int, list[datetime]] = defaultdict(list)  # household -> closes that debited it
        for st in session.exec(
            select(Statement).where(
                Statement.tenant_id == tenant_id, col(Statement.month) < month, col(Statement.total_yen) > 0
            )
        ):
            debited[st.household_id].append(closed_at[st.month])
    debits, left_out = [], []
    for s in statements:
        acc = accounts.get(s.household_id)
        if s.total_yen <= 0:
            left_out.append(
                {"household_id": s.household_id, "total_yen": s.total_yen, "why": "nothing to debit"}
            )
        elif acc is None:
            left_out.append(
                {
                    "household_id": s.household_id,
                    "total_yen": s.total_yen,
                    "why": "no bank account registered",
                }
            )
        else:
            debits.append(
                zengin.Debit(
                    acc.bank_code,
                    acc.bank_name,
                    acc.branch_code,
                    acc.branch_name,
                    acc.account_type,
                    acc.account_number,
                    acc.holder_kana,
                    s.total_yen,
                    acc.customer_no,
                    # the first debit from this account: none was debited since it was registered
                    new=not any(at >= acc.updated_at for at in debited.get(s.household_id, [])),
                )
            )
    consignor = zengin.Consignor(
        c.consignor_code,
        c.name_kana,
        c.bank_code,
        c.bank_name_kana,
        c.branch_code,
        c.branch_name_kana,
        c.account_type,
        c.account_number,
    )
    return zengin.build(consignor, bm.debit_date, debits), left_out
