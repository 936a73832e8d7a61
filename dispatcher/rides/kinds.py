"""The event kinds rides records, and what of each payload outlives the retention period.

Other contexts read these kinds (statistics, billing, the residents' notices); they import the
names from here instead of spelling the strings.

RETENTION: by kind, None keeps the payload whole (nothing personal in it); a tuple keeps those keys
of `before` and `after`; () removes the payload (who, when and what stay). Patterns (fnmatch) are
allowed. `dispatcher.platform.retention` collects every context's table.
"""

from __future__ import annotations

RIDE_REQUESTED = "ride.requested"
RIDE_CONFIRMED = "ride.confirmed"
RIDE_REFUSED = "ride.refused"
RIDE_CANCELLED = "ride.cancelled"
RIDE_FEE_WAIVED = "ride.fee_waived"  # an operator waived a charged cancellation fee afterwards
RIDE_ARRIVED = "ride.arrived"
RIDE_PICKED_UP = "ride.picked_up"
RIDE_NO_SHOW = "ride.no_show"
RIDE_DROPPED_OFF = "ride.dropped_off"
VEHICLE_POSITION = "vehicle.position"
VEHICLE_DELAY = "vehicle.delay"
PLAN_REOPTIMIZED = "plan.reoptimized"
PLAN_REOPTIMIZE_FAILED = "plan.reoptimize_failed"
PLAN_REOPTIMIZE_RECOVERED = "plan.reoptimize_recovered"
PLAN_REOPTIMIZE_DISCARDED = "plan.reoptimize_discarded"
TRAVEL_MARGIN_LEARNED = "travel_margin.learned"  # the nightly margin learned from drivers' reports
# drivers' reports that cannot be true, flagged for the operator's review (`field_checks`)
RIDE_REPORT_FLAGGED = "ride.report_flagged"  # a pickup or drop-off tap
RIDE_REPORT_REVIEWED = "ride.report_reviewed"  # the operator confirmed or corrected its time
VEHICLE_POSITION_FLAGGED = "vehicle.position_flagged"  # a jump faster than driving
VEHICLE_POSITION_REVIEWED = "vehicle.position_reviewed"  # the operator confirmed or discarded it

# a driver's report of a ride (field_events' report types) -> its event kind
REPORTED = {
    "arrived": RIDE_ARRIVED,
    "picked_up": RIDE_PICKED_UP,
    "no_show": RIDE_NO_SHOW,
    "dropped_off": RIDE_DROPPED_OFF,
}

RETENTION: dict[str, tuple[str, ...] | None] = {
    # a request's pickup and drop-off go; its times, party and rider stay (wait and margin figures)
    RIDE_REQUESTED: (
        "resident_id",
        "pickup_after",
        "arrive_by",
        "party_size",
        "orders",
        "hall_id",
        "weight_kg",
    ),
    RIDE_CONFIRMED: None,  # vehicle, window, fare: on-time figures and bills
    RIDE_REFUSED: None,  # the reason and the times offered instead
    RIDE_CANCELLED: ("status", "fee_waived", "replaced_by"),  # the free-text reason goes
    RIDE_FEE_WAIVED: ("fee_yen", "adjustment_id"),  # the free-text reason goes
    RIDE_ARRIVED: None,
    RIDE_PICKED_UP: None,
    RIDE_NO_SHOW: None,
    RIDE_DROPPED_OFF: None,
    VEHICLE_POSITION: (),  # where the car was: it stopped at homes
    VEHICLE_DELAY: None,
    "plan.*": None,  # re-optimizations, their faults and recoveries
    TRAVEL_MARGIN_LEARNED: None,  # leg counts and margins, nothing personal
    RIDE_REPORT_FLAGGED: None,  # the check, the times and the numbers that failed it
    RIDE_REPORT_REVIEWED: None,  # the decision and the corrected time
    VEHICLE_POSITION_FLAGGED: None,  # distance, minutes and speed: no coordinates
    VEHICLE_POSITION_REVIEWED: None,
}
