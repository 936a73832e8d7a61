"""The event kinds billing records, and what of each payload outlives the retention period (see
`dispatcher.rides.kinds` for the format)."""

from __future__ import annotations

BILLING_CLOSED = "billing.closed"
BILLING_ADJUSTED = "billing.adjusted"
BILLING_ACCOUNT_SET = "billing.account_set"

RETENTION: dict[str, tuple[str, ...] | None] = {
    BILLING_CLOSED: None,
    BILLING_ADJUSTED: None,  # an accounting record
    BILLING_ACCOUNT_SET: ("bank_code", "branch_code"),  # the customer number goes
}
