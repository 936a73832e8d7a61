"""What a household sees on its TV or phone: members, places, today's rides, orders, notices.

Plain Japanese labels are made here so the TV page, the phone page and the operator console say
the same thing. Times are local HH:MM; money yen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, and_, col, or_, select

from dispatcher.billing.statements import goods_paid_text
from dispatcher.context import Dispatcher
from dispatcher.db import id_of
from dispatcher.identity.auth import HouseholdPrincipal
from dispatcher.models import (
    Event,
    Household,
    OrderStatus,
    Resident,
    Ride,
    RideStatus,
    ShopOrder,
)
from dispatcher.residents.eligibility import categories_on
from dispatcher.rides.cancellation import cancellations, cancelled_by
from dispatcher.rides.fares import Cancelled, cancelled_fee_text, fare_fields, fare_text
from dispatcher.rides.kinds import RIDE_ARRIVED, RIDE_CANCELLED, RIDE_CONFIRMED
from dispatcher.rides.place_names import StopName, name_stop
from dispatcher.shopping.kinds import ORDER_AT_HALL, ORDER_HANDED_OVER
from dispatcher.shopping.orders import _load, order_day, shopping_member
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import at_local, iso_local, local_date
from routing.geo import Point

RIDE_LABELS = {
    RideStatus.requested: "受付中",
    RideStatus.confirmed: "予約済み",
    RideStatus.vehicle_arrived: "タクシーが着きました",
    RideStatus.on_board: "乗車中",
    RideStatus.completed: "到着しました",
    RideStatus.refused: "予約できませんでした",
    RideStatus.cancelled: "取り消しました",
    RideStatus.no_show: "乗車されませんでした",
}
ORDER_LABELS = {
    OrderStatus.placed: "注文を受け付けました",
    OrderStatus.locked: "お店で準備しています",
    OrderStatus.picked: "お店で準備しています",
    OrderStatus.at_base: "発送の準備をしています",
    OrderStatus.in_flight: "ドローンで運んでいます",
    OrderStatus.on_the_road: "車で運んでいます",
    OrderStatus.at_hall: "公民館に届きました",
    OrderStatus.handed_over: "お届けしました",
    OrderStatus.cancelled: "取り消しました",
}
WEEKDAY_JA = "月火水木金土日"
APPROACH_MINUTES = 10  # "the taxi arrives in about N minutes" from this many minutes before pickup


def hhmm(instant: datetime | None, cfg: TenantConfig) -> str | None:
    if instant is None:
        return None
    t = instant.astimezone(cfg.tz)
    return f"{t.hour}:{t.minute:02d}"  # 8:15, as people write it


def date_ja(day: date) -> str:
    """11月24日（火）"""
    return f"{day.month}月{day.day}日（{WEEKDAY_JA[day.weekday()]}）"


def place_label(cfg: TenantConfig, place_id: str | None, lat: float, lon: float, home: Point | None) -> str:
    """A stop's name on the household's screens: 自宅, a place's name or 指定の場所."""
    return name_stop(cfg, place_id, lat, lon, home).name


def hall_name(cfg: TenantConfig, household: Household | None) -> str | None:
    """The name the tenant file gives the household's hall (市野瀬集会所); None without one."""
    place = cfg.place(household.hall_id or "") if household is not None else None
    return place.name if place else None


def _members(session: Session, hp: HouseholdPrincipal) -> list[Resident]:
    return list(
        session.exec(select(Resident).where(col(Resident.id).in_(hp.resident_ids)).order_by(col(Resident.id)))
    )


