"""Issue 8, acceptance 3: the watch-over with a real SMTP server (aiosmtpd). One silence of a TV is
one e-mail to the family (not one per check), none while the household is away or asleep; an
alert nobody acknowledges reaches the operators' console (Chromium), the family's link
acknowledges, and the TV being used again ends the episode."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.mailer import MailSettings
from dispatcher.models import Event, Household, WatchEpisode
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.platform.scheduler import run_due
from tests.conftest import DAY_START, client_for, token_headers
from tests.live import MailBox, Server, launch, shot, text_styles

MONDAY = DAY_START.replace(day=23, hour=9)  # 2026-11-23 09:00


def _households(ctx: Dispatcher, n: int) -> list[int]:
    with Session(ctx.engine) as s:
        return [h.id for h in s.exec(select(Household).order_by(Household.id)).all()[:n]]


def _box(client: TestClient, operator: dict[str, str], household: int) -> dict[str, str]:
    """A set-top box paired to the household: its bearer header."""
    box = client.post("/api/v1/tv/devices", json={}).json()
    r = client.post(
        "/api/v1/devices/pair", json={"code": box["code"], "household_id": household}, headers=operator
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {box['token']}"}


def _watch(
    client: TestClient, operator: dict[str, str], household: int, email: str | None, **rules: object
) -> None:
    contacts = [{"name": "伊藤 花子", "email": email, "relation": "長女"}] if email else []
    consent = {"on": "2026-11-20", "method": "written", "given_by": "伊藤 太郎"}
    r = client.put(
        f"/api/v1/households/{household}/watch",
        json={"contacts": contacts, "consent": consent, **rules},
        headers=operator,
    )
    assert r.status_code == 200, r.text


def _step(ctx: Dispatcher, clock: SimClock, until: datetime, minutes: int = 30) -> None:
    while clock.now() < until:
        clock.advance(timedelta(minutes=minutes))
        run_due(ctx)


def test_one_silence_one_email_none_away_or_asleep_then_escalation(
    client: TestClient, ctx: Dispatcher, clock: SimClock
) -> None:
    a, away, night = _households(ctx, 3)
    with MailBox() as box:
        ctx.mail = MailSettings(host="127.0.0.1", port=box.port, sender="mimamori@ina.example")
        ctx.public_url = "http://noriai.test"
        clock.set(MONDAY)
        operator = token_headers(client, "ina-demo-operator")
        bad = client.put(f"/api/v1/households/{a}/watch", json={"contacts": []}, headers=operator)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "contacts"
        _watch(client, operator, a, "hanako@family.example")
        _watch(client, operator, away, "away@family.example")
        _watch(client, operator, night, "night@family.example", threshold_hours=12)
        boxes = {hh: _box(client, operator, hh) for hh in (a, away, night)}
        for hh in (a, away):
            r = client.post("/api/v1/tv/activity", json={"kind": "power_on"}, headers=boxes[hh])
            assert r.status_code == 202 and r.json() == {"kept": True}
        r = client.put(
            f"/api/v1/households/{away}/watch/away",
            json={"until": (MONDAY + timedelta(days=3)).isoformat(), "reason": "入院"},
            headers=operator,
        )
        assert r.status_code == 200
        run_due(ctx)
        clock.set(MONDAY.replace(hour=10))  # the third household's TV was last used at 10:00
        client.post("/api/v1/tv/activity", json={"kind": "channel"}, headers=boxes[night])
        run_due(ctx)

        # Checked every 30 minutes from Monday 10:00. The 12-hour household was silent from 10:00;
        # 12 h later, 22:00, is its sleep time (21:00-07:00): nothing goes out in the night.
        _step(ctx, clock, MONDAY + timedelta(hours=21, minutes=30))  # Tuesday 06:30
        assert box.messages == []
        _step(ctx, clock, MONDAY + timedelta(hours=22, minutes=30))  # Tuesday 07:30
        assert [m["To"] for m in box.messages] == ["night@family.example"]
        with Session(ctx.engine) as s:
            ep_night = s.exec(select(WatchEpisode).where(WatchEpisode.household_id == night)).one()
        assert ep_night.alerted_at == MONDAY + timedelta(hours=22)  # at 07:00, in the morning
        # Household a: 24 hours after Monday 09:00, once; the away household: never.
        _step(ctx, clock, MONDAY + timedelta(days=1, hours=3))  # Tuesday 12:00
        assert [m["To"] for m in box.messages] == ["night@family.example", "hanako@family.example"]
        msg = box.messages[1]
        assert "24時間つかわれていません" in msg["Subject"]
        body = msg.get_content()
        assert "11月23日 09:00" in body and "0265-00-0000" in body  # when it was last used, whom to call
        link = re.search(r"http://noriai\.test/t/ina-demo/watch/ack/\S+", body).group(0)
        with Session(ctx.engine) as s:
            (ep,) = s.exec(select(WatchEpisode).where(WatchEpisode.household_id == a)).all()
        assert ep.alerted_at == MONDAY + timedelta(days=1)  # on the first check after 24 h
        assert ep.escalated_at == ep.alerted_at + timedelta(hours=2)  # nobody acknowledged within 120 min
        board = client.get("/api/v1/board", headers=token_headers(client, "ina-demo-operator")).json()
        (alert,) = [w for w in board["watch"] if w["household_id"] == a]
        assert (
            alert["escalated"] and not alert["acknowledged"] and alert["contacts"][0]["name"] == "伊藤 花子"
        )
        _step(ctx, clock, MONDAY + timedelta(days=1, hours=8))  # hours more of silence: no more e-mail
        assert len(box.messages) == 2

        # The family's link: a page with one button; pressing it acknowledges.
        path = link.removeprefix("http://noriai.test")
        page = client.get(path)
        assert page.status_code == 200 and "確認しました" in page.text
        assert client.get(path).status_code == 200  # opening it (a mail scanner) changes nothing
        with Session(ctx.engine) as s:
            assert s.get(WatchEpisode, ep.id).acknowledged_at is None
        done = client.post(path)
        assert done.status_code == 200 and "ありがとうございました" in done.text
        assert client.post("/watch/ack/not-a-token").status_code == 404
        board = client.get("/api/v1/board", headers=token_headers(client, "ina-demo-operator")).json()
        assert [w["acknowledged"] for w in board["watch"] if w["household_id"] == a] == [True]
        # The TV is used again: the episode ends and the next silence is a new one.
        client.post("/api/v1/tv/activity", json={"kind": "power_on"}, headers=boxes[a])
        board = client.get("/api/v1/board", headers=token_headers(client, "ina-demo-operator")).json()
        assert not [w for w in board["watch"] if w["household_id"] == a]
        with Session(ctx.engine) as s:
            kinds = [e.kind for e in s.exec(select(Event).where(Event.kind.startswith("watch.")))]
        assert {
            "watch.configured",
            "watch.away",
            "watch.alerted",
            "watch.escalated",
            "watch.acknowledged",
            "watch.ended",
        } <= set(kinds)


def test_the_console_shows_an_unanswered_alert(sqlite_ctx: Dispatcher, clock: SimClock) -> None:
    ctx = sqlite_ctx
    (hh,) = _households(ctx, 1)
    with MailBox() as box, client_for(ctx) as client:
        ctx.mail = MailSettings(host="127.0.0.1", port=box.port)
        clock.set(MONDAY)
        operator = token_headers(client, "ina-demo-operator")
        _watch(client, operator, hh, "hanako@family.example", threshold_hours=1, escalate_minutes=10)
        client.post("/api/v1/tv/activity", json={"kind": "power_on"}, headers=_box(client, operator, hh))
        run_due(ctx)
        _step(
            ctx, clock, MONDAY + timedelta(hours=1, minutes=20), minutes=5
        )  # alerted 10:00, escalated 10:10
        assert len(box.messages) == 1
    with Server(ctx) as base, sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"{base}/operator")
        page.fill("#login-user", "ina-demo-operator")
        page.fill("#login-pass", DEMO_PASSWORD)
        page.click("#login-submit")
        banner = page.locator("#watch-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("ご家族から返事がありません（1件）")
        assert all(s["ratio"] >= 4.5 for s in text_styles(page))
        shot(page, "watch", "console-banner")
        page.click("#watch-banner-open")
        item = page.locator("#watch-list li").first
        expect(item).to_contain_text("ご家族から返事なし")
        expect(item).to_contain_text("伊藤 花子（長女）")
        shot(page, "watch", "console-board")
        page.click("[data-id^='watch-ack-']")
        expect(banner).to_be_hidden()
        browser.close()
    with Session(ctx.engine) as s:
        assert s.exec(select(WatchEpisode)).one().acknowledged_by == "user:ina-demo-operator"


def test_acknowledged_away_stale_and_opted_out(sqlite_ctx: Dispatcher, clock: SimClock) -> None:
    """An alert acknowledged in time is not escalated; a late report of older viewing neither ends
    the episode nor brings a second e-mail; going away answers an open alert; opting out clears it."""
    ctx = sqlite_ctx
    first, second, third = _households(ctx, 3)
    with MailBox() as box, client_for(ctx) as client:
        ctx.mail = MailSettings(host="127.0.0.1", port=box.port)
        clock.set(MONDAY)
        operator = token_headers(client, "ina-demo-operator")
        boxes = {}
        for hh in (first, second, third):
            _watch(
                client, operator, hh, f"family-{hh}@family.example", threshold_hours=1, escalate_minutes=30
            )
            boxes[hh] = _box(client, operator, hh)
            client.post("/api/v1/tv/activity", json={"kind": "power_on"}, headers=boxes[hh])
        run_due(ctx)
        _step(ctx, clock, MONDAY + timedelta(hours=1, minutes=5), minutes=5)  # all three alerted at 10:00
        assert len(box.messages) == 3
        # first: the family acknowledges at 10:10, before the escalation at 10:30
        ack = re.search(
            r"/watch/ack/\S+",
            next(m for m in box.messages if m["To"] == f"family-{first}@family.example").get_content(),
        )
        assert client.post(ack.group(0)).status_code == 200
        # second: a report of viewing from 09:30 arrives late: the silence goes on, no new e-mail
        late = {"kind": "channel", "at": (MONDAY - timedelta(minutes=30)).isoformat()}
        assert client.post("/api/v1/tv/activity", json=late, headers=boxes[second]).json() == {"kept": True}
        # third: the family says they are away (hospital) until Thursday
        away = {"until": (MONDAY + timedelta(days=3)).isoformat(), "reason": "入院"}
        assert client.put("/api/v1/me/watch/away", json=away, headers=boxes[third]).status_code == 200
        _step(ctx, clock, MONDAY + timedelta(hours=3), minutes=5)
        alerts = {
            a["household_id"]: a
            for a in client.get(
                "/api/v1/watch/alerts", headers=token_headers(client, "ina-demo-operator")
            ).json()
        }
        assert alerts[first]["acknowledged"] and not alerts[first]["escalated"]
        assert alerts[second]["escalated"]  # still silent: the operators are told
        assert third not in alerts  # answered by going away
        assert len(box.messages) == 3  # one e-mail per silence, the late report changed nothing
        # opting out clears the household's alert from the console
        r = client.put(
            f"/api/v1/households/{second}/watch",
            json={"enabled": False},
            headers=token_headers(client, "ina-demo-operator"),
        )
        assert r.status_code == 200
        assert second not in {
            a["household_id"]
            for a in client.get(
                "/api/v1/watch/alerts", headers=token_headers(client, "ina-demo-operator")
            ).json()
        }
        # a phone cannot report viewing: only the household's box can
        from dispatcher.identity.pins import set_pin
        from dispatcher.models import Resident

        with Session(ctx.engine) as s:
            rid = s.exec(select(Resident.id).where(Resident.household_id == first)).first()
            set_pin(s, "ina-demo", rid, "2468", clock.now(), "test")
            s.commit()
        phone = client.post("/api/v1/m/session", json={"resident_id": rid, "pin": "2468"}).json()
        r = client.post(
            "/api/v1/tv/activity",
            json={"kind": "key"},
            headers={"Authorization": f"Bearer {phone['access_token']}"},
        )
        assert r.status_code == 403
