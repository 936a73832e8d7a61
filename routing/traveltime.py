"""Travel times between points: one interface, two road models and the planning model.

`TravelTimes` is what every solver and the dispatcher use. `StraightLine` estimates a drive from the
great-circle distance (haversine x circuity factor / speed); `routing.roadnetwork.RoadNetwork` routes
over an OpenStreetMap road graph. `Padded` is what the dispatcher plans with: a road model's times
plus a margin for the spread of real driving times (learned in `dispatcher.rides.margin`).
Durations are seconds, distances metres.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from routing.geo import FloatArray, Point, haversine_m, haversine_matrix_m
from routing.schedule import TravelMatrix, TravelRow


class TravelTimes(Protocol):
    """Driving durations (seconds) and distances (metres) between WGS84 points."""

    def matrix(self, points: Sequence[Point]) -> FloatArray:
        """Square matrix of driving durations in seconds; row = from, column = to."""
        ...

    def distance_matrix(self, points: Sequence[Point]) -> FloatArray:
        """Square matrix of driving distances in metres; row = from, column = to."""
        ...

    def duration(self, a: Point, b: Point) -> float:
        """Driving duration from a to b in seconds."""
        ...


# Default speeds (km/h) and circuity factors of the straight-line model by area profile.
STRAIGHT_LINE_PROFILES: dict[str, tuple[float, float]] = {
    # profile: (average speed km/h, circuity factor road length / straight-line length)
    "urban": (22.0, 1.35),
    "rural": (35.0, 1.30),
    "mountain": (28.0, 1.55),
}


@dataclass(frozen=True)
class StraightLine:
    """Straight-line model: duration = haversine distance x circuity / speed.

    speed_kmh: average door-to-door driving speed in km/h.
    circuity: ratio of road distance to straight-line distance (1.2-1.6 is typical).
    """

    speed_kmh: float = 35.0
    circuity: float = 1.30

    @classmethod
    def for_profile(cls, profile: str) -> StraightLine:
        """The model with the default speed and circuity of an area profile (urban, rural, mountain)."""
        speed, circuity = STRAIGHT_LINE_PROFILES[profile]
        return cls(speed_kmh=speed, circuity=circuity)

    def distance_matrix(self, points: Sequence[Point]) -> FloatArray:
        lats = np.fromiter((p.lat for p in points), float, len(points))
        lons = np.fromiter((p.lon for p in points), float, len(points))
        return haversine_matrix_m(lats, lons, lats, lons) * self.circuity

    def matrix(self, points: Sequence[Point]) -> FloatArray:
        return self.distance_matrix(points) / (self.speed_kmh / 3.6)

    def duration(self, a: Point, b: Point) -> float:
        """Driving duration from a to b in seconds."""
        if a == b:
            return 0.0
        return haversine_m(a, b) * self.circuity / (self.speed_kmh / 3.6)


class _LazyRow(dict[int, float]):
    """One row of a LazyMatrix: durations from one point, computed on first access."""

    __slots__ = ("_origin", "_matrix")

    def __init__(self, matrix: LazyMatrix, origin: int) -> None:
        super().__init__()
        self._matrix, self._origin = matrix, origin

    def __missing__(self, j: int) -> float:
        m = self._matrix
        value = m.duration(m.points[self._origin], m.points[j])
        self[j] = value
        return value


class LazyMatrix:
    """A travel-time matrix whose entries are computed when first read (`m[i][j]`, seconds).

    A quote touches only the legs of the current routes and the new points' rows, a small part of
    the full square matrix, so the dispatcher uses this instead of computing every pair.
    """

    def __init__(self, duration: Callable[[Point, Point], float], points: Sequence[Point]) -> None:
        self.duration = duration
        self.points = list(points)
        self._rows = [_LazyRow(self, i) for i in range(len(self.points))]

    def add(self, point: Point) -> int:
        """Append a point; returns its index."""
        self.points.append(point)
        self._rows.append(_LazyRow(self, len(self._rows)))
        return len(self._rows) - 1

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, i: int) -> _LazyRow:
        return self._rows[i]


def row_values(row: TravelRow) -> Iterable[float]:
    """The durations held by one matrix row (a LazyMatrix row: only those computed so far)."""
    if isinstance(row, dict):
        return row.values()
    if isinstance(row, Iterable):  # a list or a numpy array's row
        return row
    raise TypeError(f"a travel matrix row is a dict, a list or an array, not {type(row).__name__}")


def largest_leg(travel: TravelMatrix) -> float:
    """The longest leg (s) of a travel matrix. For a LazyMatrix an upper bound that computes only
    one row and one column: twice the farthest any point lies from the first one."""
    n = len(travel)
    if n == 0:
        return 0.0
    if isinstance(travel, LazyMatrix):
        return 2 * max(max(travel[0][j], travel[j][0]) for j in range(n))
    return max((max(row_values(travel[i]), default=0.0) for i in range(n)), default=0.0)


# ------------------------------------------------------------------------ margins for the road's spread

# Leg-length bands of the margin (upper bounds, seconds of the road model's driving time): under
# 5 minutes, 5-15, 15-30 and 30 minutes or more. A margin is one fraction per band; in between the
# bands' middles it is interpolated, so that a padded duration grows with the leg (no jump at a
# band's edge).
LEG_BANDS_S: tuple[float, ...] = (300.0, 900.0, 1800.0)
BAND_NAMES: tuple[str, ...] = ("<5 min", "5-15 min", "15-30 min", ">=30 min")
_BAND_MIDDLES_S = (150.0, 600.0, 1350.0, 2700.0)


def leg_band(seconds: float) -> int:
    """The band (0 .. len(LEG_BANDS_S)) of a leg of the road model's `seconds`."""
    return int(np.searchsorted(LEG_BANDS_S, seconds, side="right"))


