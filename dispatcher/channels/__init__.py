"""Channels: what each person sees. The operators' board (`board`), the residents' TV and phone
view (`resident_view`), publishing manifests and flight plans to partners (`publishing`) and the
publishing jobs (`jobs`).

May import: the flat core, `routing`, and every room below it (up to `reporting`).
"""
