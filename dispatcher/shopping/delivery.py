"""The daily delivery plan: after the cut-off, lock the day's orders, fly what can fly, list the
rest for the ground with reasons, and publish pick lists (per seller) and hand-over lists (per hall).

Runs as `noriai delivery plan --date D` (and, later, as the scheduler's cut-off job). Planning the
same day again replaces that day's flights; orders keep their lock.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import networkx as nx
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.db import id_of
from dispatcher.errors import Code, Conflict, NotFound
from dispatcher.events import events_of, record
from dispatcher.integration.subscriptions import emit
from dispatcher.models import (
    Event,
    Flight,
    FlightStatus,
    Household,
    OrderLine,
    OrderStatus,
    Product,
    Resident,
    Ride,
    RideStatus,
    Seller,
    ShopOrder,
    Weather,
)
from dispatcher.shopping.kinds import (
    DELIVERY_PLANNED,
    ORDER_HANDED_OVER,
    ORDER_LOCKED,
    WEATHER_SET,
    flight_kind,
)
from dispatcher.shopping.orders import shopping_rules
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import at_local, from_seconds, iso_local, parse_hhmm, to_seconds
from routing.airspace import Corridor, NoFlyZone, corridor_graph
from routing.drones import DroneSpec, Parcel, geojson, plan_flights, qgc_plan
from routing.geo import Point

PICKING_MINUTES = 60  # from the cut-off until the goods are at the base


def airspace(cfg: TenantConfig) -> tuple[nx.Graph[str], list[NoFlyZone], list[DroneSpec], Point]:
    """(corridor graph, no-fly zones, drones, base point) of a tenant; weather is applied per slot
    by plan_delivery."""
    dr = cfg.drones
    if dr is None:
        raise NotFound(f"{cfg.name} has no drone delivery.", code=Code.shopping_not_offered)
    graph = corridor_graph(
        [Corridor(c.id, c.from_, c.to, c.altitude_m, tuple(Point(*p) for p in c.path)) for c in dr.corridors]
    )
    zones = [NoFlyZone(z.name, tuple(Point(*p) for p in z.polygon)) for z in dr.no_fly]
    drones = [
        DroneSpec(
            d.id,
            d.payload_kg,
            d.cruise_speed_ms,
            d.endurance_min,
            d.reserve_min,
            d.turnaround_min,
        )
        for d in dr.fleet
    ]
    return graph, zones, drones, Point(dr.base.lat, dr.base.lon)


def plan_delivery(
    ctx: Dispatcher,
    tenant_id: str,
    day: date,
    wind_ms: float = 0.0,
    rain: bool = False,
    actor: str = "system:delivery",
) -> dict[str, Any]:
    """Plan the day's deliveries; returns a summary (flights, orders by drone, orders by ground
    with their reasons, planning seconds)."""
    t0 = time.perf_counter()
    cfg = ctx.config(tenant_id)
    sh = shopping_rules(cfg)
    tz = cfg.tz
    now = ctx.clock.now()
    cutoff = at_local(day, sh.cutoff, tz)
    if now < cutoff:
        raise Conflict(
            f"Ordering for {day.isoformat()} is open until {sh.cutoff:%H:%M}; plan after the cut-off.",
            title="Too early to plan",
            reason="before_cutoff",
            cutoff=f"{sh.cutoff:%H:%M}",
            code=Code.delivery_too_early,
        )
    graph, zones, drones, base = airspace(cfg)
    assert cfg.drones is not None  # airspace() refuses a tenant without drones
    slots = forecast(ctx, tenant_id, day)
    if wind_ms or rain:  # a whole-day forecast given on the command line
        slots = [*slots, {"start": "00:00", "end": "23:59", "wind_ms": wind_ms, "rain": rain}]
    start = to_seconds(cutoff + timedelta(minutes=PICKING_MINUTES), day, tz)
    deadline = to_seconds(at_local(day, sh.delivery_deadline, tz), day, tz)
    closed: dict[str, list[tuple[float, float]]] = {}
    for d in cfg.drones.fleet:
        for slot in slots:
            if slot["wind_ms"] > d.max_wind_ms or (slot["rain"] and not d.flies_in_rain):
                a = to_seconds(at_local(day, parse_hhmm(slot["start"]), tz), day, tz)
                b = to_seconds(at_local(day, parse_hhmm(slot["end"]), tz), day, tz)
                closed.setdefault(d.id, []).append((a, b))
    no_go = ""
    if all(_covers(closed.get(d.id, []), start, deadline) for d in drones):
        worst = max(slots, key=lambda x: (x["wind_ms"], x["rain"]))
        rain_text = ", rain" if worst["rain"] else ""
        no_go = f"no-go weather (wind {worst['wind_ms']:g} m/s{rain_text}): goods go by ground"
    with Session(ctx.engine, expire_on_commit=False) as session:
        orders = list(
            session.exec(
                select(ShopOrder).where(
                    ShopOrder.tenant_id == tenant_id,
                    ShopOrder.delivery_date == day,
                    col(ShopOrder.status).in_([OrderStatus.placed.value, OrderStatus.locked.value]),
                )
            )
        )
        halls = (
            {
                h.id: h.hall_id
                for h in session.exec(
                    select(Household).where(col(Household.id).in_([o.household_id for o in orders]))
                )
            }
            if orders
            else {}
        )
        for o in orders:
            if o.status == OrderStatus.placed:
                o.status = OrderStatus.locked.value
                record(
                    session,
                    tenant_id,
                    now,
                    actor,
                    ORDER_LOCKED,
                    "order",
                    o.id,
                    before={"status": "placed"},
                    after={"status": "locked"},
                )
        parcels = [Parcel(id_of(o), halls.get(o.household_id) or "", o.weight_g / 1000.0) for o in orders]
        plan = plan_flights(parcels, drones, graph, start, deadline, no_go_reason=no_go, closed=closed)
        for old in session.exec(
            select(Flight).where(
                Flight.tenant_id == tenant_id, Flight.service_date == day, col(Flight.active).is_(True)
            )
        ):
            old.active = False
        speeds = {d.id: d.cruise_speed_ms for d in drones}
        by_order = {o.id: o for o in orders}
        for f in plan.flights:
            row = Flight(
                tenant_id=tenant_id,
                service_date=day,
                number=f.id,
                drone=f.drone,
                depart_at=from_seconds(f.depart_s, day, tz),
                return_at=from_seconds(f.return_s, day, tz),
                halls=f.halls,
                arrivals={h: from_seconds(t, day, tz).isoformat() for h, t in f.arrivals_s.items()},
                order_ids=[p.order_id for p in f.parcels],
                payload_g=int(round(f.payload_kg * 1000)),
                distance_m=round(f.distance_m, 1),
                plan=qgc_plan(f, graph, base, zones, speeds[f.drone]),
                path=geojson(f, graph),
            )
            session.add(row)
            session.flush()
            for p in f.parcels:
                o = by_order[p.order_id]
                o.delivery_mode, o.flight_id, o.ground_reason = "drone", row.id, None
        for p, reason in plan.ground:
            o = by_order[p.order_id]
            o.delivery_mode, o.flight_id, o.ground_reason = "ground", None, reason
        summary = {
            "date": day.isoformat(),
            "flights": len(plan.flights),
            "orders": len(orders),
            "by_drone": sum(len(f.parcels) for f in plan.flights),
            "by_ground": len(plan.ground),
            "ground_reasons": sorted({r for _, r in plan.ground}),
            "weather": slots,
        }
        session.commit()
    summary["by_taxi"], summary["needs_car_run"] = _ground_by_taxi(ctx, cfg, day, plan.ground, base, actor)
    with Session(ctx.engine) as session:
        record(session, tenant_id, now, actor, DELIVERY_PLANNED, "delivery", day.isoformat(), after=summary)
        emit(session, tenant_id, DELIVERY_PLANNED, summary, now)  # partners hear of it with the event
        session.commit()
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    return summary


def _ground_by_taxi(
    ctx: Dispatcher, cfg: TenantConfig, day: date, ground: list[tuple[Parcel, str]], base: Point, actor: str
) -> tuple[int, int]:
    """Put the ground orders, one job per hall, into taxis' idle time; what does not fit is
    marked for a support worker's car run. Returns (orders by taxi, orders needing a car run)."""
    from dispatcher.rides.cancellation import cancel
    from dispatcher.rides.freight import book_freight

    sh = shopping_rules(cfg)
    with Session(ctx.engine) as session:  # a new plan replaces the day's earlier freight jobs
        stale = session.exec(
            select(Ride.id).where(
                Ride.tenant_id == cfg.id,
                Ride.service_date == day,
                Ride.kind == "freight",
                Ride.status == RideStatus.confirmed.value,
            )
        ).all()
    for rid in stale:
        if rid is not None:
            cancel(ctx, cfg.id, rid, actor)
    by_hall: dict[str, list[Parcel]] = {}
    for p, _reason in ground:
        by_hall.setdefault(p.hall, []).append(p)
    ready = at_local(day, sh.cutoff, cfg.tz) + timedelta(minutes=PICKING_MINUTES)
    deadline = at_local(day, sh.delivery_deadline, cfg.tz)
    taxi = car = 0
    for hall, parcels in sorted(by_hall.items()):
        ride = book_freight(
            ctx,
            cfg.id,
            day,
            base,
            hall,
            [p.order_id for p in parcels],
            sum(p.weight_kg for p in parcels),
            ready,
            deadline,
            actor,
        )
        with Session(ctx.engine) as session:
            for p in parcels:
                o = session.get(ShopOrder, p.order_id)
                assert o is not None
                if ride is not None:
                    o.freight_ride_id = ride.id
                    taxi += 1
                else:
                    o.freight_ride_id = None
                    o.ground_reason = f"{o.ground_reason}; no taxi has idle time before the deadline: car run"
                    car += 1
            session.commit()
    return taxi, car


