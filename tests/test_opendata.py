"""Issue 7, acceptance 3 and the rest of the open data: the GTFS-Flex feed has the required files,
consistent ids, a valid GeoJSON zone and booking rules that match the tenant's lead time and hours
(for the demo and for a different tenant written here); the daily CSV and the NGSI-LD entities
hold the closed figures and nothing personal."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from typing import Any

import yaml
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from sqlmodel import Session, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import session_scope
from dispatcher.models import Resident, Vehicle
from dispatcher.platform.scheduler import run_due
from dispatcher.reporting.stats import ridership
from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import WEEKDAYS, TenantConfig, parse_tenant
from dispatcher.tenants import sync_tenant
from simulations.demo_day import run_day
from tests.conftest import DAY_START, client_for

REQUIRED = {
    "agency.txt",
    "routes.txt",
    "trips.txt",
    "stop_times.txt",
    "calendar.txt",
    "booking_rules.txt",
    "locations.geojson",
    "feed_info.txt",
    "fare_attributes.txt",
}
CALENDAR_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _feed(client: TestClient, tenant: str | None = None) -> dict[str, Any]:
    r = client.get("/opendata/gtfs.zip", params={"tenant": tenant} if tenant else None)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    out: dict[str, Any] = {}
    for name in z.namelist():
        text = z.read(name).decode("utf-8")
        out[name] = json.loads(text) if name.endswith(".geojson") else list(csv.DictReader(io.StringIO(text)))
    return out


def check_feed(feed: dict[str, Any], cfg: TenantConfig) -> None:
    """Everything acceptance 3 asks, for any tenant."""
    assert set(feed) >= REQUIRED, REQUIRED - set(feed)
    agencies = {a["agency_id"] for a in feed["agency.txt"]}
    routes = {r["route_id"]: r for r in feed["routes.txt"]}
    services = {c["service_id"]: c for c in feed["calendar.txt"]}
    trips = {t["trip_id"]: t for t in feed["trips.txt"]}
    rules = {b["booking_rule_id"]: b for b in feed["booking_rules.txt"]}
    zone = feed["locations.geojson"]
    zones = {f["id"]: f for f in zone["features"]}
    assert feed["agency.txt"][0]["agency_timezone"] == cfg.timezone and feed["agency.txt"][0]["agency_url"]
    # ids refer to what exists
    assert all(r["agency_id"] in agencies and r["route_type"] == "3" for r in routes.values())
    assert all(t["route_id"] in routes and t["service_id"] in services for t in trips.values())
    assert all(d["service_id"] in services for d in feed.get("calendar_dates.txt", []))
    by_trip: dict[str, list[dict[str, str]]] = {}
    for st in feed["stop_times.txt"]:
        assert st["trip_id"] in trips and st["location_id"] in zones
        assert st["pickup_booking_rule_id"] in rules and st["drop_off_booking_rule_id"] in rules
        by_trip.setdefault(st["trip_id"], []).append(st)
    assert set(by_trip) == set(trips)
    for stops in by_trip.values():  # a zone trip: a pickup row, then a drop-off row
        assert [s["stop_sequence"] for s in stops] == ["1", "2"]
        assert (stops[0]["pickup_type"], stops[0]["drop_off_type"]) == ("2", "1")
        assert (stops[1]["pickup_type"], stops[1]["drop_off_type"]) == ("1", "2")
    fares = {f["fare_id"]: f for f in feed["fare_attributes.txt"]}
    assert all(r["fare_id"] in fares and r["route_id"] in routes for r in feed["fare_rules.txt"])
    assert [(f["price"], f["currency_type"]) for f in fares.values()] == [
        (str(cfg.fares.standard_yen), "JPY")
    ]

    # a valid GeoJSON zone: [lon, lat], closed rings, counter-clockwise outside, the service area
    assert zone["type"] == "FeatureCollection" and len(zones) == 1
    (feature,) = zones.values()
    assert (
        feature["type"] == "Feature"
        and isinstance(feature["id"], str)
        and "stop_name" in feature["properties"]
    )
    geom = shape(feature["geometry"])
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon") and geom.is_valid
    polys = [geom] if geom.geom_type == "Polygon" else list(geom.geoms)
    for p in polys:
        ring = list(p.exterior.coords)
        assert ring[0] == ring[-1] and p.exterior.is_ccw
        assert all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in ring)
    assert geom.symmetric_difference(cfg.area_shape()).area < 1e-9
    assert all(geom.covers(Point(p.lon, p.lat)) for p in cfg.places)

    # booking rules and windows: the tenant's lead time and service hours
    (rule,) = rules.values()
    assert (
        rule["booking_type"] == "1" and int(rule["prior_notice_duration_min"]) == cfg.booking.min_lead_minutes
    )
    assert rule["phone_number"] == cfg.call_centre_phone
    for i, day in enumerate(WEEKDAYS):
        hours = cfg.service_hours.get(day)
        running = [sid for sid, c in services.items() if c[CALENDAR_DAYS[i]] == "1"]
        if hours is None:
            assert running == [], day
            continue
        (sid,) = running
        (trip,) = [t for t in trips.values() if t["service_id"] == sid]
        for st in by_trip[trip["trip_id"]]:
            window = (st["start_pickup_drop_off_window"], st["end_pickup_drop_off_window"])
            assert window == (f"{hours.start:%H:%M}:00", f"{hours.end:%H:%M}:00"), day
            assert not st.get("arrival_time") and not st.get("departure_time")
    closed = {(d["date"], d["exception_type"]) for d in feed.get("calendar_dates.txt", [])}
    for d in cfg.closed_dates:
        if cfg.service_hours.get(WEEKDAYS[d.weekday()]) is not None:
            assert (f"{d:%Y%m%d}", "2") in closed


def test_gtfs_flex_feed_of_the_demo_and_of_another_tenant(client: TestClient, ctx: Dispatcher) -> None:
    check_feed(_feed(client), ctx.config("ina-demo"))
    # A different municipality: a longer lead time, three days a week, two separate areas.
    data = yaml.safe_load(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    data.update(id="hill-town", name="丘の町", municipality_code="209999", website="")
    data["booking"]["min_lead_minutes"] = 45
    data["service_hours"] = {
        "mon": {"start": "09:00", "end": "15:30"},
        "tue": None,
        "wed": {"start": "09:00", "end": "15:30"},
        "thu": None,
        "fri": {"start": "10:00", "end": "14:00"},
        "sat": None,
        "sun": None,
    }
    data["closed_dates"] = ["2026-12-30"]
    data["service_area"].append(
        {"name": "離れ地区", "polygon": [[35.95, 138.20], [35.95, 138.26], [35.91, 138.26], [35.91, 138.20]]}
    )
    cfg = parse_tenant(data)
    with session_scope(ctx.engine) as s:
        sync_tenant(s, cfg, DAY_START)
    feed = _feed(client, "hill-town")
    check_feed(feed, cfg)
    assert feed["locations.geojson"]["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert feed["booking_rules.txt"][0]["prior_notice_duration_min"] == "45"
    assert {c["service_id"] for c in feed["calendar.txt"]} == {"mon-wed", "fri"}
    assert feed["agency.txt"][0]["agency_url"].startswith("http://testserver/")  # no website: our own
    r = client.get("/opendata/gtfs.zip", params={"tenant": "nowhere"})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_daily_csv_and_ngsi_ld_hold_the_closed_figures_and_nothing_personal(
    sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    ctx = sqlite_ctx
    with client_for(ctx) as c:
        run_day(c, clock, n=14, seed=4, until=DAY_START.replace(hour=17, minute=30))
        clock.set(DAY_START + timedelta(days=1, hours=-6, minutes=-1))  # 01:59 the next night
        run_due(ctx)  # the scheduler starts
        clock.set(DAY_START + timedelta(days=1, hours=-6, seconds=5))
        closed = [r for r in run_due(ctx) if r["job"] == "statistics"]
        assert [d["date"] for d in closed[0]["detail"]["days"]] == ["2026-11-24"]
        clock.set(DAY_START + timedelta(days=1, hours=-6, minutes=1))
        assert not [r for r in run_due(ctx) if r["job"] == "statistics"]  # once a night
        clock.set(DAY_START + timedelta(days=2, hours=-6, seconds=5))  # the night after
        closed = [r for r in run_due(ctx) if r["job"] == "statistics"]
        assert [d["date"] for d in closed[0]["detail"]["days"]] == ["2026-11-25"]
        day = DAY_START.date()
        figures = ridership(ctx, "ina-demo", day, day, "day")["totals"]
        r = c.get("/opendata/ridership.csv", params={"from": "2026-11-20", "to": "2026-11-25"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = {row["date"]: row for row in csv.DictReader(io.StringIO(r.text))}
        assert set(rows) == {"2026-11-24", "2026-11-25"}  # only closed days
        row = rows["2026-11-24"]
        assert int(row["trips"]) == figures["trips"] > 5
        assert int(row["passengers"]) == figures["passengers"]
        assert float(row["sharing_rate"]) == figures["sharing_rate"]

        kpis = c.get(
            "/opendata/ngsi-ld/v1/entities", params={"type": "KeyPerformanceIndicator", "date": "2026-11-24"}
        )
        assert kpis.headers["content-type"] == "application/ld+json"
        by_id = {e["id"]: e for e in kpis.json()}
        trips = by_id["urn:ngsi-ld:KeyPerformanceIndicator:ina-demo:trips:2026-11-24"]
        assert (
            trips["kpiValue"]["value"] == figures["trips"]
            and trips["calculationFrequency"]["value"] == "daily"
        )
        assert all("@context" in e and e["type"] == "KeyPerformanceIndicator" for e in by_id.values())
        one = c.get(f"/opendata/ngsi-ld/v1/entities/{trips['id']}").json()
        assert one["kpiValue"] == trips["kpiValue"]
        everything = c.get("/opendata/ngsi-ld/v1/entities").json()
        types = {e["type"] for e in everything}
        assert {"ServiceArea", "Vehicle"} <= types
        area = next(e for e in everything if e["type"] == "ServiceArea")
        assert shape(area["location"]["value"]).is_valid
        vehicles = [e for e in everything if e["type"] == "Vehicle"]
        assert len(vehicles) == 8
        assert {v["serviceStatus"]["value"] for v in vehicles} <= {
            "onRoute",
            "parked",
            "outOfService",
            "broken",
        }
        with Session(ctx.engine) as s:
            cars = {car.key: car for car in s.exec(select(Vehicle))}
        moved = 0
        for v in vehicles:  # the depot, never where the car is
            car = cars[v["fleetVehicleId"]["value"]]
            lon, lat = v["location"]["value"]["coordinates"]
            assert (round(car.depot_lat, 5), round(car.depot_lon, 5)) == (lat, lon)
            assert v["category"]["value"] == ["public", "nonTracked"]
            if car.last_lat is not None and abs(car.last_lat - car.depot_lat) > 1e-4:
                moved += 1
                assert abs(lat - car.last_lat) > 1e-4
        assert moved >= 3  # the day was driven: the cars are elsewhere, the data does not say where
        assert c.get("/opendata/ngsi-ld/v1/entities", params={"type": "Bus"}).status_code == 422

        with Session(ctx.engine) as s:
            people = s.exec(select(Resident)).all()
        published = (
            r.text + json.dumps(everything, ensure_ascii=False) + json.dumps(kpis.json(), ensure_ascii=False)
        )
        published += "".join(str(v) for v in _feed(c).values())
        for p in people:
            assert p.family_name + " " + p.given_name not in published
            assert p.phone not in published and p.family_kana + p.given_kana not in published
