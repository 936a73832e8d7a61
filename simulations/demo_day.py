"""A scripted demo day through the HTTP API: residents book over the day, drivers follow the plan.

Requests are generated from a seed: about a third booked early in the morning for later that day,
the rest shortly (20-60 min) before they want to leave; trips to the hospital, clinics,
supermarkets, the station and the city hall, a third of them returns home; some parties of two or
three, wheelchair users where registered. Between bookings the simulated clock advances and each
vehicle's driver reports arrived / picked up / dropped off at the planned times, so the plan follows
a day that is really driven.

Run `noriai demo-day` to print the latency of every answer and the day's numbers.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from dispatcher.clock import SimClock

KINDS = [
    ("hospital", 0.3),
    ("clinic", 0.2),
    ("supermarket", 0.25),
    ("station", 0.1),
    ("city_hall", 0.1),
    ("other", 0.05),
]


@dataclass
class Request:
    book_at: datetime
    body: dict[str, Any]


@dataclass
class DayResult:
    """What happened: every answer with its latency, and the manifests at the end of the day."""

    answers: list[tuple[Request, int, dict[str, Any], float]] = field(default_factory=list)
    manifests: dict[int, dict[str, Any]] = field(default_factory=dict)
    events_posted: int = 0

    @property
    def latencies(self) -> list[float]:
        return [a[3] for a in self.answers]

    def count(self, status: int) -> int:
        return sum(1 for a in self.answers if a[1] == status)


CLASH = timedelta(hours=2)  # requests of one person this close could overlap


def generate_requests(
    residents: list[dict[str, Any]], places: list[dict[str, Any]], start: datetime, n: int, seed: int
) -> list[Request]:
    """n ride requests over a service day starting at `start` (08:00 local)."""
    rng = random.Random(seed)
    eligible = [r for r in residents if r["eligible"]]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for p in places:
        by_kind.setdefault(p["kind"], []).append(p)
    kinds = [k for k, _ in KINDS if k in by_kind]
    weights = [w for k, w in KINDS if k in by_kind]
    out = []
    busy: dict[int, list[datetime]] = {}  # resident id -> pickups asked for
    for _ in range(n):
        res = rng.choice(eligible)
        place = rng.choice(by_kind[rng.choices(kinds, weights)[0]])
        if rng.random() < 0.35:  # booked early in the morning for later today
            book_at = start + timedelta(minutes=rng.uniform(-30, 30))
            pickup = start + timedelta(minutes=rng.uniform(45, 450))
        else:
            book_at = start + timedelta(minutes=rng.uniform(0, 420))
            pickup = book_at + timedelta(minutes=rng.uniform(20, 60))
        # the last pickups of the day leave time for the longest ride before closing
        pickup = min(pickup, start + timedelta(hours=7, minutes=30)).replace(second=0, microsecond=0)
        home = {"lat": res["home"]["lat"], "lon": res["home"]["lon"]}
        to_place = rng.random() >= 0.33
        origin, dest = (home, {"place_id": place["id"]}) if to_place else ({"place_id": place["id"]}, home)
        party = rng.choices([1, 2, 3], [0.85, 0.12, 0.03])[0]
        body: dict[str, Any] = {
            "resident_id": res["id"],
            "origin": origin,
            "destination": dest,
            "party_size": party,
            "wheelchair": res["wheelchair"],
        }
        if to_place and place["kind"] in ("hospital", "clinic") and rng.random() < 0.5:
            body["arrive_by"] = (pickup + timedelta(minutes=60)).isoformat()  # an appointment an hour on
        else:
            body["pickup_after"] = pickup.isoformat()
        # One person, one ride at a time (the booking refuses a second one): a request that would
        # fall within two hours of another of the same person goes to the next resident free then
        # (chosen without drawing, so every other request stays as it was).
        if any(abs(pickup - t) < CLASH for t in busy.get(res["id"], [])):
            k = eligible.index(res)
            res = next(
                (
                    r
                    for r in eligible[k + 1 :] + eligible[:k]
                    if not any(abs(pickup - t) < CLASH for t in busy.get(r["id"], []))
                ),
                res,
            )
            body["resident_id"], body["wheelchair"] = res["id"], res["wheelchair"]
            home = {"lat": res["home"]["lat"], "lon": res["home"]["lon"]}
            body["origin" if to_place else "destination"] = home
        busy.setdefault(res["id"], []).append(pickup)
        out.append(Request(book_at, body))
    out.sort(key=lambda r: r.book_at)
    return out


class Drivers:
    """Drivers who report each stop at its planned time (arrival, boarding, alighting).

    Riders of rides for which `absent(ride_id)` is true do not come out: the driver waits the
    tenant's no-show time after arriving, then reports a no-show."""

    def __init__(
        self,
        client: httpx.Client,
        clock: SimClock,
        headers: dict[int, dict[str, str]],
        boarding: timedelta,
        absent: Callable[[int], bool] | None = None,
    ) -> None:
        self.client, self.clock, self.headers, self.boarding = client, clock, headers, boarding
        self.absent = absent or (lambda _ride_id: False)
        self.posted = 0

    def _next_action(self, until: datetime) -> tuple[datetime, int, dict[str, Any]] | None:
        best = None
        for vid, h in self.headers.items():
            m = self.client.get(f"/api/v1/vehicles/{vid}/manifest", headers=h).json()
            nxt = next((s for s in m["stops"] if not s["done"]), None)
            if nxt is None:
                continue
            when = datetime.fromisoformat(nxt["planned_time"])
            if (
                nxt["kind"] == "pickup"
                and nxt["ride_status"] == "vehicle_arrived"
                and self.absent(nxt["ride_id"])
            ):
                start = max(
                    datetime.fromisoformat(nxt["arrived_at"]), datetime.fromisoformat(nxt["window"]["start"])
                )
                when = max(start + timedelta(minutes=m["no_show_wait_minutes"]), self.clock.now())
                ev = {"type": "no_show", "ride_id": nxt["ride_id"]}
            elif nxt["kind"] == "pickup" and nxt["ride_status"] == "vehicle_arrived":
                when = max(when + self.boarding, self.clock.now())
                ev = {"type": "picked_up", "ride_id": nxt["ride_id"]}
            elif nxt["kind"] == "pickup":
                ev = {"type": "arrived", "ride_id": nxt["ride_id"]}
            else:
                ev = {"type": "dropped_off", "ride_id": nxt["ride_id"]}
            if when <= until and (best is None or when < best[0]):
                best = (when, vid, ev)
        return best

    def drive_until(self, until: datetime) -> None:
        while (action := self._next_action(until)) is not None:
            when, vid, ev = action
            if when > self.clock.now():
                self.clock.set(when)
            r = self.client.post(f"/api/v1/vehicles/{vid}/events", json=ev, headers=self.headers[vid])
            if r.status_code != 200:
                raise RuntimeError(f"driver report refused: {r.status_code} {r.text}")
            self.posted += 1
        if until > self.clock.now():
            self.clock.set(until)


