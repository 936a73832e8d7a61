"""Road-network travel times from an OpenStreetMap file.

Loads `.osm`, `.osm.bz2` (OSM XML, through OSMnx) or `.osm.pbf` (converted to XML with pyosmium),
keeps the drivable roads, gives every edge a speed by highway class (or its `maxspeed` tag), keeps the
largest strongly connected component, snaps points to the nearest road node and computes duration
matrices with Dijkstra (scipy) from each source node, caching rows in memory and the compiled graph
on disk. Durations are seconds, distances metres, speeds km/h.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from routing.geo import EARTH_RADIUS_M, FloatArray, Point

if TYPE_CHECKING:
    import networkx as nx

# Default speeds by OSM highway class, km/h, used where an edge has no maxspeed tag.
HIGHWAY_SPEEDS_KMH: dict[str, float] = {
    "motorway": 80.0,
    "motorway_link": 50.0,
    "trunk": 60.0,
    "trunk_link": 40.0,
    "primary": 50.0,
    "primary_link": 35.0,
    "secondary": 45.0,
    "secondary_link": 30.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
}
DRIVABLE = frozenset(HIGHWAY_SPEEDS_KMH)
NO_ACCESS = frozenset({"no", "private"})
ACCESS_SPEED_KMH = 10.0  # from a point to its snapped road node (driveway, yard, last metres)
CACHE_VERSION = 1
MAJOR_ROAD_KMH = 40.0  # a map draws roads at least this fast (tertiary and up) as major roads


def _highway(value: object) -> str:
    return value[0] if isinstance(value, list) else str(value)


def _load_osm_graph(path: Path) -> nx.MultiDiGraph[int]:
    import osmnx as ox

    name = path.name.lower()
    if name.endswith(".pbf"):
        import osmium

        with tempfile.TemporaryDirectory() as tmp:
            xml = Path(tmp) / "extract.osm"
            with osmium.SimpleWriter(str(xml)) as writer:
                for obj in osmium.FileProcessor(str(path)):
                    writer.add(obj)
            return ox.graph_from_xml(xml, simplify=True, retain_all=True)
    return ox.graph_from_xml(path, simplify=True, retain_all=True)


def _drivable(G: nx.MultiDiGraph[int]) -> nx.MultiDiGraph[int]:
    import osmnx as ox

    drop = [
        (u, v, k)
        for u, v, k, d in G.edges(keys=True, data=True)
        if _highway(d.get("highway", "")) not in DRIVABLE or str(d.get("access", "")) in NO_ACCESS
    ]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    G = ox.truncate.largest_component(G, strongly=True)
    G = ox.routing.add_edge_speeds(G, hwy_speeds=HIGHWAY_SPEEDS_KMH, fallback=25.0)
    return ox.routing.add_edge_travel_times(G)


@dataclass(frozen=True, slots=True)
class RoadSegment:
    """A straight piece of road between two road nodes, for a map; `major`: tertiary or faster."""

    a: Point
    b: Point
    major: bool


class RoadNetwork:
    """Travel times over the drivable road graph of an OpenStreetMap file.

    path: the OSM file (.osm, .osm.bz2, .osm.pbf).
    cache_dir: where the compiled graph is kept between runs (None: no disk cache).
    max_cached_rows: how many Dijkstra rows (one per source node) stay in memory.
    """

    def __init__(
        self, path: str | Path, cache_dir: str | Path | None = None, max_cached_rows: int = 4096
    ) -> None:
        self.path = Path(path)
        self._rows: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._max_rows = max_cached_rows
        self._snaps: dict[Point, tuple[int, float]] = {}
        data = self._load(cache_dir)
        self.lat: np.ndarray = data["lat"]
        self.lon: np.ndarray = data["lon"]
        n = len(self.lat)
        self._time = csr_matrix((data["time"], (data["src"], data["dst"])), shape=(n, n))
        self._length = csr_matrix((data["length"], (data["src"], data["dst"])), shape=(n, n))
        self.max_speed_kmh = float(data["max_speed"])
        self._lat0 = float(np.mean(self.lat))
        self._tree = cKDTree(self._project(self.lat, self.lon))

    @property
    def node_count(self) -> int:
        """Number of road nodes in the largest strongly connected component."""
        return len(self.lat)

    def _load(self, cache_dir: str | Path | None) -> dict[str, np.ndarray]:
        cache: Path | None = None
        if cache_dir is not None:
            digest = hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]
            key = hashlib.sha256(
                json.dumps([CACHE_VERSION, HIGHWAY_SPEEDS_KMH, ACCESS_SPEED_KMH]).encode()
            ).hexdigest()[:8]
            cache = Path(cache_dir) / f"road-{digest}-{key}.npz"
            if cache.exists():
                with np.load(cache) as z:
                    return {k: z[k] for k in z.files}
        G = _drivable(_load_osm_graph(self.path))
        index = {node: i for i, node in enumerate(G.nodes)}
        best: dict[tuple[int, int], tuple[float, float]] = {}
        speeds = []
        for u, v, d in G.edges(data=True):
            edge = (index[u], index[v])
            t, length = float(d["travel_time"]), float(d["length"])
            speeds.append(float(d["speed_kph"]))
            if u != v and (edge not in best or t < best[edge][0]):
                best[edge] = (max(t, 1e-3), length)
        src, dst = (np.array(x, dtype=np.int64) for x in zip(*best.keys(), strict=True))
        data = {
            "lat": np.array([G.nodes[n]["y"] for n in G.nodes], dtype=float),
            "lon": np.array([G.nodes[n]["x"] for n in G.nodes], dtype=float),
            "src": src,
            "dst": dst,
            "time": np.array([v[0] for v in best.values()]),
            "length": np.array([v[1] for v in best.values()]),
            "max_speed": np.array(max(speeds + [ACCESS_SPEED_KMH])),
        }
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp.npz")
            np.savez(tmp, allow_pickle=False, **data)  # numeric arrays only: nothing to pickle
            tmp.replace(cache)
        return data

    def _project(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Local equirectangular projection in metres, good to well under 1% over a city."""
        x = np.radians(lon) * np.cos(np.radians(self._lat0)) * EARTH_RADIUS_M
        y = np.radians(lat) * EARTH_RADIUS_M
        return np.column_stack([x, y])

    def snap(self, points: Sequence[Point]) -> tuple[np.ndarray, np.ndarray]:
        """Nearest road node of each point and the distance to it (m)."""
        xy = self._project(
            np.array([p.lat for p in points], dtype=float),
            np.array([p.lon for p in points], dtype=float),
        )
        dist, idx = self._tree.query(xy)
        return np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=float)

    def _row(self, source: int) -> tuple[np.ndarray, np.ndarray]:
        """Fastest times (s) from a source node to every node, and the predecessor tree."""
        row = self._rows.get(source)
        if row is not None:
            self._rows.move_to_end(source)
            return row
        times, pred = dijkstra(self._time, indices=[source], return_predecessors=True)
        row = self._rows[source] = (times[0], pred[0])
        if len(self._rows) > self._max_rows:
            self._rows.popitem(last=False)
        return row

    def _path_length(self, pred: np.ndarray, target: int) -> float:
        """Road length (m) of the fastest path ending at target, walking the predecessor tree."""
        total = 0.0
        node = target
        while pred[node] >= 0:
            parent = int(pred[node])
            total += self._length[parent, node]
            node = parent
        return total

    def _matrices(self, points: Sequence[Point], with_distances: bool) -> tuple[np.ndarray, np.ndarray]:
        nodes, snap = self.snap(points)
        n = len(points)
        times = np.zeros((n, n))
        dists = np.zeros((n, n))
        access_s = snap / (ACCESS_SPEED_KMH / 3.6)
        for i in range(n):
            t_row, pred = self._row(int(nodes[i]))
            times[i] = t_row[nodes] + access_s[i] + access_s
            if with_distances:
                lengths = [self._path_length(pred, int(t)) for t in nodes]
                dists[i] = np.array(lengths) + snap[i] + snap
        same = np.array([[a == b for b in points] for a in points])
        times[same] = 0.0
        dists[same] = 0.0
        return times, dists

    def duration(self, a: Point, b: Point) -> float:
        """Driving duration (s) from a to b, the last metres at 10 km/h included."""
        if a == b:
            return 0.0
        (na, da), (nb, db) = self._snap_cached(a), self._snap_cached(b)
        times, _ = self._row(na)
        return float(times[nb]) + (da + db) / (ACCESS_SPEED_KMH / 3.6)

    def _snap_cached(self, p: Point) -> tuple[int, float]:
        hit = self._snaps.get(p)
        if hit is None:
            idx, dist = self.snap([p])
            hit = self._snaps[p] = (int(idx[0]), float(dist[0]))
            if len(self._snaps) > 100_000:
                self._snaps.clear()
        return hit

    def matrix(self, points: Sequence[Point]) -> FloatArray:
        """Driving durations (s) between points; legs to and from the road at 10 km/h included."""
        return self._matrices(points, False)[0]

    def distance_matrix(self, points: Sequence[Point]) -> FloatArray:
        """Driving distances (m) along the fastest paths between points."""
        return self._matrices(points, True)[1]

    def segments(
        self,
        south: float = -90.0,
        west: float = -180.0,
        north: float = 90.0,
        east: float = 180.0,
        max_segments: int | None = None,
        major_kmh: float = MAJOR_ROAD_KMH,
    ) -> tuple[list[RoadSegment], int]:
        """The drivable roads as straight segments between road nodes, one per pair of nodes (both
        directions of a two-way road are one segment), for drawing a map.

        Only segments with an end inside the box (degrees) are returned; with `max_segments`, the
        major roads (speed at least `major_kmh`) come first, then the longest, and the rest is left
        out. Returns the segments and how many were left out."""
        coo = self._time.tocoo()
        src, dst, t = coo.row, coo.col, coo.data
        length = np.asarray(self._length[src, dst]).ravel()
        a, b = np.minimum(src, dst), np.maximum(src, dst)
        _, first = np.unique(a * len(self.lat) + b, return_index=True)
        a, b, t, length = a[first], b[first], t[first], length[first]

        def inside(i: np.ndarray) -> np.ndarray:
            lat, lon = self.lat[i], self.lon[i]
            ok: np.ndarray = (lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)
            return ok

        keep = inside(a) | inside(b)
        a, b, t, length = a[keep], b[keep], t[keep], length[keep]
        speed = np.where(t > 0, length / np.maximum(t, 1e-3) * 3.6, 0.0)
        major = speed >= major_kmh
        order = np.lexsort((-length, ~major))  # major first, then the longest
        total = len(order)
        if max_segments is not None:
            order = order[:max_segments]
        out = [
            RoadSegment(
                Point(float(self.lat[a[i]]), float(self.lon[a[i]])),
                Point(float(self.lat[b[i]]), float(self.lon[b[i]])),
                bool(major[i]),
            )
            for i in order
        ]
        return out, total - len(out)
