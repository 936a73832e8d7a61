"""Geographic helpers: points and great-circle distances.

Coordinates are WGS84 degrees; distances are metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# An array of float64 values (coordinates in degrees, durations in seconds, distances in metres).
FloatArray = npt.NDArray[np.float64]

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class Point:
    """A WGS84 position: latitude and longitude in degrees."""

    lat: float
    lon: float


def haversine_m(a: Point, b: Point) -> float:
    """Great-circle distance between two points, in metres."""
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def along(a: Point, b: Point, f: float) -> Point:
    """The point a fraction f (0..1) of the way from a to b along the great circle, by distance as
    `haversine_m` measures it: the rest of the way from there is (1 - f) of the whole."""

    def xyz(p: Point) -> tuple[float, float, float]:
        la, lo = math.radians(p.lat), math.radians(p.lon)
        return (math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la))

    u, v = xyz(a), xyz(b)
    omega = math.acos(max(-1.0, min(1.0, sum(x * y for x, y in zip(u, v, strict=True)))))
    if omega < 1e-12:
        return a
    wa, wb = math.sin((1 - f) * omega) / math.sin(omega), math.sin(f * omega) / math.sin(omega)
    x, y, z = (wa * p + wb * q for p, q in zip(u, v, strict=True))
    return Point(math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x)))


def haversine_matrix_m(
    lats_a: FloatArray, lons_a: FloatArray, lats_b: FloatArray, lons_b: FloatArray
) -> FloatArray:
    """Great-circle distances in metres between every point of A (rows) and of B (columns)."""
    la1: FloatArray = np.radians(lats_a)[:, None]
    lo1: FloatArray = np.radians(lons_a)[:, None]
    la2: FloatArray = np.radians(lats_b)[None, :]
    lo2: FloatArray = np.radians(lons_b)[None, :]
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    distances: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return distances
