"""Acceptance of the simulations: `noriai simulate` replays days through the real dispatcher.

1. The demo day (demo fleet, Ina's calibrated demand) serves at least 98% of eligible requests and
   reports sharing rate, wait and ride times; the replay really drove every ride to its end.
2. The same seed gives the same numbers (in two databases); a tenant file written here
   (not the demo) simulates without code changes.
3. The HTML report opens in Chromium with its plots (screenshot artifact), fetching nothing, with no
   WCAG 2.2 A/AA violation (axe-core, through tests/live.py `shot`) and its language declared.
4. The fleet sweep shows served share and cost per ride for each fleet size in one table; its report
   passes the same checks as 3.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine
from sqlmodel import Session, col, select

from api.cli import main
from dispatcher.models import Event, PlanRoute, PlanVersion, Ride
from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import load_tenant, parse_tenant
from simulations.demand import CLASH, MIN_STAY, Profile, RideDemand, Rider, Weather
from simulations.replay import ReplayOptions
from simulations.report import render
from simulations.scenarios import TABLE_COLUMNS, Run, simulate
from tests.conftest import DAY_START
from tests.live import RequestLog, launch, shot, text_styles

SMALL_TOWN = """
id: yamabe-test
name: 山辺町（試験）
municipality_code: "209999"
service_area:
  - name: 山辺
    polygon: [[36.00, 138.00], [36.00, 138.08], [35.94, 138.08], [35.94, 138.00]]
service_hours:
  mon: {start: "09:00", end: "12:00"}
  tue: {start: "09:00", end: "12:00"}
  wed: {start: "09:00", end: "12:00"}
booking: {pickup_window_minutes: 20, min_lead_minutes: 20}
fares: {standard_yen: 300, companion_yen: 300}
eligibility: {any_of: [age_65_plus, licence_surrendered]}
places:
  - {id: clinic, name: 山辺診療所, kind: clinic, lat: 35.975, lon: 138.040}
  - {id: store, name: 山辺ストア, kind: supermarket, lat: 35.972, lon: 138.045}
  - {id: office, name: 山辺町役場, kind: city_hall, lat: 35.970, lon: 138.038}
  - {id: hall-kita, name: 北集会所, kind: community_hall, lat: 35.992, lon: 138.020}
  - {id: hall-minami, name: 南集会所, kind: community_hall, lat: 35.950, lon: 138.062}
operators:
  - id: yamabe-kotsu
    name: 山辺交通
    vehicles:
      - {id: y1, seats: 4, depot: {lat: 35.971, lon: 138.041}, shift: {start: "08:45", end: "12:30"}}
      - {id: y2, seats: 4, depot: {lat: 35.971, lon: 138.041}, shift: {start: "08:45", end: "12:30"}}
  - id: minami-taxi
    name: 南タクシー
    vehicles:
      - {id: m1, seats: 3, wheelchair_places: 1, depot: {lat: 35.951, lon: 138.060},
         shift: {start: "08:45", end: "12:30"}}
simulation:
  costs: {vehicle_hour_yen: 3000, km_yen: 20}
