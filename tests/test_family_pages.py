"""Family members in a real Chromium against a real server and database.

The phone page (/m) at 390x844: a daughter signs in with her own login id and password, picks her
mother among the residents linked to her, sees her mother's name and day, books a taxi for her and
sees it listed; the father-in-law she may only look after shows no booking; when the operator
revokes the mother's link the page notices at once; signing out comes back to the family sign-in.
Every screen is checked for sideways scrolling, contrast (4.5:1) and type size (18 px or more).

The operator console: the resident's card lists the family links with the consent, a family
member is added through the form and a link revoked. Nothing is loaded from outside the app and
the pages log no script error. Screenshots go to var/test-artifacts/family/."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.models import Event, FamilyLink, FamilyMember, Resident, Ride
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.residents.eligibility import categories_on
from tests.conftest import DAY_START, client_for, token_headers
from tests.live import RequestLog, Server, launch, shot, text_styles

WIDTH, HEIGHT = 390, 844
FOLDER = "family"
PASSWORD = "sakura-2026"
TODAY = DAY_START.date().isoformat()


def _two_residents(ctx: Dispatcher) -> tuple[Resident, Resident]:
    """Two eligible residents with favourite places in different households (mother, father-in-law)."""
    cfg = ctx.config("ina-demo")
    with Session(ctx.engine) as s:
        rows = s.exec(select(Resident).where(Resident.active == True).order_by(col(Resident.id))).all()  # noqa: E712
    ok = [
        r
        for r in rows
        if r.favourite_places
        and not r.wheelchair
        and categories_on(r, cfg, DAY_START.date()) & set(cfg.eligibility.any_of)
    ]
    mother = ok[0]
    return mother, next(r for r in ok if r.household_id != mother.household_id)


def _family(ctx: Dispatcher, mother: Resident, in_law: Resident) -> tuple[int, int]:
    """The operator registers the daughter: booking for her mother, only viewing for her father-in-law.
    Returns the two links' ids."""
    with client_for(ctx) as client:
        op = token_headers(client, "ina-demo-operator")
        consent = {"consent_on": TODAY, "consent_method": "written"}
        member = {"name": "伊那 花子", "login_id": "hanako@example.jp", "password": PASSWORD}
        first = client.post(
            f"/api/v1/residents/{mother.id}/family",
            json={"member": member, "permission": "book"} | consent,
            headers=op,
        )
        assert first.status_code == 201, first.text
        second = client.post(
            f"/api/v1/residents/{in_law.id}/family",
            json={"family_member_id": first.json()["family_member"]["id"], "permission": "view"} | consent,
            headers=op,
        )
        assert second.status_code == 201, second.text
        return first.json()["id"], second.json()["id"]


@pytest.fixture
def browser(sqlite_ctx: Dispatcher) -> Iterator[tuple[Any, str]]:
    with Server(sqlite_ctx) as base, sync_playwright() as pw:
        b = launch(pw)
        try:
            yield b, base
        finally:
            b.close()


def _watch(page: Page) -> tuple[RequestLog, list[str]]:
    log = RequestLog(page)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "the server responded with a status of 4" not in m.text
            else None
        ),
    )
    return log, errors


def check(page: Page, name: str) -> None:
    """No sideways scrolling, every text readable, and a screenshot."""
    expect(page.locator('[aria-busy="true"]')).to_have_count(0)  # all loaded (no eval: the page's CSP)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= WIDTH, name
    styles = text_styles(page)
    assert styles, name
    assert not [s for s in styles if s["ratio"] < 4.5], name
    assert not [s for s in styles if s["size"] < 18], (name, [s for s in styles if s["size"] < 18])
    shot(page, FOLDER, name)


def by_id(page: Page, data_id: str) -> Any:
    return page.locator(f'[data-id="{data_id}"]')


