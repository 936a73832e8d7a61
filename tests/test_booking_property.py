"""Property: random streams of bookings (with cancellations); after every commit the exact checker
accepts every vehicle's plan and every confirmed ride is planned exactly once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from dispatcher.context import Dispatcher
from dispatcher.models import Resident
from dispatcher.rides.booking import Location, RideRequest, book
from dispatcher.rides.cancellation import cancel
from tests.conftest import DAY_START
from tests.planning import verify_plan

PLACES = [
    "central-hospital",
    "super-ina",
    "city-hall",
    "inashi-station",
    "takato-clinic",
    "hall-tera",
    "hall-hase",
    "hall-nishiminowa",
    "misuzu-clinic",
    "super-takato",
]

booking = st.fixed_dictionaries(
    {
        "resident": st.integers(0, 150),
        "origin": st.one_of(st.sampled_from(PLACES), st.just("home")),
        "destination": st.sampled_from(PLACES),
        "minutes": st.integers(30, 480),
        "arrive": st.booleans(),
        "party": st.sampled_from([1, 1, 1, 2, 3, 4]),
        "cancel": st.integers(0, 9),
    }
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(booking, min_size=5, max_size=30))
def test_random_booking_streams_keep_every_plan_feasible(sqlite_ctx: Dispatcher, stream) -> None:
    ctx = sqlite_ctx
    with Session(ctx.engine) as s:
        residents = s.exec(select(Resident).order_by(Resident.id)).all()
    eligible = [r for r in residents if r.evidence or r.birth_date.year <= 1960]
    confirmed: list[int] = []
    for b in stream:
        res = eligible[b["resident"] % len(eligible)]
        origin = (
            Location(lat=res.lat, lon=res.lon) if b["origin"] == "home" else Location(place_id=b["origin"])
        )
        if b["origin"] == b["destination"]:
            continue
        when = DAY_START + timedelta(minutes=b["minutes"])
        req = RideRequest(
            resident_id=res.id,
            origin=origin,
            destination=Location(place_id=b["destination"]),
            party_size=b["party"],
            wheelchair=res.wheelchair,
            **({"arrive_by": when} if b["arrive"] else {"pickup_after": when}),
        )
        try:
            out = book(ctx, "ina-demo", req, str(uuid.uuid4()), "property-test")
        except Exception as e:  # bad input for this rider (e.g. too late in the day) must be a 422,
            # a second ride of one rider at an overlapping time a 409 naming the first (issue 20)
            status, code = getattr(e, "status", None), str(getattr(e, "code", ""))
            assert status == 422 or (status == 409 and code in ("ride.overlaps", "ride.duplicate")), e
            continue
        if out.ride.status == "confirmed":
            confirmed.append(out.ride.id)
            if b["cancel"] == 0:
                cancel(ctx, "ina-demo", confirmed.pop(0), "property-test")
        verify_plan(ctx, "ina-demo", DAY_START.date())