@dataclass(frozen=True)
class Padded:
    """The planning model: the road model's driving times plus a margin for the spread of real
    driving times, so that a plan (and every promise made from it) survives an ordinary day.

    road: the road model (straight line or road network): what a drive takes without incidents;
    margins: extra time as a fraction of the leg, one per leg-length band (LEG_BANDS_S),
      e.g. 0.15 plans a 10-minute drive as 11.5 minutes. Distances are the road's."""

    road: TravelTimes
    margins: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if len(self.margins) != len(LEG_BANDS_S) + 1:
            raise ValueError(f"one margin per leg band ({len(LEG_BANDS_S) + 1}), not {len(self.margins)}")
        if any(m < 0 or m != m for m in self.margins):
            raise ValueError(f"margins must be fractions >= 0, not {self.margins}")

    def pad(self, seconds: float | FloatArray) -> FloatArray:
        """Planned seconds for road-model seconds (a number or an array)."""
        d: FloatArray = np.asarray(seconds, dtype=float)
        padded: FloatArray = d * (1.0 + np.interp(d, _BAND_MIDDLES_S, self.margins))
        return padded

    def distance_matrix(self, points: Sequence[Point]) -> FloatArray:
        return self.road.distance_matrix(points)

    def matrix(self, points: Sequence[Point]) -> FloatArray:
        return self.pad(self.road.matrix(points))

    def duration(self, a: Point, b: Point) -> float:
        """Planned driving duration from a to b in seconds (the road's, with the margin)."""
        d = self.road.duration(a, b)
        return d * (1.0 + _interp(d, _BAND_MIDDLES_S, self.margins))


def _interp(x: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    """np.interp for one number (a quote computes thousands of single legs; this is faster)."""
    if x <= xs[0]:
        return ys[0]
    for k in range(1, len(xs)):
        if x <= xs[k]:
            f = (x - xs[k - 1]) / (xs[k] - xs[k - 1])
            return ys[k - 1] + f * (ys[k] - ys[k - 1])
    return ys[-1]
