"""Several municipalities on one deployment (docs/tenant.md, README "How a municipality goes live").

NORIAI_TENANT_FILE names a file, a folder or a list; `noriai tenant apply` checks a file, says what
it changes and stores it, and a running server uses the change without a restart; the first
administrator comes from the command line; every town has its own pages under /t/<id>, a plain
page path on a server of several towns lets people choose, and a staff user cannot sign in on
another town's page; bookings and statistics stay within each town.
"""

from __future__ import annotations

import io
import os
import pty
import re
import select as io_select
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import event
from sqlmodel import Session, col, func, select

from api.cli import main as noriai
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import session_scope
from dispatcher.models import ApiToken, Event, Resident, Tenant, Vehicle, WatchEpisode
from dispatcher.platform.bootstrap import build_dispatcher
from dispatcher.platform.demo import DEMO_PASSWORD, seed_demo
from dispatcher.residents.eligibility import categories_on
from dispatcher.settings import DEMO_TENANT_FILE, DEMO_TOWNS, Settings
from dispatcher.tenant_config import TenantConfigError, load_tenant, tenant_paths
from dispatcher.tenants import sync_tenant
from tests.conftest import DAY_START, client_for, token_headers
from tests.live import Server

YASUOKA_FILE = DEMO_TOWNS / "yasuoka-demo.yaml"
DAY = DAY_START.date().isoformat()


def two_towns(url: str, clock: SimClock, ina: int = 40, yasuoka: int = 30) -> Dispatcher:
    """Both demo towns on one database, as `noriai seed-demo` loads them (fewer Ina residents)."""
    settings = Settings(DATABASE_URL=url, NORIAI_TENANT_FILE=DEMO_TOWNS, NORIAI_CACHE_DIR="var/cache")
    ctx = build_dispatcher(settings, clock)
    with session_scope(ctx.engine) as s:
        for tid, n in (("ina-demo", ina), ("yasuoka-demo", yasuoka)):
            seed_demo(s, ctx.config(tid), clock.now(), residents=n)
    return ctx


@pytest.fixture
def towns(db_url: str, clock: SimClock) -> Iterator[Dispatcher]:
    c = two_towns(db_url, clock)
    yield c
    c.engine.dispose()


def rider(ctx: Dispatcher, tenant: str) -> int:
    """A resident of the town who may ride today (not in a wheelchair)."""
    cfg = ctx.config(tenant)
    with Session(ctx.engine) as s:
        rows = s.exec(
            select(Resident)
            .where(Resident.tenant_id == tenant, Resident.wheelchair == False)  # noqa: E712
            .order_by(col(Resident.id))
        ).all()
    return next(
        r.id
        for r in rows
        if categories_on(r, cfg, DAY_START.date()) & set(cfg.eligibility.any_of) and r.id is not None
    )


def ride_body(resident: int, origin: str, destination: str, at: str) -> dict[str, Any]:
    return {
        "resident_id": resident,
        "origin": {"place_id": origin},
        "destination": {"place_id": destination},
        "pickup_after": f"{DAY}T{at}:00+09:00",
    }


def cli_env(monkeypatch: pytest.MonkeyPatch, url: str, tenant_file: Path | str) -> None:
    """The environment `noriai` reads, for calling its main() in this process."""
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("NORIAI_TENANT_FILE", str(tenant_file))
    monkeypatch.setenv("NORIAI_NOW", DAY_START.isoformat())
    monkeypatch.setenv("NORIAI_CACHE_DIR", "var/cache")


# ------------------------------------------------------------------------- the tenant files


