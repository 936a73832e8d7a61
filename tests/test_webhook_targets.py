"""Issue 19: webhooks go to public addresses only, personal data over https only, and the delivery
log keeps status codes and timings, not what the target answered.

Measured before: an administrator could point a subscription at `http://127.0.0.1:5432/` or any
internal port, and the delivery log reported open or closed ports and 200 characters of the
answer; plain `http://` was accepted for manifests that carry riders' names. The partners here are
real HTTP(S) servers on loopback; the tests that deliver to them name 127.0.0.1 in the allow
setting (`webhook_allow_hosts`, NORIAI_WEBHOOK_ALLOW_HOSTS) on purpose, and the tests that show a
refusal leave it out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from dispatcher.context import Dispatcher
from dispatcher.db import alembic_config, make_engine, migrate
from dispatcher.errors import Code
from dispatcher.integration.outbox import deliver_due
from dispatcher.models import DeliveryAttempt, Event, OutboxMessage, Subscription
from dispatcher.settings import Settings
from tests.conftest import DAY_START, client_for, token_headers
from tests.live import WebhookReceiver, free_port, self_signed

COMPANY = "ina-chuo-taxi"
# Internal targets in several spellings: each must be refused when no host is allowed.
INTERNAL = [
    "http://127.0.0.1:5432/",  # the database's port, as measured
    "http://[::1]:8000/hook",
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
    "http://localhost:6379/",  # a name that resolves to loopback
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f.0.0.1/",  # ... in hex
    "http://017700000001/",  # ... in octal
    "http://127.1/",  # ... shortened
    "http://[::ffff:127.0.0.1]/",  # IPv4 inside IPv6
    "http://0.0.0.0:8000/",  # unspecified (reaches this machine)
    "http://100.64.0.1/",  # shared address space (CGNAT)
    "http://224.0.0.1/",  # multicast
    "http://[fd00::1]/",  # IPv6 unique local
    "http://[fe80::1]/",  # IPv6 link-local
]


@pytest.fixture
def admin_client(sqlite_ctx: Dispatcher) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with client_for(sqlite_ctx) as c:
        yield c, token_headers(c, "ina-demo-admin")


def _subscribe(c: TestClient, admin: dict[str, str], target: str, events: list[str], **more: str) -> object:
    return c.post(
        "/api/v1/subscriptions",
        json={"channel": "webhook", "target": target, "events": events, **more},
        headers=admin,
    )


def test_internal_targets_are_refused(
    admin_client: tuple[TestClient, dict[str, str]], sqlite_ctx: Dispatcher
) -> None:
    c, admin = admin_client
    for target in INTERNAL:
        r = _subscribe(c, admin, target, ["stats.daily"])
        assert r.status_code == 422, (target, r.status_code, r.text)
        (error,) = r.json()["errors"]
        assert error["field"] == "target" and error["code"] == Code.webhook_target_internal, (target, error)
        assert "not a public address" in error["message"] and error["message_ja"]
    with Session(sqlite_ctx.engine) as s:
        assert s.exec(select(Subscription)).all() == []
        assert s.exec(select(Event).where(Event.kind == "subscription.created")).all() == []
    # a public address (here a name that does not resolve yet: checked again at every delivery)
    assert _subscribe(c, admin, "https://partner.example/noriai", ["stats.daily"]).status_code == 201
    # the setting allows a named host, as written, and nothing else on the same machine
    sqlite_ctx.webhook_allow_hosts = Settings(
        NORIAI_WEBHOOK_ALLOW_HOSTS=" 127.0.0.1 , hooks.lan"
    ).webhook_hosts()
    assert sqlite_ctx.webhook_allow_hosts == {"127.0.0.1", "hooks.lan"}
    assert _subscribe(c, admin, "http://127.0.0.1:9/hook", ["stats.daily"]).status_code == 201
    for other in ("http://localhost:9/hook", "http://2130706433:9/hook", "http://[::1]:9/hook"):
        assert _subscribe(c, admin, other, ["stats.daily"]).status_code == 422, other


def test_personal_data_needs_https(admin_client: tuple[TestClient, dict[str, str]]) -> None:
    """Manifests name riders: an http:// subscription for them is refused, https:// is accepted.
    Events without personal data (statistics: aggregates) may use http://."""
    c, admin = admin_client
    r = _subscribe(c, admin, "http://partner.example/noriai", ["manifest.published"], operator=COMPANY)
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert error["field"] == "target" and error["code"] == Code.webhook_https_required
    assert "https://" in error["message_ja"]
    ok = _subscribe(c, admin, "https://partner.example/noriai", ["manifest.published"], operator=COMPANY)
    assert ok.status_code == 201, ok.text
    assert _subscribe(c, admin, "http://partner.example/stats", ["stats.daily"]).status_code == 201