def _covers(intervals: list[tuple[float, float]], start: float, end: float) -> bool:
    """Whether the intervals together cover [start, end]."""
    t = start
    for a, b in sorted(intervals):
        if a > t:
            return False
        t = max(t, b)
        if t >= end:
            return True
    return t >= end


def forecast(ctx: Dispatcher, tenant_id: str, day: date) -> list[dict[str, Any]]:
    """The day's weather slots as entered (empty: fine weather assumed)."""
    with Session(ctx.engine) as s:
        row = s.exec(
            select(Weather).where(Weather.tenant_id == tenant_id, Weather.service_date == day)
        ).first()
    return list(row.slots) if row else []


def set_forecast(ctx: Dispatcher, tenant_id: str, day: date, slots: list[dict[str, Any]], actor: str) -> None:
    """Store (replace) the day's weather slots."""
    now = ctx.clock.now()
    with Session(ctx.engine) as s:
        row = s.exec(
            select(Weather).where(Weather.tenant_id == tenant_id, Weather.service_date == day)
        ).first()
        before = list(row.slots) if row else None
        if row is None:
            row = Weather(
                tenant_id=tenant_id, service_date=day, slots=slots, updated_at=now, updated_by=actor
            )
            s.add(row)
        else:
            row.slots, row.updated_at, row.updated_by = slots, now, actor
        record(
            s,
            tenant_id,
            now,
            actor,
            WEATHER_SET,
            "weather",
            day.isoformat(),
            before={"slots": before} if before is not None else None,
            after={"slots": slots},
        )
        s.commit()


