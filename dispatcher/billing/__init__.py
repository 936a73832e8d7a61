"""Billing through the cable-TV company: monthly statements, settlements, adjustments, accounts and
the collection files (`statements`); the month-closing job (`jobs`), event kinds (`kinds`) and
retention step (`purge`).

May import: the flat core, `routing`, `identity`, `residents`, `integration`, `rides` and
`shopping` (their public functions and event kinds).
"""
