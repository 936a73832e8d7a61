"""Travel-time models: the straight-line model and real OpenStreetMap extracts."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from routing.geo import Point, haversine_m
from routing.roadnetwork import RoadNetwork
from routing.traveltime import StraightLine

OSM = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "osm"
FILES = ["west-oakland.osm.bz2", "aguascalientes.osm.bz2", "aguascalientes.osm.pbf"]


def test_straight_line_scales_with_distance_circuity_and_speed() -> None:
    a, b = Point(35.8275, 137.9538), Point(35.8448, 137.9629)  # city hall -> hospital, ~2.1 km
    d = haversine_m(a, b)
    assert 1900 < d < 2300
    m = StraightLine(speed_kmh=36.0, circuity=1.25)
    assert m.duration(a, b) == pytest.approx(d * 1.25 / 10.0)
    assert m.matrix([a, b, a])[0, 0] == 0
    rural, mountain = StraightLine.for_profile("rural"), StraightLine.for_profile("mountain")
    assert mountain.duration(a, b) > rural.duration(a, b)


def _sample_points(net: RoadNetwork, k: int, seed: int) -> list[Point]:
    rng = np.random.default_rng(seed)
    lat0, lat1, lon0, lon1 = net.lat.min(), net.lat.max(), net.lon.min(), net.lon.max()
    return [Point(float(rng.uniform(lat0, lat1)), float(rng.uniform(lon0, lon1))) for _ in range(k)]


@pytest.mark.parametrize("name", FILES)
def test_road_network_times_are_plausible(name: str, tmp_path: Path) -> None:
    if not (OSM / name).exists():
        pytest.skip("OSM samples not beside the checkout")
    net = RoadNetwork(OSM / name, cache_dir=tmp_path)
    assert net.node_count > 10
    pts = _sample_points(net, 25, 1)
    times = net.matrix(pts)
    dists = net.distance_matrix(pts)
    vmax = net.max_speed_kmh / 3.6
    for i, a in enumerate(pts):
        for j, b in enumerate(pts):
            if i == j:
                assert times[i, j] == 0
                continue
            straight = haversine_m(a, b)
            assert np.isfinite(times[i, j])
            # never faster than the straight line at the network's top speed
            assert times[i, j] >= straight / vmax - 1e-6
            # and not absurd for a small city extract: under 15 minutes
            assert times[i, j] < 900
            assert dists[i, j] >= straight * 0.98


def test_pbf_and_xml_give_the_same_graph_and_cache_is_reused(tmp_path: Path) -> None:
    if not (OSM / "aguascalientes.osm.pbf").exists():
        pytest.skip("OSM samples not beside the checkout")
    xml = RoadNetwork(OSM / "aguascalientes.osm.bz2", cache_dir=tmp_path / "a")
    pbf = RoadNetwork(OSM / "aguascalientes.osm.pbf", cache_dir=tmp_path / "b")
    assert xml.node_count == pbf.node_count
    pts = _sample_points(xml, 6, 2)
    assert np.allclose(xml.matrix(pts), pbf.matrix(pts))
    cached = list((tmp_path / "a").glob("road-*.npz"))
    assert len(cached) == 1
    # a copy of the file at another path loads from the cache (same content hash)
    copy = tmp_path / "copy.osm.bz2"
    shutil.copy(OSM / "aguascalientes.osm.bz2", copy)
    again = RoadNetwork(copy, cache_dir=tmp_path / "a")
    assert np.allclose(again.matrix(pts), xml.matrix(pts))
    assert len(list((tmp_path / "a").glob("road-*.npz"))) == 1


def test_snapping_picks_the_nearest_node(tmp_path: Path) -> None:
    if not (OSM / "west-oakland.osm.bz2").exists():
        pytest.skip("OSM samples not beside the checkout")
    net = RoadNetwork(OSM / "west-oakland.osm.bz2", cache_dir=tmp_path)
    node = 3
    p = Point(float(net.lat[node]) + 1e-6, float(net.lon[node]))
    idx, dist = net.snap([p])
    assert idx[0] == node and dist[0] < 1.0


def test_lazy_matrix_matches_the_full_matrix(tmp_path: Path) -> None:
    from routing.traveltime import LazyMatrix

    pts = [Point(35.80 + 0.01 * k, 137.95 + 0.013 * (k % 3)) for k in range(6)]
    line = StraightLine.for_profile("rural")
    lazy = LazyMatrix(line.duration, pts)
    assert np.allclose([[lazy[i][j] for j in range(6)] for i in range(6)], line.matrix(pts))
    if (OSM / "aguascalientes.osm.bz2").exists():
        net = RoadNetwork(OSM / "aguascalientes.osm.bz2", cache_dir=tmp_path)
        sample = _sample_points(net, 5, 3)
        lazy = LazyMatrix(net.duration, sample)
        assert np.allclose([[lazy[i][j] for j in range(5)] for i in range(5)], net.matrix(sample))


def test_largest_leg_of_a_lazy_matrix_bounds_every_leg_without_filling_it() -> None:
    """The search's penalty scale on the dispatcher's lazy matrix: a row nobody read yet (a point
    of a done stop) once made the re-optimization fail with max() of an empty row."""
    from routing.alns import AlnsOptions, solve
    from routing.insertion import Route
    from routing.schedule import Stop, VehicleState
    from routing.traveltime import LazyMatrix, largest_leg, row_values

    model = StraightLine.for_profile("rural")
    pts = [Point(35.80 + 0.01 * k, 137.95 + 0.013 * (k % 3)) for k in range(6)]
    lazy = LazyMatrix(model.duration, pts)
    dense = model.matrix(pts)
    bound = largest_leg(lazy)
    assert bound >= dense.max() > 0
    assert bound <= 2 * dense.max() + 1e-9
    assert sum(len(list(row_values(lazy[i]))) for i in range(1, 6)) == 5  # only column 0 was read
    assert largest_leg(dense.tolist()) == dense.max()
    vehicle = VehicleState(id=0, start_location=0, start_time=0.0, end_location=0, end_time=36000.0, seats=4)
    pickup = Stop(1, "pickup", 1, 0.0, 7200.0, 60.0, 1, 0, 3600.0)
    drop = Stop(1, "dropoff", 2, 0.0, 20000.0, 60.0, 1, 0)
    lazy = LazyMatrix(model.duration, pts)  # points 3-5 are never on a route: their rows stay empty
    out = solve([Route(vehicle, (pickup, drop))], lazy, options=AlnsOptions(iterations=20, seed=1))
    assert out.stops == [(pickup, drop)] and not out.unserved
