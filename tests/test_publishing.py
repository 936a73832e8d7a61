"""Issue 7, acceptance 4 and the publishing timeline, against real partners on loopback.

A webhook receiver verifies every delivery's HMAC-SHA256 signature with the secret it was given;
manifests go out in the morning and again only when they really change (a cancellation, not a
drift in planned times), and only to the taxi company whose vehicles they are. A failing receiver
gets retries with backoff until it recovers, and the delivery log shows every try; a partner that
never answers is given up after MAX_ATTEMPTS. A taxi company without our pages gets its manifests
by e-mail (a real SMTP server, aiosmtpd) as CSV: in the morning, and after a change at most every
15 minutes."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from dispatcher.channels.publishing import publish
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.integration.outbox import BACKOFF_S, MAX_ATTEMPTS, verify
from dispatcher.mailer import MailSettings
from dispatcher.platform.scheduler import run_due, run_now
from tests.conftest import DAY_START, client_for, token_headers
from tests.live import MailBox, WebhookReceiver, free_port, self_signed
from tests.test_api_rides import at, eligible_resident, post_ride, ride_body

COMPANY = "ina-chuo-taxi"


def _book_morning(client: TestClient, ctx: Dispatcher, operator: dict[str, str]) -> list[dict]:
    """Six rides booked before service starts, for the morning."""
    places = ["central-hospital", "super-ina", "city-hall", "inashi-station", "misuzu-clinic", "eye-clinic"]
    halls = ["hall-tera", "hall-misuzu", "hall-nishiminowa", "hall-tomigata", "hall-tera", "hall-misuzu"]
    rides = []
    for k, (hall, place) in enumerate(zip(halls, places, strict=True)):
        body = ride_body(
            eligible_resident(ctx, offset=k),
            origin={"place_id": hall},
            destination={"place_id": place},
            pickup_after=at(f"{9 + k // 3:02d}:{(k % 3) * 20:02d}"),
        )
        r = post_ride(client, operator, body)
        assert r.status_code == 201, r.text
        rides.append(r.json())
    return rides


def _company_vehicles(client: TestClient, operator: dict[str, str]) -> set[int]:
    return {
        v["id"] for v in client.get("/api/v1/vehicles", headers=operator).json() if v["operator"] == COMPANY
    }


def test_signed_webhooks_change_publication_retries_and_log(
    client: TestClient, ctx: Dispatcher, clock: SimClock, tmp_path: Path
) -> None:
    admin = token_headers(client, "ina-demo-admin")
    operator = token_headers(client, "ina-demo-operator")
    # The partners here listen on loopback, which webhooks refuse unless the host is allowed
    # (NORIAI_WEBHOOK_ALLOW_HOSTS); manifests name riders, so their partner speaks https with a
    # certificate of its own CA (NORIAI_WEBHOOK_CA_FILE).
    ctx.webhook_allow_hosts = frozenset({"127.0.0.1"})
    cert, key = self_signed(tmp_path)
    ctx.webhook_ca_file = str(cert)
    with WebhookReceiver(tls=(cert, key)) as partner, WebhookReceiver(status=500) as flaky:
        # Manifests name riders: a subscription for them must say which taxi company it serves.
        r = client.post(
            "/api/v1/subscriptions",
            json={"channel": "webhook", "target": partner.url, "events": ["manifest.published"]},
            headers=admin,
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "operator"
        bad = {"channel": "webhook", "target": "ftp://x", "events": ["nope"]}
        r = client.post("/api/v1/subscriptions", json=bad, headers=admin)
        assert {e["field"] for e in r.json()["errors"]} == {"target", "events"}
        assert client.post("/api/v1/subscriptions", json=bad, headers=operator).status_code == 403
        sub = client.post(
            "/api/v1/subscriptions",
            json={
                "channel": "webhook",
                "target": partner.url,
                "operator": COMPANY,
                "events": ["manifest.published", "flightplan.published"],
            },
            headers=admin,
        ).json()
        secret = sub["secret"]
        stats_sub = client.post(
            "/api/v1/subscriptions",
            json={"channel": "webhook", "target": flaky.url, "events": ["stats.daily"]},
            headers=admin,
        ).json()
        assert "secret" not in client.get("/api/v1/subscriptions", headers=admin).json()[0]

        clock.set(DAY_START.replace(hour=7))
        rides = _book_morning(client, ctx, operator)
        run_due(ctx)
        clock.set(DAY_START.replace(hour=7, minute=30, second=5))
        run_due(ctx)  # the morning publication, then the outbox round delivers it

        mine = _company_vehicles(client, operator)
        assert len(partner.requests) == len(mine)  # one manifest per company vehicle, no one else's
        for headers, body in partner.requests:
            assert verify(secret, body, headers["noriai-signature"], now_unix=time.time())  # fresh
            assert not verify(
                secret, body, headers["noriai-signature"], now_unix=time.time() + 600
            )  # replayed
            assert not verify("not-the-secret", body, headers["noriai-signature"])
            assert not verify(secret, body.replace(b"manifest", b"Manifest", 1), headers["noriai-signature"])
            event = json.loads(body)
            assert event["type"] == headers["noriai-event"] == "manifest.published"
            assert event["data"]["reason"] == "morning" and event["data"]["vehicle"]["operator"] == COMPANY
        published = {
            json.loads(b)["data"]["vehicle"]["id"]: json.loads(b)["data"]["manifest"]
            for _h, b in partner.requests
        }
        ours = [r for r in rides if r["vehicle_id"] in mine]
        assert ours, "the company should carry some of the morning's rides"
        for ride in ours:
            stops = published[ride["vehicle_id"]]["stops"]
            assert any(s["ride_id"] == ride["id"] and s["rider"] for s in stops)  # the company sees who

        # Nothing changed: nothing is published again.
        clock.advance(timedelta(minutes=1))
        run_due(ctx)
        assert len(partner.requests) == len(mine)
        # A cancellation changes one company vehicle's manifest: that one is published again.
        victim = ours[0]
        client.post(f"/api/v1/rides/{victim['id']}/cancel", json={"reason": "入院"}, headers=operator)
        clock.advance(timedelta(minutes=1))
        run_due(ctx)
        assert len(partner.requests) == len(mine) + 1
        changed = json.loads(partner.requests[-1][1])["data"]
        assert changed["reason"] == "changed" and changed["vehicle"]["id"] == victim["vehicle_id"]
        assert all(s["ride_id"] != victim["id"] for s in changed["manifest"]["stops"])

        # A driver working the plan is no change of it: picking up a rider publishes nothing.
        vid = ours[-1]["vehicle_id"]
        driver = token_headers(client, f"ina-demo-driver-{COMPANY}")
        stop = next(s for s in client.get(f"/api/v1/vehicles/{vid}/manifest", headers=driver).json()["stops"])
        clock.set(datetime.fromisoformat(stop["planned_time"]))
        for step in ("arrived", "picked_up"):
            r = client.post(
                f"/api/v1/vehicles/{vid}/events",
                json={"type": step, "ride_id": stop["ride_id"]},
                headers=driver,
            )
            assert r.status_code == 200, r.text
        assert publish(ctx, "ina-demo", DAY_START.date(), "changed")["manifests"] == []

        # Statistics to a partner whose server fails: retried after 30 s, 1 min, 2 min ... (the
        # outbox round runs every 30 s); it recovers after the third try.
        run_now(ctx, "ina-demo", "statistics")
        for _ in range(60):  # 15 minutes in 15-second ticks
            clock.advance(timedelta(seconds=15))
            run_due(ctx, ("outbox",))
            if len(flaky.requests) == 3:
                flaky.status = 200
        assert [json.loads(b)["type"] for _h, b in flaky.requests] == ["stats.daily"] * 4
        assert all(verify(stats_sub["secret"], b, h["noriai-signature"]) for h, b in flaky.requests)
        assert len({h["noriai-delivery"] for h, _b in flaky.requests}) == 1  # one message, four tries
        log = client.get(f"/api/v1/subscriptions/{stats_sub['id']}/deliveries", headers=admin).json()
        assert len(log) == 1 and log[0]["status"] == "delivered"
        tries = log[0]["attempts"]
        assert [a["status_code"] for a in tries] == [500, 500, 500, 200]
        times = [datetime.fromisoformat(a["at"]) for a in tries]
        for wait, a, b in zip(BACKOFF_S, times, times[1:], strict=False):
            assert wait <= (b - a).total_seconds() <= wait + 30

        # A partner that never answers: every try is logged and it is given up after MAX_ATTEMPTS.
        gone = client.post(
            "/api/v1/subscriptions",
            json={
                "channel": "webhook",
                "target": f"http://127.0.0.1:{free_port()}/x",
                "events": ["stats.daily"],
            },
            headers=admin,
        ).json()
        assert client.post(f"/api/v1/subscriptions/{gone['id']}/ping", headers=admin).status_code == 202
        for k in range(MAX_ATTEMPTS + 2):
            run_due(ctx, ("outbox",))
            clock.advance(timedelta(seconds=BACKOFF_S[min(k, len(BACKOFF_S) - 1)] + 1))
        log = client.get(f"/api/v1/subscriptions/{gone['id']}/deliveries", headers=admin).json()
        assert log[0]["status"] == "failed" and len(log[0]["attempts"]) == MAX_ATTEMPTS
        assert all(a["status_code"] is None and "Connect" in a["error"] for a in log[0]["attempts"])


def test_manifests_by_email_as_csv(sqlite_ctx: Dispatcher, clock: SimClock) -> None:
    ctx = sqlite_ctx
    with MailBox() as box, client_for(ctx) as c:
        ctx.mail = MailSettings(host="127.0.0.1", port=box.port, sender="noriai@ina.example")
        admin = token_headers(c, "ina-demo-admin")
        operator = token_headers(c, "ina-demo-operator")
        r = c.post(
            "/api/v1/subscriptions",
            json={
                "channel": "email",
                "target": "office@chuo-taxi.example",
                "operator": COMPANY,
                "events": ["manifest.published"],
            },
            headers=admin,
        )
        assert r.status_code == 201 and "secret" not in r.json()
        clock.set(DAY_START.replace(hour=7))
        rides = _book_morning(c, ctx, operator)
        run_due(ctx)
        clock.set(DAY_START.replace(hour=7, minute=30, second=5))
        run_due(ctx)
        assert len(box.messages) == 1
        msg = box.messages[0]
        assert msg["To"] == "office@chuo-taxi.example" and "11月24日の運行表" in msg["Subject"]
        mine = _company_vehicles(c, operator)
        names = {v["id"]: v["name"] for v in c.get("/api/v1/vehicles", headers=operator).json()}
        (attachment,) = list(msg.iter_attachments())
        rows = list(csv.DictReader(io.StringIO(attachment.get_content().lstrip("\ufeff"))))
        assert {row["車両"] for row in rows} <= {names[v] for v in mine}
        ours = [r for r in rides if r["vehicle_id"] in mine]
        assert len(rows) == 2 * len(ours) and all(row["利用者"] for row in rows)

        # A change: the e-mail waits until 15 minutes after the last one, then carries the news.
        c.post(f"/api/v1/rides/{ours[0]['id']}/cancel", json={"reason": "入院"}, headers=operator)
        for minutes in (1, 5, 10):
            clock.set(DAY_START.replace(hour=7, minute=30 + minutes, second=5))
            run_due(ctx)
        assert len(box.messages) == 1
        clock.set(DAY_START.replace(hour=7, minute=46, second=5))
        run_due(ctx)
        clock.advance(timedelta(seconds=30))
        run_due(ctx)
        assert len(box.messages) == 2 and "（変更）" in box.messages[1]["Subject"]
        (attachment,) = list(box.messages[1].iter_attachments())
        assert len(list(csv.DictReader(io.StringIO(attachment.get_content().lstrip("\ufeff"))))) == 2 * (
            len(ours) - 1
        )
        # Nothing new, even long after: nothing sent (publishing alone here, so that the 08:00
        # re-optimization cannot change the plan meanwhile).
        clock.advance(timedelta(minutes=20))
        assert publish(ctx, "ina-demo", DAY_START.date(), "changed")["emails"] == 0
        run_due(ctx, ("outbox",))
        assert len(box.messages) == 2
