"""Merging a re-optimization's plan with what happened while it was solving.

A re-optimization solves on a snapshot for seconds; meanwhile residents book and cancel and
drivers report. Its plan is not thrown away for that: under the tenant lock, `merge` rebuilds it
on the current state of the day (the routing problem of the plan in force now: current
positions, stops done, riders on board, current promises):

1. each vehicle takes the stops the solve gave it, less those no longer pending (done, cancelled,
   no-show) and less rides now tied to another vehicle (on board there, or arrived at);
2. a vehicle that lost a rider tied to it, or whose route no longer passes the exact checker (it
   fell behind meanwhile), goes back to its route in force; the rides that route holds leave the
   other vehicles, and the rides the solve had given it are placed again;
3. rides booked meanwhile, and rides freed in step 2, are inserted with the booking path's
   cheapest feasible insertion (`routing.insertion.cheapest_insertion`);
4. frozen vehicles (one of their pickups is overdue, `dispatcher.rides.review`) keep their route
   in force untouched.

The result is either routes that every checker accepts, with every pending stop exactly once, or
the reason why no such merge exists. Whether it is better than the plan in force is the caller's
decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dispatcher.db import id_of
from dispatcher.rides.plan import Problem
from routing.insertion import Route, cheapest_insertion
from routing.schedule import Schedule, Stop, check

Key = tuple[int, str]  # (ride id, "pickup" | "dropoff")


@dataclass
class Merged:
    """routes: by the fresh problem's vehicle order, the pending stops (None: frozen, left as they
    are) and their schedules; inserted: rides placed again by insertion (booked meanwhile or freed
    by a reverted vehicle); reverted: ids of vehicles that went back to their route in force;
    dropped: stops of the solve's plan no longer pending; failure: why no merge exists (None when
    it does)."""

    routes: list[tuple[tuple[Stop, ...], Schedule] | None] = field(default_factory=list)
    inserted: list[int] = field(default_factory=list)
    reverted: list[int] = field(default_factory=list)
    dropped: int = 0
    failure: str | None = None


def _key(s: Stop) -> Key:
    return (s.request_id, s.kind)


def merge(fresh: Problem, proposal: Mapping[int, Sequence[Key]], frozen: set[int]) -> Merged:
    """Fit `proposal` (pending stops by vehicle id, as the solve planned them; a vehicle missing
    from it keeps its route in force) to the current problem `fresh`. frozen: ids of vehicles
    kept exactly as they are."""
    out = Merged()
    vids = [id_of(v) for v in fresh.vehicles]
    keys = {id_of(v): v.key for v in fresh.vehicles}
    route_of = {id_of(v): r for v, r in zip(fresh.vehicles, fresh.routes, strict=True)}
    stops: dict[Key, Stop] = {_key(s): s for r in fresh.routes for s in r.stops}
    in_force = {vid: [_key(s) for s in route_of[vid].stops] for vid in vids}
    # rides that cannot change vehicle now: on board, arrived at (a fixed head), or on a frozen vehicle
    tied: dict[int, int] = {}
    for vid in vids:
        r = route_of[vid]
        tied.update((o.request_id, vid) for o in r.vehicle.onboard)
        tied.update((s.request_id, vid) for s in r.stops[: r.fixed])
        if vid in frozen:
            tied.update((s.request_id, vid) for s in r.stops)
    out.dropped = len({k for seq in proposal.values() for k in seq} - stops.keys())
    # kept as in force: frozen vehicles and vehicles the solve did not plan (new on duty)
    kept = {vid for vid in vids if vid in frozen or vid not in proposal}
    off_duty = {id_of(v) for v in fresh.vehicles if not v.active}
    cand: dict[int, list[Key]] = {}
    for vid in vids:
        if vid in kept:
            cand[vid] = list(in_force[vid])
        else:
            cand[vid] = [k for k in proposal[vid] if k in stops and tied.get(k[0], vid) == vid]
            if vid in off_duty:  # taken off duty: it only finishes (some of) what it holds
                cand[vid] = [k for k in cand[vid] if k in in_force[vid]]
    for vid in kept:
        _take_out(cand, vid, {k[0] for k in in_force[vid]})

    def revert(vid: int) -> None:
        kept.add(vid)
        out.reverted.append(vid)
        cand[vid] = list(in_force[vid])
        _take_out(cand, vid, {k[0] for k in in_force[vid]})

    # a vehicle that lost a ride tied to it goes back to its route in force
    for vid in vids:
        mine = {k for k in in_force[vid] if tied.get(k[0]) == vid}
        if vid not in kept and not mine <= set(cand[vid]):
            revert(vid)
    # arrived-at pickups stay at the head, in order; a route the checker refuses goes back to the
    # route in force (which frees the rides the solve had given it), until every route holds
    schedules: dict[int, Schedule] = {}
    while True:
        bad = None
        for vid in vids:
            if vid in frozen:
                continue
            head = [_key(s) for s in route_of[vid].stops[: route_of[vid].fixed]]
            cand[vid] = head + [k for k in cand[vid] if k not in head]
            sched = check(route_of[vid].vehicle, [stops[k] for k in cand[vid]], fresh.travel)
            if sched.feasible:
                schedules[vid] = sched
            elif vid in kept:
                out.failure = f"{keys[vid]}: {sched.reason}"
                return out
            else:
                bad = vid
                break
        if bad is None:
            break
        revert(bad)
    placed = {k for seq in cand.values() for k in seq}
    rides = sorted({rid for rid, _kind in stops.keys() - placed})
    for rid in rides:
        if (rid, "pickup") not in stops or (rid, "dropoff") not in stops or tied.get(rid) is not None:
            out.failure = f"ride {rid}: its vehicle lost it"
            return out
    movable = [vid for vid in vids if vid not in frozen]
    routes = [
        Route(route_of[vid].vehicle, tuple(stops[k] for k in cand[vid]), route_of[vid].fixed)
        for vid in movable
    ]
    for rid in rides:
        ins = cheapest_insertion(routes, stops[(rid, "pickup")], stops[(rid, "dropoff")], fresh.travel)
        if ins is None:
            out.failure = f"ride {rid} fits no vehicle of the new plan"
            return out
        old = routes[ins.route_index]
        routes[ins.route_index] = Route(old.vehicle, ins.stops, old.fixed)
        schedules[movable[ins.route_index]] = ins.schedule
        out.inserted.append(rid)
    by_vid = dict(zip(movable, routes, strict=True))
    out.routes = [None if vid in frozen else (by_vid[vid].stops, schedules[vid]) for vid in vids]
    return out


def _take_out(cand: dict[int, list[Key]], keep: int, rides: set[int]) -> None:
    """Remove the stops of these rides from every vehicle's candidate route but `keep`'s."""
    for vid, seq in cand.items():
        if vid != keep:
            cand[vid] = [k for k in seq if k[0] not in rides]
