"""The event kinds identity records (staff users, residents' PINs and sessions, TV boxes, family
members and their links to residents), and what of each payload outlives the retention period (see
`dispatcher.rides.kinds` for the format)."""

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
DEVICE_REMOVED = "device.removed"  # a waiting (never paired) box taken off the queue by an operator
RESIDENT_PIN_SET = "resident.pin_set"
RESIDENT_PIN_FAILED = "resident.pin_failed"
RESIDENT_PIN_LOCKED = "resident.pin_locked"
RESIDENT_SIGNED_IN = "resident.signed_in"
# family members' own sign-in (entity family_member) and their links to residents (entity family_link)
FAMILY_MEMBER_CREATED = "family.member_created"
FAMILY_MEMBER_ENDED = "family.member_ended"
FAMILY_PASSWORD_SET = "family.password_set"
FAMILY_SIGNED_IN = "family.signed_in"
FAMILY_SIGN_IN_FAILED = "family.sign_in_failed"
FAMILY_LOCKED = "family.locked"
FAMILY_LINKED = "family.linked"
FAMILY_PERMISSION_CHANGED = "family.permission_changed"
FAMILY_UNLINKED = "family.unlinked"

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
    DEVICE_REMOVED: None,
    RESIDENT_PIN_SET: None,
    RESIDENT_PIN_FAILED: None,
    RESIDENT_PIN_LOCKED: None,
    RESIDENT_SIGNED_IN: None,
    FAMILY_MEMBER_CREATED: (),  # the login id, which may be an e-mail address
    FAMILY_MEMBER_ENDED: None,  # how many links ended with it
    FAMILY_PASSWORD_SET: None,  # by whom (operator or the member), whether it unlocked
    FAMILY_SIGNED_IN: None,
    FAMILY_SIGN_IN_FAILED: None,  # the count of failures
    FAMILY_LOCKED: None,  # the count and until when
    # the consent record outlives the link: member, resident, permission, consent date and method
    FAMILY_LINKED: None,
    FAMILY_PERMISSION_CHANGED: None,
    FAMILY_UNLINKED: None,
}