def shopping_state(cfg: TenantConfig, now: datetime) -> dict[str, Any] | None:
    """Whether orders are open now, until when, and the next delivery day."""
    if cfg.shopping is None:
        return None
    day, next_day = order_day(cfg, now)
    sh = cfg.shopping
    out: dict[str, Any] = {
        "open": day is not None,
        "cutoff": f"{sh.cutoff:%H:%M}",
        "deliver_by": f"{sh.delivery_deadline:%H:%M}",
        "next_delivery_date": next_day.isoformat(),
        "next_delivery_label": date_ja(next_day),
        "max_lines_per_order": sh.max_lines_per_order,
        "max_quantity_per_line": sh.max_quantity_per_line,
    }
    if day is not None:
        cutoff_at = at_local(day, sh.cutoff, cfg.tz)
        out["cutoff_at"] = iso_local(cutoff_at, cfg.tz)
        out["minutes_left"] = int((cutoff_at - now).total_seconds() // 60)
    return out


def overview(ctx: Dispatcher, hp: HouseholdPrincipal) -> dict[str, Any]:
    """The household as its own screens show it (no other household's data)."""
    cfg = ctx.config(hp.tenant_id)
    now = ctx.clock.now()
    today = local_date(now, cfg.tz)
    with Session(ctx.engine) as session:
        hh = session.get(Household, hp.household_id)
        assert hh is not None
        members = []
        for r in _members(session, hp):
            cats = categories_on(r, cfg, today)
            favs = [cfg.place(pid) for pid in r.favourite_places or []]
            members.append(
                {
                    "id": r.id,
                    "name": f"{r.family_name} {r.given_name}",
                    "given_name": r.given_name,
                    "wheelchair": r.wheelchair,
                    "eligible": bool(cats & set(cfg.eligibility.any_of)),
                    "home": {"lat": r.lat, "lon": r.lon},
                    "favourites": [{"id": p.id, "name": p.name, "kind": p.kind} for p in favs if p],
                }
            )
        member_now = shopping_member(session, id_of(hh), today)
    hours = cfg.hours_on(today)
    shop = shopping_state(cfg, now)
    if shop is not None:
        shop["member"] = member_now
        shop["hall"] = hall_name(cfg, hh)
        shop["payment"] = goods_paid_text(cfg)
    return {
        "tenant": cfg.name,
        "call_centre_phone": cfg.call_centre_phone,
        "household_id": hh.id,
        "home": {"lat": hh.lat, "lon": hh.lon, "address": hh.address},
        "members": members,
        "places": [{"id": p.id, "name": p.name, "kana": p.kana, "kind": p.kind} for p in cfg.places],
        "now": iso_local(now, cfg.tz),
        "today_label": date_ja(today),
        "service_hours": None
        if hours is None
        else {"start": f"{hours.start:%H:%M}", "end": f"{hours.end:%H:%M}"},
        "booking": {
            "min_lead_minutes": cfg.booking.min_lead_minutes,
            "max_party_size": cfg.booking.max_party_size,
        },
        "shopping": shop,
        "can_book": hp.can_book,
        "whole_household": hp.whole_household,
    }


def ride_card(
    ride: Ride,
    cfg: TenantConfig,
    name: str,
    home: Point | None,
    now: datetime,
    cancelled: Cancelled | None = None,
) -> dict[str, Any]:
    """One ride as a resident sees it (`cancelled`: what its cancellation cost, when cancelled)."""
    eta = None
    # past its pickup window with no driver at the door: no countdown (it would say "about a
    # minute" for ever); the operator's board lists the ride for review (「確認が必要」)
    late = (
        ride.status == RideStatus.confirmed
        and ride.pickup_window_end is not None
        and now > ride.pickup_window_end
    )
    if ride.status == RideStatus.confirmed and ride.planned_pickup is not None and not late:
        minutes = (ride.planned_pickup - now).total_seconds() / 60
        eta = max(0, round(minutes))
    pickup_at = name_stop(cfg, ride.origin_place_id, ride.origin_lat, ride.origin_lon, home)
    return {
        "id": ride.id,
        "resident_id": ride.resident_id,
        "rider": name,
        "status": ride.status,
        "status_label": RIDE_LABELS[RideStatus(ride.status)],
        "from": pickup_at.name,
        "wait_at": pickup_at.wait_at,
        "to": place_label(cfg, ride.destination_place_id, ride.destination_lat, ride.destination_lon, home),
        "to_place_id": ride.destination_place_id,
        "pickup_from": hhmm(ride.pickup_window_start, cfg),
        "pickup_to": hhmm(ride.pickup_window_end, cfg),
        "planned_pickup": hhmm(ride.planned_pickup, cfg),
        "arrive_by": hhmm(ride.latest_arrival, cfg),
        "party_size": ride.party_size,
        "fare_yen": ride.fare_yen,
        **fare_fields(cfg, ride, now, cancelled),
        "eta_minutes": eta,
        "late": late,
        "cancellable": ride.status == RideStatus.confirmed,
        "alternatives": [a["pickup_after"] for a in ride.alternatives or []],
    }


def booked_card(ctx: Dispatcher, ride: Ride) -> dict[str, Any]:
    """The card of a ride just booked, with its rider's name and home."""
    cfg = ctx.config(ride.tenant_id)
    with Session(ctx.engine) as session:
        person = session.get(Resident, ride.resident_id)
    home = Point(person.lat, person.lon) if person else None
    return ride_card(ride, cfg, person.given_name if person else "", home, ctx.clock.now())


def _todays_rides(session: Session, hp: HouseholdPrincipal, day: date) -> list[Ride]:
    return list(
        session.exec(
            select(Ride)
            .where(
                Ride.tenant_id == hp.tenant_id,
                Ride.service_date == day,
                col(Ride.resident_id).in_(hp.resident_ids),
            )
            .order_by(col(Ride.pickup_window_start), col(Ride.id))
        )
    )


def rides(ctx: Dispatcher, hp: HouseholdPrincipal) -> dict[str, Any]:
    """Today's rides of the household (refused ones left out) and return trips to offer."""
    cfg = ctx.config(hp.tenant_id)
    now = ctx.clock.now()
    today = local_date(now, cfg.tz)
    with Session(ctx.engine) as session:
        people = {r.id: r for r in _members(session, hp)}
        rows = [r for r in _todays_rides(session, hp, today) if r.status != RideStatus.refused]
        gone = cancellations(session, cfg, rows)
    cards = []
    for r in rows:
        person = people.get(r.resident_id)
        home = Point(person.lat, person.lon) if person else None
        cards.append(ride_card(r, cfg, person.given_name if person else "", home, now, gone.get(id_of(r))))
    offers = []
    for r in rows:
        if r.status != RideStatus.completed or not r.destination_place_id:
            continue
        later = [
            x
            for x in rows
            if x.resident_id == r.resident_id
            and x.id != r.id
            and x.origin_place_id == r.destination_place_id
            and x.status not in (RideStatus.cancelled, RideStatus.no_show)
            and r.dropped_off_at is not None
            and x.pickup_window_end is not None
            and x.pickup_window_end > r.dropped_off_at
        ]
        place = cfg.place(r.destination_place_id)
        if not later and place is not None:
            person = people.get(r.resident_id)
            offers.append(
                {
                    "resident_id": r.resident_id,
                    "rider": person.given_name if person else "",
                    "from_place_id": r.destination_place_id,
                    "from": place.name,
                    "after_ride": r.id,
                }
            )
    return {"rides": cards, "return_offers": offers}


def order_card(
    order: ShopOrder, lines: list[Any], cfg: TenantConfig, hall: str | None = None
) -> dict[str, Any]:
    """One order as the household sees it; `hall` names its hall (「市野瀬集会所に届きました」)."""
    at_hall = order.status == OrderStatus.at_hall and hall
    return {
        "id": order.id,
        "delivery_date": order.delivery_date.isoformat(),
        "delivery_label": date_ja(order.delivery_date),
        "status": order.status,
        "status_label": f"{hall}に届きました" if at_hall else ORDER_LABELS[OrderStatus(order.status)],
        "total_yen": order.total_yen,
        "items": [
            {"name": x.name, "quantity": x.quantity, "unit_price_yen": x.unit_price_yen} for x in lines
        ],
        "cancellable": order.status == OrderStatus.placed,
        "by": "drone" if order.delivery_mode == "drone" else ("ground" if order.delivery_mode else None),
    }


def orders(ctx: Dispatcher, hp: HouseholdPrincipal) -> list[dict[str, Any]]:
    """Today's and upcoming orders of the household, newest delivery first."""
    cfg = ctx.config(hp.tenant_id)
    today = local_date(ctx.clock.now(), cfg.tz)
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(ShopOrder)
            .where(
                ShopOrder.tenant_id == hp.tenant_id,
                ShopOrder.household_id == hp.household_id,
                ShopOrder.delivery_date >= today,
            )
            .order_by(col(ShopOrder.delivery_date).desc(), col(ShopOrder.id).desc())
        ).all()
        hall = hall_name(cfg, session.get(Household, hp.household_id))
        return [order_card(o, _load(session, o), cfg, hall) for o in rows]