def test_a_daughter_books_a_taxi_for_her_mother_on_her_phone(
    browser: tuple[Any, str], sqlite_ctx: Dispatcher
) -> None:
    b, base = browser
    mother, in_law = _two_residents(sqlite_ctx)
    mother_link, _in_law_link = _family(sqlite_ctx, mother, in_law)
    mother_name = f"{mother.family_name} {mother.given_name}"
    context = b.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True, has_touch=True, locale="ja-JP"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    log, errors = _watch(page)

    page.goto(base + "/m")
    expect(page.locator("h1")).to_have_text("サインイン")
    by_id(page, "to-family").click()
    expect(page.locator("h1")).to_have_text("ご家族の方のサインイン")
    check(page, "01-family-sign-in")
    page.fill("#login-id", "hanako@example.jp")
    page.fill("#password", "wrong-password")
    by_id(page, "family-signin").click()
    expect(page.locator("#family-error")).to_contain_text("ログインIDかパスワードがちがいます")
    check(page, "02-wrong-password")
    page.fill("#password", PASSWORD)
    by_id(page, "family-signin").click()

    # Two residents linked: she picks whose day to see.
    expect(page.locator("h1")).to_have_text("どなたの予定を見ますか")
    expect(by_id(page, f"pick-{mother.id}")).to_contain_text("予定を見る・タクシーを予約する")
    expect(by_id(page, f"pick-{in_law.id}")).to_contain_text("見るだけ")
    check(page, "03-pick-resident")
    by_id(page, f"pick-{mother.id}").click()
    expect(page.locator("h1")).to_have_text("今日は 11月24日（火）")
    expect(page.locator(".hello")).to_have_text("伊那 花子 さん（ご家族）")
    expect(page.locator("#acting-name")).to_have_text(f"{mother_name} さんの予定")
    expect(by_id(page, "menu-shop")).to_have_count(0)  # the household's own shopping is not hers
    check(page, "04-home-mother")

    # She books a taxi for her mother to a favourite place, in 30 minutes.
    by_id(page, "menu-ride").click()
    expect(page.locator("h1")).to_have_text("タクシーを予約")
    favourite = sqlite_ctx.config("ina-demo").place(mother.favourite_places[0])
    assert favourite is not None
    by_id(page, f"to-{favourite.id}").click()
    page.get_by_text("30分後", exact=True).click()
    by_id(page, "quote").click()
    expect(page.locator("#quote-window")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(f"{mother_name} さん")
    check(page, "05-quote")
    by_id(page, "book").click()
    expect(page.locator("h1")).to_have_text("予約しました")
    expect(page.get_by_text(f"{mother.given_name}さんに、迎えの時刻には")).to_be_visible()
    check(page, "06-booked")
    window = page.locator("#done-window").inner_text()
    by_id(page, "home").click()
    with Session(sqlite_ctx.engine) as s:
        ride = s.exec(select(Ride).where(Ride.resident_id == mother.id)).one()
        member_id = s.exec(select(FamilyMember.id)).one()
    assert ride.status == "confirmed" and ride.created_by == f"family:{member_id}"
    card = by_id(page, f"ride-{ride.id}")
    expect(card.locator('[data-id="window"]')).to_have_text(window)
    expect(card.locator('[data-id="status"]')).to_have_text("予約済み")
    expect(card.get_by_role("button", name="この予約を取り消す")).to_be_visible()
    check(page, "07-home-with-ride")
    page.screenshot(
        path=str(shot(page, FOLDER, "07-home-with-ride").with_name("07-home-with-ride-full.png")),
        full_page=True,
    )

    # The father-in-law: she sees his day, but books and cancels nothing.
    by_id(page, "switch").click()
    by_id(page, f"pick-{in_law.id}").click()
    expect(page.locator("#acting-name")).to_have_text(f"{in_law.family_name} {in_law.given_name} さんの予定")
    expect(page.locator("#acting")).to_contain_text("見るだけの登録です")
    expect(by_id(page, "menu-ride")).to_have_count(0)
    expect(by_id(page, f"ride-{ride.id}")).to_have_count(0)  # never the mother's rides here
    check(page, "08-home-view-only")

    # The mother withdraws her consent: the operator revokes the link; the page follows at once.
    by_id(page, "switch").click()
    by_id(page, f"pick-{mother.id}").click()
    expect(page.locator("#acting-name")).to_have_text(f"{mother_name} さんの予定")
    with client_for(sqlite_ctx) as client:
        op = token_headers(client, "ina-demo-operator")
        assert client.post(f"/api/v1/family-links/{mother_link}/revoke", headers=op).status_code == 200
    by_id(page, "refresh").click()
    expect(page.locator("#pick-notice")).to_have_text(
        "ご家族の登録が変わりました。もう一度えらんでください。"
    )
    expect(by_id(page, f"pick-{mother.id}")).to_have_count(0)
    expect(by_id(page, f"pick-{in_law.id}")).to_be_visible()
    check(page, "09-link-revoked")

    # She changes the password the operator told her to one of her own.
    by_id(page, f"pick-{in_law.id}").click()
    by_id(page, "password-change").click()
    expect(page.locator("h1")).to_have_text("パスワードを変える")
    page.fill("#current-password", PASSWORD)
    page.fill("#new-password", "my-own-password-1")
    page.fill("#new-password-again", "my-own-password-1")
    check(page, "10-password")
    by_id(page, "password-save").click()
    expect(page.locator("#flash")).to_contain_text("パスワードを変えました")
    with client_for(sqlite_ctx) as client:
        again = client.post(
            "/api/v1/m/family/session",
            json={"login_id": "hanako@example.jp", "password": "my-own-password-1"},
        )
        assert again.status_code == 200, again.text

    # Sign out: back to the family sign-in, the session ended on the server.
    token = page.evaluate("JSON.parse(localStorage.getItem('noriai.phone')).token")
    by_id(page, "signout").click()
    expect(page.get_by_text("次に使うときは、ログインIDとパスワードがいります。")).to_be_visible()
    by_id(page, "signout-yes").click()
    expect(page.locator("h1")).to_have_text("ご家族の方のサインイン")
    with client_for(sqlite_ctx) as client:
        assert client.get("/api/v1/m/family", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert log.outside(base) == []
    assert errors == []


def test_the_operator_adds_a_family_member_on_the_residents_card(
    browser: tuple[Any, str], sqlite_ctx: Dispatcher
) -> None:
    b, base = browser
    mother, in_law = _two_residents(sqlite_ctx)
    _family(sqlite_ctx, mother, in_law)
    page = b.new_page(viewport={"width": 1366, "height": 768}, locale="ja-JP")
    page.set_default_timeout(15_000)
    log, errors = _watch(page)
    page.goto(f"{base}/operator#r={mother.id}")
    page.fill("#login-user", "ina-demo-operator")
    page.fill("#login-pass", DEMO_PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#r-id")).to_have_text(str(mother.id))
    rows = page.locator("#family-list > li")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("伊那 花子")
    expect(rows.first).to_contain_text("見る・予約")
    expect(rows.first).to_contain_text("同意 11/24 書面（ina-demo-operator）")

    page.click("#family-open")
    expect(page.locator("#family-consent-on")).to_have_value(TODAY)  # the server's day
    login = f"taro-{uuid.uuid4().hex[:6]}"
    page.fill("#family-name", "伊那 太郎")
    page.fill("#family-login", login)
    page.fill("#family-password", "short")
    page.click("#family-submit")
    expect(page.locator("#family-error")).to_contain_text("パスワードは8文字以上")
    page.fill("#family-password", "taro-2026-pass")
    page.select_option("#family-permission", "view")
    page.select_option("#family-consent-method", "phone")
    page.locator("#family").scroll_into_view_if_needed()
    shot(page, FOLDER, "20-console-family-form")
    page.click("#family-submit")
    expect(rows).to_have_count(2)
    expect(page.locator("#family-form")).to_be_hidden()
    new_row = rows.filter(has_text="伊那 太郎")
    expect(new_row).to_contain_text("見るだけ")
    expect(new_row).to_contain_text("電話")
    page.locator("#family").scroll_into_view_if_needed()
    shot(page, FOLDER, "21-console-family-listed")
    styles = text_styles(page)
    assert not [s for s in styles if s["ratio"] < 4.5 or s["size"] < 13]

    with Session(sqlite_ctx.engine) as s:
        link = s.exec(select(FamilyLink).join(FamilyMember).where(FamilyMember.login_id == login)).one()
        assert (link.permission, link.consent_method, link.recorded_by) == (
            "view",
            "phone",
            "user:ina-demo-operator",
        )
    # Revoke, with the console's confirm-by-second-click.
    revoke = by_id(page, f"family-revoke-{link.id}")
    revoke.click()
    expect(revoke).to_have_text("本当に取り消す")
    revoke.click()
    expect(by_id(page, f"family-{link.id}")).to_contain_text("取り消し済み")
    with Session(sqlite_ctx.engine) as s:
        assert s.get(FamilyLink, link.id).revoked_at is not None
        assert (
            s.exec(select(Event).where(Event.kind == "family.unlinked")).one().actor
            == "user:ina-demo-operator"
        )
    assert log.outside(base) == []
    assert errors == []
