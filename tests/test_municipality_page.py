"""Issue 7, acceptance 2: the municipality dashboard in Debian's Chromium against a real server.

A replayed day (rides driven to the end of service, a delivery afternoon with flights) is shown to
the municipality viewer: tiles, SVG charts with one bar per period, tables; the Excel export opens
with openpyxl and holds the same numbers as the page; a CSV export too; the printed monthly report
is written as a PDF. Nothing is loaded from outside the app, every text is readable (contrast 4.5:1),
and no resident's name reaches this role. Screenshots and the PDF go to var/test-artifacts/municipality/.
"""

from __future__ import annotations

import csv
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Resident
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.shopping.delivery import plan_delivery
from simulations.demo_day import run_day
from tests.conftest import DAY_START, client_for, token_headers
from tests.live import ARTIFACTS, RequestLog, Server, launch, shot, text_styles
from tests.test_delivery import fly, place_orders

FOLDER = "municipality"


def _replay(ctx: Dispatcher, clock: SimClock) -> None:
    with client_for(ctx) as client:
        operator = token_headers(client, "ina-demo-operator")
        place_orders(client, operator, ctx, 12, seed=2)
        run_day(client, clock, n=10, seed=8)  # morning bookings, until 11:05 at the latest
        if clock.now() < DAY_START.replace(hour=11, minute=5):
            clock.set(DAY_START.replace(hour=11, minute=5))
        plan_delivery(ctx, "ina-demo", DAY_START.date())
        for sel in ctx.config("ina-demo").shopping.sellers:
            client.post(
                "/api/v1/picklists/ready", json={}, headers=token_headers(client, f"ina-demo-seller-{sel.id}")
            )
        drone = token_headers(client, "ina-demo-drone")
        f = client.get("/api/v1/flights", headers=drone).json()[0]
        clock.advance(timedelta(minutes=40))
        fly(client, clock, f, drone, minutes_per_hall=8)
        run_day(client, clock, n=14, seed=9, until=DAY_START.replace(hour=17, minute=30))


def _number(text: str) -> float | str:
    """A number as the page shows it ('1,234', '¥2,290', '41.0%', '1.37'); 'X' and '—' stay text."""
    t = text.strip().replace(",", "").replace("¥", "")
    if t in ("X", "—", ""):
        return t
    try:
        return float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        return text