def _stored_subscription(ctx: Dispatcher, target: str, events: list[str]) -> int:
    """A subscription as an older version stored it (no check at creation then)."""
    with Session(ctx.engine) as s:
        sub = Subscription(
            tenant_id="ina-demo",
            channel="webhook",
            target=target,
            events=events,
            secret="s" * 64,
            created_at=DAY_START,
        )
        s.add(sub)
        s.commit()
        assert sub.id is not None
        return sub.id


def _queue(ctx: Dispatcher, sub_id: int, event_type: str) -> int:
    with Session(ctx.engine) as s:
        msg = OutboxMessage(
            tenant_id="ina-demo",
            subscription_id=sub_id,
            event_type=event_type,
            event_id=uuid.uuid4().hex,
            payload={"manifest": {"stops": [{"rider": "伊那 花子"}]}}
            if event_type.startswith("manifest")
            else {},
            created_at=ctx.clock.now(),
            next_attempt_at=ctx.clock.now(),
        )
        s.add(msg)
        s.commit()
        assert msg.id is not None
        return msg.id


def _tries(ctx: Dispatcher, msg_id: int) -> list[DeliveryAttempt]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(DeliveryAttempt).where(DeliveryAttempt.message_id == msg_id)))


def test_every_delivery_checks_the_address_again(sqlite_ctx: Dispatcher) -> None:
    """A name checked at creation may resolve to an internal address later (DNS rebinding), and
    older subscriptions were never checked: each try resolves the name and refuses a non-public
    address before connecting. Naming the host in the allow setting lets it through."""
    ctx = sqlite_ctx
    with WebhookReceiver() as partner:
        port = partner.server.server_address[1]
        for target in (f"http://localhost:{port}/noriai", f"http://2130706433:{port}/noriai", partner.url):
            msg = _queue(ctx, _stored_subscription(ctx, target, ["stats.daily"]), "stats.daily")
            deliver_due(ctx)
            (attempt,) = _tries(ctx, msg)
            assert attempt.status_code is None and attempt.error.startswith("refused: "), attempt.error
            assert "not a public address (loopback)" in attempt.error
        assert partner.requests == []
        ctx.webhook_allow_hosts = frozenset({"localhost"})  # (the refused tries wait for their retry)
        msg = _queue(
            ctx, _stored_subscription(ctx, f"http://localhost:{port}/noriai", ["stats.daily"]), "stats.daily"
        )
        deliver_due(ctx)
        assert [a.status_code for a in _tries(ctx, msg)] == [200] and len(partner.requests) == 1


def test_personal_data_is_not_sent_over_plain_http(sqlite_ctx: Dispatcher, tmp_path: Path) -> None:
    """An older http:// subscription for manifests gets no manifest (the try is refused and
    logged); over https the same partner gets it."""
    ctx = sqlite_ctx
    ctx.webhook_allow_hosts = frozenset({"127.0.0.1"})
    cert, key = self_signed(tmp_path)
    ctx.webhook_ca_file = str(cert)
    with WebhookReceiver() as plain, WebhookReceiver(tls=(cert, key)) as secure:
        msg = _queue(ctx, _stored_subscription(ctx, plain.url, ["manifest.published"]), "manifest.published")
        deliver_due(ctx)
        (attempt,) = _tries(ctx, msg)
        assert attempt.error.startswith("refused: manifest.published carries personal data")
        assert plain.requests == []
        msg = _queue(ctx, _stored_subscription(ctx, secure.url, ["manifest.published"]), "manifest.published")
        deliver_due(ctx)
        assert [a.status_code for a in _tries(ctx, msg)] == [200]
        assert "伊那 花子".encode() in secure.requests[0][1]


