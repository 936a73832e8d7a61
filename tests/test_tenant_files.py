"""Issue 19, tenant files: no command stores a municipality unless asked (`noriai tenant apply`,
`noriai seed-demo`), so a command run without NORIAI_TENANT_FILE never adds the demo towns to a
production database; and a running server picks up a town changed by another process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.app import create_app
from api.cli import main as noriai
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.models import Tenant
from dispatcher.platform.bootstrap import build_dispatcher
from dispatcher.settings import DEMO_TENANT_FILE, Settings
from tests.conftest import DAY_START, demo_as, token_headers
from tests.test_api_rides import eligible_resident, ride_body


def _towns(url: str) -> set[str]:
    from dispatcher.db import make_engine

    engine = make_engine(url)
    with Session(engine) as s:
        ids = set(s.exec(select(Tenant.id)))
    engine.dispose()
    return ids


def test_commands_never_store_a_town_unless_asked(
    db_url: str,
    clock: SimClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A production database serving one town (not a demo). Commands run without
    NORIAI_TENANT_FILE (whose default is the demo towns) used to add ina-demo and yasuoka-demo to
    it; now they leave it as it is and name the command that stores a town. `noriai tenant apply`
    stores one; a server started without the setting gives the demo towns only to an empty
    database."""
    kawa = tmp_path / "kawa.yaml"
    cfg = demo_as("kawa-town", "川町", "kawa-")
    kawa.write_text(
        yaml.safe_dump(cfg.model_dump(mode="json", by_alias=True), allow_unicode=True), encoding="utf-8"
    )
    build_dispatcher(Settings(DATABASE_URL=db_url, NORIAI_TENANT_FILE=kawa), clock).engine.dispose()
    assert _towns(db_url) == {"kawa-town"}

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NORIAI_NOW", DAY_START.isoformat())
    monkeypatch.delenv("NORIAI_TENANT_FILE", raising=False)
    monkeypatch.setenv("NORIAI_PASSWORD", "long-enough-password")
    for command in (
        ["jobs"],
        ["plan", "show"],
        ["purge", "--dry-run"],
        ["deliveries"],
        ["residents", "export", "-o", str(tmp_path / "out.csv")],
    ):
        assert noriai(command) == 0, command
        assert _towns(db_url) == {"kawa-town"}, command
    capsys.readouterr()
    assert noriai(["plan", "show", "--tenant", "ina-demo"]) == 1
    err = capsys.readouterr().err
    assert "unknown tenant ina-demo" in err and "noriai tenant apply FILE" in err
    assert noriai(["user", "create", "--tenant", "ina-demo", "--role", "admin", "mayor"]) == 1
    assert _towns(db_url) == {"kawa-town"}

    # a server started without NORIAI_TENANT_FILE adds no demo town to a database with towns
    app = create_app(Settings(DATABASE_URL=db_url), clock=clock, scheduler=False)
    app.state.ctx.engine.dispose()
    assert _towns(db_url) == {"kawa-town"}

    # asked: `noriai tenant apply` stores the town
    assert noriai(["tenant", "apply", str(DEMO_TENANT_FILE)]) == 0
    assert _towns(db_url) == {"kawa-town", "ina-demo"}


def test_a_new_demo_database_still_gets_the_demo_towns(sqlite_url: str, clock: SimClock) -> None:
    """`make run` (seed-demo, then serve) on a new database: the demo needs no setting."""
    app = create_app(Settings(DATABASE_URL=sqlite_url), clock=clock, scheduler=False)
    app.state.ctx.engine.dispose()
    assert _towns(sqlite_url) == {"ina-demo", "yasuoka-demo"}


def test_a_running_server_picks_up_a_town_changed_by_another_process(
    ctx: Dispatcher, db_url: str, tmp_path: Path
) -> None:
    """`noriai tenant apply` in a separate process (a real subprocess) changes the fares; the
    running server's next quote uses them, without a restart (tenant.config_version)."""
    data = yaml.safe_load(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    data["fares"]["standard_yen"], data["fares"]["reduced"] = 420, []
    changed = tmp_path / "ina-changed.yaml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    ctx.config_recheck_seconds = 0.0  # the server compares the version on every use (default 2 s)
    with TestClient(create_app(ctx=ctx, scheduler=False)) as client:
        op = token_headers(client, "ina-demo-operator")
        body = ride_body(eligible_resident(ctx))
        before = client.post("/api/v1/rides/quote", json=body, headers=op)
        assert before.status_code == 200 and before.json()["fare_yen"] != 420, before.text
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "NORIAI_TENANT_FILE": str(DEMO_TENANT_FILE),
            "PYTHONPATH": os.getcwd(),
        }
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", "tenant", "apply", str(changed)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0 and "standard_yen: 500 → 420" in done.stdout, done.stdout + done.stderr
        after = client.post("/api/v1/rides/quote", json=body, headers=op)
        assert after.status_code == 200 and after.json()["fare_yen"] == 420, after.text
