"""A flight as the drone operator flies it: loaded, took off (after the pre-flight checklist),
landed at each hall, returned — or aborted, which sends its undelivered orders by ground.

Each step moves the flight's orders along their lifecycle in the same transaction and is an event;
a step that does not follow from the flight's state is refused with 409 and changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.db import id_of, lock_tenant
from dispatcher.errors import Code, Conflict, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.models import FLIGHT_TRANSITIONS, Flight, FlightStatus, Household, OrderStatus, ShopOrder
from dispatcher.shopping.delivery import flight_view, took_off
from dispatcher.shopping.kinds import FLIGHT_LANDED, ORDER_GROUND, flight_kind
from dispatcher.shopping.orders import move_order, shopping_rules
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import at_local, ceil_minute
from routing.geo import Point

log = logging.getLogger(__name__)
CHECKLIST = ("battery", "weather", "corridor")  # what the operator confirms before take-off
# A landing reported sooner after the take-off than this share of the planned flight time to the
# hall would need the drone to fly at twice its cruise speed: refused as a mistaken tap (the
# operator reports it once the drone is down), like a taxi's drop-off sooner than the road allows.
LANDING_MIN_PERCENT = 50


class FlightStep(BaseModel):
    """A drone operator's report about a flight."""

    model_config = ConfigDict(extra="forbid")
    action: str = Field(description="loaded, departed, landed, returned or aborted")
    hall_id: str | None = Field(None, description="landed: the hall it landed at")
    checklist: dict[str, bool] | None = Field(
        None, description="departed: battery, weather, corridor all true"
    )
    reason: str | None = Field(None, max_length=500, description="aborted: why")


def _orders(session: Session, flight: Flight) -> list[ShopOrder]:
    if not flight.order_ids:
        return []
    return list(session.exec(select(ShopOrder).where(col(ShopOrder.id).in_(flight.order_ids))))


def _hall_of(session: Session, orders: list[ShopOrder]) -> dict[int, str | None]:
    ids = {o.household_id for o in orders}
    halls = (
        {h.id: h.hall_id for h in session.exec(select(Household).where(col(Household.id).in_(ids)))}
        if ids
        else {}
    )
    return {id_of(o): halls.get(o.household_id) for o in orders}