def test_the_delivery_log_keeps_status_codes_and_timings_not_bodies(
    admin_client: tuple[TestClient, dict[str, str]], sqlite_ctx: Dispatcher
) -> None:
    c, admin = admin_client
    ctx = sqlite_ctx
    ctx.webhook_allow_hosts = frozenset({"127.0.0.1"})
    banner = b"PostgreSQL 16.2 internal-banner SECRET-7731"
    with WebhookReceiver(status=500, body=banner) as talker:
        sub = _subscribe(c, admin, talker.url, ["stats.daily"]).json()
        closed = _subscribe(c, admin, f"http://127.0.0.1:{free_port()}/x", ["stats.daily"]).json()
        for s in (sub, closed):
            assert c.post(f"/api/v1/subscriptions/{s['id']}/ping", headers=admin).status_code == 202
        deliver_due(ctx)
        assert len(talker.requests) == 1
    (answered,) = c.get(f"/api/v1/subscriptions/{sub['id']}/deliveries", headers=admin).json()
    (attempt,) = answered["attempts"]
    assert attempt["status_code"] == 500 and attempt["error"] == "HTTP 500" and attempt["duration_ms"] > 0
    (refused,) = c.get(f"/api/v1/subscriptions/{closed['id']}/deliveries", headers=admin).json()
    assert refused["attempts"][0]["status_code"] is None
    assert refused["attempts"][0]["error"] == "ConnectError"  # not the system's "Connection refused"
    with Session(ctx.engine) as s:
        stored = [a.error for a in s.exec(select(DeliveryAttempt))] + [
            m.last_error for m in s.exec(select(OutboxMessage))
        ]
    assert not [e for e in stored if "SECRET" in e or "Errno" in e or "refused" in e.lower()], stored


TENANT_ROW = text(
    "INSERT INTO tenant (id, name, municipality_code, config, lock_seq, created_at) "
    "VALUES ('t', 'T', '202096', '{}', 0, '2026-11-24 00:00:00')"
)


def test_the_migration_clears_stored_bodies(db_url: str) -> None:
    """Tries logged before 0015e kept up to 200 characters of the answer and the system's words
    for a failed connection; the migration leaves only `HTTP <status>` and the kind of failure."""
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0014")
    with engine.begin() as c:
        c.execute(TENANT_ROW)
        c.execute(
            text(
                "INSERT INTO subscription (tenant_id, channel, target, events, secret, description, "
                "active, created_at, created_by) VALUES ('t', 'webhook', 'http://127.0.0.1:5432/', '[]', "
                "'s', '', true, '2026-11-24 00:00:00', 'x')"
            )
        )
        for n, error in enumerate(
            (
                "HTTP 500: SECRET body of the answer",
                "ConnectError: [Errno 111] Connection refused",
                "",
                "HTTP 404",
            )
        ):
            c.execute(
                text(
                    "INSERT INTO outbox_message (tenant_id, subscription_id, recipient, event_type, "
                    "event_id, payload, created_at, status, attempts, last_error) VALUES ('t', 1, '', "
                    "'ping', :eid, '{}', '2026-11-24 00:00:00', 'failed', 1, :e)"
                ),
                {"eid": f"e{n}", "e": error},
            )
            c.execute(
                text(
                    "INSERT INTO delivery_attempt (message_id, at, number, status_code, error, duration_ms) "
                    "VALUES (:m, '2026-11-24 00:00:00', 1, NULL, :e, 1.5)"
                ),
                {"m": n + 1, "e": error},
            )
    migrate(engine)
    with engine.connect() as c:
        tries = c.execute(text("SELECT error FROM delivery_attempt ORDER BY id")).scalars().all()
        last = c.execute(text("SELECT last_error FROM outbox_message ORDER BY id")).scalars().all()
    assert tries == last == ["HTTP 500", "ConnectError", "", "HTTP 404"]
    engine.dispose()
