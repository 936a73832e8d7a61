"""The domain: state, rules, orchestration, persistence, the scheduler.

A small flat core (clock, context, db, errors, events, exports, jobs, mailer, models, settings,
tenant_config, tenants, timeline, zengin) under one room per bounded context. LAYERS lists the
rooms from the bottom up: a room may import the core, `routing` and the rooms below it, never one
above it; the core imports no room. `tests/test_layers.py` keeps this, and `docs/design.md` says it
in words.
"""

LAYERS = (
    "identity",
    "residents",
    "integration",
    "rides",
    "shopping",
    "billing",
    "care",
    "reporting",
    "channels",
    "platform",
)
