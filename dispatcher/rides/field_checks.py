"""Drivers' reports that cannot be true: accepted, flagged for the operator's review, and kept out
of the statistics until reviewed.

The driver is the truth on the road, so no report is refused for being implausible; but a tap on
the wrong ride, a phone whose clock drifted or a GPS glitch must not become the figures a council
reads. Three checks run when a report comes in (`field_events`), with the tenant's thresholds
(`field_checks` in the tenant file, docs/tenant.md):

- `pickup_early`: a pickup tapped more than `pickup_early_minutes` before its window opens;
- `dropoff_too_soon`: a drop-off tapped sooner after the pickup than `dropoff_min_percent` of the
  road model's direct driving time (`Dispatcher.road`, without the planning margin);
- `position_jump`: a position at least JUMP_MIN_METRES from the vehicle's last report, reached
  faster than `max_speed_kmh` in a straight line.

Each flag is an event (`ride.report_flagged` on the ride, `vehicle.position_flagged` on the
vehicle; actor: who reported, at: the report's time). The operator reviews it on the board
(「確認が必要な記録」, `to_review`) and decides (`review`, an event `ride.report_reviewed` or
`vehicle.position_reviewed` with the operator as actor): a ride's tap is `confirmed` (the time was
right) or `corrected` (the ride's time is set to the operator's; the driver's event stays as it
was, nothing is lost); a position is `confirmed` (counted) or `discarded` (never counted).
The flags to review are derived from these events, never stored apart from them; the statistics
(`dispatcher.reporting.stats`) read the same events and leave out what is still unreviewed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.db import id_of, lock_tenant
from dispatcher.errors import Code, Conflict, InvalidRequest, NotFound, field_error
from dispatcher.events import record
from dispatcher.models import Event, Resident, Ride, Vehicle
from dispatcher.rides.kinds import (
    RIDE_REPORT_FLAGGED,
    RIDE_REPORT_REVIEWED,
    VEHICLE_POSITION_FLAGGED,
    VEHICLE_POSITION_REVIEWED,
)
from dispatcher.tenant_config import TenantConfig
from dispatcher.timeline import ceil_minute, iso_local, local_date
from routing.geo import Point, haversine_m
from routing.traveltime import TravelTimes

Check = Literal["pickup_early", "dropoff_too_soon", "position_jump"]
Decision = Literal["confirmed", "corrected", "discarded"]

JUMP_MIN_METRES = 500.0  # a position closer than this to the last report is never a jump (GPS noise)
REVIEW_DAYS = 31  # flags older than this many days leave the board (their days stay out of the figures)
FLAGGED = (RIDE_REPORT_FLAGGED, VEHICLE_POSITION_FLAGGED)
REVIEWED = (RIDE_REPORT_REVIEWED, VEHICLE_POSITION_REVIEWED)


# ------------------------------------------------------------------------------------- checks


def pickup_check(cfg: TenantConfig, ride: Ride, at: datetime) -> dict[str, Any] | None:
    """The finding when a pickup tapped at `at` lies more than the tenant's `pickup_early_minutes`
    before the ride's pickup window opens (None: plausible)."""
    start = ride.pickup_window_start
    if start is None:
        return None
    early_min = (start - at).total_seconds() / 60
    if early_min <= cfg.field_checks.pickup_early_minutes:
        return None
    return {"check": "pickup_early", "report": "picked_up", "minutes_early": round(early_min)}


def direct_seconds(road: TravelTimes, ride: Ride) -> float:
    """The road model's direct driving time of the ride (without the planning margin)."""
    return road.duration(
        Point(ride.origin_lat, ride.origin_lon), Point(ride.destination_lat, ride.destination_lon)
    )


