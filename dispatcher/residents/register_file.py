"""The register file: the CSV a municipality's resident system exports, one row per person.

Its columns (`COLUMNS`, documented in docs/residents.md with a sample), how the file is decoded
(UTF-8 with or without BOM, else Shift_JIS/CP932), and how each value is read: dates in ISO,
slashes, Japanese (2024年4月1日) or era form (R6.4.1, 昭和15年3月1日), yes/no marks, disability
certificate kinds in Japanese or English, the tenant's own categories as `id:until:number`.
The rules of the register itself (what a valid person or home is) stay in `registry`; this module
only turns text into values and values back into text (`dispatcher.residents.importing` joins the two).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from dispatcher.residents.eligibility import Evidence

UTF8_BOM = b"\xef\xbb\xbf"
MAX_BYTES = 20_000_000
"""A larger file is refused (a city of 100,000 registered people is about 20 MB)."""


@dataclass(frozen=True)
class Column:
    """One column: `key` is its English name (accepted as a header), `ja` its Japanese header (what
    export writes), `aliases` other headers accepted; `household`: the household's value, repeated
    on each member's row."""

    key: str
    ja: str
    required: bool = False
    household: bool = False
    aliases: tuple[str, ...] = ()
    what: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("registration_no", "登録番号", True, what="the municipality's number of the person (key)"),
    Column("household_no", "世帯番号", household=True, what="the municipality's number of the household"),
    Column("family_name", "氏", True, aliases=("姓",), what="family name"),
    Column("given_name", "名", True, what="given name"),
    Column("family_kana", "氏カナ", True, aliases=("姓カナ", "氏フリガナ", "氏ふりがな", "氏かな")),
    Column("given_kana", "名カナ", True, aliases=("名フリガナ", "名ふりがな", "名かな")),
    Column("birth_date", "生年月日", True, what="YYYY-MM-DD, YYYY/M/D, R2.4.1, 昭和15年3月1日"),
    Column("phone", "電話番号", what="the person's phone (empty: the household's)"),
    Column("household_phone", "世帯電話番号", household=True, what="empty: the first member's phone"),
    Column("address", "住所", True, household=True),
    Column("settlement", "集落", household=True, aliases=("地区",)),
    Column("lat", "緯度", True, household=True, what="WGS84 degrees"),
    Column("lon", "経度", True, household=True, what="WGS84 degrees"),
    Column("tv_box", "テレビ端末番号", household=True, aliases=("stb番号",), what="cable-TV box number"),
    Column("wheelchair", "車いす", aliases=("車椅子",), what="1 or empty"),
    Column("companion_needed", "付き添い", aliases=("付添い", "付添"), what="1 or empty"),
    Column("licence_surrendered_on", "免許返納日", what="the day the licence was surrendered"),
    Column("licence_certificate_no", "運転経歴証明書番号"),
    Column("disability_kind", "障害者手帳種類", aliases=("手帳種類",), what="身体, 療育 or 精神"),
    Column("disability_grade", "障害等級", aliases=("等級",), what="e.g. 2級, A"),
    Column("disability_certificate_no", "障害者手帳番号", aliases=("手帳番号",)),
    Column("disability_until", "障害者手帳有効期限", aliases=("手帳有効期限",), what="last valid day"),
    Column("other_categories", "その他区分", what="the tenant's own: id, id:until or id:until:number; ';'"),
    Column("notes", "備考"),
)
BY_KEY = {c.key: c for c in COLUMNS}
HOUSEHOLD_KEYS = tuple(c.key for c in COLUMNS if c.household)


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-（）()]", "", unicodedata.normalize("NFKC", text)).lower()


HEADERS: dict[str, str] = {}
for _c in COLUMNS:
    for _name in (_c.key, _c.ja, *_c.aliases):
        HEADERS[_header_key(_name)] = _c.key


