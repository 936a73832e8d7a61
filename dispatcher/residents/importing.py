"""Bulk import and export of the register file (docs/residents.md, "Import and export").

`import_register` reads a municipality's file (one row per person, household columns repeated for
every member, `register_file` for the columns) and brings the register in line with it:
- people are matched on the registration number, households on the household number (a row without
  one stays in the household its person is in, or gets a household of its own);
- a new person is registered, a changed one corrected (`resident.updated`, `resident.evidence_set`),
  a household whose home moved is moved (`household.moved`), one whose phone, box, settlement or
  address text changed is corrected (`household.updated`) — the same events as the register's
  own commands (`registry`), so a second import of the same file changes nothing and records nothing;
- every bad row is reported with its line (the header is line 1), its column and a code, and is
  left out; the valid rows are written in the caller's transaction, or none of them with `strict`
  when any row is bad, or nothing at all with `dry_run`;
- import never ends a registration: people missing from the file stay as they are (counted in
  `not_in_file`), and a row naming an ended registration is skipped with a warning.

Speed: the tenant's residents and households are read once (two queries), new rows are added and
flushed together; a changed person costs its events only.

`export_register` writes the same format back, so export then import changes nothing.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from shapely.geometry import Point as ShapelyPoint
from shapely.prepared import prep
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from dispatcher.db import id_of
from dispatcher.errors import Code, Conflict, InvalidRequest, field_error
from dispatcher.events import record
from dispatcher.models import Household, Resident
from dispatcher.residents import registry
from dispatcher.residents.eligibility import Evidence, evidence_of
from dispatcher.residents.kinds import (
    HOUSEHOLD_REGISTERED,
    HOUSEHOLD_UPDATED,
    RESIDENT_UPDATED,
)
from dispatcher.residents.register_file import (
    BY_KEY,
    DISABILITY_JA,
    FileUnreadable,
    Table,
    decode,
    normal,
    other_categories_text,
    parse_bool,
    parse_date,
    parse_degrees,
    parse_disability_kind,
    parse_other_categories,
    read_table,
    write_table,
)
from dispatcher.residents.registry import (
    HouseholdIn,
    HouseholdPatch,
    MemberIn,
    MemberPatch,
    Move,
    _new_resident,
)
from dispatcher.tenant_config import TenantConfig

EVIDENCE_KEYS = (
    "licence_surrendered_on",
    "licence_certificate_no",
    "disability_kind",
    "disability_grade",
    "disability_certificate_no",
    "disability_until",
    "other_categories",
)
HOME_FIELDS = ("address", "lat", "lon", "settlement", "tv_box")


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with a row (or, line 1, with a column): `column` as the file's header wrote it,
    `field` the column's English name, `message` in English, `params` for the code's Japanese text."""

    line: int
    column: str
    field: str
    code: Code
    message: str
    registration_no: str = ""
    params: dict[str, str] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "registration_no": self.registration_no,
            "code": self.code.value,
            "message": self.message,
            "params": dict(self.params),
        }


