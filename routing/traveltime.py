"""Travel times between points: one interface, two models.

`TravelTimes` is what every solver and the dispatcher use. `StraightLine` estimates a drive from the
great-circle distance (haversine x circuity factor / speed); `routing.roadnetwork.RoadNetwork` routes
over an OpenStreetMap road graph. Durations are seconds, distances metres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from routing.geo import Point, haversine_matrix_m


class TravelTimes(Protocol):
    """Driving durations (seconds) and distances (metres) between WGS84 points."""

    def matrix(self, points: Sequence[Point]) -> np.ndarray:
        """Square matrix of driving durations in seconds; row = from, column = to."""
        ...

    def distance_matrix(self, points: Sequence[Point]) -> np.ndarray:
        """Square matrix of driving distances in metres; row = from, column = to."""
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

    def distance_matrix(self, points: Sequence[Point]) -> np.ndarray:
        lats = np.fromiter((p.lat for p in points), float, len(points))
        lons = np.fromiter((p.lon for p in points), float, len(points))
        return haversine_matrix_m(lats, lons, lats, lons) * self.circuity

    def matrix(self, points: Sequence[Point]) -> np.ndarray:
        return self.distance_matrix(points) / (self.speed_kmh / 3.6)

    def duration(self, a: Point, b: Point) -> float:
        """Driving duration from a to b in seconds."""
        return float(self.matrix([a, b])[0, 1])
