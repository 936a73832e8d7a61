"""Platform: what runs the service as a whole. Building a dispatcher from the settings
(`bootstrap`), the scheduler's runner that collects every room's jobs (`scheduler`), the retention
purge's horizon and order over every room's purge step (`retention`), backups (`backup`), applying
a changed tenant file to a running deployment (`tenant_apply`), ending a registration with what
hangs on it across rooms (`offboarding`) and the demo municipalities (`demo`, with their tenant
files in `demo_towns/`).

May import: anything in `dispatcher` and `routing`. Nothing in `dispatcher` imports it, except
through the entry points in `api` and `simulations`.
"""