def dropoff_check(cfg: TenantConfig, road: TravelTimes, ride: Ride, at: datetime) -> dict[str, Any] | None:
    """The finding when a drop-off tapped at `at` comes sooner after the pickup than
    `dropoff_min_percent` of the road model's direct driving time (None: plausible)."""
    if ride.picked_up_at is None:
        return None
    direct_s = direct_seconds(road, ride)
    took_s = (at - ride.picked_up_at).total_seconds()
    if direct_s <= 0 or took_s >= direct_s * cfg.field_checks.dropoff_min_percent / 100:
        return None
    return {
        "check": "dropoff_too_soon",
        "report": "dropped_off",
        "ride_minutes": round(took_s / 60, 1),
        "direct_minutes": round(direct_s / 60, 1),
    }


def position_check(
    cfg: TenantConfig, vehicle: Vehicle, lat: float, lon: float, at: datetime
) -> dict[str, Any] | None:
    """The finding when a position reported at `at` lies at least JUMP_MIN_METRES from the
    vehicle's last report and was reached faster than `max_speed_kmh` in a straight line."""
    if vehicle.last_lat is None or vehicle.last_lon is None or vehicle.last_position_at is None:
        return None
    metres = haversine_m(Point(vehicle.last_lat, vehicle.last_lon), Point(lat, lon))
    if metres < JUMP_MIN_METRES:
        return None
    seconds = (at - vehicle.last_position_at).total_seconds()
    kmh = metres / seconds * 3.6 if seconds > 0 else float("inf")
    if kmh <= cfg.field_checks.max_speed_kmh:
        return None
    return {
        "check": "position_jump",
        "report": "position",
        "km": round(metres / 1000, 2),
        "minutes": round(max(seconds, 0) / 60, 1),
        "speed_kmh": None if seconds <= 0 else round(kmh),
    }


def flag_report(
    session: Session,
    cfg: TenantConfig,
    ride: Ride,
    vehicle_id: int,
    finding: dict[str, Any],
    at: datetime,
    actor: str,
) -> None:
    """Record a ride report's flag (with the transaction that records the report)."""
    record(
        session,
        cfg.id,
        at,
        actor,
        RIDE_REPORT_FLAGGED,
        "ride",
        ride.id,
        after={
            **finding,
            "vehicle_id": vehicle_id,
            "reported_at": iso_local(at, cfg.tz),
            "service_date": ride.service_date.isoformat(),
        },
    )


def flag_position(
    session: Session,
    cfg: TenantConfig,
    vehicle_id: int,
    position_event_id: int,
    finding: dict[str, Any],
    at: datetime,
    actor: str,
) -> None:
    """Record a position report's flag; `event_id` names the `vehicle.position` event."""
    record(
        session,
        cfg.id,
        at,
        actor,
        VEHICLE_POSITION_FLAGGED,
        "vehicle",
        vehicle_id,
        after={
            **finding,
            "event_id": position_event_id,
            "reported_at": iso_local(at, cfg.tz),
            "service_date": local_date(at, cfg.tz).isoformat(),
        },
    )


# ----------------------------------------------------------------------------- open flags


def unreviewed(events: Iterable[Event]) -> dict[int, Event]:
    """The flag events among `events` that no review event among them settles, by flag id."""
    flags: dict[int, Event] = {}
    settled: set[int] = set()
    for e in events:
        if e.kind in FLAGGED:
            flags[id_of(e)] = e
        elif e.kind in REVIEWED:
            settled.add(int((e.after or {}).get("flag_id", 0)))
    return {fid: e for fid, e in flags.items() if fid not in settled}


def discarded_positions(events: Iterable[Event]) -> set[int]:
    """Ids of `vehicle.position` events whose flag the operator reviewed as `discarded`."""
    evs = list(events)
    flags = {id_of(e): e for e in evs if e.kind == VEHICLE_POSITION_FLAGGED}
    out: set[int] = set()
    for e in evs:
        after = e.after or {}
        if e.kind == VEHICLE_POSITION_REVIEWED and after.get("decision") == "discarded":
            flag = flags.get(int(after.get("flag_id", 0)))
            if flag is not None:
                out.add(int((flag.after or {})["event_id"]))
    return out


