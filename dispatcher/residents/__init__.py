"""Residents: the people a municipality registers and their households. The register
(`registry`: register, correct, move, pause, end), who may ride on a date and why (`eligibility`),
operators' notes (`notes`), favourite places (`favourites`), the event kinds (`kinds`) and the
anonymisation of people who left (`purge`).

May import: the flat core, `routing`, and `identity`.
"""
