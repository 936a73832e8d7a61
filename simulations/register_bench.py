"""`noriai bench import-residents`: how long a municipality's register file takes to import.

`generate_register` writes a register file as a municipal system would (Shift_JIS/CP932, Japanese
headers, households of one to three people around the tenant's community halls, era birth dates,
half-width kana, licences and disability certificates) with a few seeded mistakes, each of which
the import must report at its line and column. `run` imports such a file into a fresh database
(SQLite, and PostgreSQL when a URL is given): the first import, the same file again (nothing
changes), a dry run, an export and the export imported back, and prints the times.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from shapely.geometry import Point as ShapelyPoint
from sqlalchemy import create_engine, text
from sqlmodel import Session, func, select

from dispatcher.clock import SimClock
from dispatcher.db import make_engine, migrate, session_scope
from dispatcher.errors import Code
from dispatcher.models import Event
from dispatcher.platform.demo import FAMILY, GIVEN
from dispatcher.residents.importing import ImportReport, export_register, import_register
from dispatcher.residents.register_file import COLUMNS
from dispatcher.settings import DEMO_TENANT_FILE
from dispatcher.tenant_config import TenantConfig, load_tenant
from dispatcher.tenants import sync_tenant

NOW = datetime.fromisoformat("2026-11-24T09:00:00+09:00")
ERAS = [("S", 1926), ("H", 1989)]


@dataclass(frozen=True)
class Mistake:
    """A seeded mistake: the row's line, the column (English name) and the code the import gives."""

    line: int
    column: str
    code: Code
    what: str


@dataclass
class Register:
    """A generated register file: its bytes in `encoding`, its rows, the seeded mistakes."""

    data: bytes
    encoding: str
    rows: list[dict[str, str]]
    mistakes: list[Mistake] = field(default_factory=list)

    @property
    def refused_lines(self) -> set[int]:
        return {m.line for m in self.mistakes}


def _katakana_half(hiragana: str) -> str:
    """ひらがな -> half-width katakana (as old systems write kana)."""
    import unicodedata

    full = "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in hiragana)
    table = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF66, 0xFF9E)}
    out = []
    for ch in full:
        base = unicodedata.normalize("NFD", ch)
        if base[0] in table:
            out.append(table[base[0]] + ("ﾞ" if "\u3099" in base else "ﾟ" if "\u309a" in base else ""))
        else:
            out.append(ch)
    return "".join(out)


def _birth_text(rng: random.Random, birth: date) -> str:
    style = rng.random()
    if style < 0.15:
        era, first = ERAS[0] if birth.year < 1989 else ERAS[1]
        return f"{era}{birth.year - first + 1}.{birth.month}.{birth.day}"
    if style < 0.35:
        return f"{birth.year}/{birth.month}/{birth.day}"
    return birth.isoformat()


def _homes(cfg: TenantConfig, rng: random.Random) -> Iterator[tuple[float, float, str, str]]:
    """Endless homes inside the service area around the halls: (lat, lon, settlement, hall name)."""
    area = cfg.area_shape()
    centres = [p for p in cfg.places if p.kind == "community_hall"] or cfg.places
    while True:
        c = rng.choice(centres)
        r_m, a = rng.uniform(100, 1800), rng.uniform(0, 2 * math.pi)
        lat = round(c.lat + r_m * math.cos(a) / 111_320, 6)
        lon = round(c.lon + r_m * math.sin(a) / (111_320 * math.cos(math.radians(c.lat))), 6)
        if area.covers(ShapelyPoint(lon, lat)):
            yield lat, lon, c.name.removesuffix("公民館"), c.name