def _flag_events(session: Session, tenant_id: str, since: datetime) -> list[Event]:
    return list(
        session.exec(
            select(Event)
            .where(
                Event.tenant_id == tenant_id,
                col(Event.at) >= since,
                col(Event.kind).in_((*FLAGGED, *REVIEWED)),
            )
            .order_by(col(Event.at), col(Event.id))
        )
    )


def to_review(ctx: Dispatcher, tenant_id: str) -> list[dict[str, Any]]:
    """The unreviewed flags of the last REVIEW_DAYS days, oldest first: what was reported, by whom
    and when, the check and its numbers, and the ride (rider, pickup window, the other tap's time)."""
    cfg = ctx.config(tenant_id)
    now = ctx.clock.now()
    with Session(ctx.engine) as session:
        flags = list(unreviewed(_flag_events(session, tenant_id, now - timedelta(days=REVIEW_DAYS))).values())
        if not flags:
            return []
        ride_ids = {int(f.entity_id) for f in flags if f.entity == "ride"}
        rides = {id_of(r): r for r in session.exec(select(Ride).where(col(Ride.id).in_(ride_ids)))}
        names = {
            id_of(p): f"{p.family_name} {p.given_name}"
            for p in session.exec(
                select(Resident).where(
                    col(Resident.id).in_({r.resident_id for r in rides.values() if r.resident_id})
                )
            )
        }
        vehicles = {
            id_of(v): (v.name or v.key)
            for v in session.exec(select(Vehicle).where(Vehicle.tenant_id == tenant_id))
        }
    out = []
    for f in flags:
        after = f.after or {}
        ride = rides.get(int(f.entity_id)) if f.entity == "ride" else None
        vid = int(after.get("vehicle_id") or f.entity_id) if f.entity == "ride" else int(f.entity_id)
        item: dict[str, Any] = {
            "id": id_of(f),
            "check": after.get("check"),
            "report": after.get("report"),
            "reported_at": iso_local(f.at, cfg.tz),
            "reported_by": f.actor,
            "service_date": after.get("service_date"),
            "vehicle_id": vid,
            "vehicle": vehicles.get(vid, ""),
            "ride_id": ride.id if ride is not None else None,
            "kind": ride.kind if ride is not None else None,
            "rider": names.get(ride.resident_id, "") if ride is not None and ride.resident_id else "",
            "pickup_window": None,
            "picked_up_at": None,
            "dropped_off_at": None,
            "minutes_early": after.get("minutes_early"),
            "ride_minutes": after.get("ride_minutes"),
            "direct_minutes": after.get("direct_minutes"),
            "km": after.get("km"),
            "minutes": after.get("minutes"),
            "speed_kmh": after.get("speed_kmh"),
        }
        if ride is not None:
            item["pickup_window"] = {
                "start": iso_local(ride.pickup_window_start, cfg.tz),
                "end": iso_local(ride.pickup_window_end, cfg.tz),
            }
            item["picked_up_at"] = iso_local(ride.picked_up_at, cfg.tz)
            item["dropped_off_at"] = iso_local(ride.dropped_off_at, cfg.tz)
        out.append(item)
    return out


# ---------------------------------------------------------------------------------- review