def _local_times(times: dict[str, str], cfg: TenantConfig) -> dict[str, str | None]:
    """hall -> stored ISO instant, as local time with offset."""
    return {k: iso_local(datetime.fromisoformat(v), cfg.tz) for k, v in times.items()}


def drone_name(cfg: TenantConfig, drone_id: str) -> str:
    """The name the tenant file gives a drone ("1号機"); its id where it gives none."""
    fleet = cfg.drones.fleet if cfg.drones else []
    return next((d.name for d in fleet if d.id == drone_id and d.name), drone_id)


def took_off(session: Session, tenant_id: str, flight_ids: Iterable[int | None]) -> dict[int, datetime]:
    """Flight id -> when the drone operator reported its take-off (its `flight.departed` event)."""
    ids = [i for i in flight_ids if i is not None]
    if not ids:
        return {}
    return {
        int(e.entity_id): e.at
        for e in events_of(session, tenant_id, "flight", ids, (flight_kind(FlightStatus.departed),))
    }


def expected(f: Flight, departed_at: datetime | None) -> tuple[dict[str, datetime], datetime]:
    """When the flight is expected at each hall and back at the base: as planned until it takes
    off; after that, the actual take-off plus the planned flight time (to the hall, or the whole
    round trip), so an early or late take-off moves every estimate with it."""
    shift = departed_at - f.depart_at if departed_at is not None else timedelta(0)
    return {h: datetime.fromisoformat(t) + shift for h, t in f.arrivals.items()}, f.return_at + shift