@dataclass
class ImportReport:
    """What an import did (or, with `dry_run`, would do). Counts of people: `created`, `updated`,
    `unchanged`, `refused` (rows with an error), `skipped` (ended registrations); households:
    created, moved, updated; `events` recorded (by a dry run or a strict refusal: that would be);
    `written`: the valid rows were stored."""

    encoding: str
    dry_run: bool
    strict: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    skipped: int = 0
    households_created: int = 0
    households_moved: int = 0
    households_updated: int = 0
    not_in_file: int = 0
    events: int = 0
    written: bool = False
    errors: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0: every row fine; 1: some rows refused (the rest stored unless strict or dry run)."""
        return 1 if self.errors else 0

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k not in ("errors", "warnings")}
        out["errors"] = [p.as_dict() for p in self.errors]
        out["warnings"] = [p.as_dict() for p in self.warnings]
        return out


@dataclass
class _Row:
    line: int
    regno: str
    household_no: str
    errors: list[RowProblem]
    member: MemberIn | None = None
    home: HouseholdIn | None = None
    household_phone: str = ""  # as the row gives it ('' : not given)
    evidence_cells: dict[str, str] = field(default_factory=dict)
    evidence_sources: list[dict[str, str]] = field(default_factory=list)
    evidence_errors: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _same(a: str | None, b: str | None) -> bool:
    return normal(a or "") == normal(b or "")


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def evidence_cells(evidence: list[Evidence]) -> dict[str, str]:
    """A person's evidence as the file's columns write it: the first complete licence record and
    the first complete disability certificate in their columns, everything else in
    `other_categories` (normalised, so that two writings of the same evidence compare equal)."""
    cells = dict.fromkeys(EVIDENCE_KEYS, "")
    others: list[Evidence] = []
    licence = disability = False
    for e in evidence:
        if e.category == "licence_surrendered" and not licence and e.since is not None:
            cells["licence_surrendered_on"] = e.since.isoformat()
            cells["licence_certificate_no"] = e.document_no
            licence = True
        elif e.category == "disability" and not disability and e.kind is not None and e.grade:
            cells["disability_kind"] = DISABILITY_JA[e.kind]
            cells["disability_grade"] = e.grade
            cells["disability_certificate_no"] = e.document_no
            cells["disability_until"] = _iso(e.until)
            disability = True
        else:
            others.append(e)
    cells["other_categories"] = other_categories_text(others)
    return {k: normal(v) for k, v in cells.items()}


# --- reading rows -------------------------------------------------------------------------------


class _RowReader:
    """Turns one record into a `_Row`: every value parsed, every error located."""

    def __init__(self, cfg: TenantConfig, table: Table, today: date) -> None:
        self.cfg, self.table, self.today = cfg, table, today
        self.width = len(table.header)
        self.area = prep(cfg.area_shape())

    def read(self, line: int, cells: list[str]) -> _Row:
        values = {k: v for k, v in zip(self.table.keys, cells, strict=False) if k is not None}
        regno = normal(values.get("registration_no", ""))
        row = _Row(line, regno, normal(values.get("household_no", "")), [])

        def get(key: str) -> str:
            return values.get(key, "").strip()

        def bad(key: str, code: Code, message: str, **params: str) -> None:
            row.errors.append(self._problem(line, key, code, message, regno, params))

        if any(c.strip() for c in cells[self.width :]):
            bad(
                "registration_no",
                Code.field_invalid,
                f"the row has {len(cells)} cells, the header {self.width}: is a comma in a value "
                "not inside quotes?",
            )
            return row
        if len(row.household_no) > 32 or not re.fullmatch(r"[0-9A-Za-z\-_]*", row.household_no):
            bad(
                "household_no",
                Code.field_invalid,
                f"{row.household_no[:40]!r}: letters, digits, '-' and '_', at most 32",
            )
        # the person
        birth: date | None = None
        if not get("birth_date"):
            bad("birth_date", Code.field_required, "the birth date is required")
        else:
            try:
                birth = parse_date(get("birth_date"))
            except ValueError:
                bad(
                    "birth_date",
                    Code.date_unreadable,
                    f"{get('birth_date')!r} is not a date: write 1950-04-01, 1950/4/1 or S25.4.1",
                    value=get("birth_date"),
                )
        flags: dict[str, bool] = {}
        for key in ("wheelchair", "companion_needed"):
            try:
                flags[key] = parse_bool(get(key))
            except ValueError as e:
                bad(key, Code.field_invalid, f"{get(key)!r}: {e}")
        evidence = self._evidence(get, bad, row)
        member_fields: dict[str, Any] = {
            "registration_no": regno,
            "family_name": get("family_name"),
            "given_name": get("given_name"),
            "family_kana": get("family_kana"),
            "given_kana": get("given_kana"),
            "phone": normal(get("phone")),
            "evidence": evidence,
            "notes": get("notes"),
            **flags,
        }
        if birth is not None:
            member_fields["birth_date"] = birth
        try:
            row.member = MemberIn(**member_fields)
        except ValidationError as e:
            self._pydantic(e, {}, get, bad, row)
        if row.member is not None:
            for err in registry.member_errors(self.cfg, row.member, self.today):
                key, code = self._evidence_key(err["field"], row), Code(err["code"])
                params = {k: str(v) for k, v in err.items() if k not in ("field", "message", "code")}
                problem = self._problem(line, key, code, err["message"], regno, params)
                (row.evidence_errors if err["field"].startswith("evidence") else row.errors).append(problem)
        # the household
        row.household_phone = normal(get("household_phone"))
        coords: dict[str, float] = {}
        for key, limit in (("lat", 90.0), ("lon", 180.0)):
            if not get(key):
                bad(key, Code.field_required, f"the home's {key} is required")
                continue
            try:
                coords[key] = parse_degrees(get(key), limit)
            except ValueError:
                bad(
                    key,
                    Code.coordinates_invalid,
                    f"{get(key)!r} is not a {key} in decimal degrees (WGS84)",
                    value=get(key),
                )
        try:
            row.home = HouseholdIn(
                address=get("address"),
                lat=coords.get("lat", 0.0),
                lon=coords.get("lon", 0.0),
                settlement=get("settlement"),
                phone=row.household_phone,
                tv_box=normal(get("tv_box")),
            )
        except ValidationError as e:
            self._pydantic(e, {"phone": "household_phone"}, get, bad, row)
        if (
            row.home is not None
            and len(coords) == 2
            and not self.area.covers(ShapelyPoint(row.home.lon, row.home.lat))
        ):
            bad(
                "lat",
                Code.home_outside_area,
                f"({row.home.lat}, {row.home.lon}) is outside the service area of {self.cfg.name}",
            )
        if len(coords) < 2:
            row.home = None
        return row

    def _problem(
        self, line: int, key: str, code: Code, message: str, regno: str, params: dict[str, str]
    ) -> RowProblem:
        return RowProblem(line, self.table.header_of(key), key, code, message, regno, params)

    def _pydantic(self, e: ValidationError, rename: dict[str, str], get: Any, bad: Any, row: _Row) -> None:
        have = {p.field for p in row.errors}
        for err in e.errors():
            name = str(err["loc"][0]) if err["loc"] else "registration_no"
            key = rename.get(name, name)
            if key in have or key in ("evidence", "lat", "lon") or key not in BY_KEY:
                continue
            have.add(key)
            empty = err["type"] == "missing" or (err["type"] == "string_too_short" and not err.get("input"))
            if empty:
                bad(key, Code.field_required, f"{BY_KEY[key].ja} ({key}) is required")
            elif key in ("family_kana", "given_kana") and err["type"] == "value_error":
                bad(key, Code.kana_invalid, f"{get(key)!r} must be written in kana (ひらがな or カタカナ)")
            else:
                bad(key, Code.field_invalid, f"{get(key)!r}: {err['msg']}")

    def _evidence(self, get: Any, bad: Any, row: _Row) -> list[Evidence]:
        """The evidence the row's columns describe; its canonical cells and, for each record, the
        column each of its fields came from go to `row`."""
        out: list[Evidence] = []
        failed = False

        def date_of(key: str) -> date | None:
            nonlocal failed
            if not get(key):
                return None
            try:
                return parse_date(get(key))
            except ValueError:
                bad(key, Code.date_unreadable, f"{get(key)!r} is not a date", value=get(key))
                failed = True
                return None

        def add(values: dict[str, Any], sources: dict[str, str]) -> None:
            try:
                out.append(Evidence(**values))
                row.evidence_sources.append(sources)
            except ValidationError as e:
                for err in e.errors():
                    key = sources.get(str(err["loc"][0]) if err["loc"] else "*", sources["*"])
                    bad(key, Code.field_invalid, f"{get(key)!r}: {err['msg']}")

        if get("licence_surrendered_on") or get("licence_certificate_no"):
            since = date_of("licence_surrendered_on")
            if not failed:
                add(
                    {
                        "category": "licence_surrendered",
                        "since": since,
                        "document_no": normal(get("licence_certificate_no")),
                    },
                    {"document_no": "licence_certificate_no", "*": "licence_surrendered_on"},
                )
        disability = ("disability_kind", "disability_grade", "disability_certificate_no", "disability_until")
        if any(get(k) for k in disability):
            failed = False
            kind = None
            if get("disability_kind"):
                try:
                    kind = parse_disability_kind(get("disability_kind"))
                except ValueError as e:
                    bad("disability_kind", Code.field_invalid, f"{get('disability_kind')!r}: {e}")
                    failed = True
            until = date_of("disability_until")
            if not failed:
                add(
                    {
                        "category": "disability",
                        "kind": kind,
                        "grade": normal(get("disability_grade")),
                        "document_no": normal(get("disability_certificate_no")),
                        "until": until,
                    },
                    {
                        "grade": "disability_grade",
                        "document_no": "disability_certificate_no",
                        "until": "disability_until",
                        "*": "disability_kind",
                    },
                )
        if get("other_categories"):
            try:
                owns = parse_other_categories(get("other_categories"))
            except ValueError as e:
                bad("other_categories", Code.field_invalid, f"{get('other_categories')!r}: {e}")
                owns = []
            for own in owns:
                add(
                    {"category": own.category, "until": own.until, "document_no": own.document_no},
                    {"*": "other_categories"},
                )
        row.evidence_cells = evidence_cells(out)
        return out

    def _evidence_key(self, name: str, row: _Row) -> str:
        """The column of a field error from `member_errors` (`birth_date`, `evidence[i].since`...)."""
        if not name.startswith("evidence["):
            return name if name in BY_KEY else "registration_no"
        index, _, attr = name.removeprefix("evidence[").partition("].")
        i = int(index)
        sources = row.evidence_sources[i] if i < len(row.evidence_sources) else {"*": "other_categories"}
        return sources.get(attr, sources["*"])


# --- the import ---------------------------------------------------------------------------------


@dataclass
class _Group:
    """The rows of one household in the file and the household they go to (None: a new one)."""

    rows: list[_Row]
    household_no: str
    household: Household | None = None
    claims_number: bool = False
    phone: str = ""


def _unreadable(e: FileUnreadable) -> InvalidRequest:
    return InvalidRequest(
        f"The file cannot be read as a register: {e.reason}.",
        [field_error("file", e.reason, code=Code.import_unreadable, reason_ja=e.reason_ja)],
        code=Code.import_unreadable,
        reason_ja=e.reason_ja,
    )


def import_register(
    session: Session,
    cfg: TenantConfig,
    data: bytes,
    now: datetime,
    actor: str,
    *,
    dry_run: bool = False,
    strict: bool = False,
    encoding: str | None = None,
) -> ImportReport:
    """Bring the register in line with a file (see the module's docstring). Writes into `session`
    (the caller commits) unless `dry_run`, or `strict` and a row is bad. InvalidRequest
    (`import.unreadable`) when the file cannot be read at all; Conflict when someone registered the
    same number meanwhile."""
    try:
        text, used = decode(data, encoding)
        table = read_table(text)
    except FileUnreadable as e:
        raise _unreadable(e) from None
    today = now.astimezone(cfg.tz).date()
    report = ImportReport(encoding=used, dry_run=dry_run, strict=strict, rows=len(table.rows))
    for h, k in zip(table.header, table.keys, strict=True):
        if k is None and h.strip():
            report.warnings.append(
                RowProblem(1, h, "", Code.field_unknown, f"column {h!r} is not a register column: ignored")
            )
    reader = _RowReader(cfg, table, today)
    rows = [reader.read(line, cells) for line, cells in table.rows]

    everyone = session.exec(select(Resident).where(Resident.tenant_id == cfg.id))
    people = {r.registration_no: r for r in everyone}
    homes = {h.id: h for h in session.exec(select(Household).where(Household.tenant_id == cfg.id))}
    numbered = {h.household_no: h for h in homes.values() if h.household_no}

    _check_duplicates(rows, table)
    for row in rows:
        known = people.get(row.regno)
        if row.evidence_errors and (
            known is None or evidence_cells(evidence_of(known)) != row.evidence_cells
        ):
            row.errors += row.evidence_errors  # evidence the file repeats unchanged is not judged again
    groups = _groups(rows, people, homes, numbered, table)
    for row in rows:
        known = people.get(row.regno)
        if row.ok and known is not None and not known.active:
            report.warnings.append(
                RowProblem(
                    row.line,
                    table.header_of("registration_no"),
                    "registration_no",
                    Code.resident_ended,
                    f"the registration of {row.regno} ended on {_iso(known.ended_on)}: row skipped",
                    row.regno,
                )
            )
            report.skipped += 1
    for row in rows:
        report.errors += row.errors
    report.refused = sum(not r.ok for r in rows)
    in_file = {r.regno for r in rows}
    report.not_in_file = sum(1 for n, r in people.items() if r.active and n not in in_file)
    report.warnings += _likely_duplicates(rows, people, table)

    plan = _plan(groups, people, report)
    report.events = plan.events()
    report.errors.sort(key=lambda p: (p.line, p.column))
    if dry_run or (strict and report.errors):
        return report
    report.written = True
    if plan.empty():
        return report
    try:
        _apply(session, cfg, plan, now, actor)
        session.flush()
    except IntegrityError:
        raise Conflict(
            "Someone changed the register while the file was imported (a number is taken now); "
            "import the file again.",
            code=Code.conflict,
        ) from None
    return report


def _check_duplicates(rows: list[_Row], table: Table) -> None:
    lines: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.regno:
            lines[row.regno].append(row.line)
    for row in rows:
        seen = lines.get(row.regno, [])
        if len(seen) > 1:
            others = ", ".join(str(n) for n in seen)
            row.errors.append(
                RowProblem(
                    row.line,
                    table.header_of("registration_no"),
                    "registration_no",
                    Code.import_duplicate_row,
                    f"registration number {row.regno} is on lines {others}: none of them is imported",
                    row.regno,
                    {"number": row.regno, "lines": others},
                )
            )


def _groups(
    rows: list[_Row],
    people: dict[str | None, Resident],
    homes: dict[int | None, Household],
    numbered: dict[str, Household],
    table: Table,
) -> list[_Group]:
    """The households of the file: rows with a household number grouped by it (matched on it, or
    claiming the numberless household one of its people lives in), rows without one in their
    person's household, or alone. Rows whose household columns disagree with the first row of
    their household are refused."""
    valid = [r for r in rows if r.ok and not (r.regno in people and not people[r.regno].active)]
    by_number: dict[str, _Group] = {}
    claimed: dict[int, _Group] = {}
    for row in valid:
        if not row.household_no:
            continue
        g = by_number.get(row.household_no)
        if g is None:
            g = by_number[row.household_no] = _Group([], row.household_no, numbered.get(row.household_no))
        g.rows.append(row)
    for g in by_number.values():
        if g.household is None:
            for row in g.rows:
                known = people.get(row.regno)
                hh = homes.get(known.household_id) if known else None
                if hh is not None and not hh.household_no and hh.id not in claimed:
                    g.household, g.claims_number = hh, True
                    break
        if g.household is not None and g.household.id is not None:
            claimed[g.household.id] = g
    by_home: dict[int, _Group] = {}
    out = list(by_number.values())
    for row in valid:
        if row.household_no:
            continue
        known = people.get(row.regno)
        hid = known.household_id if known else None
        if hid is not None and hid in claimed:
            claimed[hid].rows.append(row)
        elif hid is not None and hid in homes:
            hh = homes[hid]
            if hid not in by_home:
                by_home[hid] = _Group([], hh.household_no or "", hh)
                claimed[hid] = by_home[hid]
                out.append(by_home[hid])
            by_home[hid].rows.append(row)
        else:
            out.append(_Group([row], ""))
    for g in out:
        g.rows.sort(key=lambda r: r.line)
        _agree(g, table)
        g.rows = [r for r in g.rows if r.ok]
        given = [r.household_phone for r in g.rows if r.household_phone]
        members = [r.member.phone for r in g.rows if r.member is not None and r.member.phone]
        if given:
            g.phone = given[0]
        elif g.household is not None:
            g.phone = g.household.phone  # not given: an existing household keeps its phone
        else:
            g.phone = (members or [""])[0]  # a new one takes its first member's
    return [g for g in out if g.rows]


def _agree(g: _Group, table: Table) -> None:
    """Refuse the rows of a household whose household columns differ from its first row's."""
    first = g.rows[0]
    assert first.home is not None
    phone = next((r.household_phone for r in g.rows if r.household_phone), "")
    phone_line = next((r.line for r in g.rows if r.household_phone), first.line)
    for row in g.rows[1:]:
        assert row.home is not None
        differ = [k for k in HOME_FIELDS if getattr(row.home, k) != getattr(first.home, k)]
        if row.household_phone and row.household_phone != phone:
            differ.append("household_phone")
        for key in differ:
            ref = phone_line if key == "household_phone" else first.line
            row.errors.append(
                RowProblem(
                    row.line,
                    table.header_of(key),
                    key,
                    Code.import_household_mismatch,
                    f"household {g.household_no or '(no number)'}: {key} differs from line {ref}",
                    row.regno,
                    {"household_no": g.household_no, "column": table.header_of(key), "first_line": str(ref)},
                )
            )


def _likely_duplicates(
    rows: list[_Row], people: dict[str | None, Resident], table: Table
) -> list[RowProblem]:
    """Warnings for new people whose name or kana and birth date match someone registered under
    another number (an operator may have registered them by hand before)."""
    index: dict[tuple[str, str, date], Resident] = {}
    for r in people.values():
        if r.active:
            index[(r.family_name, r.given_name, r.birth_date)] = r
            index[(r.family_kana, r.given_kana, r.birth_date)] = r
    out = []
    for row in rows:
        m = row.member
        if not row.ok or m is None or row.regno in people:
            continue
        other = index.get((m.family_name, m.given_name, m.birth_date)) or index.get(
            (m.family_kana, m.given_kana, m.birth_date)
        )
        if other is not None:
            out.append(
                RowProblem(
                    row.line,
                    table.header_of("registration_no"),
                    "registration_no",
                    Code.resident_duplicate_suspected,
                    f"{m.family_name} {m.given_name} ({m.birth_date}) may be registered already as "
                    f"{other.registration_no}: imported as another person",
                    row.regno,
                )
            )
    return out


@dataclass
class _Plan:
    claims: list[tuple[Household, str]] = field(default_factory=list)
    moves: list[tuple[Household, Move]] = field(default_factory=list)
    patches: list[tuple[Household, HouseholdPatch]] = field(default_factory=list)
    new_homes: list[_Group] = field(default_factory=list)
    member_patches: list[tuple[Resident, MemberPatch]] = field(default_factory=list)
    transfers: list[tuple[Resident, _Group]] = field(default_factory=list)
    new_people: list[tuple[MemberIn, _Group]] = field(default_factory=list)

    def empty(self) -> bool:
        return not any(vars(self).values())

    def events(self) -> int:
        """How many events writing the plan records (each change one, a person's evidence its own)."""
        people = sum(
            bool(p.model_fields_set - {"evidence"}) + ("evidence" in p.model_fields_set)
            for _, p in self.member_patches
        )
        homes = len(self.claims) + len(self.moves) + len(self.patches) + len(self.new_homes)
        return homes + len(self.transfers) + people + len(self.new_people)


def _plan(groups: list[_Group], people: dict[str | None, Resident], report: ImportReport) -> _Plan:
    """What the import changes: compares every valid row with what is registered."""
    plan = _Plan()
    for g in groups:
        home = g.rows[0].home
        assert home is not None
        hh = g.household
        if hh is None:
            plan.new_homes.append(g)
            report.households_created += 1
        else:
            if g.claims_number:
                plan.claims.append((hh, g.household_no))
            changed = False
            if hh.lat != home.lat or hh.lon != home.lon:
                plan.moves.append(
                    (hh, Move(address=home.address, lat=home.lat, lon=home.lon, settlement=home.settlement))
                )
                report.households_moved += 1
            patch: dict[str, str] = {}
            for key, new in (("phone", g.phone), ("tv_box", home.tv_box)):
                if not _same(getattr(hh, key), new):
                    patch[key] = new
            if (hh.lat, hh.lon) == (home.lat, home.lon):
                for key, new in (("address", home.address), ("settlement", home.settlement)):
                    if not _same(getattr(hh, key), new):
                        patch[key] = new
            if patch:
                plan.patches.append((hh, HouseholdPatch(**patch)))
                changed = True
            if changed or g.claims_number:
                report.households_updated += 1
        for row in g.rows:
            m = row.member
            assert m is not None
            r = people.get(row.regno)
            if r is None:
                plan.new_people.append((m, g))
                report.created += 1
                continue
            diff = _member_diff(r, m, row)
            moves_house = hh is None or r.household_id != hh.id
            if diff:
                plan.member_patches.append((r, MemberPatch(**diff)))
            if moves_house:
                plan.transfers.append((r, g))
            if diff or moves_house:
                report.updated += 1
            else:
                report.unchanged += 1
    return plan


def _member_diff(r: Resident, m: MemberIn, row: _Row) -> dict[str, Any]:
    """The fields of a registered person the row changes (values as MemberPatch takes them)."""
    diff: dict[str, Any] = {}
    for key in ("family_name", "given_name", "notes"):
        if getattr(r, key).strip() != getattr(m, key).strip():
            diff[key] = getattr(m, key).strip()
    for key in ("family_kana", "given_kana"):
        if registry.to_hiragana(getattr(r, key)) != getattr(m, key):
            diff[key] = getattr(m, key)
    if m.phone and not _same(r.phone, m.phone):  # empty: the registered phone stays
        diff["phone"] = m.phone
    for key in ("birth_date", "wheelchair", "companion_needed"):
        if getattr(r, key) != getattr(m, key):
            diff[key] = getattr(m, key)
    if evidence_cells(evidence_of(r)) != row.evidence_cells:
        diff["evidence"] = m.evidence
    return diff


def _apply(session: Session, cfg: TenantConfig, plan: _Plan, now: datetime, actor: str) -> None:
    """Write the plan: existing households first, then new households (one flush), people moving
    between households, corrections, and new people (one flush)."""
    for hh, number in plan.claims:
        hh.household_no = number
        session.add(hh)
        record(
            session,
            cfg.id,
            now,
            actor,
            HOUSEHOLD_UPDATED,
            "household",
            hh.id,
            before={"household_no": None},
            after={"household_no": number},
        )
    for hh, move in plan.moves:
        registry.move_household(session, cfg, id_of(hh), move, now, actor)
    for home_of, correction in plan.patches:
        registry.update_household(session, cfg, id_of(home_of), correction, now, actor)
    for g in plan.new_homes:
        home = g.rows[0].home
        assert home is not None
        g.household = Household(
            tenant_id=cfg.id,
            household_no=g.household_no or None,
            address=home.address,
            lat=home.lat,
            lon=home.lon,
            phone=g.phone,
            settlement=home.settlement,
            tv_box=home.tv_box,
            hall_id=registry.nearest_hall(cfg, home.lat, home.lon),
        )
    session.add_all([g.household for g in plan.new_homes if g.household is not None])
    session.flush()
    for g in plan.new_homes:
        new = g.household
        assert new is not None
        record(
            session,
            cfg.id,
            now,
            actor,
            HOUSEHOLD_REGISTERED,
            "household",
            new.id,
            after={
                "address": new.address,
                "settlement": new.settlement,
                "hall_id": new.hall_id,
                "household_no": new.household_no,
            },
        )
    for r, g in plan.transfers:
        to = g.household
        assert to is not None
        before = {"household_id": r.household_id, "lat": r.lat, "lon": r.lon}
        r.household_id, r.lat, r.lon = to.id, to.lat, to.lon
        session.add(r)
        record(
            session,
            cfg.id,
            now,
            actor,
            RESIDENT_UPDATED,
            "resident",
            r.id,
            before=before,
            after={"household_id": to.id, "lat": to.lat, "lon": to.lon},
        )
    for r, patch in plan.member_patches:
        registry.update_member(session, cfg, id_of(r), patch, now, actor)
    added = []
    for m, g in plan.new_people:
        assert g.household is not None
        added.append(_new_resident(cfg, g.household, m, now))
    session.add_all(added)
    session.flush()
    for r in added:
        registry.record_registered(session, cfg.id, r, now, actor)


# --- export -------------------------------------------------------------------------------------


def export_rows(session: Session, tenant_id: str) -> list[dict[str, str]]:
    """Every person whose registration is in force (paused ones too), household by household, as
    the file's columns."""
    rows = session.exec(
        select(Resident, Household)
        .join(Household, col(Household.id) == col(Resident.household_id))
        .where(Resident.tenant_id == tenant_id, col(Resident.active).is_(True))
        .order_by(col(Household.household_no), col(Household.id), col(Resident.id))
    ).all()
    out = []
    for r, hh in rows:
        out.append(
            {
                "registration_no": r.registration_no or "",
                "household_no": hh.household_no or "",
                "family_name": r.family_name,
                "given_name": r.given_name,
                "family_kana": r.family_kana,
                "given_kana": r.given_kana,
                "birth_date": r.birth_date.isoformat(),
                "phone": r.phone,
                "household_phone": hh.phone,
                "address": hh.address,
                "settlement": hh.settlement,
                "lat": repr(hh.lat),
                "lon": repr(hh.lon),
                "tv_box": hh.tv_box,
                "wheelchair": "1" if r.wheelchair else "",
                "companion_needed": "1" if r.companion_needed else "",
                **evidence_cells(evidence_of(r)),
                "notes": r.notes,
            }
        )
    return out


def export_register(session: Session, tenant_id: str, encoding: str = "cp932") -> bytes:
    """The register file of a tenant: `cp932` (Shift_JIS, what municipal systems read) or `utf-8`
    (with a BOM, so that spreadsheet programs read it as UTF-8). InvalidRequest
    (`export.not_encodable`) when a name or address holds a character Shift_JIS cannot write."""
    rows = export_rows(session, tenant_id)
    text = write_table(rows)
    if encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig"):
        return text.encode("utf-8-sig")
    try:
        return text.encode("cp932")
    except UnicodeEncodeError:
        pass
    numbers = []
    for row in rows:
        try:
            "".join(row.values()).encode("cp932")
        except UnicodeEncodeError:
            numbers.append(row["registration_no"])
    shown = ", ".join(numbers[:10]) + (" ..." if len(numbers) > 10 else "")
    raise InvalidRequest(
        f"Some people's data holds characters Shift_JIS cannot write ({shown}); export as UTF-8.",
        [field_error("encoding", "use utf-8", code=Code.export_not_encodable, numbers=shown)],
        code=Code.export_not_encodable,
        numbers=shown,
    )
