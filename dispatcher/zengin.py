"""The Zengin (全銀協) direct-debit request file (口座振替依頼データ, 種別コード 91).

Fixed-length records of 120 bytes in JIS (Shift_JIS single bytes), each followed by CR LF:
a header (1), one data record per debit (2), a trailer (8) with the count and the total, an end
record (9). Numeric fields are right-aligned and padded with "0"; text fields are left-aligned,
padded with spaces, and hold only the Zengin character set: half-width katakana without small
kana, upper-case A-Z, digits, space and ( ) - . / (`kana` converts names to it).

`build` refuses (ValueError naming the record and field) anything that does not fit, and
`validate` checks a whole file the way a bank's reader would; `build` runs it before it returns.

`bank` and `branch` look codes up in the Zengin bank master (全銀協 金融機関・店舗コード) as the
`zengin-code` package ships it (MASTER_DATE says of when): the names as people read them and as the
file carries them (half-width katakana, cut to the field's 15 characters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import jaconv

RECORD = 120
ENCODING = "cp932"
# half-width katakana without the small kana (ｧ-ｯ) and the long-vowel mark (ｰ), which banks refuse
ALLOWED = re.compile(r"^[0-9A-Zｦｱ-ﾝﾞﾟ ()\-./]*$")
SMALL = str.maketrans("ｧｨｩｪｫｬｭｮｯ", "ｱｲｳｴｵﾔﾕﾖﾂ")


def kana(text: str) -> str:
    """A name in the Zengin character set: hiragana and katakana to half-width katakana, small kana
    to large ones, long-vowel marks to '-', Latin letters to upper case; ValueError for kanji."""
    out = jaconv.hira2hkata(text)
    out = jaconv.z2h(out, kana=True, ascii=True, digit=True).upper()
    out = out.replace("ｰ", "-").replace("ー", "-").replace("　", " ").translate(SMALL)
    out = re.sub(r"\s+", " ", out).strip()
    if not ALLOWED.match(out):
        bad = "".join(sorted({c for c in out if not ALLOWED.match(c)}))
        raise ValueError(f"{text!r}: {bad!r} cannot be written in the Zengin file (use kana)")
    return out


@dataclass(frozen=True)
class MasterEntry:
    """A bank or a branch of the bank master: its code, its name (kanji, as people read it) and
    its name as the debit file carries it (half-width katakana, at most 15 characters)."""

    code: str
    name: str
    kana: str


@cache
def _master() -> Any:
    import zengin_code  # loads the whole master (about 1,100 banks) once, in ~0.1 s

    return zengin_code.Bank


def master_date() -> str:
    """The date of the bank master's data, YYYY-MM-DD."""
    import zengin_code

    stamp = str(zengin_code.__version__).rsplit(".", 1)[-1]
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"


def _entry(row: Any) -> MasterEntry:
    return MasterEntry(str(row.code), str(row.name), kana(str(row.kana))[:15])


def bank(code: str) -> MasterEntry | None:
    """The bank with this 4-digit code in the master, or None."""
    row = _master().all.get(code)
    return None if row is None else _entry(row)


def branch(bank_code: str, branch_code: str) -> MasterEntry | None:
    """The branch with this 3-digit code of that bank in the master, or None (also for an
    unknown bank)."""
    row = _master().all.get(bank_code)
    found = None if row is None else row.branches.get(branch_code)
    return None if found is None else _entry(found)


class TooLong(ValueError):
    """A name that does not fit its field, even in half-width kana."""


def fit(text: str, width: int) -> str:
    """A name converted with `kana` that fits `width` half-width characters: TooLong when it does
    not, ValueError (from `kana`) when it cannot be written in the file at all."""
    out = kana(text)
    if len(out) > width:
        raise TooLong(f"{text!r} is longer than {width} half-width characters")
    return out


def _n(value: int | str, width: int, field: str) -> str:
    s = str(value)
    if not s.isdigit() or len(s) > width:
        raise ValueError(f"{field}: {value!r} must be at most {width} digits")
    return s.rjust(width, "0")


def _c(value: str, width: int, field: str) -> str:
    if not ALLOWED.match(value):
        raise ValueError(f"{field}: {value!r} holds characters outside the Zengin set")
    if len(value.encode(ENCODING)) > width:
        raise ValueError(f"{field}: {value!r} is longer than {width} characters")
    return value.ljust(width, " ")


@dataclass(frozen=True)
class Consignor:
    """Who collects (委託者) and the account the debits are paid into."""

    code: str
    name: str
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    account_type: int
    account_number: str


@dataclass(frozen=True)
class Debit:
    """One debit: the payer's bank account, the amount in yen, the customer number."""

    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    account_type: int
    account_number: str
    holder: str
    amount_yen: int
    customer_no: str
    new: bool = False  # the first debit from this account (新規コード 1)


def header(c: Consignor, debit_on: date) -> str:
    return (
        "1"
        + "91"
        + "0"
        + _n(c.code, 10, "header.consignor_code")
        + _c(kana(c.name), 40, "header.consignor_name")
        + f"{debit_on:%m%d}"
        + _n(c.bank_code, 4, "header.bank_code")
        + _c(kana(c.bank_name), 15, "header.bank_name")
        + _n(c.branch_code, 3, "header.branch_code")
        + _c(kana(c.branch_name), 15, "header.branch_name")
        + _n(c.account_type, 1, "header.account_type")
        + _n(c.account_number, 7, "header.account_number")
        + " " * 17
    )