def generate_register(
    cfg: TenantConfig, rows: int, seed: int = 1, mistakes: bool = True, encoding: str = "cp932"
) -> Register:
    """A register file of `rows` people; with `mistakes`, one row of each kind of mistake the
    import must catch (far apart in the file)."""
    rng = random.Random(seed)
    today = NOW.date()
    homes = _homes(cfg, rng)
    out: list[dict[str, str]] = []
    household = 0
    while len(out) < rows:
        household += 1
        lat, lon, settlement, _hall = next(homes)
        family = rng.choice(FAMILY)
        phone = f"0265-{rng.randint(70, 99):02d}-{rng.randint(0, 9999):04d}"
        box = f"STB{rng.randint(100000, 999999)}" if rng.random() < 0.6 else ""
        address = f"伊那市{settlement} {rng.randint(1, 3000)}番地"
        for _ in range(min(rng.choice([1, 1, 2, 2, 3]), rows - len(out))):
            n = len(out) + 1
            given = rng.choice(GIVEN)
            birth = date(today.year - rng.randint(60, 98), rng.randint(1, 12), rng.randint(1, 28))
            row = {
                "registration_no": f"R{seed:02d}{n:06d}",
                "household_no": f"H{seed:02d}{household:06d}",
                "family_name": family[0],
                "given_name": given[0],
                "family_kana": _katakana_half(family[1]) if rng.random() < 0.2 else family[1],
                "given_kana": given[1],
                "birth_date": _birth_text(rng, birth),
                "phone": phone if rng.random() < 0.8 else "",
                "household_phone": phone,
                "address": address,
                "settlement": settlement,
                "lat": str(lat),
                "lon": str(lon),
                "tv_box": box,
                "wheelchair": "1" if rng.random() < 0.05 else "",
                "companion_needed": "○" if rng.random() < 0.05 else "",
                "notes": "耳が遠い" if rng.random() < 0.05 else "",
            }
            if rng.random() < 0.3:
                row["licence_surrendered_on"] = f"{rng.randint(2015, 2025)}-{rng.randint(1, 12):02d}-01"
                row["licence_certificate_no"] = f"{rng.randint(10**11, 10**12 - 1)}"
            if rng.random() < 0.08:
                row["disability_kind"] = rng.choice(["身体", "療育", "精神"])
                row["disability_grade"] = rng.choice(["1級", "2級", "3級", "A", "B"])
                row["disability_certificate_no"] = f"D{rng.randint(10000, 99999)}"
                if rng.random() < 0.5:
                    row["disability_until"] = f"{rng.randint(2027, 2030)}-03-31"
            out.append(row)
    found: list[Mistake] = []
    if mistakes:
        found = _seed_mistakes(out)
    return Register(_encode(out, encoding), encoding, out, found)


