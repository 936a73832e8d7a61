"""The service area the operator console draws (GET /api/v1/service-area): the tenant's own polygons,
places and categories, and its roads when it routes on an OpenStreetMap file (capped, major first)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.platform.bootstrap import build_dispatcher
from dispatcher.residents.area_map import area_map
from dispatcher.settings import DEMO_TENANT_FILE, Settings
from routing.roadnetwork import RoadNetwork
from tests.conftest import DAY_START, token_headers

OSM = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "osm"
AGUAS = OSM / "aguascalientes.osm.bz2"


def test_the_demo_area_has_its_polygon_places_and_categories_but_no_roads(
    client: TestClient, operator: dict[str, str], ctx: Dispatcher
) -> None:
    r = client.get("/api/v1/service-area", headers=operator)
    assert r.status_code == 200, r.text
    body = r.json()
    cfg = ctx.config("ina-demo")
    assert body["name"] == cfg.name
    assert [a["polygon"] for a in body["areas"]] == [[list(c) for c in a.polygon] for a in cfg.service_area]
    b = body["bounds"]
    lats = [c[0] for a in cfg.service_area for c in a.polygon]
    assert (b["south"], b["north"]) == (min(lats), max(lats))
    halls = {p["name"] for p in body["places"] if p["kind"] == "community_hall"}
    assert "手良公民館" in halls and len(halls) == sum(p.kind == "community_hall" for p in cfg.places)
    assert body["roads"] == [] and body["roads_left_out"] == 0  # straight-line model: no map file
    cats = {c["id"]: c for c in body["categories"]}
    assert cats["age_65_plus"]["name"] == "65歳以上" and not cats["age_65_plus"]["evidence"]
    assert cats["licence_surrendered"]["name"] == "運転免許返納" and cats["licence_surrendered"]["accepted"]
    assert cats["disability"]["document"] == "障害者手帳"
    assert body["min_age"] == 65 and body["same_day_only"] is True
    # another role is refused (personal data is not in it, but the console's forms are operators')
    driver = token_headers(client, "ina-demo-city")
    assert client.get("/api/v1/service-area", headers=driver).status_code == 403


def _osm_town(tmp_path: Path) -> Path:
    """The demo's rules over the Aguascalientes sample: an area around its roads, the tenant's own
    category, no places, the road-network model."""
    data = yaml.safe_load(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    data["id"], data["name"] = "osm-town", "地図の町"
    data["service_area"] = [
        {
            "name": "中心",
            "polygon": [[21.862, -102.280], [21.862, -102.262], [21.876, -102.262], [21.876, -102.280]],
        }
    ]
    data["places"] = []
    for key in ("drones", "shopping", "simulation"):
        data.pop(key, None)
    for op in data["operators"]:
        for v in op["vehicles"]:
            v["depot"] = {"lat": 21.87, "lon": -102.27}
    data["travel_time"] = {"model": "osm", "file": str(AGUAS)}
    data["eligibility"]["categories"] = [
        {"id": "care_level", "name": "要介護認定", "document": "介護保険証", "expires": True}
    ]
    data["eligibility"]["any_of"].append("care_level")
    path = tmp_path / "osm-town.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_town_on_an_osm_file_gets_its_roads_capped_major_first(tmp_path: Path) -> None:
    if not AGUAS.exists():
        pytest.skip("OSM samples not beside the checkout")
    settings = Settings(
        DATABASE_URL=f"sqlite:///{tmp_path / 'n.db'}",
        NORIAI_TENANT_FILE=_osm_town(tmp_path),
        NORIAI_CACHE_DIR=str(tmp_path / "cache"),
    )
    ctx = build_dispatcher(settings, SimClock(DAY_START))
    try:
        full = area_map(ctx, "osm-town")
        net = ctx.road("osm-town")
        assert isinstance(net, RoadNetwork)
        assert len(full.roads) > 100 and full.roads_left_out == 0
        box = full.bounds
        for seg in full.roads:  # every segment touches the area's box (with its margin of ~1 km)
            assert any(
                box.south - 0.011 <= p.lat <= box.north + 0.011
                and box.west - 0.011 <= p.lon <= box.east + 0.011
                for p in (seg.a, seg.b)
            )
        capped = area_map(ctx, "osm-town", max_segments=50)
        assert len(capped.roads) == 50 and capped.roads_left_out == len(full.roads) - 50
        majors = sum(s.major for s in full.roads)
        # major roads come first: the capped map keeps as many of them as fit
        assert sum(s.major for s in capped.roads) == min(50, majors)
    finally:
        ctx.engine.dispose()


def test_road_segments_are_undirected_and_inside_the_box() -> None:
    if not AGUAS.exists():
        pytest.skip("OSM samples not beside the checkout")
    net = RoadNetwork(AGUAS)
    every, left = net.segments()
    assert left == 0
    pairs = {frozenset(((s.a.lat, s.a.lon), (s.b.lat, s.b.lon))) for s in every}
    assert len(pairs) == len(every)  # a two-way road is one segment, not two
    south, north = float(net.lat.min()), float(net.lat.max())
    mid = (south + north) / 2
    half, rest = net.segments(north=mid)
    assert 0 < len(half) < len(every) and rest == 0
    assert all(min(s.a.lat, s.b.lat) <= mid for s in half)