"""


# Text outside the charts (an svg role=img is read by its label) with Japanese characters whose
# nearest lang is not "ja".
JAPANESE_NOT_MARKED_JS = """
() => {
  const japanese = /[\\u3000-\\u30ff\\u3400-\\u9fff\\uff00-\\uffef]/;
  return [...document.querySelectorAll('body *')].filter(e => !e.closest('svg')
    && [...e.childNodes].some(n => n.nodeType === 3 && japanese.test(n.textContent))
    && e.closest('[lang]').getAttribute('lang') !== 'ja').map(e => e.outerHTML.slice(0, 80));
}
"""


def _without_clock(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary without what depends on the machine's speed."""
    out = {k: v for k, v in summary.items() if k != "replay"}
    out["per_day"] = [{k: v for k, v in d.items() if k != "wall_seconds"} for d in summary["per_day"]]
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo day through the command line, its database kept for the checks."""
    out = tmp_path_factory.mktemp("sim")
    url = f"sqlite:///{out / 'demo.db'}"
    code = main(
        [
            "simulate",
            "--tenant",
            str(DEMO_TENANT_FILE),
            "--scenario",
            "bus",
            "--days",
            "1",
            "--seed",
            "3",
            "--database-url",
            url,
            "--json",
            str(out / "demo.json"),
            "--report",
            str(out / "demo.html"),
        ]
    )
    assert code == 0
    return {
        "sim": json.loads((out / "demo.json").read_text(encoding="utf-8")),
        "html": out / "demo.html",
        "url": url,
    }


def test_demo_day_serves_eligible_requests_and_reports_times(demo: dict[str, Any]) -> None:
    sim = demo["sim"]
    s = sim["variants"][0]["summary"]
    d, r, dist = s["demand"], s["ridership"], s["distributions"]
    assert s["vehicles"] == 8 and sim["residents"] == 2276
    # Ina's 109 rides a day on 2,276 registered riders, give or take the day's draw
    assert 80 <= d["eligible_trips"] <= 140, d
    assert d["served_share"] >= 0.98, d
    assert d["served"] == round(d["served_share"] * d["eligible_trips"])
    assert 0 < r["sharing_rate"] <= 1 and r["shared_trips"] <= r["trips"]
    for name in ("wait_minutes", "ride_minutes", "door_to_door_minutes"):
        q = dist[name]
        assert q["count"] > 0 and 0 <= q["p50"] <= q["p90"] <= q["max"], (name, q)
        assert sum(b["count"] for b in q["histogram"]) == q["count"]
    assert dist["ride_minutes"]["count"] == r["trips"]
    # the replay really happened in the database: every confirmed ride ended (dropped off,
    # cancelled or no-show), and the served count is the confirmed rides of the day
    engine = create_engine(demo["url"])
    with Session(engine) as session:
        rides = [x for x in session.exec(select(Ride)) if x.resident_id is not None]
        kinds = {e.kind for e in session.exec(select(Event))}
        versions = list(session.exec(select(PlanVersion).order_by(col(PlanVersion.version))))
        routes = list(session.exec(select(PlanRoute)))
    engine.dispose()
    confirmed = [x for x in rides if x.status != "refused"]
    assert {x.status for x in confirmed} <= {"completed", "cancelled", "no_show"}
    assert sum(1 for x in confirmed if x.status == "completed") == r["trips"]
    assert len(confirmed) == d["served"] == r["confirmed"]
    assert {"plan.reoptimized", "ride.dropped_off", "vehicle.position", "delivery.planned"} <= kinds
    # a busy day saves hundreds of plan versions, all kept, each with only the routes it changed;
    # the plan in force is one route per vehicle
    assert len(versions) > 100 and [v.version for v in versions] == list(range(1, len(versions) + 1))
    assert sum(1 for v in versions if len(v.routes) <= 2) > 0.8 * len(versions)
    assert len(routes) == len({(r.service_date, r.vehicle_id) for r in routes})
    # the costs follow from the configured ones: 3,500 yen per contracted vehicle-hour
    c = s["costs"]
    assert c["taxi_yen"] == round(c["contracted_vehicle_hours"] * 3500)
    assert c["cost_per_ride_yen"] == round(c["taxi_yen"] / r["trips"])
    bus = s["bus_baseline"]
    assert bus["line"] == "長谷・高遠線（廃止）" and bus["trips_asked"] == d["eligible_trips"]
    assert 0 <= bus["accessible_by_bus"] < bus["trips_asked"]
    assert bus["bus_runs"] == 4 and bus["bus_cost_yen"] == 4 * 15000


def test_html_report_opens_in_chromium_with_its_plots(demo: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    html: Path = demo["html"]
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        log = RequestLog(page)
        page.goto(html.as_uri())
        charts = page.locator("svg.chart")
        assert charts.count() >= 5
        bars = page.locator("svg.chart rect.bar")
        assert bars.count() > 20
        heights = page.eval_on_selector_all("svg.chart rect.bar", "els => els.map(e => e.getBBox().height)")
        assert max(heights) > 50  # the bars are drawn, not empty boxes
        assert page.locator("table.variants tbody tr").count() == 1
        assert "served share" in page.locator("table.variants thead").inner_text()
        assert [u for u in log.urls if not u.startswith("file:")] == []
        folder = _readable(page, "report-top")
        page.screenshot(path=str(folder / "report-full.png"), full_page=True)
        browser.close()
    assert (folder / "report-full.png").stat().st_size > 20_000


def _readable(page: Any, name: str) -> Path:
    """Checks of a report page as the browser shows it; its screenshot `simulation/name.png` (the
    folder returned), and axe-core's WCAG 2.2 A/AA rules on it (tests/live.py `shot`)."""
    weak = [t for t in text_styles(page) if t["ratio"] < 4.5]
    assert not weak, weak[:5]
    # the page is in English (WCAG 3.1.1); each Japanese name in it is marked as such (3.1.2)
    assert page.evaluate("() => document.documentElement.lang") == "en"
    assert page.locator("h1 [lang=ja]").count() == 1  # the town's name
    unmarked = page.evaluate(JAPANESE_NOT_MARKED_JS)
    assert unmarked == [], unmarked
    return shot(page, "simulation", name).parent


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Run:
    path = tmp_path_factory.mktemp("town") / "yamabe.yaml"
    path.write_text(SMALL_TOWN, encoding="utf-8")
    cfg = load_tenant(path)
    opt = ReplayOptions(requests_per_day=40, solver_iterations=60)
    return Run(cfg, path, date(2026, 11, 24), 1, 11, 300, opt)


