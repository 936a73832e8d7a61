"""Issue 10, data retention, on SQLite and PostgreSQL: a day of rides, groceries and watch-over
older than the retention period loses its personal data — a resident who left and her household
are anonymised, and nothing of hers is left in any text of any table — while a recent day keeps
everything; the figures of the old day (ridership, the municipality dashboard, the open-data CSV)
and the closed months' bills are the same before and after; a dry run and a second purge change
nothing; the purge is one `retention.purged` event."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import JSON, String
from sqlmodel import Session, SQLModel, select

from api.cli import main
from dispatcher.billing.statements import close_month
from dispatcher.care.reminders import create as create_reminder
from dispatcher.care.watchover import Consent, acknowledge_by_operator, activity, check, configure, set_away
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import session_scope
from dispatcher.integration.outbox import deliver_due
from dispatcher.models import (
    BillingAccount,
    BillingMonth,
    DailyStats,
    Event,
    Household,
    Membership,
    Resident,
    ResidentNote,
    Ride,
    SellerSettlement,
    Statement,
    WatchEpisode,
)
from dispatcher.platform.retention import purge
from dispatcher.platform.scheduler import specs
from dispatcher.reporting.daily_stats import close_day
from dispatcher.reporting.dashboard import dashboard
from dispatcher.reporting.opendata import ridership_csv
from dispatcher.reporting.stats import ridership, shopping
from dispatcher.residents.notes import add_note
from dispatcher.residents.purge import ANONYMISED
from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import TenantConfigError, parse_tenant
from simulations.demo_day import run_day
from tests.conftest import DAY_START, token_headers

TID = "ina-demo"
OLD = DAY_START.date()  # Tuesday 2026-11-24
NOW = datetime(2028, 1, 11, 8, 0, tzinfo=DAY_START.tzinfo)  # a Tuesday 413 days later
# what makes the resident who leaves recognisable, anywhere it might have been copied to
PHONE = "0265-99-4321"
TRACES = ("留守田", "試験子", "ルスダ", "ﾙｽﾀﾞ", PHONE, "rusuda", "血圧", "耳が遠い", "入院", "裏口")


def _people(ctx: Dispatcher) -> tuple[int, int, int]:
    """(the resident who will leave, her one-person member household, a resident who stays)."""
    cfg = ctx.config(TID)
    with Session(ctx.engine) as s:
        residents = s.exec(select(Resident).where(Resident.wheelchair == False).order_by(Resident.id)).all()  # noqa: E712
        members = {m.household_id for m in s.exec(select(Membership))}
    size: dict[int, int] = {}
    for r in residents:
        size[r.household_id] = size.get(r.household_id, 0) + 1
    ok = [r for r in residents if OLD.year - r.birth_date.year > cfg.eligibility.min_age + 1]
    leaver = next(r for r in ok if size[r.household_id] == 1 and r.household_id in members)
    stayer = next(r for r in ok if r.household_id != leaver.household_id)
    return leaver.id, leaver.household_id, stayer.id


def _make_recognisable(ctx: Dispatcher, rid: int, hid: int) -> None:
    with session_scope(ctx.engine) as s:
        r, h = s.get(Resident, rid), s.get(Household, hid)
        r.family_name, r.given_name, r.family_kana, r.given_kana = "留守田", "試験子", "ルスダ", "シケンコ"
        r.phone, r.notes = PHONE, "裏口から声をかける"
        h.address, h.phone = "伊那市長谷 留守田方 999番地", PHONE
        acc = s.get(BillingAccount, hid) or BillingAccount(
            household_id=hid,
            tenant_id=TID,
            customer_no="199999",
            bank_code="0999",
            branch_code="101",
            account_number="7654321",
            holder_kana="",
            updated_at=DAY_START,
        )
        acc.holder_kana = "ﾙｽﾀﾞ ｼｹﾝｺ"
        s.add_all([r, h, acc])


def _book(client: TestClient, op: dict[str, str], resident: int, origin: dict, to: str, at: datetime) -> int:
    body = {"resident_id": resident, "origin": origin, "destination": {"place_id": to}}
    r = client.post(
        "/api/v1/rides",
        json={**body, "pickup_after": at.isoformat()},
        headers={**op, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _home(ctx: Dispatcher, rid: int) -> dict[str, float]:
    with Session(ctx.engine) as s:
        r = s.get(Resident, rid)
        return {"lat": r.lat, "lon": r.lon}


def _old_day(
    client: TestClient, ctx: Dispatcher, clock: SimClock, leaver: int, hid: int, stayer: int
) -> None:
    """Rides (one cancelled with a reason naming her), groceries, a note, a reminder and a
    watch-over alert on the old day; in the evening she leaves."""
    op = token_headers(client, "ina-demo-operator")
    _book(client, op, leaver, _home(ctx, leaver), "central-hospital", DAY_START.replace(hour=9))
    _book(client, op, stayer, _home(ctx, stayer), "central-hospital", DAY_START.replace(hour=9, minute=20))
    dropped = _book(
        client, op, leaver, {"place_id": "central-hospital"}, "hall-tera", DAY_START.replace(hour=14)
    )
    r = client.post(f"/api/v1/rides/{dropped}/cancel", json={"reason": "留守田さん 入院のため"}, headers=op)
    assert r.status_code == 200, r.text
    items = [i for i in client.get("/api/v1/catalog", headers=op).json() if i["weight_g"] <= 1500][:3]
    r = client.post(
        "/api/v1/orders",
        json={"household_id": hid, "lines": [{"product_id": i["id"], "quantity": 2} for i in items]},
        headers={**op, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    with session_scope(ctx.engine) as s:
        add_note(s, TID, leaver, "耳が遠いのでゆっくり話す", clock.now(), "operator:test")
        add_note(s, TID, stayer, "玄関の段差に注意", clock.now(), "operator:test")  # he stays registered
    create_reminder(
        ctx, TID, hid, "血圧の薬", "operator:test", kind="medication", once_at=DAY_START.replace(hour=19)
    )
    family = [{"name": "留守田 花子", "email": "hanako.rusuda@family.example", "relation": "長女"}]
    consent = Consent(DAY_START.date(), "written", "留守田 試験子", "留守田 花子")  # names: purged too
    configure(ctx, TID, hid, "operator:test", True, family, threshold_hours=2, consent=consent)
    clock.set(DAY_START.replace(hour=10, minute=30))
    assert check(ctx, TID)["alerted"] == 1  # an e-mail naming her goes to the outbox
    deliver_due(ctx, TID)  # no mail server: a failed try in the delivery log
    with Session(ctx.engine) as s:
        episode = s.exec(select(WatchEpisode)).one()
    acknowledge_by_operator(ctx, TID, episode.id, "operator:test", "留守田さん宅に電話、在宅")
    activity(ctx, TID, hid, "power_on", clock.now(), "device:1")
    set_away(ctx, TID, hid, DAY_START + timedelta(days=2), "留守田さん 入院", "operator:test")
    run_day(client, clock, n=5, seed=7, until=DAY_START.replace(hour=17, minute=30))
    vehicle = client.get("/api/v1/vehicles", headers=op).json()[0]
    driver = token_headers(client, f"ina-demo-driver-{vehicle['operator']}")
    for minutes, where in ((5, _home(ctx, leaver)), (40, vehicle["depot"])):  # on the way back
        clock.set(DAY_START.replace(hour=17, minute=30) + timedelta(minutes=minutes))
        r = client.post(
            f"/api/v1/vehicles/{vehicle['id']}/events", json={"type": "position", **where}, headers=driver
        )
        assert r.status_code == 200, r.text
    configure(ctx, TID, hid, "operator:test", False, [])  # she leaves: no watch-over, no membership
    with session_scope(ctx.engine) as s:
        r = s.get(Resident, leaver)
        r.active = False
        for m in s.exec(select(Membership).where(Membership.household_id == hid)):
            m.ends_on = date(2026, 11, 30)
            s.add(m)
        s.add(r)


def _dump(ctx: Dispatcher) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    with ctx.engine.connect() as c:
        return {
            t.name: [tuple(r) for r in c.execute(select(t).order_by(*t.primary_key.columns))]
            for t in SQLModel.metadata.sorted_tables
        }


def _textual(kind: Any) -> bool:
    """Text (sqlmodel's AutoString decorates String) or JSON."""
    kind = getattr(kind, "impl", kind)
    return isinstance(kind, String | JSON)


def _texts(ctx: Dispatcher) -> list[tuple[str, str]]:
    """(table.column, text) of every text and JSON value in the database."""
    out = []
    with ctx.engine.connect() as c:
        for t in SQLModel.metadata.sorted_tables:
            cols = [col for col in t.columns if _textual(col.type)]
            if not cols:
                continue
            for row in c.execute(select(*cols)):
                for col, v in zip(cols, row, strict=True):
                    if v is not None:
                        out.append(
                            (
                                f"{t.name}.{col.name}",
                                v if isinstance(v, str) else json.dumps(v, ensure_ascii=False),
                            )
                        )
    return out


def _figures(ctx: Dispatcher) -> dict[str, Any]:
    """What the municipality sees of the old days: ridership, shopping, the dashboard, open data,
    and the closed months' bills."""
    month = (date(2026, 11, 1), date(2026, 11, 30))
    with Session(ctx.engine) as s:
        bills = sorted(
            (st.household_id, st.month, st.total_yen, st.lines) for st in s.exec(select(Statement))
        )
        sellers = sorted(
            (x.seller_id, x.month, x.gross_yen, x.net_yen) for x in s.exec(select(SellerSettlement))
        )
        months = sorted((m.month, m.totals) for m in s.exec(select(BillingMonth)))
    return {
        "day": ridership(ctx, TID, OLD, OLD),
        "weeks": ridership(ctx, TID, *month, "week"),
        "shopping": shopping(ctx, TID, *month, "day"),
        "dashboard": dashboard(ctx, TID, *month, "month"),
        "csv": ridership_csv(ctx, TID, OLD, OLD),
        "bills": (bills, sellers, months),
    }


def test_old_personal_data_goes_figures_stay(
    client: TestClient,
    ctx: Dispatcher,
    clock: SimClock,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    leaver, hid, stayer = _people(ctx)
    _make_recognisable(ctx, leaver, hid)
    _old_day(client, ctx, clock, leaver, hid, stayer)
    close_day(ctx, TID, OLD)  # the nightly statistics of the old day
    home = _home(ctx, leaver)

    # Thirteen months on: the months are closed, the one who stays rides again.
    clock.set(NOW)
    for month in ("2026-11", "2026-12", "2027-01", "2027-02"):
        assert close_month(ctx, TID, month, "system:billing")["status"] == "closed"
    op = token_headers(client, "ina-demo-operator")
    recent = _book(client, op, stayer, _home(ctx, stayer), "central-hospital", NOW.replace(hour=9))
    with session_scope(ctx.engine) as s:
        add_note(s, TID, stayer, "最近の申し送り", NOW, "operator:test")

    # `noriai purge --dry-run` counts and changes nothing
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NORIAI_NOW", NOW.isoformat())
    assert main(["purge", "--tenant", TID, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "ina-demo: service days up to 2026-11-30: would purge (dry run" in printed
    assert "billing month 2026-12 is one of the last 3 closed months" in printed

    before, rows = _figures(ctx), _dump(ctx)
    found = {t for _w, text in _texts(ctx) for t in (*TRACES, repr(home["lat"])) if t in text}
    assert found == {*TRACES, repr(home["lat"])}  # each trace is there to be found before
    dry = purge(ctx, TID, dry_run=True)
    assert dry["status"] == "dry run" and dry["through"] == "2026-11-30"
    assert _dump(ctx) == rows
    assert f"ride.stripped {dry['counts']['ride.stripped']:>8}".replace(" ", "") in printed.replace(" ", "")

    out = purge(ctx, TID, NOW, "system:retention")
    assert out["status"] == "purged" and out["counts"] == dry["counts"]  # the dry run told exactly
    c = out["counts"]
    assert c["ride.stripped"] >= 6 and c["plan_version.deleted"] >= 1
    assert c["shop_order.stripped"] == 1 and c["shop_order_line.deleted"] == 3
    assert c["event.payload_removed"] >= 2 and c["event.payload_stripped"] >= 10  # positions; requests...
    assert c["resident.anonymised"] == 1 and c["household.anonymised"] == 1
    assert c["billing_account.deleted"] == 1 and c["resident_note.deleted"] == 1
    assert c["reminder.deleted"] == 1 and c["watch_episode.deleted"] == 1
    assert c["outbox_message.payload_removed"] == 1 and c["delivery_attempt.error_removed"] == 1
    assert c["daily_stats.closed"] == 6 and c["daily_stats.kept_vehicle_figures"] == 7  # 24th to 30th

    # Nothing of hers is left in any text of any table, nor her home in any row.
    traces = (*TRACES, repr(home["lat"]), repr(home["lon"]))  # her home in a request or a car's position
    left = [(where, t) for where, text in _texts(ctx) for t in traces if t in text]
    assert left == []
    with Session(ctx.engine) as s:
        her = s.get(Resident, leaver)
        assert her.family_name == ANONYMISED and not her.active and her.household_id == hid
        assert (her.lat, her.lon, her.evidence) == (0.0, 0.0, [])
        assert s.get(BillingAccount, hid) is None
        rides = s.exec(select(Ride).where(Ride.kind == "passenger")).all()
        assert not [r for r in rides if (r.origin_lat, r.origin_lon) == (home["lat"], home["lon"])]
        old = [r for r in rides if r.service_date == OLD]
        assert old and all(r.origin_lat == 0.0 and r.origin_place_id is None for r in old)
        # the recent day is whole: her neighbour's name, his ride from home and its request
        kept = s.get(Ride, recent)
        assert (kept.origin_lat, kept.origin_lon) == tuple(_home(ctx, stayer).values())
        asked = s.exec(
            select(Event).where(Event.entity == "ride", Event.entity_id == str(recent)).order_by(Event.id)
        ).all()
        assert asked[0].after["origin"]["lat"] == kept.origin_lat
        assert s.get(Resident, stayer).family_name != ANONYMISED
        kept_notes = s.exec(select(ResidentNote.text).where(ResidentNote.resident_id == stayer)).all()
        assert "玄関の段差に注意" in kept_notes  # a registered resident's old note stays
        assert [d.service_date.day for d in s.exec(select(DailyStats).order_by(DailyStats.service_date))] == [
            *range(24, 31)
        ]
        (ev,) = s.exec(select(Event).where(Event.kind == "retention.purged")).all()
        assert ev.actor == "system:retention" and ev.after == {
            "through": "2026-11-30",
            "held": out["held"],
            "counts": c,
        }

    # The figures of the old days and the closed months' bills are exactly what they were.
    after = _figures(ctx)
    for key in before:
        assert after[key] == before[key], key
    assert before["day"]["totals"]["trips"] >= 3 and before["day"]["totals"]["km"] > 0
    assert close_day(ctx, TID, OLD)["status"] == "unchanged"  # re-closing the day finds the same

    # Purging again changes nothing, and records nothing.
    rows = _dump(ctx)
    again = purge(ctx, TID, NOW, "system:retention")
    assert again["status"] == "nothing to purge" and again["counts"] == {}
    assert _dump(ctx) == rows

    # It is the vehicles' figures kept with the day that hold its hours and km now: the positions
    # and addresses they came from are gone.
    with session_scope(ctx.engine) as s:
        row = s.exec(select(DailyStats).where(DailyStats.service_date == OLD)).one()
        row.purged_at = None
        s.add(row)
    assert ridership(ctx, TID, OLD, OLD)["totals"]["km"] != before["day"]["totals"]["km"]


def test_the_retention_setting_is_checked_and_null_keeps_everything() -> None:
    data = yaml.safe_load(Path(DEMO_TENANT_FILE).read_text(encoding="utf-8"))
    assert parse_tenant(data).retention.personal_data_days == 400
    for retention, problem in (
        ({"personal_data_days": 30}, "retention.personal_data_days: must be ≥ 90"),
        ({"personal_data_days": 5000}, "retention.personal_data_days: must be ≤ 3653"),
        ({"purge_at": "25:00"}, "retention.purge_at: must be a time of day such as 08:30"),
        (
            {"keep_days": 400},
            "retention.keep_days: is not a known field (check the spelling in docs/tenant.md)",
        ),
    ):
        with pytest.raises(TenantConfigError) as e:
            parse_tenant({**data, "retention": retention})
        assert e.value.problems == [problem]
    cfg = parse_tenant({**data, "retention": {"personal_data_days": None}})
    jobs = [s.name for s in specs(SimpleNamespace(reoptimize_minutes=5.0), cfg)]
    assert "retention" not in jobs and "statistics" in jobs