def flight_step(
    ctx: Dispatcher, tenant_id: str, flight_id: int, step: FlightStep, actor: str
) -> dict[str, Any]:
    """Apply one report; returns the flight and, for an abort, where its orders went (an abort that
    sends goods by taxi asks for a re-optimization)."""
    cfg = ctx.config(tenant_id)
    now = ctx.clock.now()
    ground: list[int] = []
    with Session(ctx.engine, expire_on_commit=False) as session:
        lock_tenant(session, tenant_id)  # steps of one flight (two halls, a double tap) one at a time
        flight = session.get(Flight, flight_id, populate_existing=True)
        if flight is None or flight.tenant_id != tenant_id:
            raise NotFound(f"No flight {flight_id}.", code=Code.flight_not_found)
        if not flight.active:
            raise Conflict(
                f"Flight {flight_id} was replaced by a newer plan of the day.",
                title="Illegal flight step",
                code=Code.flight_illegal_step,
            )
        current = FlightStatus(flight.status)
        orders = _orders(session, flight)
        halls = _hall_of(session, orders)
        landed = dict(flight.landed or {})
        if step.action == "landed":
            if current != FlightStatus.departed:
                raise Conflict(
                    f"Flight {flight_id} is {current.value}: it can land only after taking off.",
                    title="Illegal flight step",
                    flight_status=current.value,
                    code=Code.flight_illegal_step,
                )
            if step.hall_id not in flight.halls:
                raise InvalidRequest(
                    "The flight does not go there.",
                    [
                        field_error(
                            "hall_id", f"must be one of {', '.join(flight.halls)}", code=Code.flight_not_there
                        )
                    ],
                )
            if step.hall_id in landed:
                raise Conflict(
                    f"Flight {flight_id} already landed at {step.hall_id}.",
                    title="Illegal flight step",
                    code=Code.flight_illegal_step,
                )
            departed_at = took_off(session, tenant_id, [flight_id]).get(flight_id)
            _check_landing_time(flight, step.hall_id, departed_at, now, cfg)
            landed[step.hall_id] = now.isoformat()
            flight.landed = landed
            for o in orders:
                if halls[id_of(o)] == step.hall_id and o.status == OrderStatus.in_flight:
                    move_order(session, tenant_id, o, OrderStatus.at_hall, now, actor, flight_id=flight_id)
            record(
                session,
                tenant_id,
                now,
                actor,
                FLIGHT_LANDED,
                "flight",
                flight_id,
                after={"hall_id": step.hall_id},
            )
            session.add(flight)
            session.commit()
            return flight_view(flight, cfg, departed_at)
        try:
            target = FlightStatus(step.action)
        except ValueError:
            raise InvalidRequest(
                "Unknown flight step.",
                [
                    field_error(
                        "action",
                        "loaded, departed, landed, returned or aborted",
                        code=Code.flight_unknown_step,
                    )
                ],
            ) from None
        if target not in FLIGHT_TRANSITIONS[current]:
            raise Conflict(
                f"Flight {flight_id} is {current.value}; it cannot become {target.value}.",
                title="Illegal flight step",
                flight_status=current.value,
                code=Code.flight_illegal_step,
            )
        if target == FlightStatus.loaded:
            not_ready = [o.id for o in orders if o.status not in (OrderStatus.picked, OrderStatus.at_base)]
            if not_ready:
                raise Conflict(
                    f"Orders {not_ready} are not ready at the base yet (their seller has not marked them "
                    "picked).",
                    title="Illegal flight step",
                    orders=not_ready,
                    code=Code.flight_orders_not_ready,
                )
            for o in orders:
                if o.status == OrderStatus.picked:
                    move_order(session, tenant_id, o, OrderStatus.at_base, now, actor, flight_id=flight_id)
        elif target == FlightStatus.departed:
            missing = [c for c in CHECKLIST if not (step.checklist or {}).get(c)]
            if missing:
                raise InvalidRequest(
                    "Confirm the pre-flight checklist before take-off.",
                    [
                        field_error(f"checklist.{c}", "must be confirmed", code=Code.checklist_unconfirmed)
                        for c in missing
                    ],
                )
            for o in orders:
                move_order(session, tenant_id, o, OrderStatus.in_flight, now, actor, flight_id=flight_id)
        elif target == FlightStatus.returned:
            left = [h for h in flight.halls if h not in landed]
            if left:
                raise Conflict(
                    f"Flight {flight_id} has not landed at {', '.join(left)}; report those landings, "
                    "or abort.",
                    title="Illegal flight step",
                    halls_left=left,
                    hall_names_left=[(p.name if (p := cfg.place(h)) else h) for h in left],
                    code=Code.flight_illegal_step,
                )
        elif target == FlightStatus.aborted:
            for o in orders:
                if o.status in (OrderStatus.at_hall, OrderStatus.handed_over):
                    continue  # already delivered before the abort
                if o.status == OrderStatus.in_flight:
                    move_order(session, tenant_id, o, OrderStatus.at_base, now, actor, flight_id=flight_id)
                o.delivery_mode = "ground"
                o.ground_reason = f"flight {flight.number} aborted" + (
                    f": {step.reason}" if step.reason else ""
                )
                session.add(o)
                ground.append(id_of(o))
        before = flight.status
        flight.status = target.value
        session.add(flight)
        record(
            session,
            tenant_id,
            now,
            actor,
            flight_kind(target),
            "flight",
            flight_id,
            before={"status": before},
            after={
                "status": target.value,
                **({"checklist": step.checklist} if step.checklist else {}),
                **({"reason": step.reason} if step.reason else {}),
                **({"orders_to_ground": ground} if ground else {}),
            },
        )
        session.commit()
        summary = flight_view(flight, cfg, took_off(session, tenant_id, [flight_id]).get(flight_id))
    if ground:
        summary["ground"] = _ground(ctx, tenant_id, flight, ground, actor)
        ctx.after_change(tenant_id)  # freight jobs went into the taxis' plans: re-optimize soon
    return summary


