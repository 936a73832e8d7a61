"""The event kinds identity records (staff users, residents' PINs and sessions, TV boxes), and what
of each payload outlives the retention period (see `dispatcher.rides.kinds` for the format)."""

from __future__ import annotations

USER_CREATED = "user.created"
USER_SIGNED_IN = "user.signed_in"
USER_SIGNED_OUT = "user.signed_out"
USER_SIGN_IN_FAILED = "user.sign_in_failed"
USER_TOKENS_REVOKED = "user.tokens_revoked"
USER_UNLOCKED = "user.unlocked"
DEVICE_REGISTERED = "device.registered"
DEVICE_PAIRED = "device.paired"
DEVICE_REVOKED = "device.revoked"
RESIDENT_PIN_SET = "resident.pin_set"
RESIDENT_PIN_FAILED = "resident.pin_failed"
RESIDENT_PIN_LOCKED = "resident.pin_locked"
RESIDENT_SIGNED_IN = "resident.signed_in"

RETENTION: dict[str, tuple[str, ...] | None] = {
    USER_CREATED: None,
    USER_SIGNED_IN: None,
    USER_SIGNED_OUT: None,
    USER_SIGN_IN_FAILED: None,
    USER_TOKENS_REVOKED: None,
    USER_UNLOCKED: None,
    DEVICE_REGISTERED: None,
    DEVICE_PAIRED: None,
    DEVICE_REVOKED: None,
    RESIDENT_PIN_SET: None,
    RESIDENT_PIN_FAILED: None,
    RESIDENT_PIN_LOCKED: None,
    RESIDENT_SIGNED_IN: None,
}
