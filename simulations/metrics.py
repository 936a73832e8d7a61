"""The numbers of a replay: what the municipality would see (issue 7's definitions, computed by
`dispatcher.reporting.stats` from the replay's events), plus what only a simulation knows.

- demand: trips residents asked for (one per need, however many times they asked), served (a
  ride was confirmed, at the first ask or at an alternative time they accepted), refused and
  invalid (the booking rules refused the request; not eligible for service);
- ridership: the dashboard's totals for the simulated days (requests, trips, sharing rate,
  on-time rate, wait, detour, vehicle-hours, km, ...);
- distributions (minutes): wait (requested pickup to the vehicle's arrival), ride time (picked up
  to dropped off) and door to door (wanted departure to arrival; for an appointment, pickup to
  the appointment time), as percentiles and histograms;
- costs (yen): contracted vehicle-hours (every active vehicle's shift on each service day) times
  `simulation.costs.vehicle_hour_yen`, km driven times `km_yen`, drone flights times
  `drone_flight_yen`; cost per ride = the taxi cost over completed trips; net of the fares paid;
- shopping: orders, deliveries, drone share and the drones' on-time rate (landed at the hall by
  the delivery deadline).
"""

from __future__ import annotations

import json
import resource
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.db import id_of
from dispatcher.models import Flight, PlanRoute, PlanVersion, Ride, Vehicle
from dispatcher.reporting.stats import load_facts, order_figures, ride_figures
from dispatcher.timeline import parse_hhmm
from routing.geo import Point
from simulations.busline import compare
from simulations.demand import service_seconds
from simulations.replay import ReplayResult

HIST_STEP = 5  # minutes per histogram bin