def flight_view(f: Flight, cfg: TenantConfig, departed_at: datetime | None = None) -> dict[str, Any]:
    """A flight as the pages show it; `departed_at` is its reported take-off (see `took_off`)."""
    halls_at, back_at = expected(f, departed_at)
    return {
        "id": f.id,
        "date": f.service_date.isoformat(),
        "number": f.number,
        "drone": f.drone,
        "drone_name": drone_name(cfg, f.drone),
        "hall_names": {h: (p.name if (p := cfg.place(h)) else h) for h in f.halls},
        "departure": iso_local(f.depart_at, cfg.tz),
        "return": iso_local(f.return_at, cfg.tz),
        "halls": f.halls,
        "arrivals": _local_times(f.arrivals, cfg),
        "landed": _local_times(f.landed or {}, cfg),
        "took_off": iso_local(departed_at, cfg.tz),
        "expected": {h: iso_local(t, cfg.tz) for h, t in halls_at.items()},
        "expected_return": iso_local(back_at, cfg.tz),
        "orders": f.order_ids,
        "payload_kg": f.payload_g / 1000,
        "distance_km": round(f.distance_m / 1000, 2),
        "status": f.status,
        "path": f.path,  # GeoJSON Feature for maps
    }


def flights(ctx: Dispatcher, tenant_id: str, day: date) -> list[dict[str, Any]]:
    cfg = ctx.config(tenant_id)
    with Session(ctx.engine) as s:
        rows = s.exec(
            select(Flight)
            .where(Flight.tenant_id == tenant_id, Flight.service_date == day, col(Flight.active).is_(True))
            .order_by(col(Flight.number))
        ).all()
        started = took_off(s, tenant_id, [f.id for f in rows])
        return [flight_view(f, cfg, started.get(id_of(f))) for f in rows]


def flight(ctx: Dispatcher, tenant_id: str, flight_id: int) -> Flight:
    with Session(ctx.engine) as s:
        f = s.get(Flight, flight_id)
    if f is None or f.tenant_id != tenant_id:
        raise NotFound(f"No flight {flight_id}.", code=Code.flight_not_found)
    return f