def review(
    ctx: Dispatcher,
    tenant_id: str,
    flag_id: int,
    decision: Decision,
    actor: str,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The operator's decision on a flag: `confirmed` (the report was right), `corrected` (a ride
    tap's time was wrong; `at` is the right one: on the ride's service day, not in the future,
    a pickup no later than the drop-off and the reverse, unless that other tap awaits review
    itself; a confirmation is held to the same order; and plausible as a driver's tap would be,
    `_check_plausible`) or `discarded` (a position that is not where the vehicle was). Recorded
    as an event; the ride's time changes on a correction only.

    404 `field_flag.not_found`; 409 `field_flag.reviewed` when reviewed already; 422
    `field_flag.decision` (correcting a position, discarding a ride's tap) and the time's codes
    (`field_flag.time_too_early`, `field_flag.time_too_soon`: a corrected time the checks would
    flag, with the nearest time they accept)."""
    cfg = ctx.config(tenant_id)
    with Session(ctx.engine, expire_on_commit=False) as session:
        lock_tenant(session, tenant_id, plan=False)  # one review of a flag: the second one sees the first
        now = ctx.clock.now()
        flag = session.get(Event, flag_id)
        if flag is None or flag.tenant_id != tenant_id or flag.kind not in FLAGGED:
            raise NotFound(f"No flagged report {flag_id}.", code=Code.field_flag_not_found)
        reviews = session.exec(
            select(Event).where(
                Event.tenant_id == tenant_id,
                Event.entity == flag.entity,
                Event.entity_id == flag.entity_id,
                col(Event.kind).in_(REVIEWED),
            )
        ).all()
        settled = {int((e.after or {}).get("flag_id", 0)) for e in reviews}
        if flag_id in settled:
            raise Conflict(
                f"Flagged report {flag_id} has been reviewed already.",
                title="Reviewed already",
                code=Code.field_flag_reviewed,
            )
        after = dict(flag.after or {})
        on_ride = flag.kind == RIDE_REPORT_FLAGGED
        if decision == ("discarded" if on_ride else "corrected"):
            raise InvalidRequest(
                "A ride's tap is confirmed or corrected; a position is confirmed or discarded.",
                [field_error("decision", "does not fit this flag", code=Code.field_flag_decision)],
            )
        out: dict[str, Any] = {"id": flag_id, "decision": decision, "check": after.get("check")}
        if not on_ride:
            record(
                session,
                tenant_id,
                now,
                actor,
                VEHICLE_POSITION_REVIEWED,
                "vehicle",
                flag.entity_id,
                after={"flag_id": flag_id, "decision": decision, "service_date": after.get("service_date")},
            )
            session.commit()
            return out
        ride = session.get(Ride, int(flag.entity_id), populate_existing=True)
        assert ride is not None  # rides are never deleted
        report = str(after.get("report"))
        field = "picked_up_at" if report == "picked_up" else "dropped_off_at"
        # the ride's other tap, unless it awaits review itself (then it is checked when reviewed)
        others = session.exec(
            select(Event).where(
                Event.tenant_id == tenant_id,
                Event.entity == "ride",
                Event.entity_id == flag.entity_id,
                Event.kind == RIDE_REPORT_FLAGGED,
            )
        ).all()
        pending = {(e.after or {}).get("report") for e in others if id_of(e) not in settled | {flag_id}}
        old = getattr(ride, field)
        new = _corrected_time(cfg, ride, report, at, now) if decision == "corrected" else old
        _check_order(ride, report, new, pending)
        if decision == "corrected":
            _check_plausible(cfg, ctx.road(tenant_id), ride, report, new, pending, now)
            setattr(ride, field, new)
            session.add(ride)
        record(
            session,
            tenant_id,
            now,
            actor,
            RIDE_REPORT_REVIEWED,
            "ride",
            ride.id,
            before={"at": iso_local(old, cfg.tz)},
            after={
                "flag_id": flag_id,
                "decision": decision,
                "report": report,
                "at": iso_local(new, cfg.tz),
                "service_date": ride.service_date.isoformat(),
            },
        )
        session.commit()
        return out | {"ride_id": ride.id, "report": report, "at": iso_local(new, cfg.tz)}


def _corrected_time(
    cfg: TenantConfig, ride: Ride, report: str, at: datetime | None, now: datetime
) -> datetime:
    def bad(message: str, code: Code, **params: str) -> InvalidRequest:
        return InvalidRequest(message, [field_error("at", message, code=code, **params)])

    if at is None:
        raise bad("a correction needs the right time", Code.field_flag_time_needed)
    at = at.astimezone(cfg.tz)
    if at > now:
        raise bad("must not be in the future", Code.field_flag_time_future)
    day: date = ride.service_date
    if local_date(at, cfg.tz) != day:
        raise bad(
            f"must be on the ride's service day {day.isoformat()}",
            Code.field_flag_time_other_day,
            day=f"{day.month}月{day.day}日",
        )
    return at


def _check_order(ride: Ride, report: str, at: datetime | None, pending: set[Any]) -> None:
    """A pickup no later than the drop-off, and the reverse; a tap awaiting review itself does not
    bind the other (the operator may correct either first)."""
    if at is None:
        return
    if report == "picked_up":
        wrong = "dropped_off" not in pending and ride.dropped_off_at is not None and at > ride.dropped_off_at
    else:
        wrong = "picked_up" not in pending and ride.picked_up_at is not None and at < ride.picked_up_at
    if wrong:
        message = "a pickup must not come after the drop-off, nor a drop-off before the pickup"
        raise InvalidRequest(message, [field_error("at", message, code=Code.field_flag_time_order)])


def _check_plausible(
    cfg: TenantConfig,
    road: TravelTimes,
    ride: Ride,
    report: str,
    at: datetime,
    pending: set[Any],
    now: datetime,
) -> None:
    """A corrected time passes the checks a driver's tap passes (`pickup_check`; `dropoff_check`
    against the ride's other tap, unless that awaits review itself), else it is refused: a
    correction that cannot be true either would put absurd figures into the statistics, since a
    reviewed ride counts. Each refusal names the nearest whole minute the checks accept
    (`earliest` pickup or drop-off, `latest` pickup), local ISO times."""
    tz = cfg.tz
    errors: list[dict[str, Any]] = []
    if report == "picked_up" and (early := pickup_check(cfg, ride, at)) is not None:
        assert ride.pickup_window_start is not None  # (pickup_check flags only a ride with a window)
        earliest = ceil_minute(
            ride.pickup_window_start - timedelta(minutes=cfg.field_checks.pickup_early_minutes)
        )
        errors.append(
            field_error(
                "at",
                f"a pickup {early['minutes_early']} minutes before the pickup window cannot be true; "
                f"the earliest plausible pickup is {iso_local(earliest, tz)}",
                code=Code.field_flag_time_too_early,
                minutes_early=str(early["minutes_early"]),
                window_start=iso_local(ride.pickup_window_start, tz) or "",
                window_end=iso_local(ride.pickup_window_end, tz) or "",
                earliest=iso_local(earliest, tz) or "",
            )
        )
    picked, dropped = (at, ride.dropped_off_at) if report == "picked_up" else (ride.picked_up_at, at)
    other = "dropped_off" if report == "picked_up" else "picked_up"
    if picked is not None and dropped is not None and other not in pending:
        direct_s = direct_seconds(road, ride)
        least = timedelta(seconds=direct_s * cfg.field_checks.dropoff_min_percent / 100)
        if direct_s > 0 and dropped - picked < least:
            if report == "picked_up":
                bound = {"latest": (dropped - least).replace(second=0, microsecond=0)}
            else:
                bound = {"earliest": ceil_minute(picked + least)}
            errors.append(
                field_error(
                    "at",
                    f"a ride of {(dropped - picked).total_seconds() / 60:.1f} minutes cannot be true "
                    f"for a {direct_s / 60:.1f}-minute drive; the nearest plausible time is "
                    f"{iso_local(next(iter(bound.values())), tz)}",
                    code=Code.field_flag_time_too_soon,
                    report=report,
                    picked_up=iso_local(picked, tz) or "",
                    dropped_off=iso_local(dropped, tz) or "",
                    direct_minutes=str(round(direct_s / 60)),
                    **{k: iso_local(v, tz) or "" for k, v in bound.items()},
                    **({"not_yet": "1"} if "earliest" in bound and bound["earliest"] > now else {}),
                )
            )
    if errors:
        raise InvalidRequest("the corrected time cannot be true either", errors)