class FileUnreadable(ValueError):
    """The file cannot be read as a register: `reason` in English, `reason_ja` in Japanese."""

    def __init__(self, reason: str, reason_ja: str) -> None:
        super().__init__(reason)
        self.reason, self.reason_ja = reason, reason_ja


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The file's text and the encoding it was read in: `encoding` when given, else UTF-8 (a BOM is
    dropped) when the bytes are valid UTF-8, else CP932 (Shift_JIS with the Windows extensions)."""
    if len(data) > MAX_BYTES:
        raise FileUnreadable(f"the file is larger than {MAX_BYTES:,} bytes", "ファイルが大きすぎます")
    if encoding:
        try:
            info = codecs.lookup(encoding)
            if not getattr(info, "_is_text_encoding", True):  # base64, zlib, rot13: not for text
                raise LookupError(encoding)
            name = info.name
        except LookupError:
            raise FileUnreadable(
                f"unknown encoding {encoding!r}", f"文字コード {encoding} は使えません"
            ) from None
        tries = ["utf-8-sig" if name == "utf-8" else name]
    elif data.startswith(UTF8_BOM):
        tries = ["utf-8-sig"]
    else:
        tries = ["utf-8", "cp932"]
    for name in tries:
        try:
            return data.decode(name), name
        except UnicodeDecodeError as e:
            error = e
    line = data[: error.start].count(b"\n") + 1
    raise FileUnreadable(
        f"not readable as {' or '.join(tries)} (line {line}, byte {error.start}); "
        "save it as UTF-8 or Shift_JIS, or name the encoding",
        f"{line}行目の文字を読めません",
    )


@dataclass(frozen=True)
class Table:
    """The rows of a decoded file: `header` as written, `keys` the column each header names (None:
    not a column of the register), `rows` as (first line of the record, values)."""

    header: list[str]
    keys: list[str | None]
    rows: list[tuple[int, list[str]]]

    def header_of(self, key: str) -> str:
        """The column's header as the file wrote it (the Japanese one if the file has none)."""
        return next((h for h, k in zip(self.header, self.keys, strict=True) if k == key), BY_KEY[key].ja)


def read_table(text: str) -> Table:
    """Split a decoded file into its header and records; FileUnreadable when it has no header, a
    header names a column twice or a required column is missing. Line numbers are the file's
    (the header is line 1; a record with a line break inside quotes counts all its lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        while header == [] or all(not h.strip() for h in header):
            header = next(reader)
    except StopIteration:
        raise FileUnreadable("the file is empty", "ファイルが空です") from None
    except csv.Error as e:
        raise FileUnreadable(f"not a CSV file: {e}", "CSV として読めません") from None
    keys = [HEADERS.get(_header_key(h)) for h in header]
    seen: set[str] = set()
    for h, k in zip(header, keys, strict=True):
        if k is not None and k in seen:
            raise FileUnreadable(f"the column {h!r} ({k}) comes twice", f"列「{h}」が2回あります")
        if k is not None:
            seen.add(k)
    missing = [c for c in COLUMNS if c.required and c.key not in seen]
    if missing:
        names = ", ".join(f"{c.ja} ({c.key})" for c in missing)
        raise FileUnreadable(
            f"required columns missing from the first line: {names}",
            "1行目に必要な列がありません: " + "、".join(c.ja for c in missing),
        )
    rows: list[tuple[int, list[str]]] = []
    start = reader.line_num + 1
    try:
        for values in reader:
            if any(v.strip() for v in values):
                rows.append((start, values))
            start = reader.line_num + 1
    except csv.Error as e:
        raise FileUnreadable(f"line {start}: {e}", f"{start}行目を CSV として読めません") from None
    return Table(header, keys, rows)


# --- values -------------------------------------------------------------------------------------

ERAS = {
    "m": (1868, 45),
    "明治": (1868, 45),
    "明": (1868, 45),
    "t": (1912, 15),
    "大正": (1912, 15),
    "大": (1912, 15),
    "s": (1926, 64),
    "昭和": (1926, 64),
    "昭": (1926, 64),
    "h": (1989, 31),
    "平成": (1989, 31),
    "平": (1989, 31),
    "r": (2019, 99),
    "令和": (2019, 99),
    "令": (2019, 99),
}
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_KANJI = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ERA = re.compile(
    r"^(明治|大正|昭和|平成|令和|[明大昭平令]|[mtshr])\s*(\d{1,2}|元)[-/.年](\d{1,2})[-/.月](\d{1,2})日?$"
)


def normal(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII, half-width kana to full-width), trimmed: for
    numbers, dates, codes and marks (never for names, whose variant characters matter)."""
    return unicodedata.normalize("NFKC", text).strip()


