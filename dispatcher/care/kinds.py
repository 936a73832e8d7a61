"""The event kinds care records (watch-over, reminders), and what of each payload outlives the
retention period (see `dispatcher.rides.kinds` for the format)."""

from __future__ import annotations

WATCH_CONFIGURED = "watch.configured"
WATCH_AWAY = "watch.away"
WATCH_ALERTED = "watch.alerted"
WATCH_ESCALATED = "watch.escalated"
WATCH_ACKNOWLEDGED = "watch.acknowledged"
WATCH_ENDED = "watch.ended"
REMINDER_CREATED = "reminder.created"
REMINDER_REMOVED = "reminder.removed"
REMINDER_ACKNOWLEDGED = "reminder.acknowledged"

RETENTION: dict[str, tuple[str, ...] | None] = {
    # threshold, sleep hours, how many contacts, the consent's day and method (who gave and who
    # recorded it go)
    WATCH_CONFIGURED: (
        "enabled",
        "threshold_hours",
        "contacts",
        "sleep",
        "escalate_minutes",
        "why",
        "consent_on",
        "consent_method",
    ),
    WATCH_ESCALATED: None,
    WATCH_AWAY: ("away_until",),  # the reason (hospital, travel) goes
    WATCH_ALERTED: ("episode", "contacts"),  # since when the TV was silent goes
    WATCH_ACKNOWLEDGED: ("episode",),  # an operator's note goes
    WATCH_ENDED: ("episode",),  # what the TV was used for goes
    REMINDER_CREATED: ("reminder", "kind"),  # when (e.g. medication times) goes
    REMINDER_REMOVED: None,
    REMINDER_ACKNOWLEDGED: ("key",),
}
