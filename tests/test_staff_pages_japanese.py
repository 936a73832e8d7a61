"""Staff pages never show English or ids (issue 20), in Debian's Chromium against a real server.

- Every problem code, as the server words it (`api.problems.problem_body`, with its parameters and an
  English `detail`), read through the pages' own renderer (common/problem.js) on every staff page:
  no Latin-letter text, only the names and units listed in ALLOWED.
- The drone page after a reload shows the day's flights (it stayed on 「よみこんでいます…」), names
  the drone as the tenant file does (1号機, not drone-1), and a list that cannot load says why with
  a retry and a way out (sign out).
- The seller confirms readying a pick list with unticked items, which the confirm step names.
- The support page shows when the drone really landed at the hall, not the planned time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.problems import problem_body
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.errors import Code, field_error
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.shopping.delivery import plan_delivery
from tests.conftest import DAY_START, client_for, make_ctx, token_headers
from tests.live import Server, accessible, launch, shot
from tests.test_delivery import CHECKLIST, DAY, place_orders

FOLDER = "staff-japanese"
STAFF_PAGES = ["/operator", "/municipality", "/drone", "/seller", "/support", "/driver"]
# Latin letters a Japanese text may hold: names of things (the product, file encodings, a date
# format, a tenant's page address), units, and words staff use as they are (集荷OK, ログインID).
ALLOWED = re.compile(r"Noriai|NUL|https://|UTF-8|Shift_JIS|R6\.4\.1|/t/ina-demo/|OK|ID|\bkm\b|\bkg\b")
# Parameters of the texts, as the raise sites give them (dates ISO, times HH:MM, lists as lists).
PARAMS: dict[str, Any] = {
    "retry_after_seconds": 30,
    "home_tenant": "伊那市",
    "home_tenant_id": "ina-demo",
    "max_failures": 5,
    "lock_minutes": 15,
    "just_locked": True,
    "wait_until": "2026-11-24T09:25:00+09:00",
    "alternatives": [{"pickup": "2026-11-24T10:30:00+09:00"}],
    "orders": [3, 7],
    "cutoff": "11:00",
    "flight_status": "planned",
    "hall_names_left": ["宮田公民館"],
    "halls_left": ["miyata-hall"],
    "hours": "08:00–17:00",
    "earliest": "2026-12-01",
    "latest": "2027-03-31",
    "days": 31,
    "day": "2026-11-24",
    "failed": "age|65歳以上|age|2031-05-02;disability|障害者手帳|expired|2026-10-31",
    "since": "2026-11-24",
    "number": "1234",
    "lines": "3、8",
    "household_no": "12",
    "column": "住所",
    "first_line": 3,
    "numbers": "1201、1202",
    "limit_bytes": 1048576,
    "month": "2026-10",
    "first_month": "2026-04",
    "max_days": 60,
    "registered": "2026-04-01",
    "today": "2026-11-24",
    "category": "障害者手帳",
    "value": "北緯三十五度",
    "reason_ja": "文字コードがちがいます",
    "starts_on": "2026-04-01",
    "ends_on": "2027-03-31",
    "bank_code": "0001",
    "bank_name": "みずほ銀行",
    "branch_code": "123",
    "width": 30,
}
ENGLISH = "Orders [1] are not ready at the base yet (their seller has not marked them picked)."

# Each case through the page's renderer as the API client makes it (common/api.js: an Error with
# the problem's `detail` as message, `status` and `data`): the line (text) and the box of a
# refused step (box, fill: the same words).
WALK_JS = """
(json) => JSON.parse(json).map((c) => {
  const err = c.script ? new TypeError(c.script) : new Error((c.data && c.data.detail) || "HTTP " + c.status);
  if (!c.script) { err.status = c.status; err.data = c.data || {}; }
  return {
    name: c.name,
    texts: [
      NoriaiProblem.text(err, {}),
      NoriaiProblem.box(err, { context: "できませんでした。" }).textContent,
    ],
  };
})
"""


def _cases() -> list[dict[str, Any]]:
    """Every code as the problem of a staff request, and as a refused field; then answers without
    a problem document (no answer, a proxy's page), an old server's English-only one, a script error."""
    path = "/api/v1/flights/1/steps"
    out: list[dict[str, Any]] = []
    for code in Code:
        out.append(
            {
                "name": code.value,
                "status": 409,
                "data": problem_body(409, "Conflict", ENGLISH, path, code, **PARAMS),
            }
        )
        field = field_error("pickup_after", "must be later (in English)", code, **PARAMS)
        body = problem_body(422, "Invalid request", ENGLISH, path, Code.invalid_request, [field])
        out.append({"name": f"field {code.value}", "status": 422, "data": body})
    for status in (0, 400, 401, 403, 404, 409, 413, 418, 422, 429, 500, 502, 503):
        out.append({"name": f"status {status}", "status": status, "data": {}})
    out.append(
        {
            "name": "english only",
            "status": 409,
            "data": {"detail": ENGLISH, "code": "flight.orders_not_ready"},
        }
    )
    out.append({"name": "script error", "script": "Cannot read properties of undefined (reading 'id')"})
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dispatcher, SimClock, str, Browser]]:
    """One small demo town (120 residents) at 11:05 of a delivery day with its flights planned,
    served live, and one browser for every test here."""
    clock = SimClock(DAY_START)
    ctx = make_ctx(f"sqlite:///{tmp_path_factory.mktemp('staff') / 'noriai.db'}", clock, residents=120)
    with client_for(ctx) as client:
        place_orders(client, token_headers(client, "ina-demo-operator"), ctx, 8, seed=3)
    clock.set(DAY_START.replace(hour=11, minute=5))
    plan_delivery(ctx, "ina-demo", DAY)
    with Server(ctx) as base, sync_playwright() as pw:
        browser = launch(pw)
        try:
            yield ctx, clock, base, browser
        finally:
            browser.close()
            ctx.engine.dispose()


def new_page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP", is_mobile=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("pageerror", lambda e: pytest.fail(f"script error: {e}"))
    return page


def sign_in(page: Page, base: str, path: str, username: str) -> None:
    page.goto(base + path)
    expect(page.locator("h1")).to_have_text("サインイン")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.locator('[data-id="signin"]').click()
    expect(page.locator("h1")).not_to_have_text("サインイン")


def by_id(page: Page | Any, data_id: str) -> Any:
    return page.locator(f'[data-id="{data_id}"]')


def latin(text: str) -> str:
    """The Latin letters left in a text once the allowed names and units are taken out."""
    return "".join(re.findall(r"[A-Za-z]+", ALLOWED.sub("", text)))


def test_no_english_for_any_problem_code_on_any_staff_page(
    world: tuple[Dispatcher, SimClock, str, Browser],
) -> None:
    _, _, base, browser = world
    cases = _cases()
    assert len(cases) > 2 * len(Code)
    payload = json.dumps(cases, ensure_ascii=False)  # one string: far quicker than nested arguments
    page = new_page(browser)
    for path in STAFF_PAGES:
        page.goto(base + path)
        page.wait_for_function("typeof NoriaiProblem !== 'undefined'")
        accessible(page, f"{path} signed out")  # the state this walk reaches, as every other
        shown = page.evaluate(WALK_JS, payload)
        leaks = [(path, s["name"], t) for s in shown for t in s["texts"] if latin(t)]
        assert leaks == [], leaks[:5]
        empty = [(path, s["name"]) for s in shown for t in s["texts"] if not t.strip()]
        assert empty == []
        by_name = {s["name"]: s["texts"][0] for s in shown}
        # parameters read in Japanese: order numbers, the cut-off, the hall still to land at
        assert "（注文 #3、#7）" in by_name["flight.orders_not_ready"]
        assert "締め切り（11:00）" in by_name["picklist.too_early"]
        assert "宮田公民館" in by_name["flight.illegal_step"]
        assert by_name["script error"] == "うまくいきませんでした。もう一度ためしてください。"
    page.context.close()


def test_drone_page_after_a_reload_names_the_drone_and_has_a_way_out(
    world: tuple[Dispatcher, SimClock, str, Browser],
) -> None:
    ctx, _, base, browser = world
    fleet = ctx.config("ina-demo").drones.fleet  # type: ignore[union-attr]
    assert fleet[0].name == "1号機" and fleet[0].id == "drone-1"
    with client_for(ctx) as client:  # the operator's board names the drones too
        board = client.get("/api/v1/board", headers=token_headers(client, "ina-demo-operator")).json()
    named = {f["drone_name"] for f in board["deliveries"]["flights"]}
    assert named and named <= {d.name for d in fleet}
    page = new_page(browser)
    sign_in(page, base, "/drone", "ina-demo-drone")
    expect(page.locator("h1")).to_have_text("今日のフライト")
    page.reload()  # it stayed on 「よみこんでいます…」 forever
    expect(page.locator("h1")).to_have_text("今日のフライト")
    cards = page.locator("article.card")
    expect(cards.first).to_contain_text("機体 1号機")
    assert "drone-1" not in page.locator("#screen").inner_text()
    cards.first.locator("button").click()
    expect(by_id(page, "drone")).to_have_text("1号機")
    shot(page, FOLDER, "drone-01-after-reload")

    # The list cannot load after a reload: why, a retry, and a way out.
    page.route("**/api/v1/flights", lambda route: route.fulfill(status=502, body="Bad Gateway"))
    page.reload()
    expect(page.locator("h1")).to_have_text("よみこめませんでした")
    problem = by_id(page, "problem")
    expect(problem).to_contain_text("今日のフライトを読みこめませんでした。")
    assert not latin(problem.inner_text())
    expect(by_id(page, "retry")).to_be_visible()
    shot(page, FOLDER, "drone-02-cannot-load")
    page.unroute("**/api/v1/flights")
    by_id(page, "retry").click()
    expect(page.locator("h1")).to_have_text("今日のフライト")
    page.route("**/api/v1/flights", lambda route: route.fulfill(status=502, body="Bad Gateway"))
    page.reload()
    by_id(page, "signout").click()
    expect(page.locator("h1")).to_have_text("サインイン")
    page.context.close()


def test_seller_confirms_readying_with_unticked_items(
    world: tuple[Dispatcher, SimClock, str, Browser],
) -> None:
    ctx, clock, base, browser = world
    clock.set(DAY_START.replace(hour=11, minute=50))
    seller = ctx.config("ina-demo").shopping.sellers[0].id  # type: ignore[union-attr]
    page = new_page(browser)
    sign_in(page, base, "/seller", f"ina-demo-seller-{seller}")
    sheet = by_id(page, f"sheet-{seller}")
    expect(sheet).to_be_visible()
    rows = sheet.locator("li.pick")
    names = [n.strip() for n in rows.locator(".name").all_inner_texts()]
    assert len(names) >= 2
    rows.first.locator('input[type="checkbox"]').check()
    by_id(page, "ready").click()
    expect(page.locator("h1")).to_have_text("集荷OKにしますか")
    unticked = by_id(page, "unticked")
    expect(unticked).to_contain_text(f"チェックしていない品目が {len(names) - 1} つあります。")
    for name in names[1:]:
        expect(unticked).to_contain_text(name)
    assert names[0] not in unticked.locator("ul").inner_text()
    expect(by_id(page, "ready-yes")).to_be_disabled()
    shot(page, FOLDER, "seller-01-unticked")
    by_id(page, "unticked-ok").check()
    by_id(page, "ready-yes").click()
    expect(page.locator("#flash")).to_contain_text("集荷OKを伝えました（11:50）")
    page.context.close()


def test_support_page_shows_the_real_landing_time(
    world: tuple[Dispatcher, SimClock, str, Browser],
) -> None:
    ctx, clock, base, browser = world
    with client_for(ctx) as client:
        operator = token_headers(client, "ina-demo-operator")
        for s in ctx.config("ina-demo").shopping.sellers:  # type: ignore[union-attr]
            r = client.post("/api/v1/picklists/ready", json={"seller_id": s.id}, headers=operator)
            assert r.status_code in (200, 409), r.text  # 409: already ready (the seller test)
        flight = client.get("/api/v1/flights", headers=operator).json()[0]
        hall = flight["halls"][0]
        planned = flight["arrivals"][hall]
        url = f"/api/v1/flights/{flight['id']}/steps"
        assert client.post(url, json={"action": "loaded"}, headers=operator).status_code == 200
        r = client.post(url, json={"action": "departed", "checklist": CHECKLIST}, headers=operator)
        assert r.status_code == 200, r.text
        clock.set(clock.now() + timedelta(minutes=47))  # long after its planned landing
        r = client.post(url, json={"action": "landed", "hall_id": hall}, headers=operator)
        assert r.status_code == 200, r.text
        landed = r.json()["landed"][hall][11:16]
        deliveries = [
            d
            for sheet in client.get("/api/v1/handovers", headers=operator).json()
            for d in sheet["deliveries"]
        ]
    assert landed != planned[11:16]
    order = next(d for d in deliveries if d["order_id"] in flight["orders"] and d["landed"])
    page = new_page(browser)
    sign_in(page, base, "/support", "ina-demo-support")
    if by_id(page, f"hall-{hall}").count():
        by_id(page, f"hall-{hall}").click()
    how = by_id(by_id(page, f"order-{order['order_id']}"), "how")
    expect(how).to_have_text(f"ドローン便・{int(landed[:2])}:{landed[3:]} 着陸")
    shot(page, FOLDER, "support-01-landed")
    page.context.close()


def test_walk_covers_every_code() -> None:
    """The walk is over the Code enum itself: a new code is walked (and needs its text)."""
    names = {c["name"] for c in _cases()}
    assert {c.value for c in Code} <= names