def picklists(ctx: Dispatcher, tenant_id: str, day: date, seller_key: str | None) -> list[dict[str, Any]]:
    """Per seller: each product with its total quantity and the orders it goes to."""
    with Session(ctx.engine) as s:
        sellers = {x.id: x for x in s.exec(select(Seller).where(Seller.tenant_id == tenant_id))}
        orders = {
            o.id: o
            for o in s.exec(
                select(ShopOrder).where(
                    ShopOrder.tenant_id == tenant_id,
                    ShopOrder.delivery_date == day,
                    ShopOrder.status != OrderStatus.cancelled.value,
                )
            )
        }
        lines = (
            s.exec(
                select(OrderLine, Product)
                .join(Product, col(OrderLine.product_id) == Product.id)
                .where(col(OrderLine.order_id).in_(list(orders)))
            ).all()
            if orders
            else []
        )
    out: dict[int, dict[str, Any]] = {}
    for line, product in lines:
        seller = sellers[product.seller_id]
        if seller_key and seller.key != seller_key:
            continue
        sheet = out.setdefault(
            id_of(seller), {"seller": seller.key, "name": seller.name, "date": day.isoformat(), "items": {}}
        )
        item = sheet["items"].setdefault(
            product.id, {"product_id": product.id, "name": line.name, "quantity": 0, "orders": []}
        )
        item["quantity"] += line.quantity
        item["orders"].append({"order_id": line.order_id, "quantity": line.quantity})
    return [
        {**sheet, "items": sorted(sheet["items"].values(), key=lambda i: i["name"])} for sheet in out.values()
    ]


def handovers(ctx: Dispatcher, tenant_id: str, day: date, hall_id: str | None) -> list[dict[str, Any]]:
    """Per hall: which household gets which bags, how they come and when they land."""
    cfg = ctx.config(tenant_id)
    with Session(ctx.engine) as s:
        orders = list(
            s.exec(
                select(ShopOrder)
                .where(
                    ShopOrder.tenant_id == tenant_id,
                    ShopOrder.delivery_date == day,
                    ShopOrder.status != OrderStatus.cancelled.value,
                )
                .order_by(col(ShopOrder.id))
            )
        )
        households = (
            {
                h.id: h
                for h in s.exec(
                    select(Household).where(col(Household.id).in_([o.household_id for o in orders]))
                )
            }
            if orders
            else {}
        )
        fl = {
            f.id: f
            for f in s.exec(
                select(Flight).where(col(Flight.id).in_([o.flight_id for o in orders if o.flight_id]))
            )
        }
        started = took_off(s, tenant_id, fl)
        lines: dict[int, list[OrderLine]] = {}
        for line in s.exec(select(OrderLine).where(col(OrderLine.order_id).in_([o.id for o in orders]))):
            lines.setdefault(line.order_id, []).append(line)
        handed = {
            int(e.entity_id): iso_local(e.at, cfg.tz)
            for e in s.exec(
                select(Event).where(
                    Event.tenant_id == tenant_id,
                    Event.kind == ORDER_HANDED_OVER,
                    col(Event.entity_id).in_([str(o.id) for o in orders]),
                )
            )
        }
        names: dict[int | None, list[str]] = {}  # by household
        for r in s.exec(
            select(Resident).where(col(Resident.household_id).in_([o.household_id for o in orders]))
        ):
            names.setdefault(r.household_id, []).append(f"{r.family_name} {r.given_name}")
    halls: dict[str, dict[str, Any]] = {}
    for o in orders:
        oid = id_of(o)
        hh = households[o.household_id]
        if hall_id and hh.hall_id != hall_id:
            continue
        place = cfg.place(hh.hall_id or "")
        sheet = halls.setdefault(
            hh.hall_id or "-",
            {
                "hall_id": hh.hall_id,
                "hall": place.name if place else None,
                "date": day.isoformat(),
                "deliveries": [],
            },
        )
        f = fl.get(o.flight_id or 0)
        sheet["deliveries"].append(
            {
                "order_id": o.id,
                "household_id": hh.id,
                "names": names.get(hh.id, []),
                "address": hh.address,
                "phone": hh.phone,
                "items": [{"name": x.name, "quantity": x.quantity} for x in lines.get(oid, [])],
                "weight_kg": o.weight_g / 1000,
                "mode": o.delivery_mode,
                "ground_reason": o.ground_reason,
                "arrives": iso_local(expected(f, started.get(id_of(f)))[0].get(hh.hall_id or ""), cfg.tz)
                if f
                else None,
                "landed": _local_times(f.landed or {}, cfg).get(hh.hall_id or "") if f else None,
                "status": o.status,
                "handed_over_at": handed.get(oid),
            }
        )
    return list(halls.values())
