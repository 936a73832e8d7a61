"""`noriai loadtest`: book rides against a running `noriai serve` over HTTP and check that none is
lost or booked twice.

An asyncio + httpx load generator on loopback (the same requests a call-centre console sends):
`concurrency` clients sign in as one operator, read the residents and places, then book rides with
`POST /api/v1/rides` for `seconds`, each booking with a fresh `Idempotency-Key`. Requests are
realistic for the demo municipality: an eligible resident from home to a named place (or back),
today, a pickup time between `lead_minutes` from now and `last_pickup`, some with an arrival
deadline instead, a companion now and then, a wheelchair when the resident uses one.

A share of the bookings (`retry_share`) is sent again with the same key and body, as a client whose
connection dropped would: half after the first answer came back, half at the same moment as the
first (both in flight together). Each retry must name the same ride as its first answer.

At the end every ride answered 201 must appear in exactly one vehicle's manifest (one pickup, one
drop-off) and still be confirmed, and the day's ride list must hold no ride that nobody was
answered (a retry that booked twice would leave one). The figures: confirmed bookings per second
over the whole run, latency percentiles of the first attempts, answers by status, errors (5xx and
connection errors), and that verification.

The server must not rate-limit the generator: start it with NORIAI_RATE_BOOKINGS=0 (the load test
measures booking capacity, not the limiter). Run it against a server nobody else books on, with a
clock inside service hours (NORIAI_NOW=2026-11-24T09:00:00+09:00 for the demo on any day).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from dispatcher.platform.demo import DEMO_PASSWORD
from routing.geo import Point, haversine_m

DEMO_OPERATOR = "ina-demo-operator"
TIMEOUT_S = 60.0  # one request; a booking queued behind many others on the tenant lock may wait


@dataclass(frozen=True)
class Options:
    """What to send. Times are local to `tz`; `service_hours` is the tenant's "HH:MM-HH:MM"."""

    retry_share: float = 0.1
    lead_minutes: int = 20  # earliest pickup after now (the demo's rule is 15)
    last_pickup: str = "15:00"  # latest requested pickup (the longest ride still ends before 17:00)
    service_hours: str = "08:00-17:00"
    tz: str = "Asia/Tokyo"
    arrive_by_share: float = 0.2


@dataclass
class Attempt:
    """One POST /api/v1/rides: what was sent and what came back.

    status None: no answer (a connection error or a timeout; `error` says which)."""

    key: str
    body: dict[str, Any]
    status: int | None
    latency_s: float
    at_s: float  # since the start of the run
    ride_id: int | None = None
    replayed: bool = False
    error: str | None = None
    retry: bool = False


@dataclass
class Verification:
    """Whether every ride answered 201 is in exactly one manifest, and nothing else was booked."""

    day: str
    confirmed: int  # distinct rides answered 201
    in_one_manifest: int
    missing: list[int] = field(default_factory=list)  # in no manifest
    duplicated: list[int] = field(default_factory=list)  # in several manifests or stops repeated
    not_confirmed: list[int] = field(default_factory=list)  # in a manifest, but no longer confirmed
    unaccounted: list[int] = field(default_factory=list)  # booked rides of the day nobody was answered
    manifests: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.not_confirmed or self.unaccounted)


