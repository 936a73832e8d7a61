"""A vehicle's manifest: its stops of the day in visiting order, with riders, places and promises.

Every stop is named (`dispatcher.rides.place_names`); a stop at a rider's home carries the household's
address for the driver who goes there (the manifest is read by the operators, by the drivers of
the vehicle's own company and by that company's subscriptions; the operator board drops it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.errors import Code, NotFound
from dispatcher.models import Household, Resident, Ride, RideStatus, Vehicle
from dispatcher.rides.fares import collect_text
from dispatcher.rides.place_names import name_stop, navigation_url
from dispatcher.rides.plan import PlanState, current_plan
from dispatcher.timeline import iso_local
from routing.geo import Point


def manifest(
    ctx: Dispatcher, tenant_id: str, vehicle_id: int, day: date, state: PlanState | None = None
) -> dict[str, Any]:
    """A vehicle's stops of the day in visiting order, done ones first (from `state`, the day's
    plan when the caller read it already for every vehicle, else the newest version)."""
    cfg = ctx.config(tenant_id)
    tz = cfg.tz
    with Session(ctx.engine) as session:
        vehicle = session.get(Vehicle, vehicle_id)
        if vehicle is None or vehicle.tenant_id != tenant_id:
            raise NotFound(f"No vehicle {vehicle_id}.", code=Code.vehicle_not_found)
        if state is None:
            state = current_plan(session, tenant_id, day)
        entries = state.routes.get(vehicle_id, [])
        ids = {e["ride_id"] for e in entries}
        rides = {r.id: r for r in session.exec(select(Ride).where(col(Ride.id).in_(ids)))} if ids else {}
        residents = (
            {
                p.id: p
                for p in session.exec(
                    select(Resident).where(col(Resident.id).in_({r.resident_id for r in rides.values()}))
                )
            }
            if rides
            else {}
        )
        addresses = (
            {
                h.id: h.address
                for h in session.exec(
                    select(Household).where(
                        col(Household.id).in_({p.household_id for p in residents.values() if p.household_id})
                    )
                )
            }
            if residents
            else {}
        )
        stops = []
        for e in entries:
            r = rides[e["ride_id"]]
            res = residents.get(r.resident_id)
            pickup = e["kind"] == "pickup"
            place_id = r.origin_place_id if pickup else r.destination_place_id
            lat = r.origin_lat if pickup else r.destination_lat
            lon = r.origin_lon if pickup else r.destination_lon
            named = name_stop(cfg, place_id, lat, lon, Point(res.lat, res.lon) if res else None)
            at_home = named.kind == "home" and res is not None and res.household_id is not None
            stops.append(
                {
                    "ride_id": r.id,
                    "kind": e["kind"],
                    "lat": lat,
                    "lon": lon,
                    "place_id": place_id,
                    "place_name": named.name,
                    "place_kind": named.kind,
                    "address": (addresses.get(res.household_id) or None) if at_home and res else None,
                    "navigation_url": navigation_url(lat, lon),
                    "planned_time": iso_local(datetime.fromisoformat(e["planned_time"]), tz),
                    "window": {
                        "start": iso_local(r.pickup_window_start, tz) if pickup else None,
                        "end": iso_local(r.pickup_window_end if pickup else r.latest_arrival, tz),
                    },
                    "party_size": r.party_size,
                    "wheelchair": r.wheelchair,
                    # what the driver does about the fare at the pickup (the tenant's rule)
                    "fare_note": collect_text(cfg, r.fare_yen) if pickup and r.kind == "passenger" else None,
                    "ride_kind": r.kind,
                    "cargo": r.cargo,
                    "rider": f"{res.family_name} {res.given_name}" if res else None,
                    "phone": res.phone if res else None,
                    "notes": res.notes if res else "",
                    "ride_status": r.status,
                    "arrived_at": iso_local(r.arrived_at, tz),
                    "done": bool(e.get("done")),
                    # the tap, or the operator's correction of it (the ride's time)
                    "done_at": iso_local(r.picked_up_at if pickup else r.dropped_off_at, tz)
                    if e.get("done")
                    else None,
                }
            )
        # rides of the day this vehicle was to serve that ended without it: the driver is told
        # which were cancelled (a ride that leaves the manifest otherwise went to another vehicle)
        ended = session.exec(
            select(Ride.id, Ride.status)
            .where(
                Ride.tenant_id == tenant_id,
                Ride.vehicle_id == vehicle_id,
                Ride.service_date == day,
                col(Ride.status).in_((RideStatus.cancelled, RideStatus.no_show)),
            )
            .order_by(col(Ride.id))
        ).all()
        return {
            "vehicle_id": vehicle_id,
            "vehicle": vehicle.key,
            "date": day.isoformat(),
            "now": iso_local(ctx.clock.now(), tz),
            "plan_version": state.version,
            "no_show_wait_minutes": cfg.booking.no_show_wait_minutes,
            "delayed_until": iso_local(vehicle.delayed_until, tz)
            if vehicle.delayed_until is not None and vehicle.delayed_until > ctx.clock.now()
            else None,
            "stops": stops,
            "ended": [{"ride_id": rid, "status": status} for rid, status in ended],
        }