def _check_landing_time(
    flight: Flight, hall_id: str, departed_at: datetime | None, now: datetime, cfg: TenantConfig
) -> None:
    """Refuse (409 `flight.landed_too_soon`, nothing changes) a landing reported sooner after the
    take-off than LANDING_MIN_PERCENT of the planned flight time from the base to the hall."""
    if departed_at is None:
        return
    planned_s = (datetime.fromisoformat(flight.arrivals[hall_id]) - flight.depart_at).total_seconds()
    earliest = departed_at + timedelta(seconds=planned_s * LANDING_MIN_PERCENT / 100)
    if now >= earliest:
        return
    place = cfg.place(hall_id)
    took, soonest, minutes = _hm(departed_at, cfg), _hm(ceil_minute(earliest), cfg), round(planned_s / 60)
    raise Conflict(
        f"Flight {flight.number} took off at {took}; it cannot be at {hall_id} before {soonest} "
        f"(about {minutes} minutes of flight). Report the landing once the drone is down.",
        title="Landing reported too soon",
        hall_id=hall_id,
        hall_name=place.name if place else hall_id,
        took_off=took,
        earliest=soonest,
        flight_minutes=minutes,
        code=Code.flight_landed_too_soon,
    )


def _hm(instant: datetime, cfg: TenantConfig) -> str:
    t = instant.astimezone(cfg.tz)
    return f"{t.hour}:{t.minute:02d}"  # 11:02, 9:05 as people write it


def _ground(
    ctx: Dispatcher, tenant_id: str, flight: Flight, order_ids: list[int], actor: str
) -> dict[str, Any]:
    """The aborted flight's orders go by taxi from the base, one freight job per hall, the same
    afternoon; what no taxi can take in time is marked for a support worker's car run."""
    from dispatcher.rides.freight import book_freight

    cfg = ctx.config(tenant_id)
    sh = shopping_rules(cfg)
    assert cfg.drones is not None
    base = Point(cfg.drones.base.lat, cfg.drones.base.lon)
    now = ctx.clock.now()
    deadline = at_local(flight.service_date, sh.delivery_deadline, cfg.tz)
    with Session(ctx.engine) as session:
        orders = list(session.exec(select(ShopOrder).where(col(ShopOrder.id).in_(order_ids))))
        halls = _hall_of(session, orders)
    by_hall: dict[str, list[ShopOrder]] = {}
    for o in orders:
        by_hall.setdefault(halls[id_of(o)] or "", []).append(o)
    out: dict[str, Any] = {"by_taxi": [], "car_run": []}
    for hall, group in sorted(by_hall.items()):
        try:
            ride = book_freight(
                ctx,
                tenant_id,
                flight.service_date,
                base,
                hall,
                [id_of(o) for o in group],
                sum(o.weight_g for o in group) / 1000,
                now + timedelta(minutes=5),  # loading the car at the base
                deadline,
                actor,
            )
        except Exception:  # noqa: BLE001 - a failed booking must not strand the orders: car run
            log.exception("freight for hall %s of aborted flight %s failed", hall, flight.id)
            ride = None
        with Session(ctx.engine) as session:
            for o in group:
                row = session.get(ShopOrder, o.id)
                assert row is not None
                row.freight_ride_id = ride.id if ride else None
                if ride is None:
                    row.ground_reason = (
                        f"{row.ground_reason}; no taxi can take it before the deadline: car run"
                    )
                session.add(row)
                record(
                    session,
                    tenant_id,
                    now,
                    actor,
                    ORDER_GROUND,
                    "order",
                    o.id,
                    after={"freight_ride_id": row.freight_ride_id, "reason": row.ground_reason},
                )
            session.commit()
        key = "by_taxi" if ride else "car_run"
        out[key].append(
            {"hall_id": hall, "orders": [o.id for o in group], "ride_id": ride.id if ride else None}
        )
    return out
