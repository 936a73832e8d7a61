"""Issue 19: the operator console's テレビの登録待ち tab in a real Chromium against a real server.

An operator sees how many TV boxes wait for pairing and which, removes one (asked twice), then
clears the rest after a flood (asked twice, with the count); each removal is an event with who and
when, and a removed box's token no longer works. Nothing is fetched from outside the app and the
page logs no error.
"""

from __future__ import annotations

import httpx
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Event
from dispatcher.platform.demo import DEMO_PASSWORD
from tests.live import RequestLog, Server, launch, shot
from tests.test_operator_page import _readable, _script_error

FOLDER = "operator"
TIMEOUT_MS = 15_000


def test_operator_lists_and_clears_waiting_boxes(sqlite_ctx: Dispatcher, clock: SimClock) -> None:
    ctx = sqlite_ctx
    with Server(ctx) as base, sync_playwright() as p:
        boxes = [httpx.post(base + "/api/v1/tv/devices", json={}).json() for _ in range(6)]
        browser = launch(p)
        try:
            op = browser.new_page(viewport={"width": 1366, "height": 768}, locale="ja-JP")
            log = RequestLog(op)
            problems: list[str] = []
            op.on("console", lambda m: _script_error(m, problems))
            op.on("pageerror", lambda e: problems.append(str(e)))
            op.set_default_timeout(TIMEOUT_MS)
            op.goto(base + "/operator")
            op.fill("#login-user", "ina-demo-operator")
            op.fill("#login-pass", DEMO_PASSWORD)
            op.click("#login-submit")
            expect(op.locator("#search")).to_be_visible()

            op.click("#tab-tvqueue")
            expect(op.locator("#tvqueue-summary")).to_have_text("6台が登録待ち（500台まで）")
            rows = op.locator("#tvqueue-rows tr")
            expect(rows).to_have_count(6)
            newest = boxes[-1]["device_id"]
            expect(rows.first).to_contain_text(f"テレビ No.{newest}")
            expect(rows.first).to_contain_text("表示中")
            assert boxes[0]["code"] not in op.locator("#tvqueue-view").inner_text()  # codes stay on the TV
            _readable(op)
            shot(op, FOLDER, "20-tv-queue")

            # one box: the button asks once more before it removes
            first = boxes[0]["device_id"]
            op.click(f'[data-id="remove-{first}"]')
            expect(op.locator(f'[data-id="remove-{first}"]')).to_have_text("本当に取り消す")
            expect(rows).to_have_count(6)
            op.click(f'[data-id="remove-{first}"]')
            expect(op.locator("#toast")).to_contain_text(f"テレビ No.{first} の登録待ちを取り消しました。")
            expect(rows).to_have_count(5)
            expect(op.locator("#tvqueue-summary")).to_have_text("5台が登録待ち（500台まで）")

            # all of them: asked once more, with the count
            op.click("#tvqueue-clear")
            expect(op.locator("#tvqueue-clear")).to_have_text("本当にすべて取り消す（5台）")
            shot(op, FOLDER, "21-tv-queue-clear-armed")
            op.click("#tvqueue-clear")
            expect(op.locator("#toast")).to_contain_text("5台の登録待ちを取り消しました。")
            expect(op.locator("#tvqueue-rows")).to_contain_text("登録を待っているテレビはありません。")
            expect(op.locator("#tvqueue-summary")).to_have_text("0台が登録待ち（500台まで）")
            expect(op.locator("#tvqueue-clear")).to_be_disabled()
            shot(op, FOLDER, "22-tv-queue-cleared")

            for box in boxes:
                r = httpx.get(base + "/api/v1/tv/device", headers={"Authorization": f"Bearer {box['token']}"})
                assert r.status_code == 401
            assert log.outside(base) == []
            assert problems == []
        finally:
            browser.close()
    with Session(ctx.engine) as s:
        removals = s.exec(select(Event).where(Event.kind == "device.removed")).all()
    assert sorted(int(e.entity_id) for e in removals) == sorted(b["device_id"] for b in boxes)
    assert {e.actor for e in removals} == {"user:ina-demo-operator"}
    assert all(e.at == clock.now() for e in removals)
