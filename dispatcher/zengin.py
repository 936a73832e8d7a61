"""The Zengin (全銀協) direct-debit request file (口座振替依頼データ, 種別コード 91).

Fixed-length records of 120 bytes in JIS (Shift_JIS single bytes), each followed by CR LF:
a header (1), one data record per debit (2), a trailer (8) with the count and the total, an end
record (9). Numeric fields are right-aligned and padded with "0"; text fields are left-aligned,
padded with spaces, and hold only the Zengin character set: half-width katakana without small
kana, upper-case A-Z, digits, space and ( ) - . / (`kana` converts names to it).

`build` refuses (ValueError naming the record and field) anything that does not fit, and
`validate` checks a whole file the way a bank's reader would; `build` runs it before it returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import jaconv

RECORD = 120
ENCODING = "cp932"
ALLOWED = re.compile(r"^[0-9A-Zｦ-ﾟ ()\-./]*$")
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


def validate(blob: bytes) -> list[str]:
    """Structural check of a direct-debit file: record lengths and order, kinds, the character set,
    and the trailer's count and total against the data records. Returns the problems found."""
    problems: list[str] = []
    lines = blob.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    if not lines:
        return ["the file is empty"]
    kinds = []
    count = total = 0
    for k, raw in enumerate(lines):
        if len(raw) != RECORD:
            problems.append(f"record {k + 1}: {len(raw)} bytes, not {RECORD}")
            continue
        rec = raw.decode(ENCODING)
        kinds.append(rec[0])
        if rec[0] in "12" and not ALLOWED.match(rec):
            problems.append(f"record {k + 1}: characters outside the Zengin set")
        if rec[0] == "1" and rec[1:4] != "910":
            problems.append("header: type must be 91 (direct debit), code 0 (JIS)")
        if rec[0] == "2":
            if not (rec[1:5] + rec[20:23] + rec[42:50] + rec[80:91] + rec[91:112]).isdigit():
                problems.append(f"record {k + 1}: a numeric field is not numeric")
            else:
                count += 1
                total += int(rec[80:90])
        if rec[0] == "8":
            if int(rec[1:7]) != count:
                problems.append(f"trailer: count {int(rec[1:7])}, but {count} data records")
            if int(rec[7:19]) != total:
                problems.append(
                    f"trailer: total {int(rec[7:19])} yen, but the data records add up to {total}"
                )
        if rec[0] == "9" and rec[1:].strip():
            problems.append("end record: must be blank after the 9")
    order = "".join(kinds)
    if not re.fullmatch(r"12*89", order):
        problems.append(f"records must be header, data..., trailer, end; found {order}")
    return problems