def _page_tables(page: Page) -> dict[str, list[list[str]]]:
    return page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('table.figures')).map(t =>
            [t.dataset.table, Array.from(t.querySelectorAll('tr:not(.empty)')).map(r =>
                Array.from(r.children).map(c => c.textContent.trim()))]))"""
    )


def _same(shown: str, stored: object) -> bool:
    got = _number(shown)
    if isinstance(got, str):
        return stored in (None, "", "X") if got in ("X", "—", "") else stored == got
    if not isinstance(stored, int | float):
        return False
    # the page rounds rates to 0.1 % and other numbers to 2 decimals
    return abs(got - float(stored)) <= (0.0005 if "%" in shown else 0.0051)


def test_dashboard_charts_and_exports(sqlite_ctx: Dispatcher, clock: SimClock) -> None:
    _replay(sqlite_ctx, clock)
    with Session(sqlite_ctx.engine) as s:
        names = [f"{p.family_name} {p.given_name}" for p in s.exec(select(Resident))]
    with Server(sqlite_ctx) as base, sync_playwright() as pw:
        browser = launch(pw)
        context = browser.new_context(
            viewport={"width": 1366, "height": 900}, locale="ja-JP", accept_downloads=True
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        log = RequestLog(page)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "console",
            lambda m: errors.append(m.text) if m.type == "error" and "status of 403" not in m.text else None,
        )

        # An operator is not a municipality viewer.
        page.goto(f"{base}/municipality")
        page.fill("#login-user", "ina-demo-operator")
        page.fill("#login-pass", DEMO_PASSWORD)
        page.click("#login-submit")
        expect(page.locator("#login-error")).to_contain_text("市町村の統計を見られません")

        page.fill("#login-user", "ina-demo-city")
        page.fill("#login-pass", DEMO_PASSWORD)
        page.click("#login-submit")
        expect(page.locator("#report")).to_be_visible()
        expect(page.locator("#from")).to_have_value("2026-11-01")  # this month, to the server's today
        expect(page.locator("#to")).to_have_value("2026-11-24")
        expect(page.locator("#chart-ridership svg")).to_be_visible()

        # One bar per day of the month so far; today's bar is the day's passengers.
        tables = _page_tables(page)
        days = tables["ridership"][1:]
        assert len(days) == 24
        bars = page.locator("#chart-ridership rect.bar")
        expect(bars).to_have_count(24)
        today = days[-1]
        header = tables["ridership"][0]
        passengers = int(today[header.index("乗車人数（人）")])
        assert passengers > 10
        assert float(bars.nth(23).get_attribute("data-value")) == passengers
        assert (
            page.locator("#chart-ridership circle.dot").count() == 1
        )  # the sharing rate of the one day with trips
        expect(page.locator("#chart-age rect.bar")).to_have_count(4)
        assert page.locator("#chart-area rect.bar").count() >= 10
        assert page.locator("#chart-shopping rect.bar").count() == 48  # drone and ground per day
        assert page.locator("#tiles .tile").count() == 10
        shot(page, FOLDER, "dashboard-top")
        page.screenshot(path=str(ARTIFACTS / FOLDER / "dashboard-full.png"), full_page=True)

        styles = text_styles(page)
        low = [s for s in styles if s["ratio"] < 4.5]
        assert not low, low[:5]
        text = page.inner_text("body")
        assert not [n for n in names if n in text]
        assert "X" in _page_tables(page)["ridership_area"][1:].__str__()  # small cells hidden

        # Excel: every sheet holds the page's table, cell for cell.
        with page.expect_download() as dl:
            page.click("#xlsx")
        path = ARTIFACTS / FOLDER / dl.value.suggested_filename
        dl.value.save_as(path)
        wb = load_workbook(path)
        titles = page.evaluate(
            "() => Object.fromEntries(Array.from(document.querySelectorAll('.table-block')).map(b =>"
            " [b.dataset.table, b.querySelector('h2').textContent]))"
        )
        assert set(titles) == set(tables)
        compared = 0
        for name, rows in tables.items():
            ws = wb[titles[name][:31]]
            sheet = [list(r) for r in ws.iter_rows(min_row=3, max_row=2 + len(rows), values_only=True)]
            assert len(sheet) == len(rows), name
            for page_row, xl_row in zip(rows[1:], sheet[1:], strict=True):
                for shown, stored in zip(page_row, xl_row, strict=False):
                    assert _same(shown, stored), (name, page_row, xl_row)
                    compared += 1
        assert compared > 500

        # CSV of one table: the same numbers again.
        with page.expect_download() as dl:
            page.click(".table-block[data-table='ridership_age'] button.csv")
        with open(dl.value.path(), encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
        assert rows[1:] == [
            [c if not c.endswith("%") else f"{float(c[:-1]):.1f}" for c in r]
            for r in tables["ridership_age"][1:]
        ]

        # The printed monthly report: last month, by week, as A4 PDF.
        page.click("button[data-range='last-month']")
        expect(page.locator("#from")).to_have_value("2026-10-01")
        page.select_option("#group", "week")
        page.click("#show")
        expect(page.locator("#report-title")).to_contain_text("月次報告（2026年10月）")
        page.click("button[data-range='this-month']")
        expect(page.locator("#report-title")).to_contain_text("利用状況")
        page.emulate_media(media="print")
        page.pdf(path=str(ARTIFACTS / FOLDER / "report.pdf"), format="A4", print_background=True)
        assert (ARTIFACTS / FOLDER / "report.pdf").stat().st_size > 20_000
        shot(page, FOLDER, "print-view")
        assert page.locator("#controls").is_hidden()

        assert log.outside(base) == []
        assert errors == []
        browser.close()


@pytest.mark.parametrize("role", ["ina-demo-driver-ina-chuo-taxi", "ina-demo-operator"])
def test_dashboard_api_refuses_other_roles(sqlite_ctx: Dispatcher, role: str) -> None:
    with client_for(sqlite_ctx) as client:
        h = token_headers(client, role)
        for path in (
            "/api/v1/stats/dashboard",
            "/api/v1/stats/dashboard.xlsx",
            "/api/v1/stats/tables/summary.csv",
        ):
            r = client.get(path, headers=h)
            assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