def test_the_setting_names_a_file_a_folder_or_a_list(
    tmp_path: Path, sqlite_url: str, clock: SimClock
) -> None:
    ina, yasuoka = DEMO_TENANT_FILE, YASUOKA_FILE
    assert tenant_paths(DEMO_TOWNS) == [ina, yasuoka]
    assert tenant_paths(str(ina)) == [ina]
    assert tenant_paths(f"{yasuoka}{os.pathsep}{ina}") == [yasuoka, ina]
    assert tenant_paths(f"{ina}, {DEMO_TOWNS}") == [ina, yasuoka]  # each file once
    (tmp_path / "empty").mkdir()
    with pytest.raises(TenantConfigError, match="a folder without tenant files"):
        tenant_paths(tmp_path / "empty")

    # the default deployment serves every demo town, each remembered with its file
    ctx = build_dispatcher(Settings(DATABASE_URL=sqlite_url), clock)
    assert ctx.tenant_files == {"ina-demo": ina, "yasuoka-demo": yasuoka}
    assert [t for t, _ in ctx.tenants()] == ["ina-demo", "yasuoka-demo"]
    ctx.engine.dispose()

    # a folder with a broken file and a file repeating an id: every problem names its file, and
    # nothing of any file is stored
    folder = tmp_path / "towns"
    folder.mkdir()
    shutil.copy(yasuoka, folder / "a-yasuoka.yaml")
    data = yaml.safe_load(yasuoka.read_text(encoding="utf-8"))
    data["id"], data["fares"]["standard_yen"] = "kawa-demo", -5
    (folder / "b-kawa.json").write_text(__import__("json").dumps(data, ensure_ascii=False), encoding="utf-8")
    shutil.copy(yasuoka, folder / "c-copy.yml")
    (folder / "notes.txt").write_text("not a tenant file", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    with pytest.raises(TenantConfigError) as e:
        build_dispatcher(Settings(DATABASE_URL=url, NORIAI_TENANT_FILE=folder), clock)
    assert e.value.problems == [
        f"{folder / 'b-kawa.json'}: fares.standard_yen: must be ≥ 0",
        f"{folder / 'c-copy.yml'}: id: 'yasuoka-demo' is already the id of {folder / 'a-yasuoka.yaml'}",
    ]
    from dispatcher.db import make_engine

    engine = make_engine(url)
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Tenant)).one() == 0
    engine.dispose()


