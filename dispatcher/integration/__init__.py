"""Integration: partners outside the municipality. Webhook and e-mail subscriptions
(`subscriptions`), the outbox that delivers them with retries (`outbox`), its scheduled job
(`jobs`), event kinds (`kinds`) and retention step (`purge`).

May import: the flat core, `routing`, `identity` and `residents`.
"""
