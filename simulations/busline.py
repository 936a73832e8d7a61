"""A fixed-route bus as the baseline the on-demand service is compared with.

The line runs the tenant's `simulation.bus_line`: its stops in order (and stops in between every
`stop_every_m` along the way), outward departures from the first stop and return departures from
the last, at an average speed with stops included. For each
trip residents asked for on a simulated day, the bus is tried the way a resident would use it:

- walk to the nearest stop within `walk_m` of home (and from the nearest stop to the destination),
  at an elderly walking speed of 3 km/h along streets 1.3 times the straight line;
- take the first run in the right direction that reaches the stop after the wanted departure
  (for an appointment: the last run that arrives early enough);
- door-to-door time: from the wanted departure to arriving at the destination (for an
  appointment: from leaving home to the appointment time, early arrival included).

A trip is "accessible" when both ends are within walking distance of different stops and a run
goes the right way at a usable time that day. Costs: runs a day x `cost_per_run_yen`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from dispatcher.tenant_config import BusLine, TenantConfig
from dispatcher.timeline import at_local
from routing.geo import Point, haversine_m
from routing.traveltime import TravelTimes

WALK_MS = 3.0 / 3.6  # m/s: an elderly walking pace
WALK_CIRCUITY = 1.3  # street distance over the straight line


@dataclass(frozen=True)
class BusTrip:
    """How the bus would have served one trip (None fields: not accessible, with `why`)."""

    accessible: bool
    door_to_door_min: float | None = None
    walk_min: float | None = None
    why: str = ""


class Bus:
    """A line's timetable on the tenant's travel model."""

    def __init__(self, cfg: TenantConfig, line: BusLine, travel: TravelTimes) -> None:
        self.cfg, self.line = cfg, line
        places = [cfg.place(s) for s in line.stops]
        listed = [Point(p.lat, p.lon) for p in places if p is not None]
        # a rural line stops along the road between the named stops too (every stop_every_m)
        self.stops = listed[:1]
        for a, b in zip(listed, listed[1:], strict=False):
            n = int(haversine_m(a, b) // line.stop_every_m) if line.stop_every_m > 0 else 0
            for k in range(1, n + 1):
                f = k / (n + 1)
                self.stops.append(Point(a.lat + f * (b.lat - a.lat), a.lon + f * (b.lon - a.lon)))
            self.stops.append(b)
        self.offsets = [0.0]  # seconds from the first stop, outward
        for a, b in zip(self.stops, self.stops[1:], strict=False):
            metres = float(travel.distance_matrix([a, b])[0, 1])
            self.offsets.append(self.offsets[-1] + metres / (line.speed_kmh / 3.6))  # stops included

    def runs_per_day(self, day: date) -> int:
        """Runs (one way each) on a service day; none without service."""
        if self.cfg.hours_on(day) is None:
            return 0
        return len(self.line.departures) + len(self.line.return_departures)

    def _nearest(self, p: Point) -> tuple[int, float] | None:
        """(stop index, walking seconds) of the nearest stop within walking distance."""
        best = min(range(len(self.stops)), key=lambda k: haversine_m(p, self.stops[k]))
        metres = haversine_m(p, self.stops[best]) * WALK_CIRCUITY
        if metres > self.line.walk_m:
            return None
        return best, metres / WALK_MS

    def _times(self, day: date, outward: bool, k: int) -> list[datetime]:
        """When the runs of one direction are at stop k."""
        tz = self.cfg.tz
        if outward:
            return [at_local(day, t, tz) + timedelta(seconds=self.offsets[k]) for t in self.line.departures]
        end = self.offsets[-1]
        return [
            at_local(day, t, tz) + timedelta(seconds=end - self.offsets[k])
            for t in self.line.return_departures
        ]

    def trip(
        self,
        day: date,
        origin: Point,
        destination: Point,
        pickup_after: datetime | None,
        arrive_by: datetime | None,
    ) -> BusTrip:
        """How the bus serves a trip wanted after `pickup_after` (or to arrive by `arrive_by`)."""
        a, b = self._nearest(origin), self._nearest(destination)
        if a is None or b is None:
            return BusTrip(False, why="no stop within walking distance")
        (ka, walk_a), (kb, walk_b) = a, b
        if ka == kb:
            return BusTrip(False, why="both ends at the same stop")
        outward = kb > ka
        at_a, at_b = self._times(day, outward, ka), self._times(day, outward, kb)
        walk_min = (walk_a + walk_b) / 60
        if arrive_by is not None:
            fits = [
                (dep, arr)
                for dep, arr in zip(at_a, at_b, strict=True)
                if arr + timedelta(seconds=walk_b) <= arrive_by
            ]
            if not fits:
                return BusTrip(False, why="no run arrives in time")
            dep, _arr = max(fits)
            d2d = (arrive_by - (dep - timedelta(seconds=walk_a))).total_seconds() / 60
            return BusTrip(True, d2d, walk_min)
        assert pickup_after is not None
        for dep, arr in sorted(zip(at_a, at_b, strict=True)):
            if dep >= pickup_after + timedelta(seconds=walk_a):
                d2d = (arr + timedelta(seconds=walk_b) - pickup_after).total_seconds() / 60
                return BusTrip(True, d2d, walk_min)
        return BusTrip(False, why="no later run that day")


def compare(
    cfg: TenantConfig, travel: TravelTimes, trips: list[dict[str, Any]], days: list[date]
) -> dict[str, Any] | None:
    """The bus on the same trips: access, door-to-door times and cost, next to the on-demand figures.

    trips: one dict per trip asked (day, origin, destination, pickup_after/arrive_by as datetimes,
    served, door_to_door_min of the on-demand ride when completed)."""
    line = cfg.simulation.bus_line
    if line is None:
        return None
    bus = Bus(cfg, line, travel)
    rows = []
    for t in trips:
        bt = bus.trip(t["day"], t["origin"], t["destination"], t["pickup_after"], t["arrive_by"])
        rows.append((t, bt))
    accessible = [(t, bt) for t, bt in rows if bt.accessible]
    # (the trip, the bus's door-to-door and walking minutes) of the trips both served (an accessible
    # BusTrip has both times)
    both = [
        (t, bt.door_to_door_min, bt.walk_min)
        for t, bt in accessible
        if t["door_to_door_min"] is not None and bt.door_to_door_min is not None and bt.walk_min is not None
    ]
    why: dict[str, int] = {}
    for _t, bt in rows:
        if not bt.accessible:
            why[bt.why] = why.get(bt.why, 0) + 1
    runs = sum(bus.runs_per_day(d) for d in days)
    cost = runs * line.cost_per_run_yen

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 1) if values else None

    return {
        "line": line.name,
        "stops": len(bus.stops),
        "runs_per_day": len(line.departures) + len(line.return_departures),
        "trips_asked": len(rows),
        "accessible_by_bus": len(accessible),
        "bus_access_share": round(len(accessible) / len(rows), 3) if rows else None,
        "not_accessible_why": dict(sorted(why.items())),
        "compared_trips": len(both),
        "bus_door_to_door_min_mean": mean([d2d for _t, d2d, _walk in both]),
        "on_demand_door_to_door_min_mean": mean([t["door_to_door_min"] for t, _d2d, _walk in both]),
        "bus_walk_min_mean": mean([walk for _t, _d2d, walk in both]),
        "bus_door_to_door_min": [round(d2d, 1) for _t, d2d, _walk in both],
        "on_demand_door_to_door_min": [round(t["door_to_door_min"], 1) for t, _d2d, _walk in both],
        "bus_runs": runs,
        "bus_cost_yen": cost,
        "bus_cost_per_accessible_trip_yen": round(cost / len(accessible)) if accessible else None,
    }
