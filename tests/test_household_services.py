"""Acceptance: a household's services in the operator console, each with its start, its end and
what it costs (docs/residents.md, "Memberships and services").

In a real Chromium an operator opens a resident whose household does not shop with us, enrols it
in shopping from today (the console says ¥1,000 a month, billed from this month), records the
resident's consent and switches the watch-over on, adds and stops a TV reminder, and registers the
direct-debit account: an unknown bank code, a branch the bank does not have and a holder written in
kanji are refused next to their fields; the bank's and branch's names come from the Zengin bank
master as the codes are typed. The household's TV (a box paired for it) then shows the shopping
menu it did not show before; an order for it is accepted; closing the month bills the membership
fee for November and not for October. The API keeps the rules on both backends: no shopping in the
municipality, no active member, overlaps, closed months, consent, the bank master.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import session_scope
from dispatcher.models import BillingAccount, Event, Household, Membership, Resident, WatchOver
from dispatcher.platform.demo import DEMO_PASSWORD, seed_demo
from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import parse_tenant
from dispatcher.zengin import bank, branch, kana
from tests.conftest import DAY_START, token_headers
from tests.live import RequestLog, Server, launch, shot, text_styles

FOLDER = "services"
TIMEOUT_MS = 15_000
TODAY = DAY_START.date().isoformat()  # Tuesday 2026-11-24


def _outsider(ctx: Dispatcher) -> tuple[int, Resident]:
    """A household that has never shopped with us, every member registered and active: (household,
    its first member)."""
    with Session(ctx.engine) as s:
        shoppers = set(s.exec(select(Membership.household_id)))
        people: dict[int, list[Resident]] = {}
        for r in s.exec(select(Resident).order_by(col(Resident.id))):
            if r.household_id is not None:
                people.setdefault(r.household_id, []).append(r)
    for hh, members in sorted(people.items()):
        if hh not in shoppers and all(m.active and m.paused_on is None for m in members):
            return hh, members[0]
    raise AssertionError("every demo household shops")


def _script_error(message: Any, into: list[str]) -> None:
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        into.append(message.text)


def _readable(page: Page) -> None:
    """Every visible text meets WCAG AA contrast (4.5:1) and is at least 13 px."""
    bad = [s for s in text_styles(page) if s["ratio"] < 4.5 or s["size"] < 13]
    assert not bad, bad[:5]


def test_operator_enrols_a_household_and_its_tv_bill_and_orders_follow(
    sqlite_ctx: Dispatcher, clock: SimClock
) -> None:
    ctx = sqlite_ctx
    hh, person = _outsider(ctx)
    with Server(ctx) as base, sync_playwright() as p:
        browser = launch(p)
        try:
            staff = httpx.Client(base_url=base, timeout=30)
            staff.headers["Authorization"] = (
                "Bearer "
                + staff.post(
                    "/api/v1/auth/token", data={"username": "ina-demo-operator", "password": DEMO_PASSWORD}
                ).json()["access_token"]
            )

            # --- the household's TV, paired for it as a box is: no shopping before the enrolment
            tv = browser.new_page(viewport={"width": 1280, "height": 720})
            tv_log = RequestLog(tv)
            tv.set_default_timeout(TIMEOUT_MS)
            tv.goto(base + "/tv")
            tv.wait_for_selector("#pair-code")
            code = (tv.text_content("#pair-code") or "").replace(" ", "")
            r = staff.post("/api/v1/devices/pair", json={"code": code, "household_id": hh})
            assert r.status_code == 200, r.text
            tv.wait_for_selector('[data-id="menu-ride"]:focus', timeout=TIMEOUT_MS)
            expect(tv.locator("#home-shop")).to_have_count(0)
            tv.keyboard.press("F2")
            expect(tv.locator("body")).to_contain_text("お買い物の会員登録がありません")
            expect(tv.locator('[data-id="cat-0"]')).to_have_count(0)
            shot(tv, FOLDER, "00-tv-before-no-shopping")

            # --- the console: sign in straight onto the resident
            op = browser.new_page(viewport={"width": 1366, "height": 900}, locale="ja-JP")
            log = RequestLog(op)
            problems: list[str] = []
            op.on("console", lambda m: _script_error(m, problems))
            op.on("pageerror", lambda e: problems.append(str(e)))
            op.set_default_timeout(TIMEOUT_MS)
            op.goto(f"{base}/operator#r={person.id}")
            op.fill("#login-user", "ina-demo-operator")
            op.fill("#login-pass", DEMO_PASSWORD)
            op.click("#login-submit")
            expect(op.locator("#r-id")).to_have_text(str(person.id))
            services = op.locator("#services")
            expect(services.locator('[data-id="shop-state"]')).to_contain_text("会員ではありません")
            expect(services.locator('[data-id="shop-state"]')).to_contain_text("1,000円/月")
            hint = services.locator('[data-id="shop-hint"]')
            expect(hint).to_contain_text("2026年11月分から請求")
            op.fill('[data-id="shop-start"]', "2026-12-03")  # the hint follows the date typed
            expect(hint).to_contain_text("2026年12月分から請求")
            op.fill('[data-id="shop-start"]', TODAY)
            services.scroll_into_view_if_needed()
            shot(op, FOLDER, "01-console-services-before")

            # --- enrol in shopping from today
            op.click('[data-id="shop-enrol"]')
            expect(services.locator('[data-id="shop-state"]')).to_contain_text("会員")
            expect(services.locator('[data-id="shop-state"] .badge')).to_have_text("会員")
            expect(services.locator("#svc-shop")).to_contain_text("2026年11月分から請求")
            expect(services.locator('[data-id="shop-stop"]')).to_be_visible()
            shot(op, FOLDER, "02-console-enrolled")

            # --- watch-over: the consent's name left out is refused beside its field; then on
            op.fill('[data-id="consent-given-by"]', "")
            op.fill('[data-id="contact-name-0"]', "伊藤 花子")
            op.fill('[data-id="contact-email-0"]', "hanako@family.example")
            op.select_option('[data-id="consent-method"]', "phone")
            op.click('[data-id="watch-save"]')
            given_error = services.locator('[data-error-for="consent.given_by"]')
            expect(given_error).to_have_text("入力してください。")
            expect(op.locator('[data-id="consent-given-by"]')).to_have_attribute("aria-invalid", "true")
            shot(op, FOLDER, "03-console-watch-consent-refused")
            op.fill('[data-id="consent-given-by"]', f"{person.family_name} {person.given_name}")
            op.click('[data-id="watch-save"]')
            expect(services.locator('[data-id="watch-state"] .badge')).to_have_text("利用中")
            consent = services.locator('[data-id="watch-consent"]')
            expect(consent).to_contain_text("2026年11月24日・電話・" + person.family_name)
            expect(consent).to_contain_text("記録 ina-demo-operator")

            # --- a TV reminder: add, then stop
            op.fill('[data-id="reminder-text"]', "お昼の薬をのみましょう")
            op.check('[data-id="reminder-day-tue"]')
            op.check('[data-id="reminder-day-fri"]')
            op.fill('[data-id="reminder-time"]', "12:00")
            op.click('[data-id="reminder-add"]')
            row = services.locator('[data-id="reminder-list"] li[data-id^="reminder-"]')
            expect(row).to_have_count(1)
            expect(row).to_contain_text("毎週 火・金 12:00")
            shot(op, FOLDER, "04-console-watch-and-reminder")
            stop = row.locator("button")
            stop.click()
            stop.click()  # asked once more
            expect(services.locator('[data-id="reminder-list"]')).to_contain_text("お知らせはありません")

            # --- direct debit: bank and branch checked against the master as typed
            op.fill('[data-id="debit-customer"]', "556677")
            op.fill('[data-id="debit-bank"]', "0999")
            expect(services.locator('[data-error-for="bank_code"]')).to_contain_text("0999")
            expect(services.locator('[data-error-for="bank_code"]')).to_contain_text("一覧にありません")
            op.fill('[data-id="debit-bank"]', "0143")
            expect(services.locator('[data-id="debit-bank-name"]')).to_contain_text("八十二長野")
            expect(services.locator('[data-error-for="bank_code"]')).to_be_hidden()
            op.fill('[data-id="debit-branch"]', "321")
            expect(services.locator('[data-error-for="branch_code"]')).to_contain_text(
                "八十二長野にありません"
            )
            shot(op, FOLDER, "05-console-branch-not-in-bank")
            op.fill('[data-id="debit-branch"]', "553")
            expect(services.locator('[data-id="debit-branch-name"]')).to_contain_text("伊那")
            op.fill('[data-id="debit-number"]', "1234567")
            op.fill('[data-id="debit-holder"]', "伊藤 花子")
            op.click('[data-id="debit-save"]')
            holder_error = services.locator('[data-error-for="holder_kana"]')
            expect(holder_error).to_contain_text("漢字は使えません")
            shot(op, FOLDER, "06-console-kanji-holder-refused")
            op.fill('[data-id="debit-holder"]', "イトウ ハナコ")
            op.click('[data-id="debit-save"]')
            state = services.locator('[data-id="debit-state"]')
            expect(state).to_contain_text("登録済み")
            expect(state).to_contain_text("八十二長野（0143） 伊那（553）")
            expect(state).to_contain_text("ｲﾄｳ ﾊﾅｺ")
            services.scroll_into_view_if_needed()
            shot(op, FOLDER, "07-console-services-after")
            _readable(op)
            assert problems == [], problems
            assert log.outside(base) == []

            # --- the TV now offers shopping: the line on the home screen, the categories on F2
            tv.goto(base + "/tv")
            tv.wait_for_selector("#home-shop")
            tv.keyboard.press("F2")
            tv.wait_for_selector('[data-id="cat-0"]:focus')
            shot(tv, FOLDER, "08-tv-after-shopping-menu")
            assert tv_log.outside(base) == []
        finally:
            browser.close()

        # --- an order for the household is accepted
        catalogue = staff.get("/api/v1/catalog").json()
        order = staff.post(
            "/api/v1/orders",
            json={"household_id": hh, "lines": [{"product_id": catalogue[0]["id"], "quantity": 2}]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert order.status_code == 201, order.text
        assert order.json()["delivery_date"] == TODAY

    with Session(ctx.engine) as s:
        started = s.exec(
            select(Event).where(Event.kind == "membership.started", Event.entity_id == str(hh))
        ).one()
        w = s.get(WatchOver, hh)
        acc = s.get(BillingAccount, hh)
    assert started.actor == "user:ina-demo-operator" and started.at == DAY_START
    assert started.after == {
        "membership": started.after["membership"],
        "starts_on": TODAY,
        "fee_yen": 1000,
        "billed_from": "2026-11",
    }
    assert w is not None and w.enabled and w.consent_method == "phone"
    assert w.consent_given_by == f"{person.family_name} {person.given_name}"
    assert acc is not None and (acc.bank_name, acc.branch_name, acc.holder_kana) == (
        "ﾊﾁｼﾞﾕｳﾆﾅｶﾞﾉ",
        "ｲﾅ",
        "ｲﾄｳ ﾊﾅｺ",
    )

    # --- the bills: October (before the membership) carries no fee, November does
    from tests.conftest import client_for

    with client_for(ctx) as client:
        admin = token_headers(client, "ina-demo-admin")
        assert (
            client.post("/api/v1/billing/close", json={"month": "2026-10"}, headers=admin).status_code == 200
        )
        clock.set(DAY_START.replace(month=12, day=1, hour=9))
        admin = token_headers(client, "ina-demo-admin")  # a week on: a new session
        assert (
            client.post("/api/v1/billing/close", json={"month": "2026-11"}, headers=admin).status_code == 200
        )
        october = {
            s["household_id"]: s
            for s in client.get("/api/v1/billing/2026-10/statements", headers=admin).json()
        }
        november = {
            s["household_id"]: s
            for s in client.get("/api/v1/billing/2026-11/statements", headers=admin).json()
        }
    assert hh not in october or october[hh]["by_kind"]["membership"] == 0
    assert november[hh]["by_kind"]["membership"] == 1000
    (fee,) = [ln for ln in november[hh]["lines"] if ln["kind"] == "membership"]
    assert fee["amount_yen"] == 1000 and fee["text"] == "買い物 月会費 11月"


# ------------------------------------------------------------------------------------------ API rules


def _no_shopping_town(ctx: Dispatcher) -> dict[str, str]:
    """A second municipality without shopping (and so without drones), with an operator."""
    from dispatcher.identity.auth import create_user

    data = yaml.safe_load(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    data["id"], data["name"] = "taxi-town", "タクシーだけの町"
    data.pop("shopping", None)
    data.pop("drones", None)
    for o in data["operators"]:
        o["id"] = "tt-" + o["id"]
        for v in o["vehicles"]:
            v["id"] = "tt-" + v["id"]
    cfg = parse_tenant(data)
    with session_scope(ctx.engine) as s:
        seed_demo(s, cfg, ctx.clock.now(), residents=12, seed=5)
        create_user(s, cfg.id, "operator", "tt-operator", "tt-password", ctx.clock.now())
    return {"tenant": cfg.id}


@pytest.fixture
def staff(client: TestClient) -> Iterator[dict[str, str]]:
    yield token_headers(client, "ina-demo-operator")


def _new_household(client: TestClient, staff: dict[str, str]) -> tuple[int, int]:
    """A household registered now with one member: (household, resident)."""
    r = client.post(
        "/api/v1/households",
        json={
            "household": {"address": "手良 3番地", "lat": 35.869, "lon": 138.004},
            "members": [
                {
                    "registration_no": f"SV-{uuid.uuid4().hex[:8]}",
                    "family_name": "試験",
                    "given_name": "花子",
                    "family_kana": "しけん",
                    "given_kana": "はなこ",
                    "birth_date": "1948-05-05",
                }
            ],
            "allow_duplicates": True,  # the tests register several 試験 花子
        },
        headers=staff,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["members"][0]["id"]


def test_membership_rules(
    client: TestClient, ctx: Dispatcher, clock: SimClock, staff: dict[str, str]
) -> None:
    hh, resident = _new_household(client, staff)
    base = f"/api/v1/households/{hh}/memberships"
    empty = client.get(base, headers=staff).json()
    assert empty == {
        "household_id": hh,
        "offered": True,
        "fee_yen_per_month": 1000,
        "member_today": False,
        "memberships": [],
    }
    # enrolled ahead from 3 December: not a member today, billed from December
    ahead = client.post(base, json={"starts_on": "2026-12-03"}, headers=staff)
    assert ahead.status_code == 201, ahead.text
    assert ahead.json()["billed_from"] == "2026-12" and ahead.json()["running"] is False
    # a second one that would overlap is refused, naming the one there
    again = client.post(base, json={}, headers=staff)
    assert again.status_code == 409 and again.json()["code"] == "membership.overlaps"
    assert "2026年12月3日から" in again.json()["message_ja"]
    # called off before it ran (ended today): never billed; a new one from today
    off = client.post(f"{base}/end", json={}, headers=staff)
    assert off.status_code == 200 and off.json()["billed_from"] is None, off.text
    now = client.post(base, json={}, headers=staff)
    assert now.status_code == 201 and now.json()["starts_on"] == TODAY and now.json()["running"] is True
    listing = client.get(base, headers=staff).json()
    assert listing["member_today"] is True and [m["starts_on"] for m in listing["memberships"]] == [
        TODAY,
        "2026-12-03",
    ]
    # ended at the end of January: billed November to January
    end = client.post(f"{base}/end", json={"ends_on": "2027-01-31"}, headers=staff)
    assert end.status_code == 200 and (end.json()["billed_from"], end.json()["billed_until"]) == (
        "2026-11",
        "2027-01",
    )
    nothing = client.post(f"{base}/end", json={"ends_on": "2027-02-01"}, headers=staff)
    assert nothing.status_code == 409 and nothing.json()["code"] == "membership.not_running"
    # from February on the household may join again; January overlaps
    assert client.post(base, json={"starts_on": "2027-01-15"}, headers=staff).status_code == 409
    with Session(ctx.engine) as s:
        kinds = [
            (e.kind, e.actor)
            for e in s.exec(
                select(Event)
                .where(Event.entity_id == str(hh), col(Event.kind).startswith("membership."))
                .order_by(col(Event.id))
            )
        ]
    assert kinds == [
        ("membership.started", "user:ina-demo-operator"),
        ("membership.ended", "user:ina-demo-operator"),
        ("membership.started", "user:ina-demo-operator"),
        ("membership.ended", "user:ina-demo-operator"),
    ]

    # a closed month takes no start (its bills are written)
    admin = token_headers(client, "ina-demo-admin")
    assert client.post("/api/v1/billing/close", json={"month": "2026-10"}, headers=admin).status_code == 200
    other, _ = _new_household(client, staff)
    closed = client.post(
        f"/api/v1/households/{other}/memberships", json={"starts_on": "2026-10-20"}, headers=staff
    )
    assert closed.status_code == 422 and closed.json()["errors"][0]["field"] == "starts_on"
    assert closed.json()["errors"][0]["code"] == "membership.month_closed"
    assert closed.json()["errors"][0]["message_ja"].startswith("2026年10月の請求はもう締めてあります")
    assert client.post(f"/api/v1/households/{other}/memberships", json={}, headers=staff).status_code == 201
    early = client.post(
        f"/api/v1/households/{other}/memberships/end", json={"ends_on": "2026-10-30"}, headers=staff
    )
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "ends_on"
    assert early.json()["errors"][0]["message_ja"] == (
        "2026年10月の請求はもう締めてあります。2026年10月31日以降の日付にしてください。"
    )
    far = client.post(
        f"/api/v1/households/{other}/memberships/end", json={"ends_on": "9999-12-31"}, headers=staff
    )
    assert far.status_code == 422 and far.json()["errors"][0]["code"] == "date.out_of_range"  # issue 19

    # a household whose only member left takes no membership
    assert (
        client.post(
            f"/api/v1/residents/{resident}/end", json={"reason": "moved_away"}, headers=staff
        ).status_code
        == 200
    )
    gone = client.post(
        f"/api/v1/households/{hh}/memberships", json={"starts_on": "2027-03-01"}, headers=staff
    )
    assert gone.status_code == 409 and gone.json()["code"] == "household.no_active_member"

    # a municipality without shopping takes no members; another town's household is not found
    town = _no_shopping_town(ctx)
    tt = token_headers(client, "tt-operator", "tt-password")
    with Session(ctx.engine) as s:
        theirs = s.exec(select(Household.id).where(Household.tenant_id == town["tenant"])).first()
    refused = client.post(f"/api/v1/households/{theirs}/memberships", json={}, headers=tt)
    assert refused.status_code == 409 and refused.json()["code"] == "shopping.not_offered"
    assert refused.json()["message_ja"] == "この市町村では、お買い物サービスはありません。"
    assert client.get(f"/api/v1/households/{theirs}/memberships", headers=tt).json()["offered"] is False
    assert client.post(f"/api/v1/households/{other}/memberships", json={}, headers=tt).status_code == 404
    with Session(ctx.engine) as s:
        assert s.exec(select(Membership).where(Membership.household_id == theirs)).first() is None


def test_watch_over_needs_the_residents_consent(
    client: TestClient, ctx: Dispatcher, staff: dict[str, str]
) -> None:
    hh, _ = _new_household(client, staff)
    url = f"/api/v1/households/{hh}/watch"
    family = [{"name": "試験 次郎", "email": "jiro@family.example", "relation": "長男"}]
    bare = client.put(url, json={"contacts": family}, headers=staff)
    assert bare.status_code == 422 and bare.json()["code"] == "watch.consent_missing"
    assert bare.json()["errors"][0]["field"] == "consent"
    assert "同意" in bare.json()["message_ja"]
    future = {"on": "2026-11-25", "method": "written", "given_by": "試験 花子"}
    r = client.put(url, json={"contacts": family, "consent": future}, headers=staff)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "consent.in_future"
    with Session(ctx.engine) as s:
        assert s.get(WatchOver, hh) is None  # nothing stored by a refusal
    consent = {"on": "2026-11-20", "method": "oral", "given_by": "試験 花子", "recorded_by": "福祉課 山田"}
    ok = client.put(url, json={"contacts": family, "consent": consent, "threshold_hours": 12}, headers=staff)
    assert ok.status_code == 200, ok.text
    assert ok.json()["consent"] == {
        "on": "2026-11-20",
        "method": "oral",
        "given_by": "試験 花子",
        "recorded_by": "福祉課 山田",
        "recorded_at": DAY_START.isoformat(),
    }
    # a change of a running watch-over keeps its consent
    changed = client.put(url, json={"contacts": family, "threshold_hours": 6}, headers=staff)
    assert changed.status_code == 200 and changed.json()["consent"]["given_by"] == "試験 花子"
    seen = client.get(url, headers=staff).json()
    assert (
        seen["enabled"]
        and seen["threshold_hours"] == 6
        and seen["contacts"] == [{"name": "試験 次郎", "relation": "長男", "email": "jiro@family.example"}]
    )
    # switched off, it needs a new consent to come back on; who took it defaults to the operator
    assert client.put(url, json={"enabled": False}, headers=staff).status_code == 200
    back = client.put(url, json={"contacts": family}, headers=staff)
    assert back.status_code == 422 and back.json()["code"] == "watch.consent_missing"
    fresh = {"on": TODAY, "method": "phone", "given_by": "試験 花子"}
    again = client.put(url, json={"contacts": family, "consent": fresh}, headers=staff)
    assert again.status_code == 200 and again.json()["consent"]["recorded_by"] == "ina-demo-operator"
    with Session(ctx.engine) as s:
        configured = s.exec(
            select(Event)
            .where(Event.kind == "watch.configured", Event.entity_id == str(hh))
            .order_by(col(Event.id))
        ).all()
    assert [e.after.get("consent_method") for e in configured] == ["oral", None, None, "phone"]
    never = client.get("/api/v1/households/999999/watch", headers=staff)
    assert never.status_code == 404


def test_direct_debit_accounts_follow_the_bank_master(
    client: TestClient, ctx: Dispatcher, staff: dict[str, str]
) -> None:
    hh, _ = _new_household(client, staff)
    url = f"/api/v1/households/{hh}/billing-account"
    assert client.get(url, headers=staff).json()["code"] == "billing.account_not_found"
    form = {"customer_no": "990011", "bank_code": "0143", "branch_code": "553", "account_number": "7654321"}

    def put(**change: str) -> httpx.Response:
        return client.put(url, json={**form, "holder_kana": "しけん はなこ", **change}, headers=staff)

    unknown = put(bank_code="0999")
    assert unknown.status_code == 422
    (e,) = unknown.json()["errors"]
    assert (e["field"], e["code"]) == ("bank_code", "account.bank_unknown") and "0999" in e["message_ja"]
    foreign = put(branch_code="321")
    (e,) = foreign.json()["errors"]
    assert (e["field"], e["code"]) == ("branch_code", "account.branch_unknown")
    assert e["message_ja"].startswith("店番号 321 の支店は、八十二長野にありません")
    kanji = put(holder_kana="試験 花子")
    (e,) = kanji.json()["errors"]
    assert (e["field"], e["code"]) == ("holder_kana", "account.holder_not_kana") and "漢字" in e["message_ja"]
    assert client.get(url, headers=staff).status_code == 404  # nothing stored by the refusals
    ok = put()
    assert ok.status_code == 200, ok.text
    assert {
        k: ok.json()[k] for k in ("bank_name", "bank_name_ja", "branch_name", "branch_name_ja", "holder_kana")
    } == {
        "bank_name": "ﾊﾁｼﾞﾕｳﾆﾅｶﾞﾉ",
        "bank_name_ja": "八十二長野",
        "branch_name": "ｲﾅ",
        "branch_name_ja": "伊那",
        "holder_kana": "ｼｹﾝ ﾊﾅｺ",
    }
    assert client.get(url, headers=staff).json()["account_number"] == "****321"
    # the lookups the console makes as codes are typed
    assert client.get("/api/v1/banks/0143", headers=staff).json()["name"] == "八十二長野"
    assert client.get("/api/v1/banks/0143/branches/555", headers=staff).json()["name"] == "高遠"
    assert client.get("/api/v1/banks/0999", headers=staff).json()["code"] == "account.bank_unknown"
    assert (
        client.get("/api/v1/banks/0143/branches/321", headers=staff).json()["code"]
        == "account.branch_unknown"
    )
    assert client.get("/api/v1/banks/12", headers=staff).status_code == 422
    # the demo's own accounts pass the same check: real codes, the master's names
    with Session(ctx.engine) as s:
        accounts = s.exec(select(BillingAccount).where(BillingAccount.household_id != hh)).all()
    assert len(accounts) > 100
    for a in accounts:
        b, br = bank(a.bank_code), branch(a.bank_code, a.branch_code)
        assert b is not None and br is not None and (a.bank_name, a.branch_name) == (b.kana, br.kana)
        assert a.holder_kana == kana(a.holder_kana) and a.holder_kana  # as the file carries it
    assert {a.branch_code for a in accounts} == {"553", "554", "555"}