def _percentiles(values: list[float]) -> dict[str, Any]:
    """Count, mean, p50, p90, max and a histogram in HIST_STEP-minute bins (from 0)."""
    if not values:
        return {"count": 0, "mean": None, "p50": None, "p90": None, "max": None, "histogram": []}
    v = sorted(values)

    def q(f: float) -> float:
        return round(v[min(len(v) - 1, int(f * len(v)))], 1)

    bins = [0] * (int(max(0.0, v[-1]) // HIST_STEP) + 1)
    for x in v:
        bins[int(max(0.0, x) // HIST_STEP)] += 1
    return {
        "count": len(v),
        "mean": round(sum(v) / len(v), 1),
        "p50": q(0.5),
        "p90": q(0.9),
        "max": round(v[-1], 1),
        "histogram": [{"from": k * HIST_STEP, "count": n} for k, n in enumerate(bins)],
    }


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def _shift_hours(v: Vehicle) -> float:
    start, end = parse_hhmm(v.shift_start), parse_hhmm(v.shift_end)
    return (end.hour * 60 + end.minute - start.hour * 60 - start.minute) / 60


def summarize(ctx: Dispatcher, result: ReplayResult) -> dict[str, Any]:
    """Every figure of a replay, as plain JSON-ready data."""
    cfg = ctx.config(result.tenant)
    tz = cfg.tz
    facts = load_facts(ctx, result.tenant, result.start, result.end)
    passenger = [f for f in facts.rides if f.resident_id is not None]
    ridership = ride_figures(passenger, facts.shared, facts.vehicle_days.values())
    served = [o for o in result.outcomes if o.outcome == "served"]
    eligible = [o for o in result.outcomes if o.outcome != "invalid"]
    waits = [_minutes(f.requested_pickup, f.arrival) for f in passenger if f.requested_pickup and f.arrival]
    done = [f for f in passenger if f.completed and not f.replaced]
    # (done rides are dropped off)
    rides = [_minutes(f.picked_up_at, f.dropped_off_at) for f in done if f.picked_up_at and f.dropped_off_at]
    d2d: dict[int, float] = {}
    for f in done:
        off = f.dropped_off_at
        if off is None:
            continue
        if f.requested_pickup is not None:
            d2d[f.id] = _minutes(f.requested_pickup, off)
        elif f.requested_arrival is not None and f.picked_up_at is not None:
            d2d[f.id] = _minutes(f.picked_up_at, max(f.requested_arrival, off))
    by_hour: dict[int, dict[str, int]] = defaultdict(lambda: {"asked": 0, "served": 0, "refused": 0})
    with Session(ctx.engine) as s:
        ride_rows = {
            id_of(r): r
            for r in s.exec(
                select(Ride).where(
                    Ride.tenant_id == result.tenant,
                    col(Ride.service_date) >= result.start,
                    col(Ride.service_date) <= result.end,
                )
            )
        }
        vehicles = list(s.exec(select(Vehicle).where(Vehicle.tenant_id == result.tenant)))
        flown = s.exec(
            select(Flight).where(
                Flight.tenant_id == result.tenant,
                col(Flight.service_date) >= result.start,
                col(Flight.service_date) <= result.end,
                Flight.status == "returned",
            )
        ).all()
    for o in eligible:
        r = ride_rows.get(o.ride_id) if o.ride_id is not None else None
        wanted = r.pickup_window_start if r is not None else None
        if wanted is None:
            continue
        h = wanted.astimezone(tz).hour
        by_hour[h]["asked"] += 1
        by_hour[h]["served" if o.outcome == "served" else "refused"] += 1
    service_days = [d.day for d in result.days if cfg.hours_on(d.day) is not None]
    contracted = sum(_shift_hours(v) for v in vehicles if v.active) * len(service_days)
    costs = cfg.simulation.costs
    taxi_yen = round(contracted * costs.vehicle_hour_yen + ridership["km"] * costs.km_yen)
    drone_yen = len(flown) * costs.drone_flight_yen
    fares = sum(ride_rows[f.id].fare_yen or 0 for f in done if f.id in ride_rows)
    trips = ridership["trips"]
    orders = order_figures(facts.orders, cfg, facts.now)
    drone_orders = order_figures([o for o in facts.orders if o.by_drone], cfg, facts.now)
    wall = sum(d.wall_seconds for d in result.days)
    simulated = sum(d.simulated_seconds for d in result.days)
    in_service = sum(service_seconds(cfg, d) for d in service_days)
    bus = compare(cfg, ctx.road(result.tenant), _bus_trips(result, ride_rows, d2d, tz), service_days)
    return {
        "tenant": result.tenant,
        "from": result.start.isoformat(),
        "to": result.end.isoformat(),
        "days": len(result.days),
        "service_days": len(service_days),
        "vehicles": sum(1 for v in vehicles if v.active),
        "demand": {
            "trips_asked": len(result.outcomes),
            "eligible_trips": len(eligible),
            "served": len(served),
            "served_share": round(len(served) / len(eligible), 4) if eligible else None,
            "served_at_first_ask": sum(1 for o in served if o.tries == 1),
            "refused": sum(1 for o in eligible if o.outcome == "refused"),
            "invalid": len(result.outcomes) - len(eligible),
            "invalid_why": _count(o.detail for o in result.outcomes if o.outcome == "invalid"),
            # a refusal without a rule's words: no vehicle free, and no alternative taken
            "refused_why": _count(
                o.detail or "no vehicle free" for o in result.outcomes if o.outcome == "refused"
            ),
            "by_purpose": _by_purpose(eligible),
        },
        "ridership": ridership,
        "distributions": {
            "wait_minutes": _percentiles(waits),
            "ride_minutes": _percentiles(rides),
            "door_to_door_minutes": _percentiles(list(d2d.values())),
        },
        "by_hour": [{"hour": h, **by_hour[h]} for h in sorted(by_hour)],
        "costs": {
            "contracted_vehicle_hours": round(contracted, 2),
            "taxi_yen": taxi_yen,
            "drone_yen": drone_yen,
            "fares_yen": fares,
            "cost_per_ride_yen": round(taxi_yen / trips) if trips else None,
            "net_cost_per_ride_yen": round((taxi_yen - fares) / trips) if trips else None,
        },
        "shopping": {
            **{k: orders[k] for k in ("orders", "delivered", "by_drone", "by_ground", "drone_share")},
            "on_time_delivery_rate": orders["on_time_delivery_rate"],
            "drone_on_time_rate": drone_orders["on_time_delivery_rate"],
            "flights": len(flown),
            "weather": {d.day.isoformat(): d.weather.kind for d in result.days},
        },
        "bus_baseline": bus,
        "per_day": [
            {
                "date": d.day.isoformat(),
                "weather": d.weather.kind,
                "wind_ms": round(d.weather.wind_ms, 1),
                "trips_asked": sum(1 for o in result.outcomes if o.day == d.day),
                "served": sum(1 for o in served if o.day == d.day),
                "completed": sum(1 for f in done if f.service_date == d.day),
                "orders": d.orders_placed,
                "flights": d.flights_flown,
                "driver_reports": d.driver_reports,
                "wall_seconds": round(d.wall_seconds, 1),
            }
            for d in result.days
        ],
        "replay": {
            "wall_seconds": round(wall, 1),
            "simulated_seconds": simulated,
            "service_seconds": in_service,
            "faster_than_real_time": round(in_service / wall, 1) if wall else None,
            "peak_memory_mib": peak_memory_mib(),
            "plan_history": {d.day.isoformat(): plan_history(ctx, result.tenant, d.day) for d in result.days},
        },
    }


def peak_memory_mib() -> float:
    """This process's peak resident memory so far (MiB; Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def plan_history(ctx: Dispatcher, tenant_id: str, day: date) -> dict[str, Any]:
    """How much the day's plan history takes: its versions, their size as stored JSON (MB, 10^6
    bytes), and the size reached by the end of each hour of the day (local time), which shows how
    it grows; plus the plan in force (`plan_route`)."""
    tz = ctx.config(tenant_id).tz
    by_hour: dict[int, int] = defaultdict(int)
    versions = 0
    with Session(ctx.engine) as s:
        rows = s.exec(
            select(PlanVersion.created_at, PlanVersion.routes).where(
                PlanVersion.tenant_id == tenant_id, PlanVersion.service_date == day
            )
        )
        for at, routes in rows:
            versions += 1
            by_hour[at.astimezone(tz).hour] += len(json.dumps(routes))
        in_force = sum(
            len(json.dumps(stops))
            for stops in s.exec(
                select(PlanRoute.stops).where(PlanRoute.tenant_id == tenant_id, PlanRoute.service_date == day)
            )
        )
    total, cumulative = 0, {}
    for h in sorted(by_hour):
        total += by_hour[h]
        cumulative[f"{h:02d}:59"] = round(total / 1e6, 3)
    return {
        "versions": versions,
        "mb": round(total / 1e6, 3),
        "mb_by_hour": cumulative,
        "in_force_mb": round(in_force / 1e6, 3),
    }


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return dict(sorted(out.items()))


def _by_purpose(outcomes: list[Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for o in outcomes:
        row = out.setdefault(o.purpose, {"asked": 0, "served": 0})
        row["asked"] += 1
        row["served"] += o.outcome == "served"
    return dict(sorted(out.items()))


def _bus_trips(
    result: ReplayResult, rides: dict[int, Ride], d2d: dict[int, float], tz: Any
) -> list[dict[str, Any]]:
    """Every eligible trip asked, with its ends, wanted time and the on-demand door-to-door time."""
    out = []
    for o in result.outcomes:
        r = rides.get(o.ride_id) if o.ride_id is not None else None
        if r is None or o.outcome == "invalid":
            continue
        req = r.pickup_after, r.arrive_by
        out.append(
            {
                "day": o.day,
                "origin": Point(r.origin_lat, r.origin_lon),
                "destination": Point(r.destination_lat, r.destination_lon),
                "pickup_after": req[0],
                "arrive_by": req[1] if req[0] is None else None,
                "door_to_door_min": d2d.get(id_of(r)) if o.outcome == "served" else None,
            }
        )
    return out