def run_day(
    client: httpx.Client,
    clock: SimClock,
    n: int = 100,
    seed: int = 1,
    until: datetime | None = None,
    absent: Callable[[int], bool] | None = None,
) -> DayResult:
    """Book n requests through the API over the day, with drivers driving the plan meanwhile.

    until: drivers go on driving after the last booking until then (e.g. the end of service);
    absent: which rides' riders will not show up (by ride id, see `Drivers`)."""
    from dispatcher.platform.demo import DEMO_PASSWORD

    def login(user: str) -> dict[str, str]:
        r = client.post("/api/v1/auth/token", data={"username": user, "password": DEMO_PASSWORD})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    op = login("ina-demo-operator")
    start = clock.now()
    residents = client.get("/api/v1/residents", params={"limit": 500}, headers=op).json()
    places = client.get("/api/v1/places", headers=op).json()
    vehicles = client.get("/api/v1/vehicles", headers=op).json()
    driver_tokens = {o: login(f"ina-demo-driver-{o}") for o in {v["operator"] for v in vehicles}}
    drivers = Drivers(
        client,
        clock,
        {v["id"]: driver_tokens[v["operator"]] for v in vehicles},
        boarding=timedelta(minutes=2),
        absent=absent,
    )
    result = DayResult()
    for req in generate_requests(residents, places, start, n, seed):
        drivers.drive_until(max(req.book_at, clock.now()))
        t0 = time.perf_counter()
        r = client.post("/api/v1/rides", json=req.body, headers={**op, "Idempotency-Key": str(uuid.uuid4())})
        result.answers.append((req, r.status_code, r.json(), time.perf_counter() - t0))
    if until is not None:
        drivers.drive_until(until)
    result.events_posted = drivers.posted
    result.manifests = {
        v["id"]: client.get(f"/api/v1/vehicles/{v['id']}/manifest", headers=op).json() for v in vehicles
    }
    return result


def max_parties_on_board(manifest: dict[str, Any]) -> int:
    """The most bookings a vehicle carries at once according to its manifest."""
    on, best = set(), 0
    for s in manifest["stops"]:
        if s["kind"] == "pickup":
            on.add(s["ride_id"])
        else:
            on.discard(s["ride_id"])
        best = max(best, len(on))
    return best


def report(day: DayResult) -> str:
    """The day's answers and latencies as lines of text (`noriai demo-day` prints them)."""
    lat = sorted(day.latencies)
    shared = sum(1 for m in day.manifests.values() if max_parties_on_board(m) >= 2)
    return "\n".join(
        [
            f"requests {len(lat)}: confirmed {day.count(201)}, refused with alternatives {day.count(409)}, "
            f"other {len(lat) - day.count(201) - day.count(409)}",
            f"answer time: median {statistics.median(lat) * 1000:.0f} ms, "
            f"p95 {lat[int(0.95 * (len(lat) - 1))] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms",
            f"driver reports {day.events_posted}; "
            f"vehicles that carried two or more parties at once: {shared}",
        ]
    )