def test_same_seed_same_numbers_on_another_tenant_and_the_fleet_sweep(town: Run, tmp_path: Path) -> None:
    day = simulate(town, "day")
    s = day["variants"][0]["summary"]
    assert s["tenant"] == "yamabe-test" and s["vehicles"] == 3
    assert s["demand"]["eligible_trips"] > 15 and s["ridership"]["trips"] > 10

    sweep = simulate(town, "fleet", [1, 3])
    table = sweep["table"]
    assert table["columns"] == [t for t, _ in TABLE_COLUMNS]
    assert [row["variant"] for row in table["rows"]] == ["1 vehicles", "3 vehicles"]
    assert [row["vehicles"] for row in table["rows"]] == [1, 3]
    for row, v in zip(table["rows"], sweep["variants"], strict=True):
        vs = v["summary"]
        hours = row["vehicles"] * 3.75  # shift 08:45-12:30 on the one service day
        assert row["vehicle-hours"] == hours
        expected = round((hours * 3000 + vs["ridership"]["km"] * 20) / vs["ridership"]["trips"])
        assert row["cost per ride (yen)"] == expected
        assert 0 < row["served share"] <= 1
    shares = [row["served share"] for row in table["rows"]]
    assert shares[0] < shares[1], shares  # one taxi cannot carry the morning's demand
    # The configured fleet in the sweep is the same simulation as the plain day, run again in a
    # database of its own: the same seed gives the same numbers, to the last minute and yen.
    assert _without_clock(sweep["variants"][1]["summary"]) == _without_clock(s)
    assert s["per_day"][0]["wall_seconds"] > 0

    # the sweep's report (the variants compared in charts with their legends) in Chromium
    from playwright.sync_api import sync_playwright

    html = tmp_path / "sweep.html"
    html.write_text(render(sweep), encoding="utf-8")
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(html.as_uri())
            assert page.locator("table.variants tbody tr").count() == 2
            assert page.locator("svg.chart").count() >= 2 + 2 * 4  # two comparisons, four per variant
            _readable(page, "sweep-report")
        finally:
            browser.close()


def test_drivers_set_off_for_stops_booked_before_their_shift(town: Run) -> None:
    """A quiet morning, insertion only: nothing changes a driver's stops after his shift starts,
    and still every pickup is reached within its window."""
    quiet = ReplayOptions(requests_per_day=8, reoptimize_minutes=0, weather="fine")
    s = simulate(replace(town, seed=12, options=quiet), "day")["variants"][0]["summary"]
    r = s["ridership"]
    assert r["trips"] >= 5 and r["on_time_rate"] == 1.0, r  # (they once waited for closing time)
    assert s["distributions"]["wait_minutes"]["max"] < 20


