"""Tenant files: the demo is valid; a broken file gets every problem with its location."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import TenantConfigError, load_tenant


def test_demo_tenant_is_valid_and_sized_like_ina() -> None:
    cfg = load_tenant(DEMO_TENANT_FILE)
    assert cfg.id == "ina-demo"
    assert len(cfg.operators) == 3
    assert 7 <= sum(len(o.vehicles) for o in cfg.operators) <= 9
    assert len(cfg.places) >= 30
    assert cfg.fares.standard_yen <= 500 and min(r.yen for r in cfg.fares.reduced) >= 250


def broken(tmp_path: Path) -> Path:
    data = yaml.safe_load(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    data["operators"][1]["vehicles"][0]["seats"] = 0
    data["operators"][0]["vehicles"][1]["shift"] = {"start": "18:00", "end": "08:00"}
    data["places"][2]["lat"] = 36.5  # far outside the area
    data["places"][3]["id"] = data["places"][0]["id"]
    data["booking"]["pickup_window_minutes"] = 1
    data["timezone"] = "Asia/Tokio"
    data["service_hours"]["fri"] = {"start": "17:00", "end": "08:00"}
    data["fares"]["standard_yen"] = -5
    data["colour"] = "blue"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_broken_file_lists_each_error_with_location(tmp_path: Path) -> None:
    with pytest.raises(TenantConfigError) as e:
        load_tenant(broken(tmp_path))
    text = "\n".join(e.value.problems)
    assert "operators[1].vehicles[0].seats: must be ≥ 1" in text
    assert "booking.pickup_window_minutes: must be ≥ 5" in text
    assert "timezone: unknown time zone 'Asia/Tokio'" in text
    assert "fares.standard_yen: must be ≥ 0" in text
    assert "colour: is not a known field" in text


def test_semantic_errors_are_located(tmp_path: Path) -> None:
    data = yaml.safe_load(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    data["operators"][0]["vehicles"][1]["shift"] = {"start": "18:00", "end": "08:00"}
    data["places"][2]["lat"] = 36.5
    data["places"][3]["id"] = data["places"][0]["id"]
    data["service_hours"]["fri"] = {"start": "17:00", "end": "08:00"}
    data["travel_time"] = {"model": "osm", "file": "missing.osm.pbf"}
    path = tmp_path / "semantic.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TenantConfigError) as e:
        load_tenant(path)
    problems = e.value.problems
    assert "operators[0].vehicles[1].shift: start must be before end" in problems
    assert any(p.startswith("places[2]: ") and "outside the service area" in p for p in problems)
    assert "places[3].id: 'city-hall' is already used by places[0]" in problems
    assert "service_hours.fri: start must be before end" in problems
    assert "travel_time.file: missing.osm.pbf does not exist" in problems


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(TenantConfigError) as e:
        load_tenant(path)
    assert e.value.problems[0].startswith("line ")


def test_cli_validate_exit_codes(tmp_path: Path) -> None:
    noriai = [sys.executable, "-m", "api.cli", "tenant", "validate"]
    ok = subprocess.run([*noriai, str(DEMO_TENANT_FILE)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK" in ok.stdout
    bad = subprocess.run([*noriai, str(broken(tmp_path))], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "operators[1].vehicles[0].seats: must be ≥ 1" in bad.stdout
    assert "problem(s)" in bad.stdout