def data(d: Debit, k: int) -> str:
    where = f"data[{k}]"
    if d.amount_yen <= 0:
        raise ValueError(f"{where}.amount: {d.amount_yen} yen cannot be debited")
    return (
        "2"
        + _n(d.bank_code, 4, f"{where}.bank_code")
        + _c(kana(d.bank_name), 15, f"{where}.bank_name")
        + _n(d.branch_code, 3, f"{where}.branch_code")
        + _c(kana(d.branch_name), 15, f"{where}.branch_name")
        + " " * 4
        + _n(d.account_type, 1, f"{where}.account_type")
        + _n(d.account_number, 7, f"{where}.account_number")
        + _c(kana(d.holder)[:30], 30, f"{where}.holder")
        + _n(d.amount_yen, 10, f"{where}.amount")
        + ("1" if d.new else "0")
        + _n(d.customer_no, 20, f"{where}.customer_no")
        + "0"
        + " " * 8
    )


def trailer(count: int, total: int) -> str:
    return "8" + _n(count, 6, "trailer.count") + _n(total, 12, "trailer.total") + "0" * 36 + " " * 65


def end() -> str:
    return "9" + " " * 119


def build(c: Consignor, debit_on: date, debits: list[Debit]) -> bytes:
    """The whole file; ValueError names the first field that does not fit."""
    records = [header(c, debit_on)]
    records += [data(d, k) for k, d in enumerate(debits)]
    records += [trailer(len(debits), sum(d.amount_yen for d in debits)), end()]
    out = b"".join(r.encode(ENCODING) + b"\r\n" for r in records)
    problems = validate(out)
    if problems:
        raise ValueError("; ".join(problems))
    return out


def _mmdd(value: str) -> bool:
    try:
        date(2024, int(value[:2]), int(value[2:]))  # a leap year: 0229 is a date
    except ValueError:
        return False
    return True


def _header(rec: str, k: int) -> list[str]:
    out = []
    if rec[1:4] != "910":
        out.append("header: type must be 91 (direct debit), code 0 (JIS)")
    if not (rec[4:14] + rec[58:62] + rec[77:80] + rec[96:103]).isdigit():
        out.append("header: a numeric field is not numeric")
    if not _mmdd(rec[54:58]):
        out.append(f"header: debit date {rec[54:58]!r} is not a date (MMDD)")
    if rec[95] not in "1249":
        out.append("header: account type must be 1, 2, 4 or 9")
    return out


def _data(rec: str, k: int) -> list[str]:
    out = []
    if not (rec[1:5] + rec[20:23] + rec[42:50] + rec[80:91] + rec[91:112]).isdigit():
        out.append(f"record {k}: a numeric field is not numeric")
        return out
    if rec[42] not in "1249":
        out.append(f"record {k}: account type must be 1, 2, 4 or 9")
    if rec[90] not in "012":
        out.append(f"record {k}: new-code must be 0, 1 or 2")
    if rec[111] != "0":
        out.append(f"record {k}: the result code of a request must be 0")
    if int(rec[80:90]) <= 0:
        out.append(f"record {k}: the amount must be positive")
    return out


def validate(blob: bytes) -> list[str]:
    """Structural check of a direct-debit file the way a bank's reader would make it: record
    lengths and order, kinds, the character set, numeric fields, codes, and the trailer's count
    and total against the data records. Returns the problems found (none: the file is sound)."""
    problems: list[str] = []
    lines = blob.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    if not lines:
        return ["the file is empty"]
    kinds = []
    count = total = 0
    for k, raw in enumerate(lines, start=1):
        if len(raw) != RECORD:
            problems.append(f"record {k}: {len(raw)} bytes, not {RECORD}")
            continue
        try:
            rec = raw.decode(ENCODING)
        except UnicodeDecodeError:
            problems.append(f"record {k}: not in the JIS (Shift_JIS) code")
            continue
        if len(rec) != RECORD:
            problems.append(f"record {k}: holds characters wider than one byte")
            continue
        kinds.append(rec[0])
        if rec[0] in "12" and not ALLOWED.match(rec):
            problems.append(f"record {k}: characters outside the Zengin set")
        if rec[0] == "1":
            problems += _header(rec, k)
        elif rec[0] == "2":
            found = _data(rec, k)
            problems += found
            if not found:
                count += 1
                total += int(rec[80:90])
        elif rec[0] == "8":
            if not (rec[1:55]).isdigit():
                problems.append("trailer: the counts and totals must be numeric")
                continue
            if int(rec[1:7]) != count:
                problems.append(f"trailer: count {int(rec[1:7])}, but {count} data records")
            if int(rec[7:19]) != total:
                problems.append(
                    f"trailer: total {int(rec[7:19])} yen, but the data records add up to {total}"
                )
            if rec[19:55].strip("0"):
                problems.append("trailer: the bank's result fields must be zeros in a request")
        elif rec[0] == "9" and rec[1:].strip():
            problems.append("end record: must be blank after the 9")
    order = "".join(kinds)
    if not re.fullmatch(r"12*89", order):
        problems.append(f"records must be header, data..., trailer, end; found {order}")
    return problems
