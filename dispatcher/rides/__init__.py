"""Rides: the shared taxi. Booking and quotes (`booking`), the live plan and its routing problem
(`plan`), the shared steps of a ride's life (`lifecycle`), cancellation (`cancellation`), drivers'
reports (`field_events`), manifests (`manifests`), re-optimization with a typed result
(`reoptimize`) and its status on the board (`optimizer_status`), ground freight jobs (`freight`),
the fare rule in words and what a cancellation costs (`fares`) and the hook through which another
context handles a ride's cargo (`cargo`); the re-optimization job (`jobs`), event kinds (`kinds`)
and retention step (`purge`).

May import: the flat core, `routing`, `identity`, `residents` and `integration`. Never `shopping`:
freight's groceries are handled by the cargo handler shopping registers (`rides.cargo`).
"""
