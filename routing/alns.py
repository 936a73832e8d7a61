"""Adaptive large-neighbourhood search for the dial-a-ride problem.

Destroy and repair in the manner of Ropke, Cordeau & Laporte (2007): each iteration removes a few
requests (random, worst, related ("Shaw") or a whole route) and reinserts them with a greedy or a
regret-k heuristic; operators are chosen by adaptive weights and new solutions are accepted by
simulated annealing. Candidate insertions are screened by necessary conditions (time windows
against the earliest schedule and the latest start times, capacity over the ride) before the exact
checker decides; every route kept is one the checker accepts.

Riders on board and committed stops never move between vehicles: they are immovable, the search
only inserts around them. Units are the input's (seconds in production, minutes in benchmarks).
"""

from __future__ import annotations

import math
import random
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass

from routing.insertion import Route, RouteState, best_insertion
from routing.schedule import (
    FLOAT_TOLERANCE,
    INF,
    Schedule,
    Stop,
    TravelMatrix,
    check,
    excess_ride,
    route_travel,
)
from routing.traveltime import largest_leg

Found = tuple[float, list[Stop], Schedule]
"""A cheapest feasible insertion into one route: added driving time, new stops, their schedule."""


@dataclass(frozen=True)
class AlnsOptions:
    """Search settings.

    time_limit_s: wall-clock limit (s); iterations: stop after this many (deterministic mode: the
    same seed and input give the same result on any machine). seed: random seed.
    stop_when_placed: a booking's repair: stop as soon as every required request is served, so
    that the plan moves no more rides than it takes to make room. max_seconds: a wall-clock cap
    (s) even with `iterations` (a caller waiting on the answer); the result is then deterministic
    only while the cap is not reached.
    """

    time_limit_s: float = 10.0
    iterations: int | None = None
    seed: int = 1
    min_remove: int = 2
    max_remove_share: float = 0.3
    max_remove: int = 40
    start_temperature_share: float = 0.03  # a solution this much worse is accepted with p = 0.5
    ride_weight: float = 0.0  # objective: travel + ride_weight x riders' excess ride time
    unserved_weight: float = 0.0  # added per unserved request; 0 = automatic (far above any detour)
    stop_when_placed: bool = False  # stop at the first plan that serves every required request
    max_seconds: float | None = None  # wall-clock cap (s) that holds in deterministic mode too


@dataclass
class AlnsResult:
    """Routes (verified), their schedules, total travel, unserved request ids and statistics."""

    stops: list[tuple[Stop, ...]]
    schedules: list[Schedule]
    travel: float
    unserved: list[int]
    iterations: int
    seconds: float
    first_feasible_seconds: float | None