def _seed_mistakes(rows: list[dict[str, str]]) -> list[Mistake]:
    """One of each mistake, in rows spread over the file (line = index + 2)."""
    sizes: dict[str, int] = {}
    for r in rows:
        sizes[r["household_no"]] = sizes.get(r["household_no"], 0) + 1
    alone = [i for i, r in enumerate(rows) if sizes[r["household_no"]] == 1]
    pairs = [
        i
        for i, r in enumerate(rows)
        if i > 0 and rows[i - 1]["household_no"] == r["household_no"] and sizes[r["household_no"]] == 2
    ]
    if len(alone) < 8:
        raise ValueError("too few one-person households for the seeded mistakes: generate more rows")
    step = len(alone) // 8
    singles = alone[step // 2 :: step]
    out: list[Mistake] = []

    def at(i: int, column: str, code: Code, what: str) -> None:
        out.append(Mistake(i + 2, column, code, what))

    i = singles[0]
    rows[i]["lat"], rows[i]["lon"] = "35.6000", "137.7000"
    at(i, "lat", Code.home_outside_area, "a home outside the service area")
    i = singles[1]
    rows[i]["birth_date"] = "1950-13-45"
    at(i, "birth_date", Code.date_unreadable, "a birth date that is no date")
    i = singles[2]
    rows[i]["birth_date"] = "2030-01-01"
    at(i, "birth_date", Code.birth_date_impossible, "a birth date in the future")
    i, j = singles[3], singles[4]
    rows[j]["registration_no"] = rows[i]["registration_no"]
    at(i, "registration_no", Code.import_duplicate_row, "a registration number used twice")
    at(j, "registration_no", Code.import_duplicate_row, "a registration number used twice")
    i = singles[5]
    rows[i]["other_categories"] = "care_level:2027-03-31"
    at(i, "other_categories", Code.evidence_category_unknown, "a category the town does not have")
    i = singles[6]
    rows[i]["family_kana"] = ""
    at(i, "family_kana", Code.field_required, "no kana")
    i = singles[7]
    rows[i]["lon"] = "137.9x"
    at(i, "lon", Code.coordinates_invalid, "a longitude that is no number")
    if pairs:
        i = pairs[len(pairs) // 2]
        rows[i]["address"] = rows[i]["address"] + "の2"
        at(i, "address", Code.import_household_mismatch, "a household's address differing on a member's row")
    return out


def _encode(rows: list[dict[str, str]], encoding: str) -> bytes:
    import csv
    import io

    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([c.ja for c in COLUMNS])
    for r in rows:
        w.writerow([r.get(c.key, "") for c in COLUMNS])
    return buf.getvalue().encode(encoding)


# --- the benchmark ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    step: str
    seconds: float
    cpu_seconds: float  # this process's CPU time (the machine may be shared; the database's is not in it)
    report: ImportReport | None
    events: int


@contextmanager
def _database(kind: str, postgres_url: str | None) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    assert postgres_url is not None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in postgres_url else "?"
        yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_one(url: str, rows: int, seed: int) -> list[Timing]:
    """Time the steps on one fresh database."""
    cfg = load_tenant(DEMO_TENANT_FILE)
    clock = SimClock(NOW)
    engine = make_engine(url)
    migrate(engine)
    with session_scope(engine) as s:
        sync_tenant(s, cfg, clock.now())
    register = generate_register(cfg, rows, seed)
    out: list[Timing] = []

    def events() -> int:
        with Session(engine) as s:
            return int(s.exec(select(func.count()).select_from(Event)).one())

    def step(name: str, data: bytes, dry_run: bool = False) -> None:
        before = events()
        t, cpu = time.perf_counter(), time.process_time()
        with session_scope(engine) as s:
            report = import_register(s, cfg, data, clock.now(), "user:bench", dry_run=dry_run)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        out.append(Timing(name, wall, cpu, report, events() - before))

    step("first import", register.data)
    step("same file again", register.data)
    step("dry run", register.data, dry_run=True)
    t, cpu = time.perf_counter(), time.process_time()
    with Session(engine) as s:
        exported = export_register(s, cfg.id)
    out.append(Timing("export", time.perf_counter() - t, time.process_time() - cpu, None, 0))
    step("export imported back", exported)
    engine.dispose()
    return out


def run(rows: int, seed: int, postgres_url: str | None) -> str:
    """Run the benchmark on SQLite and, given a URL, PostgreSQL; the table as text."""
    lines = [
        f"import of a {rows:,}-row register file (CP932, seeded mistakes), demo municipality; "
        "seconds: wall clock, cpu s: this process"
    ]
    lines.append(
        f"{'database':10} {'step':22} {'seconds':>8} {'cpu s':>6} {'created':>8} {'updated':>8} "
        f"{'unchanged':>9} {'refused':>8} {'events':>7}"
    )
    kinds = ["sqlite"] + (["postgresql"] if postgres_url else [])
    for kind in kinds:
        with _database(kind, postgres_url) as url:
            for t in run_one(url, rows, seed):
                r = t.report
                counts = (
                    f"{r.created:>8} {r.updated:>8} {r.unchanged:>9} {r.refused:>8}"
                    if r
                    else f"{'':>8} {'':>8} {'':>9} {'':>8}"
                )
                lines.append(
                    f"{kind:10} {t.step:22} {t.seconds:>8.2f} {t.cpu_seconds:>6.2f} {counts} {t.events:>7}"
                )
    return "\n".join(lines)
