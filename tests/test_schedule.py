"""The exact schedule checker, against hand-made cases and a linear-programming oracle."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from routing.schedule import INF, OnBoard, Stop, VehicleState, check

# Four locations on a line, 600 s apart from neighbours.
POS = [0, 600, 1200, 1800]
T = [[abs(a - b) for b in POS] for a in POS]


def veh(**kw) -> VehicleState:
    base = dict(id=1, start_location=0, start_time=0.0, end_location=0, end_time=INF, seats=4, wheelchairs=1)
    base.update(kw)
    return VehicleState(**base)


def test_simple_trip_earliest_times() -> None:
    stops = [Stop(1, "pickup", 1, 0, 10_000, 60), Stop(1, "dropoff", 3, 0, 10_000, 30)]
    s = check(veh(), stops, T)
    assert s.feasible
    assert s.times == [600.0, 600 + 60 + 1200.0]
    assert s.end == s.times[1] + 30 + 1800
    assert s.travel == 600 + 1200 + 1800


def test_time_window_missed() -> None:
    stops = [Stop(1, "pickup", 3, 0, 1000), Stop(1, "dropoff", 1, 0, INF)]
    s = check(veh(), stops, T)
    assert not s.feasible and "latest" in s.reason


def test_ride_time_needs_a_later_pickup() -> None:
    """A forward pass alone would pick rider 1 up at 600 and break 1's ride limit while waiting
    for rider 2's window; the exact checker delays the first pickup instead."""
    stops = [
        Stop(1, "pickup", 1, 0, 5000, 0, max_ride=1300),
        Stop(2, "pickup", 2, 2000, 2100, 0, max_ride=INF),
        Stop(1, "dropoff", 3, 0, INF),
        Stop(2, "dropoff", 3, 0, INF),
    ]
    s = check(veh(), stops, T)
    assert s.feasible
    ride1 = s.times[2] - s.times[0]
    assert ride1 <= 1300 + 1e-6
    assert s.times[0] > 600  # delayed departure from stop 1


def test_ride_time_impossible() -> None:
    stops = [
        Stop(1, "pickup", 1, 0, 5000, 0, max_ride=1000),
        Stop(2, "pickup", 3, 0, INF),
        Stop(1, "dropoff", 0, 0, INF),
        Stop(2, "dropoff", 0, 0, INF),
    ]
    assert not check(veh(), stops, T).feasible


def test_capacity_by_seat_type() -> None:
    stops = [
        Stop(1, "pickup", 1, seats=0, wheelchairs=1),
        Stop(2, "pickup", 1, seats=0, wheelchairs=1),
        Stop(1, "dropoff", 2, seats=0, wheelchairs=1),
        Stop(2, "dropoff", 2, seats=0, wheelchairs=1),
    ]
    s = check(veh(wheelchairs=1), stops, T)
    assert not s.feasible and "wheelchair" in s.reason
    assert check(veh(wheelchairs=2), stops, T).feasible
    seated = [
        Stop(1, "pickup", 1, seats=3),
        Stop(2, "pickup", 2, seats=2),
        Stop(1, "dropoff", 3, seats=3),
        Stop(2, "dropoff", 3, seats=2),
    ]
    assert not check(veh(seats=4), seated, T).feasible
    assert check(veh(seats=5), seated, T).feasible


def test_rider_on_board_deadline_and_shift() -> None:
    onboard = (OnBoard(7, ride_start=0.0, seats=1, max_ride=1500),)
    stops = [Stop(7, "dropoff", 3)]
    assert not check(veh(onboard=onboard), stops, T).feasible  # 1800 s drive > 1500 s limit
    assert check(veh(onboard=(OnBoard(7, 0.0, 1, 0, 2000),)), stops, T).feasible
    assert not check(veh(end_time=3000), [Stop(1, "pickup", 3), Stop(1, "dropoff", 2)], T).feasible


def test_structure_errors() -> None:
    assert "without being on board" in check(veh(), [Stop(1, "dropoff", 1)], T).reason
    assert "never dropped off" in check(veh(), [Stop(1, "pickup", 1)], T).reason
    twice = [Stop(1, "pickup", 1), Stop(1, "pickup", 2), Stop(1, "dropoff", 3)]
    assert "twice" in check(veh(), twice, T).reason