def test_demand_fits_any_service_hours() -> None:
    """An evening service (outside Ina's daytime profile) still gets its requests, inside its hours."""
    data = yaml.safe_load(SMALL_TOWN)
    data["service_hours"] = {"tue": {"start": "18:00", "end": "21:00"}}
    cfg = parse_tenant(data)
    riders = [Rider(k, k, 35.95 + 0.001 * k, 138.02 + 0.001 * k, False) for k in range(1, 200)]
    demand = RideDemand(cfg, riders, Profile(), seed=4)
    trips = demand.day(date(2026, 11, 24), Weather("fine", 2.0, False), seed=4, per_day=30)
    assert len(trips) > 10
    for t in trips:
        wanted = datetime.fromisoformat(t.body.get("pickup_after") or t.body["arrive_by"]).astimezone(cfg.tz)
        assert time(18, 0) <= wanted.time() <= time(21, 0), t.body


def test_a_simulated_resident_picks_only_what_the_pickers_offer(sqlite_ctx: Any) -> None:
    """A wish past the latest pickup (or arrival) the rules allow becomes that latest time, as on
    the TV and phone pickers; a time within the limits is asked as it is. Before, the generator's
    own estimate of the last pickup (without the travel margin) could lie a few minutes past the
    booking's, and the ride home was refused for ending after closing (seed 1: two ways home)."""
    from dispatcher.rides.booking import TripQuestion, time_limits
    from simulations.demand import Trip
    from simulations.replay import within_pickers
    from tests.test_api_rides import eligible_resident

    ctx = sqlite_ctx
    resident = eligible_resident(ctx)
    trip_body = {
        "resident_id": resident,
        "origin": {"place_id": "hall-ichinose"},
        "destination": {"place_id": "central-hospital"},
        "party_size": 1,
        "wheelchair": False,
    }
    limits = time_limits(ctx, "ina-demo", TripQuestion.model_validate(trip_body))
    latest_pickup = datetime.fromisoformat(limits["latest_pickup"])
    latest_arrival = datetime.fromisoformat(limits["latest_arrival"])
    assert latest_pickup < datetime(2026, 11, 24, 16, 30, tzinfo=latest_pickup.tzinfo)  # a long drive
    late = Trip("t", DAY_START, trip_body | {"pickup_after": "2026-11-24T16:30:00+09:00"}, "hospital")
    within_pickers(ctx, "ina-demo", late)
    assert datetime.fromisoformat(late.body["pickup_after"]) == latest_pickup
    appointment = Trip("a", DAY_START, trip_body | {"arrive_by": "2026-11-24T17:30:00+09:00"}, "hospital")
    within_pickers(ctx, "ina-demo", appointment)
    assert datetime.fromisoformat(appointment.body["arrive_by"]) == latest_arrival
    fine = Trip("f", DAY_START, trip_body | {"pickup_after": "2026-11-24T10:00:00+09:00"}, "hospital")
    within_pickers(ctx, "ina-demo", fine)
    assert fine.body["pickup_after"] == "2026-11-24T10:00:00+09:00"


def test_a_simulated_resident_asks_for_the_way_back_after_the_ride_it_overlaps() -> None:
    """A way back refused as overlapping the ride there is asked again after that ride's promise
    (rounded up to 5 min); other refusals are not retried this way."""
    from dispatcher.errors import Code, Conflict
    from simulations.replay import _after_overlap

    def refused(code: Code, latest: str, ride: int = 7) -> Conflict:
        return Conflict("overlap", code=code, existing_ride={"id": ride, "latest_arrival": latest})

    got = _after_overlap(refused(Code.ride_overlaps, "2026-11-24T10:17:30+09:00"), 7)
    assert got is not None and got.isoformat() == "2026-11-24T10:20:00+09:00"
    exact = _after_overlap(refused(Code.ride_overlaps, "2026-11-24T10:15:00+09:00"), 7)
    assert exact is not None and exact.isoformat() == "2026-11-24T10:15:00+09:00"
    # another ride of the same person is another errand: not retried after it
    assert _after_overlap(refused(Code.ride_overlaps, "2026-11-24T16:22:00+09:00", ride=9), 7) is None
    assert _after_overlap(refused(Code.ride_duplicate, "2026-11-24T10:15:00+09:00"), 7) is None
    assert _after_overlap(Conflict("no vehicle"), 7) is None