def _ends(cfg: TenantConfig, r: Ride, person: Resident | None) -> tuple[StopName, StopName]:
    """Where a ride of the household starts and ends, named from the rider's home."""
    home = Point(person.lat, person.lon) if person else None
    return (
        name_stop(cfg, r.origin_place_id, r.origin_lat, r.origin_lon, home),
        name_stop(cfg, r.destination_place_id, r.destination_lat, r.destination_lon, home),
    )


def _status(day_rides: dict[int, Ride], ev: Event) -> str | None:
    r = day_rides.get(int(ev.entity_id)) if ev.entity == "ride" else None
    return None if r is None else r.status


def notices(ctx: Dispatcher, hp: HouseholdPrincipal) -> list[dict[str, Any]]:
    """Today's messages for the household, newest first: booking confirmations and cancellations,
    the taxi about to arrive, the taxi at the door, groceries at the hall or delivered.

    Each has a stable `id`, so a screen can tell which ones it has shown already."""
    cfg = ctx.config(hp.tenant_id)
    now = ctx.clock.now()
    tz = cfg.tz
    today = local_date(now, tz)
    since = at_local(today, datetime.min.time(), tz)
    out: list[dict[str, Any]] = []
    with Session(ctx.engine) as session:
        # The household's box also tells of members whose registration ended (their rides were
        # cancelled); a phone or a family member sees only the people it acts for.
        if hp.actor.startswith("device:"):
            everyone = session.exec(select(Resident.id).where(Resident.household_id == hp.household_id)).all()
            seen = replace(hp, resident_ids=tuple(sorted({*hp.resident_ids, *(i for i in everyone if i)})))
        else:
            seen = hp
        people = {r.id: r for r in _members(session, seen)}
        hall = hall_name(cfg, session.get(Household, hp.household_id)) or "公民館"
        day_rides = {id_of(r): r for r in _todays_rides(session, seen, today)}
        # rides of later days booked or cancelled today are news too (said with their date)
        booked = dict(day_rides)
        for r in session.exec(
            select(Ride).where(
                Ride.tenant_id == hp.tenant_id,
                col(Ride.service_date) > today,
                col(Ride.resident_id).in_(seen.resident_ids),
                or_(col(Ride.created_at) >= since, col(Ride.cancelled_at) >= since),
            )
        ):
            booked[id_of(r)] = r
        order_rows = {
            id_of(o): o
            for o in session.exec(
                select(ShopOrder).where(
                    ShopOrder.tenant_id == hp.tenant_id,
                    ShopOrder.household_id == hp.household_id,
                    ShopOrder.delivery_date >= today - timedelta(days=1),
                )
            )
        }
        kinds = (RIDE_CONFIRMED, RIDE_CANCELLED, RIDE_ARRIVED, ORDER_AT_HALL, ORDER_HANDED_OVER)
        events: Sequence[Event] = []
        if booked or order_rows:
            ride_keys, order_keys = [str(i) for i in booked], [str(i) for i in order_rows]
            events = session.exec(
                select(Event)
                .where(
                    Event.tenant_id == hp.tenant_id,
                    Event.at >= since,
                    col(Event.kind).in_(kinds),
                    or_(
                        and_(col(Event.entity) == "ride", col(Event.entity_id).in_(ride_keys)),
                        and_(col(Event.entity) == "order", col(Event.entity_id).in_(order_keys)),
                    ),
                )
                .order_by(col(Event.at))
            ).all()
    for ev in events:
        if ev.entity == "ride":
            r = booked[int(ev.entity_id)]
            on = "" if r.service_date == today else f"{r.service_date.month}月{r.service_date.day}日"
            who = people[r.resident_id].given_name if r.resident_id in people else ""
            frm, to = _ends(cfg, r, people.get(r.resident_id))
            if ev.kind == RIDE_CONFIRMED:
                text = (
                    f"{who}さんのタクシーを予約しました。{on}{hhmm(r.pickup_window_start, cfg)}〜"
                    f"{hhmm(r.pickup_window_end, cfg)}に{frm.polite}へ迎えに行きます（{to.polite}まで）。"
                    f"{frm.wait_at}お待ちください。"
                ) + (f"{fare_text(cfg, r.fare_yen)}。" if r.fare_yen is not None else "")
            elif ev.kind == RIDE_CANCELLED:
                when = f"{on}{hhmm(r.pickup_window_start, cfg)}"
                cost = cancelled_by(cfg, r, ev)
                text = (
                    f"{who}さんの{when}のタクシー（{frm.polite}から{to.polite}まで）を取り消しました。"
                    + cancelled_fee_text(cfg, cost.charged_yen, cost.outcome == "waived")
                )
            else:
                text = f"{who}さんのタクシーが{frm.polite}に着きました。"
        else:
            o = order_rows[int(ev.entity_id)]
            if ev.kind == ORDER_AT_HALL:
                text = f"お買い物（{o.total_yen:,}円）が{hall}に届きました。まもなくお届けします。"
            else:
                text = f"お買い物（{o.total_yen:,}円）をお届けしました。"
        # The taxi at the door and groceries at the hall call for attention while they are true.
        urgent = (ev.kind == RIDE_ARRIVED and _status(day_rides, ev) == RideStatus.vehicle_arrived) or (
            ev.kind == ORDER_AT_HALL and order_rows[int(ev.entity_id)].status == OrderStatus.at_hall
        )
        out.append(
            {"id": f"ev-{ev.id}", "at": hhmm(ev.at, cfg), "kind": ev.kind, "text": text, "urgent": urgent}
        )
    for r in day_rides.values():
        if r.status != RideStatus.confirmed or r.planned_pickup is None:
            continue
        frm = _ends(cfg, r, people.get(r.resident_id))[0]
        if r.pickup_window_end is not None and r.planned_pickup > r.pickup_window_end:
            who = people[r.resident_id].given_name if r.resident_id in people else ""
            out.append(
                {
                    # a notice per 10 minutes of lateness: estimates that move a minute do not blink
                    "id": f"late-{r.id}-{(r.planned_pickup - r.pickup_window_end).seconds // 600}",
                    "at": hhmm(now, cfg),
                    "kind": "ride.late",
                    "text": f"{who}さんのタクシーが遅れています。"
                    f"{frm.polite}への迎えは{hhmm(r.planned_pickup, cfg)}ごろになる見込みです。すみません。",
                    "urgent": True,
                }
            )
            continue
        minutes = (r.planned_pickup - now).total_seconds() / 60
        if 0 <= minutes <= APPROACH_MINUTES:
            who = people[r.resident_id].given_name if r.resident_id in people else ""
            out.append(
                {
                    "id": f"approach-{r.id}",
                    "at": hhmm(now, cfg),
                    "kind": "ride.approaching",
                    "text": f"{who}さんのタクシーは、あと約{max(1, round(minutes))}分で"
                    f"{frm.polite}に着きます。{frm.wait_at}お待ちください。",
                    "urgent": True,
                }
            )
    out.reverse()
    out.sort(key=lambda n: not n["urgent"])
    return out