def parse_date(text: str) -> date:
    """A date from the forms municipal systems write; ValueError otherwise."""
    t = normal(text).lower().replace(" ", "")
    m = _ISO.match(t) or _KANJI.match(t) or _COMPACT.match(t)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    m = _ERA.match(t)
    if m:
        first, last = ERAS[m[1]]
        n = 1 if m[2] == "元" else int(m[2])
        if not 1 <= n <= last:
            raise ValueError(f"{m[1]}{n} is not a year of that era")
        return date(first + n - 1, int(m[3]), int(m[4]))
    raise ValueError("not a date")


YES = {"1", "true", "yes", "y", "はい", "有", "あり", "要", "○", "〇", "◯", "●", "レ", "✓"}
NO = {"", "0", "false", "no", "n", "いいえ", "無", "なし", "不要", "×", "-", "ー"}


def parse_bool(text: str) -> bool:
    t = normal(text).lower()
    if t in YES:
        return True
    if t in NO:
        return False
    raise ValueError("use 1 (yes) or leave it empty (no)")


DISABILITY = {
    "physical": "physical",
    "身体": "physical",
    "身体障害者手帳": "physical",
    "intellectual": "intellectual",
    "療育": "intellectual",
    "療育手帳": "intellectual",
    "知的": "intellectual",
    "mental": "mental",
    "精神": "mental",
    "精神障害者保健福祉手帳": "mental",
}
DISABILITY_JA = {"physical": "身体", "intellectual": "療育", "mental": "精神"}


def parse_disability_kind(text: str) -> str:
    t = normal(text).lower()
    if t not in DISABILITY:
        raise ValueError("use 身体, 療育 or 精神 (physical, intellectual, mental)")
    return DISABILITY[t]


def parse_degrees(text: str, limit: float) -> float:
    """Decimal degrees within ±limit."""
    value = float(normal(text))
    if not -limit <= value <= limit or value != value:
        raise ValueError(f"outside ±{limit}")
    return value


@dataclass(frozen=True)
class OwnCategory:
    """One entry of `other_categories`."""

    category: str
    until: date | None
    document_no: str


def parse_other_categories(text: str) -> list[OwnCategory]:
    """`id`, `id:until` or `id:until:number` (until may be empty: `id::number`), separated by ';'."""
    out = []
    for part in re.split(r"[;；]", normal(text)):
        if not part.strip():
            continue
        bits = [b.strip() for b in part.split(":", 2)]
        if not re.fullmatch(r"[a-z0-9_]+", bits[0]):
            raise ValueError(f"{part!r}: write category:until:number, e.g. care_level:2027-03-31")
        until = parse_date(bits[1]) if len(bits) > 1 and bits[1] else None
        out.append(OwnCategory(bits[0], until, bits[2] if len(bits) > 2 else ""))
    return out


# --- writing ------------------------------------------------------------------------------------


def other_categories_text(evidence: list[Evidence]) -> str:
    """The tenant's own categories of a resident as `other_categories` writes them."""
    parts = []
    for e in evidence:
        bits = [e.category, e.until.isoformat() if e.until else "", e.document_no]
        while len(bits) > 1 and not bits[-1]:
            bits.pop()
        parts.append(":".join(bits))
    return ";".join(parts)


def write_table(rows: list[dict[str, str]]) -> str:
    """The register file's text: the Japanese header, then one line per person (CRLF, as
    spreadsheet programs on Windows write)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([c.ja for c in COLUMNS])
    for row in rows:
        w.writerow([row.get(c.key, "") for c in COLUMNS])
    return buf.getvalue()