class Alns:
    """The search over a fixed problem: vehicles, movable requests and immovable stops."""

    def __init__(
        self,
        routes: Sequence[Route],
        optional: Sequence[tuple[Stop, Stop]],
        travel: TravelMatrix,
        options: AlnsOptions,
        unplaced: Sequence[tuple[Stop, Stop]] = (),
    ) -> None:
        self.travel = travel
        self.opt = options
        self.rng = random.Random(options.seed)
        self.vehicles = [r.vehicle for r in routes]
        self.required: set[int] = set()
        self.pairs: dict[int, tuple[Stop, Stop]] = {}
        self.immovable: set[int] = set()
        self.fixed = [r.fixed for r in routes]
        for r in routes:
            onboard = {o.request_id for o in r.vehicle.onboard}
            picks = {s.request_id: s for s in r.stops if s.kind == "pickup"}
            for k, s in enumerate(r.stops):
                if s.kind == "dropoff":
                    if s.request_id in onboard or k < r.fixed:
                        self.immovable.add(s.request_id)
                    else:
                        self.pairs[s.request_id] = (picks[s.request_id], s)
                        self.required.add(s.request_id)
                elif k < r.fixed:
                    self.immovable.add(s.request_id)
        for p, d in list(optional) + list(unplaced):
            self.pairs[p.request_id] = (p, d)
        self.required |= {p.request_id for p, _ in unplaced}
        scale = largest_leg(travel) or 1.0
        self.unserved_weight = options.unserved_weight or 10.0 * scale * 4
        self.required_penalty = 1000.0 * self.unserved_weight
        # relatedness: positions and times of each request (for Shaw removal)
        self.routes: list[RouteState] = []
        for v, r in enumerate(routes):
            self.routes.append(self._state(v, list(r.stops)))
        self.unassigned: set[int] = {p.request_id for p, _ in list(optional) + list(unplaced)}
        # cheapest insertions found, by route state (never changed in place: a change replaces it)
        # and request; a round's repair looks again at the routes its destroy left as they were
        self._best: dict[RouteState, dict[int, Found | None]] = {}

    # -- bookkeeping -------------------------------------------------------------------------
    def _state(self, v: int, stops: list[Stop]) -> RouteState:
        sched = check(self.vehicles[v], stops, self.travel)
        if not sched.feasible:
            raise ValueError(f"vehicle {self.vehicles[v].id}: starting route infeasible ({sched.reason})")
        return RouteState(self.vehicles[v], stops, self.fixed[v], sched, self.travel)

    def cost(self, routes: list[RouteState] | None = None, unassigned: set[int] | None = None) -> float:
        routes = self.routes if routes is None else routes
        unassigned = self.unassigned if unassigned is None else unassigned
        pen = sum(self.required_penalty if r in self.required else self.unserved_weight for r in unassigned)
        if self.opt.ride_weight:
            w = self.opt.ride_weight
            return sum(r.travel + w * excess_ride(r.stops, r.sched.times, self.travel) for r in routes) + pen
        return sum(r.travel for r in routes) + pen

    # -- insertion ---------------------------------------------------------------------------
    def best_in_route(self, v: int, rid: int) -> Found | None:
        """Cheapest feasible insertion of a request into one route (exact), remembered for as long
        as the route stays as it is."""
        st = self.routes[v]
        known = self._best.get(st)
        if known is None:
            known = self._best[st] = {}
        elif rid in known:
            return known[rid]
        p, d = self.pairs[rid]
        found = known[rid] = best_insertion(st, p, d, self.travel)
        return found

    def _forget_old_routes(self) -> None:
        """Keep the remembered insertions of the current routes only (memory stays bounded)."""
        self._best = {st: self._best[st] for st in self.routes if st in self._best}

    def _all_best(self, rid: int) -> list[tuple[float, int]]:
        out = []
        for v in range(len(self.routes)):
            b = self.best_in_route(v, rid)
            if b is not None:
                out.append((b[0], v))
        out.sort()
        return out

    def repair(self, regret: int, noise: float) -> None:
        """Insert unassigned requests: regret-k (k >= 2) or greedy (k = 1)."""
        pending = set(self.unassigned)
        while pending:
            best_key: tuple[float, ...] | None = None
            best_choice: tuple[int, int] | None = None
            for rid in sorted(pending):
                opts = self._all_best(rid)
                if not opts:
                    continue
                cost = opts[0][0]
                if noise:
                    cost *= 1 + self.rng.uniform(-noise, noise)
                key: tuple[float, ...]
                if regret <= 1:
                    key = (-cost,)
                else:
                    reg = sum(
                        (opts[k][0] if k < len(opts) else opts[0][0] * 4 + 1e6) - opts[0][0]
                        for k in range(1, regret)
                    )
                    key = (reg, -cost)
                if best_key is None or key > best_key:
                    best_key, best_choice = key, (rid, opts[0][1])
            if best_choice is None:
                break
            rid, v = best_choice
            found = self.best_in_route(v, rid)
            assert found is not None  # the choice is one of the request's feasible insertions
            _, new, sched = found
            self.routes[v] = RouteState(self.vehicles[v], new, self.fixed[v], sched, self.travel)
            pending.discard(rid)
            self.unassigned.discard(rid)

    def construct(self) -> None:
        """Insert unassigned requests one by one in order of their earliest time (cheapest
        feasible insertion each): a quick first plan for large days."""

        def start(rid: int) -> float:
            p, d = self.pairs[rid]
            return min(p.latest, d.latest - p.max_ride) if p.max_ride != INF else p.latest

        for rid in sorted(self.unassigned, key=lambda r: (start(r), r)):
            p, d = self.pairs[rid]
            options = [
                (b[0], v, b)
                for v in range(len(self.routes))
                if (b := best_insertion(self.routes[v], p, d, self.travel))
            ]
            if not options:
                continue
            _, v, (_, new, sched) = min(options, key=lambda o: (o[0], o[1]))
            self.routes[v] = RouteState(self.vehicles[v], new, self.fixed[v], sched, self.travel)
            self.unassigned.discard(rid)

    # -- removal -----------------------------------------------------------------------------
    def _assigned(self) -> list[int]:
        return [
            s.request_id
            for r in self.routes
            for s in r.stops
            if s.kind == "pickup" and s.request_id not in self.immovable
        ]

    def _remove(self, rids: set[int]) -> None:
        for v, st in enumerate(self.routes):
            if any(s.request_id in rids for s in st.stops):
                kept = [s for s in st.stops if s.request_id not in rids]
                self.routes[v] = self._state(v, kept)
        self.unassigned |= rids

    def remove_random(self, q: int) -> None:
        assigned = self._assigned()
        self._remove(set(self.rng.sample(assigned, min(q, len(assigned)))))

    def remove_worst(self, q: int) -> None:
        gains: list[tuple[float, int]] = []
        travel = self.travel
        for st in self.routes:
            locs = [st.vehicle.start_location] + [s.location for s in st.stops] + [st.vehicle.end_location]
            saving: dict[int, float] = {}
            for k, s in enumerate(st.stops):
                if s.request_id in self.immovable:
                    continue
                a, b, c = locs[k], locs[k + 1], locs[k + 2]
                saving[s.request_id] = (
                    saving.get(s.request_id, 0.0) + travel[a][b] + travel[b][c] - travel[a][c]
                )
            gains.extend((g, rid) for rid, g in saving.items())
        gains.sort(reverse=True)
        chosen: set[int] = set()
        while gains and len(chosen) < q:
            k = int(len(gains) * self.rng.random() ** 4)  # biased to the worst
            chosen.add(gains.pop(k)[1])
        self._remove(chosen)

    def remove_related(self, q: int) -> None:
        assigned = self._assigned()
        if not assigned:
            return
        seed = self.rng.choice(assigned)
        sp, sd = self.pairs[seed]
        travel = self.travel

        def window_mid(s: Stop) -> float:
            return s.earliest if s.latest == INF else (s.earliest + s.latest) / 2

        rel = []
        for rid in assigned:
            p, d = self.pairs[rid]
            r = (
                travel[sp.location][p.location]
                + travel[sd.location][d.location]
                + 0.5 * (abs(window_mid(sp) - window_mid(p)) + abs(window_mid(sd) - window_mid(d)))
            )
            rel.append((r, rid))
        rel.sort()
        chosen: set[int] = set()
        while rel and len(chosen) < q:
            k = int(len(rel) * self.rng.random() ** 6)
            chosen.add(rel.pop(k)[1])
        self._remove(chosen)

    def remove_route(self, q: int) -> None:
        movable = [
            v for v, st in enumerate(self.routes) if any(s.request_id not in self.immovable for s in st.stops)
        ]
        if not movable:
            return
        v = self.rng.choice(movable)
        self._remove({s.request_id for s in self.routes[v].stops if s.request_id not in self.immovable})

    # -- the search --------------------------------------------------------------------------
    def run(self) -> AlnsResult:
        t0 = _time.perf_counter()
        opt = self.opt
        if len(self.unassigned) > 150:
            self.construct()  # regret repair is quadratic in the number of requests
        self.repair(regret=2, noise=0.0)
        first_feasible = (_time.perf_counter() - t0) if not (self.unassigned & self.required) else None
        best_routes, best_un = list(self.routes), set(self.unassigned)
        best_cost = cur_cost = self.cost()
        placed = first_feasible is not None and opt.stop_when_placed
        destroy = [self.remove_random, self.remove_worst, self.remove_related, self.remove_route]
        repairs = [(1, 0.0), (2, 0.0), (3, 0.0), (1, 0.05), (2, 0.05)]
        dw = [1.0] * len(destroy)
        rw = [1.0] * len(repairs)
        ds = [0.0] * len(destroy)
        rs = [0.0] * len(repairs)
        dn = [0] * len(destroy)
        rn = [0] * len(repairs)
        n_req = max(1, len(self.pairs))
        t_start = opt.start_temperature_share * max(best_cost, 1.0) / math.log(2)
        it = 0
        while not placed:
            elapsed = _time.perf_counter() - t0
            if opt.max_seconds is not None and elapsed >= opt.max_seconds:
                break
            if opt.iterations is not None:
                if it >= opt.iterations:
                    break
                progress = it / opt.iterations
            else:
                if elapsed >= opt.time_limit_s:
                    break
                progress = elapsed / opt.time_limit_s
            it += 1
            temperature = t_start * (1 - progress) ** 2 + 1e-9
            self._forget_old_routes()
            saved_routes, saved_un = list(self.routes), set(self.unassigned)
            di = self.rng.choices(range(len(destroy)), dw)[0]
            ri = self.rng.choices(range(len(repairs)), rw)[0]
            hi = max(opt.min_remove, min(opt.max_remove, int(opt.max_remove_share * n_req)))
            q = self.rng.randint(min(opt.min_remove, hi), hi)
            destroy[di](q)
            self.repair(*repairs[ri])
            new_cost = self.cost()
            score = 0.0
            if new_cost < best_cost - FLOAT_TOLERANCE:
                best_cost, best_routes, best_un = new_cost, list(self.routes), set(self.unassigned)
                if first_feasible is None and not (self.unassigned & self.required):
                    first_feasible = _time.perf_counter() - t0
                    placed = opt.stop_when_placed
                score = 33.0
                cur_cost = new_cost
            elif new_cost < cur_cost - FLOAT_TOLERANCE:
                score, cur_cost = 9.0, new_cost
            elif self.rng.random() < math.exp(-(new_cost - cur_cost) / temperature):
                score, cur_cost = 3.0, new_cost
            else:
                self.routes, self.unassigned = saved_routes, saved_un
            ds[di] += score
            rs[ri] += score
            dn[di] += 1
            rn[ri] += 1
            if it % 100 == 0:  # adapt the weights
                for w, s, c in ((dw, ds, dn), (rw, rs, rn)):
                    for k in range(len(w)):
                        if c[k]:
                            w[k] = max(0.05, 0.8 * w[k] + 0.2 * s[k] / c[k])
                        s[k], c[k] = 0.0, 0
        schedules = [check(st.vehicle, st.stops, self.travel) for st in best_routes]
        assert all(s.feasible for s in schedules)
        return AlnsResult(
            stops=[tuple(st.stops) for st in best_routes],
            schedules=schedules,
            travel=sum(route_travel(st.vehicle, st.stops, self.travel) for st in best_routes),
            unserved=sorted(best_un),
            iterations=it,
            seconds=_time.perf_counter() - t0,
            first_feasible_seconds=first_feasible,
        )


def solve(
    routes: Sequence[Route],
    travel: TravelMatrix,
    optional: Sequence[tuple[Stop, Stop]] = (),
    options: AlnsOptions | None = None,
    unplaced: Sequence[tuple[Stop, Stop]] = (),
) -> AlnsResult:
    """Improve the routes and insert the optional requests where possible; every route verified.

    unplaced: requests that must be served but are in no route yet (their promises stand).
    """
    return Alns(routes, optional, travel, options or AlnsOptions(), unplaced).run()
