"""Readers for public dial-a-ride benchmark instances (Cordeau 2006 format) and their best-known
results.

Instance units are the instance's own: Euclidean distance = travel time = cost (minutes).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from routing.schedule import Stop, VehicleState


@dataclass(frozen=True)
class DarpInstance:
    """A Cordeau DARP instance.

    vehicles, requests: K and n; max_duration T, capacity Q, max_ride L (instance time units);
    nodes: (id, x, y, service, load, tw_start, tw_end) for 0..2n+1.
    """

    name: str
    vehicles: int
    requests: int
    max_duration: float
    capacity: int
    max_ride: float
    nodes: tuple[tuple[int, float, float, float, int, float, float], ...]

    def travel(self) -> list[list[float]]:
        """Euclidean distances between all nodes (no rounding)."""
        xy = [(n[1], n[2]) for n in self.nodes]
        return [[math.hypot(a[0] - b[0], a[1] - b[1]) for b in xy] for a in xy]

    def fleet(self) -> list[VehicleState]:
        depot, end = self.nodes[0], self.nodes[-1]
        return [
            VehicleState(
                id=k,
                start_location=0,
                start_time=depot[5],
                end_location=len(self.nodes) - 1,
                end_time=end[6],
                seats=self.capacity,
                wheelchairs=0,
                max_duration=self.max_duration,
            )
            for k in range(self.vehicles)
        ]

    def pairs(self) -> list[tuple[Stop, Stop]]:
        """(pickup, drop-off) of every request; request ids are the pickup node ids 1..n."""
        n = self.requests
        out = []
        for i in range(1, n + 1):
            p, d = self.nodes[i], self.nodes[n + i]
            load = int(p[4])
            out.append(
                (
                    Stop(i, "pickup", i, p[5], p[6], p[3], load, 0, self.max_ride),
                    Stop(i, "dropoff", n + i, d[5], d[6], d[3], load, 0),
                )
            )
        return out


def read_cordeau(path: str | Path) -> DarpInstance:
    """Read one instance file: `K n T Q L`, then 2n+2 lines `id x y service load tw_start tw_end`."""
    path = Path(path)
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    k, n, t, q, lim = lines[0][:5]
    nodes = tuple(
        (int(r[0]), float(r[1]), float(r[2]), float(r[3]), int(float(r[4])), float(r[5]), float(r[6]))
        for r in lines[1 : 2 * int(n) + 3]
    )
    if len(nodes) != 2 * int(n) + 2:
        raise ValueError(f"{path.name}: expected {2 * int(n) + 2} node lines, found {len(nodes)}")
    return DarpInstance(
        path.name.removesuffix(".txt"), int(k), int(n), float(t), int(float(q)), float(lim), nodes
    )


def read_bks(folder: str | Path) -> dict[str, float]:
    """Best-known costs from `bks.csv` (instance,bks) in the folder, or {} when absent."""
    path = Path(folder) / "bks.csv"
    if not path.exists():
        return {}
    with path.open() as f:
        return {row["instance"]: float(row["bks"]) for row in csv.DictReader(f)}