@dataclass
class LoadResult:
    url: str
    seconds: float  # asked
    concurrency: int
    seed: int
    wall_s: float  # from the first booking to the last answer
    attempts: int  # first attempts (retries not counted)
    by_status: dict[str, int]  # first attempts by HTTP status ("connection error" for no answer)
    confirmed: int
    refused: int  # 409: no vehicle can take it (with alternatives)
    invalid: int  # 422
    server_errors: int  # 5xx, retries included
    connection_errors: int  # retries included
    bookings_per_s: float  # confirmed per second of wall time
    answered_per_s: float  # first attempts answered (confirmed or refused) per second of wall time
    requests_per_s: float  # every POST (retries included) per second
    latency_ms: dict[str, float]  # first attempts: p50, p95, p99, max, mean
    latency_confirmed_ms: dict[str, float]
    latency_refused_ms: dict[str, float]
    timeline: list[dict[str, Any]]  # per window of the run: confirmed/s, refused/s, p95
    retries: int
    retries_same: int
    retry_mismatches: list[dict[str, Any]]
    verification: Verification
    server_now: str

    @property
    def ok(self) -> bool:
        return (
            self.confirmed > 0
            and self.server_errors == 0
            and self.connection_errors == 0
            and not self.retry_mismatches
            and self.verification.ok
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        out["verification"]["ok"] = self.verification.ok
        return out

    def write_json(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")

    def report(self) -> str:
        v = self.verification
        lat, c, r = self.latency_ms, self.latency_confirmed_ms, self.latency_refused_ms
        statuses = ", ".join(f"{k}: {n}" for k, n in sorted(self.by_status.items()))
        lines = [
            f"load test against {self.url}: {self.concurrency} concurrent clients for {self.seconds:g} s "
            f"(seed {self.seed}; server clock {self.server_now})",
            f"  bookings: {self.attempts} in {self.wall_s:.1f} s; {statuses}",
            f"  sustained: {self.bookings_per_s:.2f} confirmed bookings/s; {self.answered_per_s:.2f} "
            f"bookings/s answered (confirmed or refused); {self.requests_per_s:.2f} requests/s "
            "(retries included)",
            f"  latency (first attempts) p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms, "
            f"p99 {lat['p99']:.0f} ms, max {lat['max']:.0f} ms",
            f"    confirmed p50 {c['p50']:.0f} / p95 {c['p95']:.0f} ms; "
            f"refused p50 {r['p50']:.0f} / p95 {r['p95']:.0f} ms",
            "  per window: "
            + "; ".join(
                f"{w['from_s']:g}-{w['to_s']:g} s: {w['confirmed_per_s']:.1f} confirmed/s, "
                f"{w['refused_per_s']:.1f} refused/s, p95 {w['p95_ms']:.0f} ms"
                for w in self.timeline
            ),
            f"  errors: {self.server_errors} server (5xx), {self.connection_errors} connection",
            f"  retries with the same Idempotency-Key: {self.retries}, same ride {self.retries_same}, "
            f"mismatched {len(self.retry_mismatches)}",
            f"  verification ({v.day}, {v.manifests} manifests): {v.in_one_manifest} of {v.confirmed} "
            f"confirmed rides in exactly one manifest; missing {len(v.missing)}, duplicated "
            f"{len(v.duplicated)}, no longer confirmed {len(v.not_confirmed)}, booked but never "
            f"answered {len(v.unaccounted)}",
            f"  result: {'OK' if self.ok else 'FAILED'}",
        ]
        return "\n".join(lines)


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 (nearest rank), max and mean of latencies in seconds, in milliseconds."""
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    s = sorted(values)

    def rank(q: float) -> float:
        return s[max(0, math.ceil(q * len(s)) - 1)] * 1000

    return {
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": s[-1] * 1000,
        "mean": sum(s) / len(s) * 1000,
    }


# ---------------------------------------------------------------------------------- the client


class ApiSession:
    """An operator signed in on a Noriai server: the token, eligible residents and places."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}
        self.residents: list[dict[str, Any]] = []
        self.places: list[dict[str, Any]] = []

    @classmethod
    async def sign_in(
        cls, client: httpx.AsyncClient, username: str = DEMO_OPERATOR, password: str = DEMO_PASSWORD
    ) -> ApiSession:
        r = await client.post("/api/v1/auth/token", data={"username": username, "password": password})
        if r.status_code != 200:
            raise RuntimeError(f"sign-in as {username} failed: {r.status_code} {r.text[:300]}")
        s = cls(client, r.json()["access_token"])
        res = await client.get("/api/v1/residents", params={"limit": 500}, headers=s.headers)
        res.raise_for_status()
        s.residents = [x for x in res.json() if x["eligible"]]
        pl = await client.get("/api/v1/places", headers=s.headers)
        pl.raise_for_status()
        s.places = pl.json()
        if not s.residents or not s.places:
            raise RuntimeError("the server has no eligible residents or no places (run `noriai seed-demo`)")
        return s

    async def server_now(self) -> datetime:
        r = await self.client.get("/healthz")
        r.raise_for_status()
        return datetime.fromisoformat(r.json()["now"])

    async def book(self, body: dict[str, Any], key: str, t0: float, retry: bool = False) -> Attempt:
        """POST one booking; never raises for an HTTP or connection failure (it is recorded)."""
        start = time.monotonic()
        try:
            r = await self.client.post(
                "/api/v1/rides", json=body, headers={**self.headers, "Idempotency-Key": key}
            )
        except httpx.HTTPError as e:
            return Attempt(
                key, body, None, time.monotonic() - start, start - t0, error=type(e).__name__, retry=retry
            )
        latency = time.monotonic() - start
        ride_id = None
        if r.status_code in (201, 409):
            with contextlib.suppress(ValueError):
                ride_id = r.json().get("id" if r.status_code == 201 else "ride_id")
        return Attempt(
            key,
            body,
            r.status_code,
            latency,
            start - t0,
            ride_id=ride_id,
            replayed=r.headers.get("Idempotent-Replayed") == "true",
            error=None if r.status_code < 500 else r.text[:300],
            retry=retry,
        )


class Requests:
    """Realistic ride requests for the demo municipality, reproducible from a seed."""

    def __init__(self, session: ApiSession, now: datetime, options: Options, rng: random.Random) -> None:
        self.s, self.opt, self.rng = session, options, rng
        tz = ZoneInfo(options.tz)
        local = now.astimezone(tz)
        opens, closes = (dtime.fromisoformat(x) for x in options.service_hours.split("-"))
        day = local.date()
        self.day = day
        self.earliest = max(
            local + timedelta(minutes=options.lead_minutes), datetime.combine(day, opens, tzinfo=tz)
        )
        self.last = datetime.combine(day, dtime.fromisoformat(options.last_pickup), tzinfo=tz)
        self.close = datetime.combine(day, closes, tzinfo=tz)
        if self.earliest >= self.last:
            raise RuntimeError(
                f"the server's clock ({local:%Y-%m-%d %H:%M %Z}) leaves no time to book today before "
                f"{options.last_pickup}; start it inside service hours, e.g. "
                "NORIAI_NOW=2026-11-24T09:00:00+09:00"
            )

    def _minute(self, lo: datetime, hi: datetime) -> datetime:
        span = max(0, int((hi - lo).total_seconds() // 60))
        t = lo + timedelta(minutes=self.rng.randint(0, span))
        return t.replace(second=0, microsecond=0) + timedelta(minutes=1)

    def next(self) -> dict[str, Any]:
        rng = self.rng
        while True:
            res = rng.choice(self.s.residents)
            place = rng.choice(self.s.places)
            home = res["home"]
            if haversine_m(Point(home["lat"], home["lon"]), Point(place["lat"], place["lon"])) > 200:
                break
        there = {"place_id": place["id"]}
        back = {"lat": home["lat"], "lon": home["lon"]}
        outward = rng.random() < 0.6
        body: dict[str, Any] = {
            "resident_id": res["id"],
            "origin": back if outward else there,
            "destination": there if outward else back,
            "party_size": 2 if rng.random() < 0.1 else 1,
            "wheelchair": bool(res.get("wheelchair")),
        }
        if outward and rng.random() < self.opt.arrive_by_share:
            lo = self.earliest + timedelta(minutes=60)
            hi = min(self.last + timedelta(minutes=60), self.close - timedelta(minutes=15))
            if lo < hi:
                body["arrive_by"] = self._minute(lo, hi).isoformat()
                return body
        body["pickup_after"] = self._minute(self.earliest, self.last).isoformat()
        return body


# ------------------------------------------------------------------------------ verification


async def manifest_counts(
    session: ApiSession, day: date
) -> tuple[dict[int, Counter[str]], dict[int, str], int]:
    """Per ride: how often it appears in each vehicle's manifest ({vehicle: n stops}), its status
    there, and how many manifests were read."""
    c, h = session.client, session.headers
    vehicles = (await c.get("/api/v1/vehicles", headers=h)).raise_for_status().json()
    seen: dict[int, Counter[str]] = {}
    status: dict[int, str] = {}
    for v in vehicles:
        m = await c.get(f"/api/v1/vehicles/{v['id']}/manifest", params={"date": day.isoformat()}, headers=h)
        m.raise_for_status()
        for stop in m.json()["stops"]:
            rid = stop["ride_id"]
            seen.setdefault(rid, Counter())[f"{v['id']}:{stop['kind']}"] += 1
            status[rid] = stop["ride_status"]
    return seen, status, len(vehicles)


async def day_rides(session: ApiSession, day: date) -> dict[int, str]:
    """Every ride of the day with its status (GET /api/v1/rides?date=)."""
    r = await session.client.get("/api/v1/rides", params={"date": day.isoformat()}, headers=session.headers)
    r.raise_for_status()
    return {x["id"]: x["status"] for x in r.json()}


async def verify(
    session: ApiSession,
    day: date,
    confirmed: set[int],
    answered: set[int] | None = None,
    before: set[int] | None = None,
) -> Verification:
    """Every ride in `confirmed` is in exactly one manifest (one pickup and one drop-off, one vehicle)
    and still confirmed; with `answered` (every ride id any answer named) and `before` (the day's
    rides before the run), no ride of the day was booked without an answer naming it."""
    seen, status, n = await manifest_counts(session, day)
    out = Verification(day.isoformat(), len(confirmed), 0, manifests=n)
    for rid in sorted(confirmed):
        stops = seen.get(rid)
        if not stops:
            out.missing.append(rid)
            continue
        vehicles = {k.split(":")[0] for k in stops}
        if len(vehicles) != 1 or sorted(stops.values()) != [1, 1] or len(stops) != 2:
            out.duplicated.append(rid)
            continue
        if status[rid] != "confirmed":
            out.not_confirmed.append(rid)
            continue
        out.in_one_manifest += 1
    if answered is not None:
        rides = await day_rides(session, day)
        out.unaccounted = sorted(
            rid
            for rid, st in rides.items()
            if rid not in answered and rid not in (before or set()) and st != "refused"
        )
    return out


# ---------------------------------------------------------------------------------- the run


async def _worker(
    session: ApiSession,
    requests: Requests,
    rng: random.Random,
    options: Options,
    deadline: float,
    t0: float,
    name: str,
    attempts: list[Attempt],
    retries: list[tuple[Attempt, Attempt]],
) -> None:
    n = 0
    while time.monotonic() < deadline:
        n += 1
        body = requests.next()
        key = f"{name}-{n}"
        if rng.random() < options.retry_share:
            if rng.random() < 0.5:  # the client resends after the answer (it never arrived)
                first = await session.book(body, key, t0)
                again = await session.book(body, key, t0, retry=True)
            else:  # the client resends while the first is still in flight
                first, again = await asyncio.gather(
                    session.book(body, key, t0), session.book(body, key, t0, retry=True)
                )
            retries.append((first, again))
        else:
            first = await session.book(body, key, t0)
        attempts.append(first)


def _timeline(attempts: list[Attempt], wall_s: float) -> list[dict[str, Any]]:
    """Answers by the part of the run they came back in (at most six parts, one per second or more)."""
    n = max(1, min(6, int(wall_s)))
    width = wall_s / n if wall_s > 0 else 1.0
    buckets: list[list[Attempt]] = [[] for _ in range(n)]
    for a in attempts:
        buckets[min(n - 1, int((a.at_s + a.latency_s) // width))].append(a)
    return [
        {
            "from_s": round(k * width, 1),
            "to_s": round((k + 1) * width, 1),
            "confirmed_per_s": round(sum(a.status == 201 for a in inside) / width, 2),
            "refused_per_s": round(sum(a.status == 409 for a in inside) / width, 2),
            "p95_ms": round(percentiles([a.latency_s for a in inside])["p95"], 1),
        }
        for k, inside in enumerate(buckets)
    ]


async def run_async(
    url: str,
    seconds: float,
    concurrency: int,
    seed: int = 1,
    username: str = DEMO_OPERATOR,
    password: str = DEMO_PASSWORD,
    options: Options | None = None,
) -> LoadResult:
    """Book rides for `seconds` with `concurrency` clients, then verify; see the module docstring."""
    options = options or Options()
    limits = httpx.Limits(max_connections=2 * concurrency + 4, max_keepalive_connections=2 * concurrency + 4)
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT_S, limits=limits) as client:
        session = await ApiSession.sign_in(client, username, password)
        now = await session.server_now()
        rng = random.Random(seed)
        day = Requests(session, now, options, rng).day
        before = set(await day_rides(session, day))
        run = uuid.uuid4().hex[:8]
        attempts: list[Attempt] = []
        retries: list[tuple[Attempt, Attempt]] = []
        t0 = time.monotonic()
        deadline = t0 + seconds
        await asyncio.gather(
            *(
                _worker(
                    session,
                    Requests(session, now, options, random.Random(seed * 1009 + k)),
                    random.Random(seed * 7919 + k),
                    options,
                    deadline,
                    t0,
                    f"load-{run}-{k}",
                    attempts,
                    retries,
                )
                for k in range(concurrency)
            )
        )
        wall = time.monotonic() - t0
        return await summarize(
            session, url, seconds, concurrency, seed, wall, attempts, retries, now, day, before
        )


async def summarize(
    session: ApiSession,
    url: str,
    seconds: float,
    concurrency: int,
    seed: int,
    wall: float,
    attempts: list[Attempt],
    retries: list[tuple[Attempt, Attempt]],
    now: datetime,
    day: date,
    before: set[int],
) -> LoadResult:
    everything = attempts + [again for _, again in retries]
    by_status = Counter("connection error" if a.status is None else str(a.status) for a in attempts)
    mismatches = [
        {"key": first.key, "first": [first.status, first.ride_id], "retry": [again.status, again.ride_id]}
        for first, again in retries
        if first.status is not None
        and again.status is not None
        and (first.status, first.ride_id) != (again.status, again.ride_id)
    ]
    same = sum(
        1
        for first, again in retries
        if first.status is not None and (first.status, first.ride_id) == (again.status, again.ride_id)
    )
    confirmed = {a.ride_id for a in everything if a.status == 201 and a.ride_id is not None}
    answered = {a.ride_id for a in everything if a.ride_id is not None}
    verification = await verify(session, day, confirmed, answered, before)
    return LoadResult(
        url=url,
        seconds=seconds,
        concurrency=concurrency,
        seed=seed,
        wall_s=round(wall, 2),
        attempts=len(attempts),
        by_status=dict(by_status),
        confirmed=sum(a.status == 201 for a in attempts),
        refused=sum(a.status == 409 for a in attempts),
        invalid=sum(a.status == 422 for a in attempts),
        server_errors=sum(a.status is not None and a.status >= 500 for a in everything),
        connection_errors=sum(a.status is None for a in everything),
        bookings_per_s=round(sum(a.status == 201 for a in attempts) / wall, 2) if wall else 0.0,
        answered_per_s=round(sum(a.status in (201, 409) for a in attempts) / wall, 2) if wall else 0.0,
        requests_per_s=round(len(everything) / wall, 2) if wall else 0.0,
        latency_ms={k: round(v, 1) for k, v in percentiles([a.latency_s for a in attempts]).items()},
        latency_confirmed_ms={
            k: round(v, 1) for k, v in percentiles([a.latency_s for a in attempts if a.status == 201]).items()
        },
        latency_refused_ms={
            k: round(v, 1) for k, v in percentiles([a.latency_s for a in attempts if a.status == 409]).items()
        },
        timeline=_timeline(attempts, wall),
        retries=len(retries),
        retries_same=same,
        retry_mismatches=mismatches,
        verification=verification,
        server_now=now.isoformat(),
    )


def run(
    url: str,
    seconds: float,
    concurrency: int,
    seed: int = 1,
    username: str = DEMO_OPERATOR,
    password: str = DEMO_PASSWORD,
    options: Options | None = None,
) -> LoadResult:
    """`run_async` from synchronous code (the CLI, a test)."""
    return asyncio.run(run_async(url, seconds, concurrency, seed, username, password, options))