def lp_feasible(v: VehicleState, stops: list[Stop], travel: list[list[float]]) -> bool:
    """Feasibility of the same schedule as a linear programme (HiGHS): the oracle."""
    n = len(stops)
    # variables: D0, B_0..B_{n-1}, E
    nv = n + 2
    A, b = [], []

    def le(coeffs: dict[int, float], rhs: float) -> None:
        row = np.zeros(nv)
        for k, c in coeffs.items():
            row[k] += c
        A.append(row)
        b.append(rhs)

    prev, prev_s, prev_var = v.start_location, 0.0, 0
    for i, s in enumerate(stops):
        le({prev_var: 1, i + 1: -1}, -(prev_s + travel[prev][s.location]))
        prev, prev_s, prev_var = s.location, s.service, i + 1
    le({prev_var: 1, n + 1: -1}, -(prev_s + travel[prev][v.end_location]))
    bounds = [(v.start_time, None)] + [
        (max(s.earliest, v.not_before), None if s.latest == INF else s.latest) for s in stops
    ]
    bounds.append((v.not_before, None if v.end_time == INF else v.end_time))
    if v.max_duration != INF:
        le({n + 1: 1, 0: -1}, v.max_duration)
    pick = {}
    onboard = {o.request_id: o for o in v.onboard}
    for i, s in enumerate(stops):
        if s.kind == "pickup":
            pick[s.request_id] = i
        elif s.request_id in pick:
            p = pick[s.request_id]
            if stops[p].max_ride != INF:
                le({i + 1: 1, p + 1: -1}, stops[p].max_ride + stops[p].service)
        elif s.request_id in onboard and onboard[s.request_id].max_ride != INF:
            o = onboard[s.request_id]
            le({i + 1: 1}, o.ride_start + o.max_ride)
    res = linprog(np.zeros(nv), A_ub=np.array(A), b_ub=np.array(b), bounds=bounds, method="highs")
    return res.status == 0


@st.composite
def routes(draw):
    n_loc = 6
    coords = draw(st.lists(st.integers(0, 3000), min_size=n_loc, max_size=n_loc))
    travel = [[float(abs(a - b)) for b in coords] for a in coords]
    n_req = draw(st.integers(1, 4))
    events = []
    for r in range(n_req):
        events += [(r, "pickup"), (r, "dropoff")]
    order = draw(st.permutations(events))
    # keep pickup before drop-off
    seen: set[int] = set()
    fixed = []
    for r, kind in order:
        if kind == "dropoff" and r not in seen:
            fixed.append((r, "pickup"))
            seen.add(r)
            fixed.append((r, "dropoff"))
        elif kind == "pickup" and r in seen:
            continue
        else:
            if kind == "pickup":
                seen.add(r)
            fixed.append((r, kind))
    stops = []
    for r, kind in fixed:
        e = draw(st.integers(0, 6000))
        width = draw(st.sampled_from([0, 300, 900, 3000, None]))
        ride = draw(st.sampled_from([INF, 400, 900, 1800, 3000]))
        stops.append(
            Stop(
                r,
                kind,
                draw(st.integers(0, n_loc - 1)),
                float(e),
                INF if width is None else float(e + width),
                float(draw(st.sampled_from([0, 60, 120]))),
                1,
                0,
                ride if kind == "pickup" else INF,
            )
        )
    v = VehicleState(
        1,
        0,
        float(draw(st.integers(0, 1000))),
        0,
        draw(st.sampled_from([INF, 8000.0, 12000.0])),
        seats=4,
        wheelchairs=0,
        max_duration=draw(st.sampled_from([INF, 5000.0, 9000.0])),
    )
    return v, stops, travel


@settings(max_examples=400, deadline=None)
@given(routes())
def test_checker_agrees_with_linear_programming(case) -> None:
    v, stops, travel = case
    s = check(v, stops, travel)
    assert s.feasible == lp_feasible(v, stops, travel)
    if s.feasible:  # the returned schedule itself satisfies every constraint
        t = v.start_time if not stops else s.departure
        prev, prev_s = v.start_location, 0.0
        for stop, b in zip(stops, s.times, strict=True):
            assert b >= max(stop.earliest, v.not_before) - 1e-6 and b <= stop.latest + 1e-6
            assert b >= t + prev_s + travel[prev][stop.location] - 1e-6
            t, prev, prev_s = b, stop.location, stop.service
        picks = {
            st_.request_id: (st_, b) for st_, b in zip(stops, s.times, strict=True) if st_.kind == "pickup"
        }
        for stop, b in zip(stops, s.times, strict=True):
            if stop.kind == "dropoff":
                p, pb = picks[stop.request_id]
                assert b - pb - p.service <= p.max_ride + 1e-6
        assert s.end <= v.end_time + 1e-6
        assert s.end - s.departure <= v.max_duration + 1e-6
