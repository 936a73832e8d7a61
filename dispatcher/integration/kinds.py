"""The event kinds integration records (partners' subscriptions), and what of each payload
outlives the retention period (see `dispatcher.rides.kinds` for the format)."""

from __future__ import annotations

SUBSCRIPTION_CREATED = "subscription.created"
SUBSCRIPTION_DEACTIVATED = "subscription.deactivated"

RETENTION: dict[str, tuple[str, ...] | None] = {
    SUBSCRIPTION_CREATED: None,
    SUBSCRIPTION_DEACTIVATED: None,
}
