"""CSV and Excel (.xlsx) files of the dashboard's tables.

CSV: UTF-8 with a byte-order mark (Excel in Japan then reads the Japanese headers right), one
header row of labels with their units, rates in percent. Excel: one sheet per table with the
title, the period and a note on suppressed cells; rates are fractions shown as percent, so a
formula on them works. A suppressed cell holds "X" in both.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

SUPPRESSED = "X"
SUPPRESSED_NOTE = "X: 5人未満のため秘匿（個人が特定されないように）"


def _kinds(table: dict[str, Any], row: dict[str, Any]) -> list[str]:
    return row.get("kinds") or [c["kind"] for c in table["columns"]]


def _header(col: dict[str, Any]) -> str:
    return f"{col['label']}（{col['unit']}）" if col["unit"] else col["label"]


def csv_text(header: list[str], rows: Iterable[list[Any]], excel: bool = True) -> str:
    """CSV text. excel: a byte-order mark and CR LF, so that Excel in Japan reads the Japanese
    right (for people); otherwise plain UTF-8 with LF (for machines, e.g. GTFS)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if excel else "\n")
    w.writerow(header)
    w.writerows(rows)
    return ("\ufeff" if excel else "") + buf.getvalue()


def csv_bytes(table: dict[str, Any]) -> bytes:
    """One table as CSV (UTF-8 with BOM)."""
    rows = []
    for row in table["rows"]:
        out = []
        for value, kind in zip(row["values"], _kinds(table, row), strict=True):
            if value is None:
                out.append(SUPPRESSED if row["suppressed"] else "")
            elif kind == "rate":
                out.append(f"{value * 100:.1f}")
            else:
                out.append(value)
        rows.append(out)
    return csv_text([_header(c) for c in table["columns"]], rows).encode("utf-8")


_FORMATS = {"int": "#,##0", "yen": "#,##0", "float": "0.0#", "rate": "0.0%"}


def xlsx_bytes(dash: dict[str, Any]) -> bytes:
    """Every table of a dashboard as one workbook, a sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    if wb.active is not None:  # the empty sheet a new workbook has
        wb.remove(wb.active)
    for table in dash["tables"]:
        ws = wb.create_sheet(table["title"][:31].replace("/", "・"))
        ws.append([table["title"]])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(
            [f"{dash['municipality']}　{dash['from']} 〜 {dash['to']}　（{dash['generated_at'][:16]} 作成）"]
        )
        ws.append([_header(c) for c in table["columns"]])
        for cell in ws[3]:
            cell.font = Font(bold=True)
        for row in table["rows"]:
            values = [(SUPPRESSED if row["suppressed"] else None) if v is None else v for v in row["values"]]
            ws.append(values)
            for j, kind in enumerate(_kinds(table, row), start=1):
                if kind in _FORMATS and values[j - 1] not in (None, SUPPRESSED):
                    ws.cell(row=ws.max_row, column=j).number_format = _FORMATS[kind]
        if any(r["suppressed"] for r in table["rows"]):
            ws.append([])
            ws.append([SUPPRESSED_NOTE])
        for j, col in enumerate(table["columns"], start=1):
            width = max(len(_header(col)) * 2, 10) if col["kind"] != "text" else 24
            ws.column_dimensions[get_column_letter(j)].width = min(width, 40)
        ws.freeze_panes = "B4"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