def test_the_days_demand_gives_no_person_two_errands_at_once() -> None:
    """One person, one ride at a time: the pickups of one resident's different errands are at
    least two hours apart (the booking would refuse the second), while a small town's day still
    draws its trips (30 drawn among 30 people: drawn freely, many would fall on one person at once)."""
    cfg = parse_tenant(yaml.safe_load(SMALL_TOWN))
    riders = [Rider(k, k, 35.95 + 0.001 * k, 138.02 + 0.001 * k, False) for k in range(1, 31)]
    demand = RideDemand(cfg, riders, Profile(), seed=2)
    trips = demand.day(date(2026, 11, 24), Weather("fine", 2.0, False), seed=2, per_day=60)
    assert len(trips) >= 20
    errands: dict[int, list[list[datetime]]] = {}
    for t in trips:
        pickups = [_wanted(x.body) for x in (t, *t.returns)]
        errands.setdefault(t.body["resident_id"], []).append(pickups)
    for person, days in errands.items():
        for a, b in itertools.combinations(days, 2):
            assert all(abs(x - y) >= CLASH for x in a for y in b), (person, a, b)


def test_a_generated_way_back_follows_the_ride_there_and_ends_by_closing() -> None:
    """Residents plan an errand so that they can be driven home: the way back is asked once the
    ride there is typically over plus a short stay (`MIN_STAY`; a far village's rider spends the
    drive on the road, not at the hospital), and early enough for the ride home to end by closing,
    by the same rules the pickers apply. A late errand starts sooner for it. Before, a way back
    was asked 30 minutes after the pickup there whatever the drive, and a handed-over errand kept
    the first person's times: the booking then refused it as overlapping the ride there or as
    ending after closing (seeds 1, 2 and 4 of the demo day: 5 ways home refused)."""
    from routing.geo import Point, haversine_m

    cfg = load_tenant(DEMO_TENANT_FILE)
    riders = [
        Rider(k, k, 35.74 + 0.0013 * (k % 97), 137.93 + 0.0019 * (k * 7 % 89), False) for k in range(1, 400)
    ]

    def duration(a: Point, b: Point) -> float:  # a rural road: 30 km/h along 1.3 x the crow's line
        return 1.3 * haversine_m(a, b) / (30 / 3.6)

    demand = RideDemand(cfg, riders, Profile(), seed=5, duration=duration)
    closes = datetime(2026, 11, 24, 17, 0, tzinfo=cfg.tz)
    places = {p.id: Point(p.lat, p.lon) for p in cfg.places}
    backs = late = 0
    for seed in (5, 6, 7):
        for t in demand.day(date(2026, 11, 24), Weather("fine", 2.0, False), seed=seed, per_day=160):
            there = _wanted(t.body)
            home = Point(t.body["origin"]["lat"], t.body["origin"]["lon"])  # the rider's, handed over or not
            place = places[t.body["destination"]["place_id"]]
            for r in t.returns:
                asked = datetime.fromisoformat(r.body["pickup_after"])
                assert r.body["destination"] == t.body["origin"]
                assert asked >= demand._back_from(there, t.body, home, place) >= there + MIN_STAY, t.body
                assert asked <= demand._latest_pickup(closes, place, home) <= closes, r.body
                backs += 1
                late += there.hour >= 14
    assert backs > 100 and late > 5  # afternoon errands keep their way home


def _wanted(body: dict[str, Any]) -> datetime:
    """The pickup time a generated trip wants: asked, or its appointment less the 45 minutes the
    generator allows to get there."""
    if "pickup_after" in body:
        return datetime.fromisoformat(body["pickup_after"])
    return datetime.fromisoformat(body["arrive_by"]) - timedelta(minutes=45)