def test_a_process_notices_a_changed_tenant_cheaply(sqlite_url: str, clock: SimClock) -> None:
    """The cached rules cost no query for `config_recheck_seconds`, then one small read; a change
    stored by another process (its own Dispatcher) is parsed again and drops the plan views."""
    settings = Settings(DATABASE_URL=sqlite_url, NORIAI_TENANT_FILE=YASUOKA_FILE)
    server = build_dispatcher(settings, clock)
    other = build_dispatcher(settings, clock, sync=False)  # another process, e.g. `noriai tenant apply`
    statements: list[str] = []
    event.listen(server.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert server.config("yasuoka-demo").fares.standard_yen == 300
    server.views[("yasuoka-demo", DAY_START.date())] = object()
    statements.clear()
    for _ in range(100):
        server.config("yasuoka-demo")
    assert statements == []  # within the recheck period: not one query
    server.config_recheck_seconds = 0.0  # as if the period had passed
    server.config("yasuoka-demo")
    assert len(statements) == 1 and "config_version" in statements[0]  # unchanged: one small read
    assert server.views  # nothing changed: the views stay

    data = load_tenant(YASUOKA_FILE).model_dump(mode="json", by_alias=True)
    data["fares"]["standard_yen"] = 400
    from dispatcher.tenant_config import parse_tenant

    with session_scope(other.engine) as s:
        before = s.get(Tenant, "yasuoka-demo").config_version
        sync_tenant(s, parse_tenant(data), clock.now())
    with session_scope(other.engine) as s:
        assert s.get(Tenant, "yasuoka-demo").config_version == before + 1
        sync_tenant(s, parse_tenant(data), clock.now())  # the same again: no new version
    with Session(other.engine) as s:
        assert s.get(Tenant, "yasuoka-demo").config_version == before + 1
    assert server.config("yasuoka-demo").fares.standard_yen == 400
    assert not server.views  # the plan views built on the old rules are gone
    server.engine.dispose()
    other.engine.dispose()


def _changed_ina(tmp_path: Path) -> Path:
    """Ina's file with one of everything changed."""
    data = yaml.safe_load(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    chuo = data["operators"][0]["vehicles"]
    chuo[0]["seats"], chuo[0]["shift"] = 6, {"start": "07:00", "end": "19:00"}
    chuo.append(dict(chuo[1], id="chuo-5", name="中央5号"))
    data["operators"][2]["vehicles"].pop()  # haru-2 leaves the file
    data["operators"].append(
        {
            "id": "minowa-kotsu",
            "name": "箕輪交通（仮）",
            "vehicles": [dict(chuo[1], id="minowa-1", name="箕輪1号")],
        }
    )
    data["fares"]["standard_yen"] = 400
    data["fares"]["reduced"] = []
    data["service_hours"]["sat"] = None
    data["booking"]["min_lead_minutes"] = 20
    data.pop("drones")
    path = tmp_path / "ina-changed.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_tenant_apply_reports_then_stores_with_events(
    db_url: str,
    clock: SimClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ctx = build_dispatcher(Settings(DATABASE_URL=db_url, NORIAI_TENANT_FILE=DEMO_TENANT_FILE), clock)
    cli_env(monkeypatch, db_url, DEMO_TENANT_FILE)
    changed = _changed_ina(tmp_path)

    def stored() -> tuple[int, list[tuple[str, bool, int]]]:
        with Session(ctx.engine) as s:
            version = s.get(Tenant, "ina-demo").config_version
            fleet = s.exec(
                select(Vehicle.key, Vehicle.active, Vehicle.seats)
                .where(Vehicle.tenant_id == "ina-demo")
                .order_by(col(Vehicle.key))
            ).all()
        return version, [tuple(v) for v in fleet]

    before = stored()
    assert noriai(["tenant", "apply", str(changed), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert stored() == before  # a dry run changes nothing
    assert "dry run: nothing applied" in out
    report = out[out.index("operators added:") : out.index("dry run")]
    assert report.splitlines() == [
        "operators added:",
        "    minowa-kotsu (箕輪交通（仮）)",
        "  vehicles added:",
        "    chuo-5 (ina-chuo-taxi): 4 seats, shift 07:45–17:30",
        "    minowa-1 (minowa-kotsu): 4 seats, shift 07:45–17:30",
        "  vehicles deactivated:",
        "    haru-2 (harachika-kotsu)",
        "  vehicles changed:",
        "    chuo-1: seats 4 → 6; shift 07:45–17:30 → 07:00–19:00",
        "  fares changed:",
        "    standard_yen: 500 → 400",
        "    reduced disability: 250 → none",
        "  service hours changed:",
        "    sat: 08:00–12:00 → no service",
        "  other sections changed:",
        "    booking",
        "    drones (removed)",
    ]

    assert noriai(["tenant", "apply", str(changed)]) == 0
    out = capsys.readouterr().out
    assert "applied: running servers use it" in out
    assert f"a server starting up loads {DEMO_TENANT_FILE}" in out  # the served file would undo it
    version, fleet = stored()
    assert version == before[0] + 1
    assert ("chuo-1", True, 6) in fleet and ("chuo-5", True, 4) in fleet and ("minowa-1", True, 4) in fleet
    assert ("haru-2", False, 4) in fleet
    with Session(ctx.engine) as s:
        kinds = [
            (e.kind, e.actor)
            for e in s.exec(select(Event).where(Event.tenant_id == "ina-demo", Event.actor == "user:cli"))
        ]
        applied = s.exec(select(Event).where(Event.kind == "tenant.applied")).one()
        changed_event = s.exec(select(Event).where(Event.kind == "vehicle.changed")).one()
    assert sorted(k for k, _ in kinds) == sorted(
        [
            "tenant.updated",
            "operator.created",
            "vehicle.created",
            "vehicle.created",
            "vehicle.changed",
            "vehicle.deactivated",
            "tenant.applied",
        ]
    )
    assert applied.after["file"] == str(changed) and "  haru-2 (harachika-kotsu)" in applied.after["changes"]
    assert changed_event.before == {"seats": 4, "shift_start": "07:45", "shift_end": "17:30"}
    assert changed_event.after == {"seats": 6, "shift_start": "07:00", "shift_end": "19:00"}

    # applying the same file again changes nothing, not even the version
    assert noriai(["tenant", "apply", str(changed)]) == 0
    assert "no changes: ina-demo is as the file says" in capsys.readouterr().out
    assert stored()[0] == version

    # a broken file: its problems, as `noriai tenant validate` explains them, and nothing stored
    broken = tmp_path / "broken.yaml"
    broken.write_text(changed.read_text(encoding="utf-8").replace("standard_yen: 400", "standard_yen: -1"))
    assert noriai(["tenant", "apply", str(broken)]) == 1
    out = capsys.readouterr().out
    assert f"{broken}: 1 problem(s)\n  fares.standard_yen: must be ≥ 0\nnothing applied" in out
    assert stored()[0] == version
    ctx.engine.dispose()


def test_first_admin_of_a_freshly_applied_town(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new town: `tenant apply`, then its first administrator with the password from the
    environment, from standard input, or typed at a prompt that does not echo it."""
    cli_env(monkeypatch, sqlite_url, DEMO_TENANT_FILE)
    assert noriai(["tenant", "apply", str(YASUOKA_FILE)]) == 0
    out = capsys.readouterr().out
    assert "new tenant yasuoka-demo (泰阜村（デモ）)" in out and "vehicles added:" in out
    assert "noriai user create --tenant yasuoka-demo --role admin USERNAME" in out
    assert "is not among NORIAI_TENANT_FILE" in out

    monkeypatch.setenv("NORIAI_PASSWORD", "from-the-environment")
    assert noriai(["user", "create", "--tenant", "yasuoka-demo", "--role", "admin", "mayor"]) == 0
    monkeypatch.delenv("NORIAI_PASSWORD")
    monkeypatch.setattr(sys, "stdin", io.StringIO("from-standard-input\n"))
    assert noriai(["user", "create", "--tenant", "yasuoka-demo", "--role", "operator", "clerk"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert noriai(["user", "create", "--tenant", "yasuoka-demo", "--role", "operator", "weak"]) == 1
    assert "--password: must have at least 8 characters" in capsys.readouterr().err

    # at a terminal: asked twice, never shown
    master, slave = pty.openpty()
    env = {**os.environ}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli",
            "user",
            "create",
            "--tenant",
            "yasuoka-demo",
            "--role",
            "admin",
            "deputy",
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""

    def read_until(what: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 60
        while what not in seen:
            assert time.monotonic() < deadline, seen
            ready, _, _ = io_select.select([master], [], [], 1)
            if ready:
                try:
                    seen += os.read(master, 1024)
                except OSError:  # the child closed the terminal
                    break

    read_until(b"password for the new user:")
    os.write(master, b"typed-at-the-prompt\n")
    read_until(b"again:")
    os.write(master, b"typed-at-the-prompt\n")
    read_until(b"created in yasuoka-demo")
    assert proc.wait(timeout=60) == 0
    os.close(master)
    assert b"user deputy (admin) created in yasuoka-demo" in seen
    assert b"typed-at-the-prompt" not in seen  # no echo

    ctx = build_dispatcher(Settings(DATABASE_URL=sqlite_url, NORIAI_TENANT_FILE=YASUOKA_FILE), sync=False)
    with client_for(ctx) as c:
        for user, password in (
            ("mayor", "from-the-environment"),
            ("clerk", "from-standard-input"),
            ("deputy", "typed-at-the-prompt"),
        ):
            r = c.post(
                "/api/v1/auth/token",
                data={"username": user, "password": password, "tenant_id": "yasuoka-demo"},
            )
            assert r.status_code == 200 and r.json()["tenant_id"] == "yasuoka-demo", r.text
        assert r.json()["role"] == "admin"
    ctx.engine.dispose()


# --------------------------------------------------------------- a running server, no restart


def test_a_running_server_uses_an_applied_file_without_restart(
    db_url: str,
    clock: SimClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Yasuoka serves until 16:00 with two vehicles. The file is changed to serve until 18:30 with a
    third vehicle working 15:30–19:00 and applied while the server runs: a 16:30 pickup, refused
    before, is then booked on the new vehicle."""
    served_file = tmp_path / "yasuoka.yaml"
    shutil.copy(YASUOKA_FILE, served_file)
    settings = Settings(DATABASE_URL=db_url, NORIAI_TENANT_FILE=served_file, NORIAI_CACHE_DIR="var/cache")
    ctx = build_dispatcher(settings, clock)
    with session_scope(ctx.engine) as s:
        seed_demo(s, ctx.config("yasuoka-demo"), clock.now(), residents=30)
    resident = rider(ctx, "yasuoka-demo")
    late = ride_body(resident, "hall-sakyo", "village-clinic", "16:30")
    with Server(ctx) as base:
        op = httpx.Client(base_url=base, timeout=30)
        tok = op.post(
            "/api/v1/auth/token",
            data={
                "username": "yasuoka-demo-operator",
                "password": DEMO_PASSWORD,
                "tenant_id": "yasuoka-demo",
            },
        )
        op.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
        refused = op.post("/api/v1/rides/quote", json=late)
        assert refused.status_code == 422, refused.text
        # the ride must end by closing (16:00): the refusal names the last pickup (issue 20)
        assert [e["code"] for e in refused.json()["errors"]] == ["time.after_last_pickup"]
        early = op.post(
            "/api/v1/rides",
            json=ride_body(resident, "hall-sakyo", "village-clinic", "10:00"),
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert early.status_code == 201, early.text  # the server holds a plan view and the old rules

        data = yaml.safe_load(served_file.read_text(encoding="utf-8"))
        data["service_hours"]["tue"] = {"start": "09:00", "end": "18:30"}
        depot = data["operators"][0]["vehicles"][0]["depot"]
        data["operators"][0]["vehicles"].append(
            {
                "id": "yasuoka-3",
                "name": "夕方便",
                "seats": 4,
                "depot": depot,
                "shift": {"start": "15:30", "end": "19:00"},
            }
        )
        served_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        cli_env(monkeypatch, db_url, served_file)
        assert noriai(["tenant", "apply", str(served_file)]) == 0  # another Dispatcher, as a process would
        out = capsys.readouterr().out
        assert "yasuoka-3 (yasuoka-kotsu): 4 seats, shift 15:30–19:00" in out
        assert "tue: 09:00–16:00 → 09:00–18:30" in out

        deadline = time.monotonic() + 30  # the server rereads the version at most every 2 s
        while (quote := op.post("/api/v1/rides/quote", json=late)).status_code != 200:
            assert time.monotonic() < deadline, quote.text
            time.sleep(0.25)
        booked = op.post("/api/v1/rides", json=late, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert booked.status_code == 201, booked.text
        vehicles = {v["id"]: v["key"] for v in op.get("/api/v1/vehicles").json()}
        assert vehicles[booked.json()["vehicle_id"]] == "yasuoka-3"
        assert vehicles[early.json()["vehicle_id"]] in ("yasuoka-1", "yasuoka-2")  # promises stay
        op.close()
    ctx.engine.dispose()


# ------------------------------------------------------------------------------ pages per town


def test_pages_per_town_chooser_and_unknown_town(towns: Dispatcher) -> None:
    with client_for(towns) as c:
        ina = c.get("/t/ina-demo/operator")
        assert (
            ina.status_code == 200 and 'data-tenant="ina-demo"' in ina.text and "伊那市（デモ）" in ina.text
        )
        yas = c.get("/t/yasuoka-demo/tv")
        assert (
            yas.status_code == 200
            and 'data-tenant="yasuoka-demo"' in yas.text
            and "泰阜村（デモ）" in yas.text
        )
        assert "伊那市" not in yas.text
        # several towns: the plain path is a chooser in Japanese with a link per town
        plain = c.get("/operator")
        assert plain.status_code == 200 and "市町村を選んでください" in plain.text
        links = re.findall(r'<a href="([^"]+)">([^<]+)<', plain.text)
        assert links == [
            ("/t/ina-demo/operator", "伊那市（デモ）"),
            ("/t/yasuoka-demo/operator", "泰阜村（デモ）"),
        ]
        assert "data-tenant" not in plain.text
        # an unknown town: a 404 page in Japanese (its name escaped), with the towns there are
        gone = c.get("/t/%3Cb%3Enowhere/tv")
        assert gone.status_code == 404 and "その市町村は見つかりません" in gone.text
        assert "&lt;b&gt;nowhere" in gone.text and "<b>nowhere" not in gone.text
        assert 'href="/t/yasuoka-demo/tv"' in gone.text
        assert c.get("/t/nowhere").status_code == 404
        # a town's own list of pages: a village without shopping or drones lists none of theirs
        own = c.get("/t/yasuoka-demo")
        pages = re.findall(r'href="(/t/yasuoka-demo/[a-z]+)"', own.text)
        assert pages == [
            "/t/yasuoka-demo/tv",
            "/t/yasuoka-demo/operator",
            "/t/yasuoka-demo/m",
            "/t/yasuoka-demo/driver",
            "/t/yasuoka-demo/municipality",
        ]
        assert c.get("/t/yasuoka-demo/", follow_redirects=False).headers["location"] == "/t/yasuoka-demo"

        # the family's watch link lives under its town; under another town it is not found
        from dispatcher.care.watchover import _hash

        with session_scope(towns.engine) as s:
            hh = s.exec(select(Resident.household_id).where(Resident.tenant_id == "yasuoka-demo")).first()
            ep = WatchEpisode(
                tenant_id="yasuoka-demo",
                household_id=hh,
                inactive_since=DAY_START - timedelta(hours=30),
                alerted_at=DAY_START - timedelta(hours=2),
                ack_token_hash=_hash("family-link"),
            )
            s.add(ep)
        page = c.get("/t/yasuoka-demo/watch/ack/family-link")
        assert page.status_code == 200 and "泰阜村（デモ）" in page.text
        assert 'action="/t/yasuoka-demo/watch/ack/family-link"' in page.text
        assert c.post("/t/ina-demo/watch/ack/family-link").status_code == 404
        plain_link = c.get("/watch/ack/family-link")  # older e-mails: the link's own town
        assert plain_link.status_code == 200 and "泰阜村（デモ）" in plain_link.text
        assert c.get("/watch/ack/unknown-link").status_code == 404
        with Session(towns.engine) as s:
            assert s.get(WatchEpisode, ep.id).acknowledged_at is None
        assert c.post("/t/yasuoka-demo/watch/ack/family-link").status_code == 200
        with Session(towns.engine) as s:
            assert s.get(WatchEpisode, ep.id).acknowledged_at is not None


def test_one_town_keeps_its_plain_paths(sqlite_ctx: Dispatcher) -> None:
    with client_for(sqlite_ctx) as c:
        page = c.get("/tv")
        assert page.status_code == 200 and 'data-tenant="ina-demo"' in page.text
        assert c.get("/t/ina-demo/tv").status_code == 200
        assert c.get("/t/yasuoka-demo/tv").status_code == 404


def test_staff_sign_in_on_another_towns_page_is_refused(towns: Dispatcher) -> None:
    def tokens() -> int:
        with Session(towns.engine) as s:
            return s.exec(select(func.count()).select_from(ApiToken)).one()

    with client_for(towns) as c:
        before = tokens()
        login = {"username": "ina-demo-operator", "password": DEMO_PASSWORD}
        r = c.post("/api/v1/auth/token", data={**login, "tenant_id": "yasuoka-demo"})
        assert r.status_code == 403, r.text
        problem = r.json()
        assert problem["code"] == "auth.other_tenant"
        assert problem["message_ja"] == (
            "このユーザーは伊那市（デモ）の職員用です。伊那市（デモ）の画面（/t/ina-demo/…）からサインインしてください。"
        )
        assert tokens() == before  # no token for the wrong town
        # a wrong password says only that: nothing about which town the name belongs to
        wrong = c.post(
            "/api/v1/auth/token", data={**login, "password": "wrong-password", "tenant_id": "yasuoka-demo"}
        )
        assert wrong.status_code == 401 and "伊那" not in wrong.text
        assert c.post("/api/v1/auth/token", data={**login, "tenant_id": "ina-demo"}).status_code == 200
        assert c.post("/api/v1/auth/token", data=login).status_code == 200  # API clients name no page


# ---------------------------------------------------------------- two towns, one application


def test_two_towns_book_pair_and_count_apart(towns: Dispatcher) -> None:
    with client_for(towns) as c:
        staff = {
            t: {role: token_headers(c, f"{t}-{role}") for role in ("operator", "city")}
            for t in ("ina-demo", "yasuoka-demo")
        }
        trips = {
            "ina-demo": [("hall-tera", "central-hospital", "10:00"), ("hall-misuzu", "super-ina", "11:00")],
            "yasuoka-demo": [("hall-kuromi", "village-office", "10:00")],
        }
        fleets = {}
        for town, wanted in trips.items():
            op = staff[town]["operator"]
            fleets[town] = {v["id"] for v in c.get("/api/v1/vehicles", headers=op).json()}
            resident = rider(towns, town)
            for origin, dest, at in wanted:
                r = c.post(
                    "/api/v1/rides",
                    json=ride_body(resident, origin, dest, at),
                    headers={**op, "Idempotency-Key": uuid.uuid4().hex},
                )
                assert r.status_code == 201, r.text
                assert r.json()["vehicle_id"] in fleets[town]
            # a place of the other town is not one of this town's places
            other = "village-office" if town == "ina-demo" else "central-hospital"
            bad = c.post("/api/v1/rides/quote", json=ride_body(resident, origin, other, "12:00"), headers=op)
            assert bad.status_code == 422 and "place.unknown" in bad.text
        assert fleets["ina-demo"].isdisjoint(fleets["yasuoka-demo"]) and len(fleets["yasuoka-demo"]) == 2
        # Yasuoka's flat fare and hours: ¥300, nothing after 16:00
        yas_op = staff["yasuoka-demo"]["operator"]
        resident = rider(towns, "yasuoka-demo")
        quote = c.post(
            "/api/v1/rides/quote",
            json=ride_body(resident, "hall-sakyo", "village-clinic", "13:00"),
            headers=yas_op,
        )
        assert quote.status_code == 200 and quote.json()["fare_yen"] == 300, quote.text
        late = c.post(
            "/api/v1/rides",
            json=ride_body(resident, "hall-sakyo", "village-clinic", "16:30"),
            headers={**yas_op, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert late.status_code == 422
        # each operator sees its own rides only
        for town, wanted in trips.items():
            rides = c.get("/api/v1/rides", params={"date": DAY}, headers=staff[town]["operator"]).json()
            assert len(rides) == len(wanted) and {r["vehicle_id"] for r in rides} <= fleets[town]

        # a TV box registered on Yasuoka's page is paired by Yasuoka's operator, not Ina's
        box = c.post("/api/v1/tv/devices", json={"tenant_id": "yasuoka-demo"})
        assert box.status_code == 201 and box.json()["call_centre_phone"] == "0260-00-0000"
        with Session(towns.engine) as s:
            hh = s.get(Resident, resident).household_id
        pair = {"code": box.json()["code"], "household_id": hh}
        assert c.post(
            "/api/v1/devices/pair", json=pair, headers=staff["ina-demo"]["operator"]
        ).status_code in (404, 422)
        assert c.post("/api/v1/devices/pair", json=pair, headers=yas_op).status_code == 200
        assert c.post("/api/v1/tv/devices", json={"tenant_id": "nowhere"}).status_code == 404
        assert c.post("/api/v1/tv/devices", json={}).status_code == 422  # two towns: name one

        # statistics: each municipality's viewer sees its own town's figures
        counts = {}
        for town in trips:
            r = c.get("/api/v1/stats/ridership", params={"from": DAY, "to": DAY}, headers=staff[town]["city"])
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["tenant"] == town
            counts[town] = body["totals"]
            dash = c.get(
                "/api/v1/stats/dashboard", params={"from": DAY, "to": DAY}, headers=staff[town]["city"]
            )
            assert dash.status_code == 200
        with Session(towns.engine) as s:
            registered = {
                t: s.exec(select(func.count()).select_from(Resident).where(Resident.tenant_id == t)).one()
                for t in trips
            }
        assert counts["ina-demo"]["confirmed"] == 2 and counts["ina-demo"]["refused"] == 0
        assert counts["yasuoka-demo"]["confirmed"] == 1 and counts["yasuoka-demo"]["refused"] == 0
        assert counts["ina-demo"]["registered_users"] == registered["ina-demo"]
        assert counts["yasuoka-demo"]["registered_users"] == registered["yasuoka-demo"] < 40


def test_the_cli_asks_which_town_when_several_are_served(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env(monkeypatch, sqlite_url, DEMO_TOWNS)
    for town in (DEMO_TENANT_FILE, YASUOKA_FILE):  # commands store no town by themselves (issue 19)
        assert noriai(["tenant", "apply", str(town)]) == 0
    capsys.readouterr()
    assert noriai(["reoptimize"]) == 2
    assert (
        "several municipalities (ina-demo, yasuoka-demo): name one with --tenant" in capsys.readouterr().err
    )
    assert noriai(["plan", "show", "--tenant", "yasuoka-demo"]) == 0
    assert "plan of yasuoka-demo" in capsys.readouterr().out
