"""Airspace: corridors, no-fly zones, ranges and the corridor graph, in routing and in tenant files."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
import yaml

from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import TenantConfigError, load_tenant
from routing.airspace import Corridor, NoFlyZone, corridor_graph, crossed_zones, flight_range_m
from routing.geo import Point


def test_crossing_and_range() -> None:
    c = Corridor("c", "base", "h", 60, (Point(35.0, 138.0), Point(35.0, 138.01)))
    school = NoFlyZone(
        "school",
        (Point(34.999, 138.004), Point(34.999, 138.006), Point(35.001, 138.006), Point(35.001, 138.004)),
    )
    aside = NoFlyZone("aside", (Point(35.01, 138.004), Point(35.01, 138.006), Point(35.012, 138.006)))
    assert crossed_zones(c, [school, aside]) == ["school"]
    assert 900 < c.length_m < 920  # 0.01 degrees of longitude at 35 N
    assert flight_range_m(12, 30, 6) == 12 * 60 * 24


def test_demo_airspace_is_valid_and_connected() -> None:
    cfg = load_tenant(DEMO_TENANT_FILE)
    assert cfg.drones is not None and len(cfg.drones.fleet) == 3 and len(cfg.drones.halls) >= 8
    corridors = [
        Corridor(c.id, c.from_, c.to, c.altitude_m, tuple(Point(*p) for p in c.path))
        for c in cfg.drones.corridors
    ]
    g = corridor_graph(corridors)
    for hall in cfg.drones.halls:  # every hall is reachable from the base along corridors
        assert nx.has_path(g, "base", hall.place_id)
    zones = [NoFlyZone(z.name, tuple(Point(*p) for p in z.polygon)) for z in cfg.drones.no_fly]
    assert all(not crossed_zones(c, zones) for c in corridors)


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_corridor_errors_name_the_corridor(tmp_path: Path) -> None:
    data = yaml.safe_load(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    corridors = data["drones"]["corridors"]
    # through the school
    corridors[7]["path"] = [[35.7960, 138.0740], [35.7960, 138.0710], [35.7880, 138.0210]]
    # to a hall that is not one
    corridors[1]["to"] = "city-hall"
    data["drones"]["fleet"] = [{**d, "endurance_min": 10, "reserve_min": 6} for d in data["drones"]["fleet"]]
    with pytest.raises(TenantConfigError) as e:
        load_tenant(_write(tmp_path, data))
    text = "\n".join(e.value.problems)
    assert "drones.corridors[7] (c-niiyama): crosses the no-fly zone 長谷小学校（仮）" in text
    assert "drones.corridors[1].to: 'city-hall' is neither 'base' nor a hall in drones.halls" in text
    assert "exceeds every drone's range with its reserve" in text and "(c-takato)" in text
