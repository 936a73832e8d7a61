"""`noriai replay` (issue 21, docs/replay.md): a request file through the real booking path.

1. The sample file (docs/samples/requests-sample.csv) replayed on the demo town, with driving-time
   noise and position reports, in a SQLite file kept for the checks: outcomes.csv has one row per
   request whose status is what the database holds; routes.csv lists each vehicle's stops in the
   order of the day's last plan, each ride picked up before it is dropped off, with actual times
   in order; summary.json's served share and promise check follow from outcomes.csv.
2. A bad file (a missing column, a time without offset, a bad number) is refused with every
   problem named by line and column, exit code 1, and nothing replayed.
3. `--generate` writes a day of requests over the service area that the reader accepts.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point as ShapelyPoint
from sqlalchemy import create_engine
from sqlmodel import Session, col, select

from api.cli import main
from dispatcher.models import Event, Ride, Vehicle
from dispatcher.rides.plan import SCHEDULE_TOLERANCE_S, current_plan
from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import load_tenant
from simulations.file_replay import promises_kept, read_requests

# a time this close past its limit still keeps the promise, as in the plans (SCHEDULE_TOLERANCE_S)
TOLERANCE = timedelta(seconds=SCHEDULE_TOLERANCE_S)
SAMPLE = Path(__file__).resolve().parents[1] / "docs" / "samples" / "requests-sample.csv"


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _t(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("replay")
    url = f"sqlite:///{tmp / 'replay.db'}"
    out = tmp / "out"
    args = ["replay", "--tenant", str(DEMO_TENANT_FILE), "--requests", str(SAMPLE), "--out", str(out)]
    args += ["--database-url", url, "--noise", "0.15", "--position-minutes", "20", "--seed", "2"]
    assert main(args) == 0
    engine = create_engine(url)
    with Session(engine) as s:
        rides = {r.id: r for r in s.exec(select(Ride).where(col(Ride.resident_id).is_not(None)))}
        vehicles = {v.id: v.key for v in s.exec(select(Vehicle))}
        plan = current_plan(s, "ina-demo", date(2026, 11, 24))
        positions = list(s.exec(select(Event).where(Event.kind == "vehicle.position")))
    engine.dispose()
    return {
        "outcomes": _csv(out / "outcomes.csv"),
        "routes": _csv(out / "routes.csv"),
        "summary": json.loads((out / "summary.json").read_text(encoding="utf-8")),
        "rides": rides,
        "vehicles": vehicles,
        "plan": {str(v): stops for v, stops in plan.routes.items()},
        "positions": positions,
    }


def test_outcomes_have_one_row_per_request_as_the_database_holds(replayed: dict[str, Any]) -> None:
    outcomes, rides, vehicles = replayed["outcomes"], replayed["rides"], replayed["vehicles"]
    asked = [r.id for r in read_requests(SAMPLE)]
    assert [o["id"] for o in outcomes] == asked
    by_id = {o["id"]: o for o in outcomes}
    # the row outside the service area is refused by the booking rules: no ride stored
    bad = by_id["out-of-area"]
    assert bad["status"] == "invalid" and bad["ride_id"] == ""
    assert "destination" in bad["reason"] and "service area" in bad["reason"]
    assert {o["status"] for o in outcomes} <= {"confirmed", "refused", "invalid"}
    stored = [o for o in outcomes if o["ride_id"]]
    assert sorted(int(o["ride_id"]) for o in stored) == sorted(rides)  # every stored ride is a row's
    for o in stored:
        r = rides[int(o["ride_id"])]
        if o["status"] == "confirmed":
            # confirmed, then driven to its end by the simulated drivers
            assert r.status == o["ride_status"] == "completed", o
            assert vehicles[r.vehicle_id] == o["vehicle"]
            assert _t(o["window_start"]) == r.pickup_window_start
            assert _t(o["window_end"]) == r.pickup_window_end
            assert _t(o["latest_arrival"]) == r.latest_arrival
            assert _t(o["actual_pickup"]) == r.picked_up_at and _t(o["actual_dropoff"]) == r.dropped_off_at
        else:
            assert r.status == "refused" and o["vehicle"] == ""
        assert float(o["latency_ms"]) > 0
    assert sum(o["status"] == "confirmed" for o in outcomes) >= 10  # a quiet day: the sample is served
    # riders were registered where each row starts
    row = next(r for r in read_requests(SAMPLE) if r.id == "hase-hospital")
    ride = rides[int(by_id["hase-hospital"]["ride_id"])]
    assert (ride.origin_lat, ride.origin_lon) == (row.origin.lat, row.origin.lon)


def test_routes_follow_the_plan_in_order(replayed: dict[str, Any]) -> None:
    routes, plan, vehicles = replayed["routes"], replayed["plan"], replayed["vehicles"]
    by_vehicle: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in routes:
        by_vehicle[r["vehicle"]].append(r)
    planned = {vehicles[int(v)]: stops for v, stops in plan.items() if stops}
    assert set(by_vehicle) == set(planned)
    key_of = {o["ride_id"]: o["id"] for o in replayed["outcomes"] if o["ride_id"]}
    for vehicle, stops in by_vehicle.items():
        assert [int(s["seq"]) for s in stops] == list(range(1, len(stops) + 1))
        assert [(int(s["ride_id"]), s["kind"]) for s in stops] == [
            (e["ride_id"], e["kind"]) for e in planned[vehicle]
        ]
        seen: set[str] = set()
        for s in stops:
            assert s["request_id"] == key_of[s["ride_id"]]
            if s["kind"] == "pickup":
                seen.add(s["ride_id"])
            else:
                assert s["ride_id"] in seen, (vehicle, s)  # picked up before dropped off
        actual = [_t(s["actual_time"]) for s in stops]
        assert all(a is not None for a in actual) and actual == sorted(actual)
        assert all(s["done"] == "1" for s in stops)
    confirmed = {o["ride_id"] for o in replayed["outcomes"] if o["status"] == "confirmed"}
    assert sorted(r["ride_id"] for r in routes) == sorted(2 * list(confirmed))  # a pickup and a drop-off each
    # drivers on duty also reported where they were between their stops (every 20 minutes)
    per_vehicle: dict[str, int] = defaultdict(int)
    for e in replayed["positions"]:
        per_vehicle[e.entity_id] += 1
    assert min(per_vehicle.values()) >= 20, per_vehicle  # 07:45 to the close, 3 an hour
    # ... along their way: no report reached faster than driving (none flagged for review)
    assert replayed["summary"]["flagged_reports"] == 0


def test_summary_agrees_with_the_outcomes(replayed: dict[str, Any]) -> None:
    s, outcomes = replayed["summary"], replayed["outcomes"]
    confirmed = [o for o in outcomes if o["status"] == "confirmed"]
    refused = [o for o in outcomes if o["status"] == "refused"]
    assert (s["requests"], s["confirmed"], s["refused"]) == (len(outcomes), len(confirmed), len(refused))
    assert s["invalid"] == 1
    assert s["served_share"] == round(len(confirmed) / (len(confirmed) + len(refused)), 4)
    late_pickup = [
        o["id"]
        for o in confirmed
        if (_t(o["actual_arrival"]) or _t(o["actual_pickup"])) > _t(o["window_end"]) + TOLERANCE  # type: ignore[operator]
    ]
    # the rider arrives when alighting starts: the drop-off tap less the alighting minutes
    alighting = timedelta(minutes=load_tenant(DEMO_TENANT_FILE).booking.alighting_minutes)
    there = {o["id"]: _t(o["actual_dropoff"]) - alighting for o in confirmed}  # type: ignore[operator]
    late_drop = [o["id"] for o in confirmed if there[o["id"]] > _t(o["latest_arrival"]) + TOLERANCE]  # type: ignore[operator]
    rides = replayed["rides"]
    long_ride = [
        o["id"]
        for o in confirmed
        if (there[o["id"]] - _t(o["actual_pickup"])).total_seconds()  # type: ignore[operator]
        > rides[int(o["ride_id"])].max_ride_seconds + TOLERANCE.total_seconds()
    ]
    broken = set(late_pickup) | set(late_drop) | set(long_ride)
    p = s["promises"]
    assert p["checked"] == len(confirmed) and p["not_completed"] == 0
    assert p["pickups_after_window"] == len(late_pickup)
    assert p["dropoffs_after_latest_arrival"] == len(late_drop)
    assert p["rides_over_max_ride"] == len(long_ride)
    assert p["kept"] == len(confirmed) - len(broken)
    assert p["late_ids"] == sorted(broken)
    lat = s["booking_latency_ms"]
    ms = sorted(float(o["latency_ms"]) for o in outcomes)
    assert lat["count"] == len(outcomes) and lat["max"] == max(ms)
    assert 0 < lat["p50"] <= lat["p95"] <= lat["max"]
    assert s["completed"] == len(confirmed)
    assert s["vehicle_km"] > 0 and s["vehicle_hours"] > 0
    assert 0 < s["sharing_rate"] <= 1  # the two Hase riders to the hospital ride together
    ride_minutes = [
        (_t(o["actual_dropoff"]) - _t(o["actual_pickup"])).total_seconds() / 60 for o in confirmed
    ]
    assert s["mean_excess_ride_minutes"] is not None
    assert s["mean_excess_ride_minutes"] < max(ride_minutes)
    assert s["replay"]["noise_sigma"] == 0.15 and s["replay"]["vehicles"] == 8


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_bad_file_is_refused_with_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = SAMPLE.read_text(encoding="utf-8").splitlines()[0]
    good = SAMPLE.read_text(encoding="utf-8").splitlines()[1]
    base = ["replay", "--tenant", str(DEMO_TENANT_FILE), "--out", str(tmp_path / "out")]
    # a missing column
    missing = _write(tmp_path / "missing.csv", header.replace(",party_size", "") + "\n")
    assert main([*base, "--requests", str(missing)]) == 1
    err = capsys.readouterr().err
    assert "lacks column(s) party_size" in err and "Traceback" not in err
    # a time without offset, a bad latitude and a party of none, each named by line and column
    bad_time = "x1" + good[good.index(",") :].replace("2026-11-24T07:50:00+09:00", "2026-11-24 07:50", 1)
    bad_rows = [bad_time, "x2" + good[good.index(",") :].replace("35.7965", "north", 1)]
    bad_rows.append("x3" + good[good.index(",") :].rsplit(",", 2)[0] + ",0,0")
    bad = _write(tmp_path / "bad.csv", "\n".join([header, good, *bad_rows]) + "\n")
    assert main([*base, "--requests", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "3 problem(s); nothing was replayed" in err
    assert "line 3 (id x1), column request_time: '2026-11-24 07:50' has no UTC offset" in err
    assert "line 4 (id x2), column origin_lat: 'north' is not a number" in err
    assert "line 5 (id x3), column party_size: '0' is not a whole number of at least 1" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
    # both times, and a repeated id
    both = good.replace(",,", ",2026-11-24T09:00:00+09:00,", 1)
    twice = _write(tmp_path / "twice.csv", "\n".join([header, good, both]) + "\n")
    assert main([*base, "--requests", str(twice)]) == 1
    err = capsys.readouterr().err
    assert "column id: 'hase-hospital' was already used on line 2" in err
    assert "column arrive_by: give pickup_after or arrive_by, not both" in err


def test_generate_writes_a_day_over_the_service_area(tmp_path: Path) -> None:
    path = tmp_path / "gen" / "requests.csv"
    args = ["replay", "--tenant", str(DEMO_TENANT_FILE), "--requests", str(path), "--generate", "60"]
    assert main([*args, "--seed", "4"]) == 0
    rows = read_requests(path)
    assert len(rows) == 60 and len({r.id for r in rows}) == 60
    cfg = load_tenant(DEMO_TENANT_FILE)
    area = cfg.area_shape()
    lead = timedelta(minutes=cfg.booking.min_lead_minutes)
    for r in rows:
        assert area.covers(ShapelyPoint(r.origin.lon, r.origin.lat))
        assert area.covers(ShapelyPoint(r.destination.lon, r.destination.lat))
        assert r.wanted - r.request_time >= lead
        local = r.wanted.astimezone(cfg.tz)
        assert local.date().isoformat() == "2026-11-24" and 8 <= local.hour < 17
    assert [r.request_time for r in rows] == sorted(r.request_time for r in rows)
    assert any(r.arrive_by for r in rows) and any(r.pickup_after for r in rows)
    # the same seed writes the same file
    again = tmp_path / "again.csv"
    assert main(["replay", "--tenant", str(DEMO_TENANT_FILE), "--requests", str(again), "--generate", "60",
                 "--seed", "4"]) == 0  # fmt: skip
    assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_the_promise_check_measures_what_was_promised() -> None:
    """The rider arrives when alighting starts, a minute (the demo's alighting) before the
    drop-off tap; the ride-time limit runs from the end of boarding (the pickup tap) to the start
    of alighting; a time within the planner's tolerance (0.1 s) past its limit still keeps it."""
    cfg = load_tenant(DEMO_TENANT_FILE)
    assert cfg.booking.alighting_minutes == 1
    at = datetime.fromisoformat("2026-11-24T09:00:00+09:00")

    def ride(dropped_s: float, arrived_s: float = 600.0) -> Ride:
        return Ride(
            tenant_id=cfg.id,
            idempotency_key="check",
            request_hash="check",
            service_date=at.date(),
            origin_lat=0.0,
            origin_lon=0.0,
            destination_lat=0.0,
            destination_lon=0.0,
            pickup_window_start=at,
            pickup_window_end=at + timedelta(minutes=15),
            latest_arrival=at + timedelta(minutes=40),
            max_ride_seconds=1800.0,
            arrived_at=at + timedelta(seconds=arrived_s),
            picked_up_at=at + timedelta(seconds=720),
            dropped_off_at=at + timedelta(seconds=dropped_s),
        )

    kept = {"pickup": True, "arrival": True, "ride_time": True}
    # tapped 59.95 s after the latest arrival: the rider was there 0.05 s before it
    assert promises_kept(cfg, ride(2400 + 59.95)) == kept
    assert promises_kept(cfg, ride(2400 + 60.05)) == kept  # 0.05 s late: within the tolerance
    assert promises_kept(cfg, ride(2400 + 60.2))["arrival"] is False
    # on board 720 s .. 720 + 1800 s, then a minute's alighting
    assert promises_kept(cfg, ride(720 + 1800 + 60.05))["ride_time"] is True
    assert promises_kept(cfg, ride(720 + 1800 + 60.2))["ride_time"] is False
    assert promises_kept(cfg, ride(2000, arrived_s=900.05))["pickup"] is True
    assert promises_kept(cfg, ride(2000, arrived_s=900.2))["pickup"] is False


# A straight-line town (35 km/h, no margin) with one taxi, for a day small enough to follow by hand.
LINE_TOWN = """\
id: line-town
name: 一本道町
municipality_code: "209998"
timezone: Asia/Tokyo
call_centre_phone: "0265-00-0000"
service_area:
  - name: 一本道町
    polygon: [[35.95, 137.90], [35.95, 138.00], [35.70, 138.00], [35.70, 137.90]]
service_hours:
  tue: {start: "08:00", end: "17:00"}
booking:
  same_day_only: true
  min_lead_minutes: 15
  pickup_window_minutes: 15
  max_ride: {factor: 1.5, plus_minutes: 10}
  max_party_size: 4
  boarding_minutes: 2
  wheelchair_boarding_minutes: 5
  alighting_minutes: 1
fares: {standard_yen: 500, payment: monthly, companion_yen: 500}
eligibility: {any_of: [age_65_plus, licence_surrendered, disability], min_age: 65}
travel_time:
  model: straight_line
  profile: rural
  circuity: 1.0
  margin: {prior_percent: 0, min_percent: 0, max_percent: 0}
places:
  - {id: town-hall, name: 町役場, kind: city_hall, lat: 35.8275, lon: 137.9538}
operators:
  - id: line-taxi
    name: 一本道タクシー
    phone: "0265-00-1111"
    vehicles:
      - {id: line-1, name: 一本道1号, seats: 4, wheelchair_places: 0, depot: {lat: 35.750, lon: 137.9575},
         shift: {start: "07:45", end: "17:30"}}
"""

# Two riders north along one road, the taxi's depot 10 km south: A from 35.840 at 9:00 to 4.4 km
# north, B from halfway at 9:20 to 0.9 km east of A's stop. The taxi takes A, waits at B's door for
# B's window and drops A on the way; from 9:00, A's ride would last 23.8 minutes, over its limit of
# 1.5 x 7.6 + 10 = 21.4 minutes, so the plan starts A's boarding at about 9:02:20. The driver
# sets off for A early (LEAVE_MARGIN: 3 minutes for the 17-minute drive) and is at A's door
# when the window opens.
LINE_REQUESTS = """\
id,request_time,pickup_after,arrive_by,origin_lat,origin_lon,dest_lat,dest_lon,party_size,wheelchair
a,2026-11-24T08:30:00+09:00,2026-11-24T09:00:00+09:00,,35.840,137.9575,35.880,137.9575,1,0
b,2026-11-24T08:31:00+09:00,2026-11-24T09:20:00+09:00,,35.860,137.9575,35.880,137.9675,1,0
"""


def test_without_noise_every_promise_is_kept_to_the_second(tmp_path: Path) -> None:
    """With no noise the simulated driver follows the plan exactly, so every promise holds: the
    pickup window, the latest arrival (the rider arrives when alighting starts, a minute before
    the drop-off tap) and the ride-time limit (end of boarding to start of alighting). Here the
    plan starts rider A's boarding after the window opens, to keep A's ride within its limit
    while the taxi waits at B's door: a driver who let A board as soon as the window opened
    (as the simulated driver did) broke A's ride-time limit by over two minutes."""
    tenant = _write(tmp_path / "line-town.yaml", LINE_TOWN)
    requests = _write(tmp_path / "line.csv", LINE_REQUESTS)
    url, out = f"sqlite:///{tmp_path / 'line.db'}", tmp_path / "out"
    args = ["replay", "--tenant", str(tenant), "--requests", str(requests), "--out", str(out)]
    args += ["--database-url", url, "--reoptimize-minutes", "0", "--position-minutes", "1"]
    assert main(args) == 0
    engine = create_engine(url)
    with Session(engine) as s:
        rides = {r.id: r for r in s.exec(select(Ride).where(col(Ride.resident_id).is_not(None)))}
    engine.dispose()
    outcomes = {o["id"]: o for o in _csv(out / "outcomes.csv")}
    a, b = (rides[int(outcomes[k]["ride_id"])] for k in ("a", "b"))
    assert a.status == b.status == "completed" and a.vehicle_id == b.vehicle_id
    for r in (a, b):
        assert r.arrived_at is not None and r.pickup_window_end is not None
        assert r.picked_up_at is not None and r.dropped_off_at is not None
        assert r.latest_arrival is not None
        there = r.dropped_off_at - timedelta(minutes=1)  # alighting starts
        assert r.arrived_at <= r.pickup_window_end
        assert there <= r.latest_arrival
        assert (there - r.picked_up_at).total_seconds() <= r.max_ride_seconds + SCHEDULE_TOLERANCE_S, r.id
    p = json.loads((out / "summary.json").read_text(encoding="utf-8"))["promises"]
    assert p["checked"] == p["kept"] == 2 and p["late_ids"] == []
    assert p["rides_over_max_ride"] == 0
    # the shared trip: A on board, B picked up, A dropped off, B dropped off
    assert a.picked_up_at < b.picked_up_at < a.dropped_off_at < b.dropped_off_at  # type: ignore[operator]
    # the taxi was at A's door when the window opened; A boarded two minutes later, as planned
    assert a.arrived_at is not None and a.picked_up_at is not None
    assert a.arrived_at == a.pickup_window_start
    assert a.picked_up_at - timedelta(minutes=2) > a.arrived_at + timedelta(seconds=90)
