"""The register file: a municipality's CSV of residents imported and exported (docs/residents.md).

A generated 3,000-row Shift_JIS file with seeded mistakes goes through `noriai residents import`
on SQLite and PostgreSQL: every mistake is reported at its line and column, a dry run and a strict
run write nothing, the valid rows are stored, the same file again changes nothing and records no
event, and an export imported back changes nothing either. Smaller files check corrections, moves,
encodings, the tenant's own categories and the administrators' API.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from api.cli import main
from dispatcher.context import Dispatcher
from dispatcher.db import session_scope
from dispatcher.errors import Code, InvalidRequest
from dispatcher.models import Event, Household, Resident
from dispatcher.residents import registry
from dispatcher.residents.eligibility import evidence_of
from dispatcher.residents.importing import ImportReport, export_register, import_register
from dispatcher.residents.register_file import (
    BY_KEY,
    COLUMNS,
    parse_bool,
    parse_date,
    parse_other_categories,
)
from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import Category, Eligibility, TenantConfig
from simulations.register_bench import generate_register
from tests.conftest import DAY_START, token_headers

TID = "ina-demo"
NOW = DAY_START.replace(hour=9)


def _dump(ctx: Dispatcher) -> tuple[Any, ...]:
    """Everything an import may change: people, households and the number of events."""
    with Session(ctx.engine) as s:
        people = [
            (r.id, r.registration_no, r.family_name, r.family_kana, r.phone, r.household_id, r.lat, r.lon)
            + (r.birth_date, r.wheelchair, r.notes, json.dumps(r.evidence, sort_keys=True))
            for r in s.exec(select(Resident).order_by(col(Resident.id)))
        ]
        homes = [
            (h.id, h.household_no, h.address, h.lat, h.lon, h.phone, h.settlement, h.tv_box, h.hall_id)
            for h in s.exec(select(Household).order_by(col(Household.id)))
        ]
        events = s.exec(select(func.count()).select_from(Event)).one()
    return people, homes, events


def _events(ctx: Dispatcher) -> int:
    with Session(ctx.engine) as s:
        return int(s.exec(select(func.count()).select_from(Event)).one())


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["residents", "import", "--tenant", TID, *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_municipal_register_of_3000_people(
    ctx: Dispatcher,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = ctx.config(TID)
    reg = generate_register(cfg, 3000, seed=5)
    with pytest.raises(UnicodeDecodeError):
        reg.data.decode("utf-8")  # really Shift_JIS, as municipal systems write it
    path = tmp_path / "residents.csv"
    path.write_bytes(reg.data)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NORIAI_NOW", NOW.isoformat())
    monkeypatch.setenv("NORIAI_TENANT_FILE", str(DEMO_TENANT_FILE))  # the one town of this database
    before = _dump(ctx)
    demo = sum(1 for r in before[0] if r[1] and not r[1].startswith("R05"))
    refused = reg.refused_lines
    assert len(reg.mistakes) == 9 and len(refused) == 9

    # a dry run reports every mistake at its line and column, and writes nothing
    code, dry = _cli([str(path), "--dry-run"], capsys)
    assert code == 1 and dry["encoding"] == "cp932" and dry["dry_run"] and not dry["written"]
    assert _dump(ctx) == before
    found = {(e["line"], e["field"], e["code"]) for e in dry["errors"]}
    assert found == {(m.line, m.column, m.code.value) for m in reg.mistakes}
    for e in dry["errors"]:
        assert e["column"] == BY_KEY[e["field"]].ja  # the header as the file wrote it
        assert e["message"] and e["params"] is not None
    assert dry["rows"] == 3000 and dry["refused"] == len(refused)
    assert dry["created"] == 3000 - len(refused) and dry["updated"] == dry["unchanged"] == 0
    assert dry["not_in_file"] == demo > 0  # the demo's residents: left as they are

    # strict: a bad row, so nothing at all
    code, strict = _cli([str(path), "--strict"], capsys)
    assert code == 1 and strict["strict"] and not strict["written"]
    assert _dump(ctx) == before

    # the real run stores every valid row in one go
    code, first = _cli([str(path)], capsys)
    assert code == 1 and first["written"]
    assert (first["created"], first["refused"], first["events"]) == (
        dry["created"],
        dry["refused"],
        dry["events"],
    )
    assert _events(ctx) - before[2] == first["events"] == first["created"] + first["households_created"]
    rows = {i + 2: row for i, row in enumerate(reg.rows)}
    good = {line: row for line, row in rows.items() if line not in refused}
    duplicated = {row["registration_no"] for line, row in rows.items() if line in refused}
    with Session(ctx.engine) as s:
        stored = {
            r.registration_no: r
            for r in s.exec(select(Resident).where(col(Resident.registration_no).like("R05%")))
        }
        homes = {h.id: h for h in s.exec(select(Household).where(col(Household.household_no).like("H05%")))}
    assert set(stored) == {row["registration_no"] for row in good.values()}
    assert not duplicated & set(stored)  # a refused row (both rows of a number used twice) is not there
    by_number: dict[str, set[int | None]] = {}
    for row in good.values():
        r = stored[row["registration_no"]]
        assert r.birth_date == parse_date(row["birth_date"])  # era dates (S15.3.1) and slashes too
        assert registry.is_kana(r.family_kana) and r.family_kana == registry.to_hiragana(row["family_kana"])
        assert r.phone == (row["phone"] or row["household_phone"])
        hh = homes[r.household_id]
        assert (hh.household_no, hh.address, repr(hh.lat)) == (
            row["household_no"],
            row["address"],
            row["lat"],
        )
        by_number.setdefault(row["household_no"], set()).add(r.household_id)
        licence = [e for e in evidence_of(r) if e.category == "licence_surrendered"]
        if row.get("licence_surrendered_on"):
            assert licence[0].since == date.fromisoformat(row["licence_surrendered_on"])
            assert licence[0].document_no == row["licence_certificate_no"]
        else:
            assert licence == []
        assert r.wheelchair == (row["wheelchair"] == "1")
    assert all(len(ids) == 1 for ids in by_number.values())  # one household per household number
    assert any(row["birth_date"][0] in "SH" for row in good.values())
    assert any(row["family_kana"] != registry.to_hiragana(row["family_kana"]) for row in good.values())

    # the same file again: nothing changes, no event
    stored_state = _dump(ctx)
    code, again = _cli([str(path)], capsys)
    assert code == 1 and again["written"]
    assert (again["created"], again["updated"], again["events"]) == (0, 0, 0)
    assert again["unchanged"] == first["created"] and again["households_created"] == 0
    assert _dump(ctx) == stored_state

    # export, then import the export: nothing changes (the demo's people included)
    out = tmp_path / "export.csv"
    assert main(["residents", "export", "--tenant", TID, "-o", str(out)]) == 0
    capsys.readouterr()
    assert out.read_bytes().decode("cp932").startswith("登録番号,世帯番号,氏,名")
    code, back = _cli([str(out)], capsys)
    assert code == 0, back["errors"][:3]
    assert (back["created"], back["updated"], back["refused"], back["events"]) == (0, 0, 0, 0)
    assert back["unchanged"] == demo + first["created"] and back["not_in_file"] == 0
    assert _dump(ctx) == stored_state


def _text(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header or [c.ja for c in COLUMNS])
    for r in rows:
        w.writerow([r.get(c.key, "") for c in COLUMNS])
    return buf.getvalue()


def _import(ctx: Dispatcher, data: bytes, cfg: TenantConfig | None = None, **kw: Any) -> ImportReport:
    with session_scope(ctx.engine) as s:
        return import_register(s, cfg or ctx.config(TID), data, ctx.clock.now(), "user:test", **kw)


def _kinds(ctx: Dispatcher, since: int) -> Counter[str]:
    with Session(ctx.engine) as s:
        return Counter(e.kind for e in s.exec(select(Event).where(col(Event.id) > since)))


def _last_event(ctx: Dispatcher) -> int:
    with Session(ctx.engine) as s:
        return int(s.exec(select(func.max(Event.id))).one() or 0)


def test_corrections_moves_and_new_members_become_the_registers_events(ctx: Dispatcher) -> None:
    cfg = ctx.config(TID)
    reg = generate_register(cfg, 40, seed=8, mistakes=False, encoding="utf-8")
    first = _import(ctx, reg.data)
    assert (first.created, first.refused, first.encoding) == (40, 0, "utf-8")
    rows = [dict(r) for r in reg.rows]
    sizes = Counter(r["household_no"] for r in rows)
    pairs = [i for i, r in enumerate(rows) if sizes[r["household_no"]] >= 2]
    singles = [i for i, r in enumerate(rows) if sizes[r["household_no"]] == 1]
    a, kana, moved_to, disabled, silent = singles[:5]
    rows[a]["phone"] = "0265-11-2222"
    rows[kana]["family_kana"] = registry.to_hiragana(rows[kana]["family_kana"]).translate(
        {c: c + 0x60 for c in range(0x3041, 0x3097)}
    )  # the same name in katakana: no change
    rows[moved_to]["household_no"] = "HNEW-1"
    rows[disabled].update(disability_kind="身体", disability_grade="2級", disability_certificate_no="X1")
    rows[silent]["phone"] = ""  # an empty phone keeps the registered one
    house = rows[pairs[0]]["household_no"]
    for r in rows:
        if r["household_no"] == house:  # the whole household moves house
            r["lat"], r["lon"] = str(float(r["lat"]) + 0.002), str(float(r["lon"]) + 0.001)
            r["address"] = "伊那市 新しい家 1番地"
    newcomer = dict(rows[a], registration_no="NEW-0001", given_name="新", given_kana="あらた", phone="")
    rows.append(newcomer)
    data = _text(rows).encode("utf-8")

    mark = _last_event(ctx)
    dry = _import(ctx, data, dry_run=True)
    assert _last_event(ctx) == mark
    report = _import(ctx, data)
    assert report.errors == []
    assert (report.created, report.updated, report.households_created, report.households_moved) == (
        1,
        3,
        1,
        1,
    )
    assert report.unchanged == 40 - 3 and report.events == dry.events
    kinds = _kinds(ctx, mark)
    assert kinds == Counter(
        {
            "resident.updated": 2,  # a's phone, the move into HNEW-1
            "resident.evidence_set": 1,
            "household.moved": 1,
            "household.registered": 1,
            "resident.registered": 1,
        }
    )
    assert sum(kinds.values()) == report.events
    with Session(ctx.engine) as s:
        people = {r.registration_no: r for r in s.exec(select(Resident).where(Resident.tenant_id == TID))}
        a_home = s.get(Household, people[rows[a]["registration_no"]].household_id)
        moved_people = [people[r["registration_no"]] for r in rows if r["household_no"] == house]
        new_home = s.get(Household, people[rows[moved_to]["registration_no"]].household_id)
    assert people[rows[a]["registration_no"]].phone == "0265-11-2222"
    was = reg.rows[silent]["phone"] or reg.rows[silent]["household_phone"]
    assert was and people[rows[silent]["registration_no"]].phone == was
    assert people["NEW-0001"].household_id == a_home.id and people["NEW-0001"].phone == a_home.phone
    assert all(p.lat == float(rows[pairs[0]]["lat"]) for p in moved_people)
    assert new_home is not None and new_home.household_no == "HNEW-1"
    assert [e.grade for e in evidence_of(people[rows[disabled]["registration_no"]])] == ["2級"]
    mark = _last_event(ctx)
    again = _import(ctx, data)
    assert (again.created, again.updated, again.events, _last_event(ctx)) == (0, 0, 0, mark)

    # a registration the register ended: its row is skipped with a warning, the person untouched
    gone = people[rows[kana]["registration_no"]]
    with session_scope(ctx.engine) as s:
        registry.end(s, cfg, gone.id or 0, NOW.date(), "moved_away", "", NOW, "user:test")
    mark = _last_event(ctx)
    skipped = _import(ctx, data)
    assert skipped.skipped == 1 and skipped.errors == [] and skipped.events == 0
    assert [(w.line, w.code) for w in skipped.warnings] == [(kana + 2, Code.resident_ended)]
    assert _last_event(ctx) == mark


def test_encodings_headers_and_unreadable_files(sqlite_ctx: Dispatcher) -> None:
    ctx = sqlite_ctx
    reg = generate_register(ctx.config(TID), 6, seed=3, mistakes=False, encoding="utf-8")
    text = reg.data.decode("utf-8")
    with_bom = _import(ctx, b"\xef\xbb\xbf" + text.encode("utf-8"), dry_run=True)
    assert (with_bom.encoding, with_bom.created, with_bom.errors) == ("utf-8-sig", 6, [])
    english = _text(reg.rows, [c.key for c in COLUMNS]).encode("utf-8")
    assert _import(ctx, english, dry_run=True).created == 6  # English headers are accepted
    extra = text.replace("登録番号,", "登録番号,職員メモ,", 1).encode("cp932")
    report = _import(ctx, extra, dry_run=True, encoding="cp932")
    assert report.encoding == "cp932" and report.created == 0 and report.refused == 6  # columns shifted
    ignored = _text(reg.rows).replace("\r\n", ",職員メモ\r\n", 1).encode("utf-8")
    warned = _import(ctx, ignored, dry_run=True)
    assert warned.created == 6 and [(w.line, w.column, w.code) for w in warned.warnings] == [
        (1, "職員メモ", Code.field_unknown)
    ]
    for data, kw in [
        (b"", {}),
        (b"\x80\x81\xff\xfe", {}),  # neither UTF-8 nor Shift_JIS
        (b"name,phone\r\nx,1\r\n", {}),  # no register columns
        (text.encode("cp932"), {"encoding": "utf-8"}),  # the wrong encoding named
        (text.encode("utf-8"), {"encoding": "no-such-codec"}),
    ]:
        with pytest.raises(InvalidRequest) as e:
            _import(ctx, data, **kw)
        assert e.value.code == Code.import_unreadable and e.value.extra["reason_ja"], data[:20]


def test_values_municipal_systems_write() -> None:
    assert parse_date("2026-04-01") == parse_date("2026/4/1") == parse_date("20260401") == date(2026, 4, 1)
    assert parse_date("R8.4.1") == parse_date("令和8年4月1日") == date(2026, 4, 1)
    assert parse_date("S15.3.1") == parse_date("昭和15年3月1日") == date(1940, 3, 1)
    assert parse_date("H元.5.1") == date(1989, 5, 1) and parse_date("ｓ６４．１．７") == date(1989, 1, 7)
    assert parse_date("２０２６年４月１日") == date(2026, 4, 1)
    for bad in ("S65.1.1", "2026-02-30", "R8.13.1", "昨日", "1950-13-45"):
        with pytest.raises(ValueError):
            parse_date(bad)
    assert [parse_bool(v) for v in ("1", "○", "はい", "", "0", "×")] == [True] * 3 + [False] * 3
    with pytest.raises(ValueError):
        parse_bool("maybe")
    own = parse_other_categories("care_level:2027-03-31:K-1; taxi_ticket ;bus::B2")
    assert [(o.category, o.until, o.document_no) for o in own] == [
        ("care_level", date(2027, 3, 31), "K-1"),
        ("taxi_ticket", None, ""),
        ("bus", None, "B2"),
    ]


def test_the_towns_own_categories_and_certificates(sqlite_ctx: Dispatcher) -> None:
    ctx = sqlite_ctx
    base = ctx.config(TID)
    care = Category(id="care_level", name="要介護認定", document="介護保険証", expires=True)
    cfg = base.model_copy(
        update={
            "eligibility": Eligibility(
                any_of=[*base.eligibility.any_of, "care_level"], categories=[care], min_age=75
            )
        }
    )
    rows = [dict(r) for r in generate_register(cfg, 3, seed=4, mistakes=False).rows]
    rows[0]["other_categories"] = "care_level:2027-03-31:K-77"
    rows[1]["other_categories"] = "care_level"  # this town's care level needs an expiry date
    rows[2].update(disability_kind="療育", disability_grade="", disability_until="2027/3/31")
    report = _import(ctx, _text(rows).encode("cp932"), cfg)
    got = {(e.line, e.field, e.code) for e in report.errors}
    assert got == {
        (3, "other_categories", Code.evidence_incomplete),
        (4, "disability_grade", Code.evidence_incomplete),
    }
    with Session(ctx.engine) as s:
        r = s.exec(select(Resident).where(Resident.registration_no == rows[0]["registration_no"])).one()
    assert [e.stored() for e in evidence_of(r) if e.category == "care_level"] == [
        {"category": "care_level", "until": "2027-03-31", "document_no": "K-77"}
    ]
    with Session(ctx.engine) as s:
        exported = export_register(s, TID, "utf-8")
    assert exported.startswith(b"\xef\xbb\xbf") and "care_level:2027-03-31:K-77" in exported.decode(
        "utf-8-sig"
    )
    back = _import(ctx, exported, cfg)
    assert (back.created, back.updated, back.events, back.errors) == (0, 0, 0, [])


def test_administrators_import_and_export_through_the_api(client: TestClient, ctx: Dispatcher) -> None:
    admin = token_headers(client, "ina-demo-admin")
    operator = token_headers(client, "ina-demo-operator")
    reg = generate_register(ctx.config(TID), 60, seed=9)
    csv_headers = {"Content-Type": "text/csv"}
    before = _dump(ctx)
    assert client.post("/api/v1/residents/import", content=reg.data, headers=operator).status_code == 403
    assert client.get("/api/v1/residents/export.csv", headers=operator).status_code == 403
    dry = client.post(
        "/api/v1/residents/import",
        params={"dry_run": "true"},
        content=reg.data,
        headers={**admin, **csv_headers},
    )
    assert dry.status_code == 200, dry.text
    assert _dump(ctx) == before
    body = dry.json()
    assert body["dry_run"] and not body["written"] and body["encoding"] == "cp932"
    assert {(e["line"], e["field"], e["code"]) for e in body["errors"]} == {
        (m.line, m.column, m.code.value) for m in reg.mistakes
    }
    assert all(any("\u3040" <= ch <= "\u30ff" for ch in e["message_ja"]) for e in body["errors"])
    done = client.post("/api/v1/residents/import", content=reg.data, headers={**admin, **csv_headers})
    assert done.status_code == 200 and done.json()["written"]
    assert done.json()["created"] == 60 - len(reg.refused_lines)
    exported = client.get("/api/v1/residents/export.csv", headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "R09" in exported.content.decode("cp932")
    back = client.post("/api/v1/residents/import", content=exported.content, headers={**admin, **csv_headers})
    assert back.status_code == 200 and (back.json()["created"], back.json()["updated"]) == (0, 0)
    utf8 = client.get("/api/v1/residents/export.csv", params={"encoding": "utf-8"}, headers=admin)
    assert utf8.content.startswith(b"\xef\xbb\xbf")
    bad = client.post("/api/v1/residents/import", content=b"\x80\x81\xff", headers={**admin, **csv_headers})
    assert bad.status_code == 422 and bad.json()["code"] == "import.unreadable"
    assert "ファイルを読めません" in bad.json()["message_ja"]
    empty = client.post("/api/v1/residents/import", headers=admin)
    assert empty.status_code == 422 and empty.json()["code"] == "import.unreadable"
    for codec in ("rot13", "base64", "zlib"):  # codecs, but not for text: refused, never a 500
        odd = client.post(
            "/api/v1/residents/import",
            params={"encoding": codec},
            content=reg.data,
            headers={**admin, **csv_headers},
        )
        assert odd.status_code == 422 and odd.json()["code"] == "import.unreadable", odd.text


def test_a_name_shift_jis_cannot_write_is_exported_as_utf8(sqlite_ctx: Dispatcher) -> None:
    with session_scope(sqlite_ctx.engine) as s:
        r = s.exec(select(Resident).where(Resident.tenant_id == TID)).first()
        assert r is not None
        r.family_name = "𠮷田"  # U+20BB7: not in Shift_JIS
        s.add(r)
        number = r.registration_no
    with Session(sqlite_ctx.engine) as s:
        with pytest.raises(InvalidRequest) as e:
            export_register(s, TID, "cp932")
        assert e.value.code == Code.export_not_encodable and number in e.value.extra["numbers"]
        assert "𠮷田" in export_register(s, TID, "utf-8").decode("utf-8-sig")


def test_the_documented_format_is_the_one_read(sqlite_ctx: Dispatcher) -> None:
    """docs/residents.md lists exactly the columns the import reads, and its sample file imports
    into the demo municipality without a problem (half-width kana, era dates and all)."""
    docs = Path(__file__).resolve().parent.parent / "docs"
    text = (docs / "residents.md").read_text(encoding="utf-8")
    table = re.findall(r"^\| `([^`]+)` \| `([a-z_]+)` \|", text, re.MULTILINE)
    assert table == [(c.ja, c.key) for c in COLUMNS]
    sample = (docs / "residents-sample.csv").read_bytes()
    report = _import(sqlite_ctx, sample)
    assert (report.errors, report.warnings, report.created) == ([], [], 4)
    assert report.households_created == 3
    with Session(sqlite_ctx.engine) as s:
        kiyoshi = s.exec(select(Resident).where(Resident.registration_no == "S-000102")).one()
    assert (kiyoshi.family_kana, kiyoshi.given_kana, kiyoshi.companion_needed) == ("かすが", "きよし", True)
    assert _import(sqlite_ctx, sample).unchanged == 4


def test_the_benchmark_command_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "import-residents", "--rows", "120", "--seed", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    steps = {line[11:33].strip(): line.split() for line in lines[2:]}  # the step: a fixed-width column
    assert list(steps) == ["first import", "same file again", "dry run", "export", "export imported back"]
    assert steps["first import"][-1] != "0" and steps["same file again"][-1] == "0"
    assert steps["export imported back"][-5:] == ["0", "0", str(120 - 9), "0", "0"]
