"""Domain errors that carry what a person needs to fix the request (RFC 9457 on the API).

Every error has a stable `code` (`Code`): the API puts it into the problem document, and the pages
choose their words by it (`api/messages.py` holds the Japanese text of every code), never by the
English `detail`, which may be reworded at any time. A bad field is named in `errors` with a code of
its own where the pages need to say something particular about it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Code(StrEnum):
    """Stable problem codes. Adding one means adding its Japanese text (tests/test_messages.py)."""

    # the request itself
    bad_request = "request.unreadable"
    invalid_request = "request.invalid"
    method_not_allowed = "request.method_not_allowed"
    cross_origin = "request.cross_origin"
    rate_limited = "rate_limited"
    not_found = "not_found"
    conflict = "conflict"
    forbidden = "forbidden"
    internal = "internal"
    # who is calling (identity)
    not_signed_in = "auth.not_signed_in"
    sign_in_failed = "auth.sign_in_failed"
    sign_in_busy = "auth.sign_in_busy"  # every verification slot taken: try again in a second
    role_forbidden = "auth.role_forbidden"
    sign_in_other_tenant = "auth.other_tenant"  # a staff user on another municipality's page
    user_not_found = "user.not_found"
    pin_sign_in_failed = "pin.sign_in_failed"
    pin_locked = "pin.locked"
    device_not_paired = "device.not_paired"
    device_unknown = "device.unknown"
    device_pairing_busy = "device.pairing_busy"
    device_not_found = "device.not_found"
    device_already_revoked = "device.already_revoked"
    family_sign_in_failed = "family.sign_in_failed"
    family_view_only = "family.view_only"  # a `view` link: no booking or cancelling
    family_household_only = "family.household_only"  # shopping, bills, watch-over: the household's own
    family_choose_resident = "family.choose_resident"  # linked to several: say for whom
    family_not_linked = "family.not_linked"  # linked to nobody (any more)
    family_member_not_found = "family.member_not_found"
    family_member_ended = "family.member_ended"
    family_link_not_found = "family.link_not_found"
    family_already_linked = "family.already_linked"
    family_link_revoked = "family.link_revoked"
    # the municipality and its people
    tenant_unknown = "tenant.unknown"
    household_not_found = "household.not_found"
    household_not_yours = "household.not_yours"
    resident_not_found = "resident.not_found"
    # rides
    ride_not_found = "ride.not_found"
    ride_illegal_transition = "ride.illegal_transition"
    ride_not_changeable = "ride.not_changeable"
    ride_wrong_vehicle = "ride.wrong_vehicle"
    no_show_too_early = "ride.no_show_too_early"
    no_vehicle_available = "ride.no_vehicle_available"
    cargo_not_ready = "ride.cargo_not_ready"
    report_out_of_step = "ride.report_out_of_step"  # a driver's report that does not fit the ride's state
    arrive_first = "ride.arrive_first"  # a no-show reported before arriving at the pickup
    ride_not_for_review = "ride.not_for_review"  # resolving a ride that does not need review
    ride_overlaps = "ride.overlaps"  # the rider has a live ride at that time (an operator may book anyway)
    ride_duplicate = "ride.duplicate"  # the same trip of the same rider at that time (never booked twice)
    ride_fee_changed = "ride.fee_changed"  # the cancellation fee due now is not the one shown: ask again
    ride_fee_not_due = "ride.fee_not_due"  # waiving a cancellation fee that was not charged
    vehicle_not_found = "vehicle.not_found"
    vehicle_not_yours = "vehicle.not_yours"
    # shopping
    shopping_not_offered = "shopping.not_offered"
    membership_overlaps = "membership.overlaps"
    membership_not_running = "membership.not_running"
    household_no_active_member = "household.no_active_member"
    order_not_found = "order.not_found"
    ordering_closed = "order.closed"
    order_not_cancellable = "order.not_cancellable"
    order_illegal_transition = "order.illegal_transition"
    order_in_flight = "order.in_flight"
    order_not_your_hall = "order.not_your_hall"
    seller_not_linked = "seller.not_linked"
    picklist_too_early = "picklist.too_early"
    picklist_already_ready = "picklist.already_ready"
    delivery_too_early = "delivery.too_early"
    flight_not_found = "flight.not_found"
    flight_illegal_step = "flight.illegal_step"
    flight_orders_not_ready = "flight.orders_not_ready"
    flight_landed_too_soon = "flight.landed_too_soon"  # sooner after take-off than the drone can fly
    # billing
    billing_month_not_over = "billing.month_not_over"
    billing_month_closed = "billing.month_closed"
    billing_month_not_closed = "billing.month_not_closed"
    billing_no_collector = "billing.no_collector"
    billing_account_not_found = "billing.account_not_found"
    # care
    watch_not_set_up = "watch.not_set_up"
    watch_link_invalid = "watch.link_invalid"
    watch_alert_not_found = "watch.alert_not_found"
    watch_not_a_box = "watch.not_a_box"
    watch_consent_missing = "watch.consent_missing"
    reminder_not_found = "reminder.not_found"
    notice_gone = "reminder.notice_gone"
    # reporting, integration, platform
    stats_table_not_found = "stats.table_not_found"
    entity_not_found = "opendata.entity_not_found"
    subscription_not_found = "subscription.not_found"
    webhook_target_internal = "subscription.target_internal"  # loopback, private, link-local ...
    webhook_https_required = "subscription.https_required"  # personal data over plain http
    job_not_found = "job.not_found"
    # a field in `errors`
    field_required = "field.required"
    field_invalid = "field.invalid"
    field_unknown = "field.unknown"
    idempotency_key_required = "idempotency_key.required"
    idempotency_key_reused = "idempotency_key.reused"
    time_in_past = "time.past"
    time_not_today = "time.not_today"
    time_no_service = "time.no_service"
    time_outside_hours = "time.outside_hours"
    time_too_soon = "time.too_soon"
    time_after_last_pickup = "time.after_last_pickup"  # the ride could not end by closing time
    time_before_first_arrival = "time.before_first_arrival"  # an arrival before opening allows
    time_in_future = "time.future"
    period_reversed = "period.reversed"
    period_too_long = "period.too_long"
    report_out_of_order = "report.out_of_order"
    place_outside_area = "place.outside_area"
    place_same = "place.same"
    place_unknown = "place.unknown"
    party_too_large = "party.too_large"
    party_no_vehicle = "party.no_vehicle"
    resident_not_registered = "resident.not_registered"
    resident_not_eligible = "resident.not_eligible"
    resident_paused = "resident.paused"
    resident_ended = "resident.ended"
    resident_duplicate_suspected = "resident.duplicate_suspected"
    registration_no_taken = "resident.registration_no_taken"
    birth_date_impossible = "resident.birth_date_impossible"
    home_outside_area = "household.outside_area"
    text_nul = "request.nul"
    # issue 19: input limits and database trouble
    text_control = "request.control_character"
    body_too_large = "request.too_large"
    date_out_of_range = "date.out_of_range"
    billing_month_before_service = "billing.month_before_service"
    watch_away_too_far = "watch.away_too_far"
    hall_required = "user.hall_required"
    hall_unknown = "user.hall_unknown"
    database_unavailable = "service.database_unavailable"
    end_in_future = "resident.end_in_future"
    end_before_registration = "resident.before_registration"
    evidence_age_derived = "evidence.age_derived"
    evidence_category_unknown = "evidence.category_unknown"
    evidence_dates = "evidence.dates"
    evidence_incomplete = "evidence.incomplete"
    kana_invalid = "resident.kana_invalid"
    coordinates_invalid = "household.coordinates_invalid"
    date_unreadable = "field.date_unreadable"
    # the register file (import and export)
    import_unreadable = "import.unreadable"
    import_duplicate_row = "import.duplicate_row"
    import_household_mismatch = "import.household_mismatch"
    export_not_encodable = "export.not_encodable"
    change_keeps_rider = "ride.change_keeps_rider"
    not_a_member = "household.not_member"
    product_unknown = "product.unknown"
    product_sold_out = "product.sold_out"
    order_too_large = "order.too_large"
    pairing_code_unknown = "device.pairing_code_unknown"
    pin_format = "pin.format"
    pin_too_easy = "pin.too_easy"
    login_id_format = "login_id.format"
    login_id_taken = "login_id.taken"
    password_too_weak = "password.too_weak"
    password_wrong = "password.wrong"
    consent_in_future = "consent.in_future"
    flight_not_there = "flight.not_there"
    flight_unknown_step = "flight.unknown_step"
    checklist_unconfirmed = "flight.checklist_unconfirmed"
    membership_month_closed = "membership.month_closed"
    bank_unknown = "account.bank_unknown"
    branch_unknown = "account.branch_unknown"
    holder_not_kana = "account.holder_not_kana"
    holder_too_long = "account.holder_too_long"
    # drivers' reports flagged for the operator's review (`dispatcher.rides.field_checks`)
    field_flag_not_found = "field_flag.not_found"
    field_flag_reviewed = "field_flag.reviewed"  # somebody reviewed it already
    field_flag_decision = "field_flag.decision"  # a decision that does not fit this kind of flag
    field_flag_time_needed = "field_flag.time_needed"  # a correction without the corrected time
    field_flag_time_future = "field_flag.time_future"
    field_flag_time_order = "field_flag.time_order"  # a pickup after its drop-off, or the reverse
    field_flag_time_other_day = "field_flag.time_other_day"  # not on the ride's service day
    # a corrected time the checks of a driver's tap would flag too: a pickup long before its window,
    # a ride shorter than the drive allows
    field_flag_time_too_early = "field_flag.time_too_early"
    field_flag_time_too_soon = "field_flag.time_too_soon"


class DomainError(Exception):
    """A refused request.

    status: the HTTP status it maps to; code: what went wrong, stable (`Code`); title: short
    summary in English; detail: what happened and what to do, in English for staff; errors:
    [{"field", "message", "code"?, ...}] naming each bad field; extra: more members for the problem
    body (and the parameters of the pages' texts, e.g. `retry_after_seconds`).
    """

    status = 400
    title = "Bad request"
    code = Code.bad_request

    def __init__(
        self,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        status: int | None = None,
        title: str | None = None,
        code: Code | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        if code is not None:
            self.code = code
        self.extra = extra
        self.headers: dict[str, str] = {}  # HTTP headers the answer carries (e.g. a replayed refusal)


class InvalidRequest(DomainError):
    status = 422
    title = "Invalid request"
    code = Code.invalid_request


class NotFound(DomainError):
    status = 404
    title = "Not found"
    code = Code.not_found


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    code = Code.conflict


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    code = Code.forbidden


def field_error(field: str, message: str, code: Code | None = None, **params: str) -> dict[str, Any]:
    """One bad field: its name, what is wrong in English, and optionally a code with the parameters
    of its text (e.g. `hours="08:00–17:00"`)."""
    out: dict[str, Any] = {"field": field, "message": message}
    if code is not None:
        out["code"] = code.value
    return out | params
