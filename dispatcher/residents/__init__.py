"""Residents: the people a municipality registers and their households; operators' notes about
them (`notes`), the event kinds (`kinds`) and the anonymisation of people who left (`purge`).

May import: the flat core, `routing`, and `identity`.
"""
