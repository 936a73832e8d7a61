"""Reporting: statistics from the event log (`stats`), the nightly figures of closed days
(`daily_stats`), the municipality's dashboard (`dashboard`), open data (`opendata`); the nightly
statistics job (`jobs`) and the retention step that keeps the figures of purged days (`purge`).

May import: the flat core, `routing`, and every room below it: `identity`, `residents`,
`integration`, `rides`, `shopping`, `billing`, `care`.
"""
