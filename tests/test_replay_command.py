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
from dispatcher.rides.plan import current_plan
from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import load_tenant
from simulations.file_replay import read_requests

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
        if (_t(o["actual_arrival"]) or _t(o["actual_pickup"])) > _t(o["window_end"])
    ]
    late_drop = [o["id"] for o in confirmed if _t(o["actual_dropoff"]) > _t(o["latest_arrival"])]
    p = s["promises"]
    assert p["checked"] == len(confirmed) and p["not_completed"] == 0
    assert p["pickups_after_window"] == len(late_pickup)
    assert p["dropoffs_after_latest_arrival"] == len(late_drop)
    assert p["kept"] == len(confirmed) - len(set(late_pickup) | set(late_drop))
    assert p["late_ids"] == sorted(set(late_pickup) | set(late_drop))
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
