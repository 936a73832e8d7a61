"""The register file (administrators): import a municipality's CSV of residents, export it back.

Registered before the directory's `/residents/{resident_id}` so that `export.csv` is not read as
a resident's id. The format is in docs/residents.md ("Import and export").
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlmodel import Session

from api.deps import get_ctx, require
from api.files import file_responses
from api.messages import text
from api.schemas.register_file import ImportReport as ImportReportOut
from dispatcher.context import Dispatcher
from dispatcher.db import session_scope
from dispatcher.identity.auth import Principal
from dispatcher.residents.importing import ImportReport, RowProblem, export_register, import_register
from dispatcher.residents.register_file import MAX_BYTES

router = APIRouter(prefix="/api/v1", tags=["register"])
admin = require()

CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "The register file itself (not a form): UTF-8 with or without BOM, or "
        "Shift_JIS/CP932; one row per person, Japanese or English headers (docs/residents.md). "
        "E.g. `curl --data-binary @residents.csv -H 'Content-Type: text/csv'`.",
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def problem_view(p: RowProblem) -> dict[str, Any]:
    return {
        "line": p.line,
        "column": p.column,
        "field": p.field,
        "registration_no": p.registration_no,
        "code": p.code.value,
        "message": p.message,
        "message_ja": text(p.code, p.params),
    }


def report_view(report: ImportReport) -> dict[str, Any]:
    out = report.as_dict()
    out["errors"] = [problem_view(p) for p in report.errors]
    out["warnings"] = [problem_view(p) for p in report.warnings]
    return out


async def _body(request: Request) -> bytes:
    """The request body, read up to one byte past the largest file accepted (the import refuses it)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BYTES:
            break
    return b"".join(chunks)


@router.post(
    "/residents/import",
    response_model=ImportReportOut,
    summary="Import the register file: every bad row reported by line and column (administrators)",
    description="People are matched on their registration number, households on their household "
    "number: a second import of the same file changes nothing. The valid rows are written in one "
    "transaction (none with `strict` when a row is bad, nothing with `dry_run`); the answer is "
    "200 with the report either way, 422 (`import.unreadable`) when the file cannot be read.",
    openapi_extra=CSV_BODY,
)
async def post_import(
    request: Request,
    dry_run: bool = Query(False, description="check and count only; write nothing"),
    strict: bool = Query(False, description="write nothing if any row is bad"),
    encoding: str | None = Query(
        None, max_length=20, description="e.g. cp932 or utf-8 (default: UTF-8 if it reads, else CP932)"
    ),
    p: Principal = Depends(admin),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, Any]:
    data = await _body(request)

    def work() -> ImportReport:
        cfg = ctx.config(p.tenant_id)
        with session_scope(ctx.engine) as session:
            return import_register(
                session,
                cfg,
                data,
                ctx.clock.now(),
                p.actor,
                dry_run=dry_run,
                strict=strict,
                encoding=encoding,
            )

    return report_view(await run_in_threadpool(work))


@router.get(
    "/residents/export.csv",
    summary="The register file of every person registered (administrators); imports back unchanged",
    response_class=Response,
    responses=file_responses("text/csv", "One row per person, Japanese headers (docs/residents.md)"),
)
def get_export(
    encoding: Literal["cp932", "utf-8"] = Query(
        "cp932", description="cp932 (Shift_JIS) or utf-8 (with a BOM, for spreadsheet programs)"
    ),
    p: Principal = Depends(admin),
    ctx: Dispatcher = Depends(get_ctx),
) -> Response:
    with Session(ctx.engine) as session:
        data = export_register(session, p.tenant_id, encoding)
    charset = "shift_jis" if encoding == "cp932" else "utf-8"
    return Response(
        data,
        media_type=f"text/csv; charset={charset}",
        headers={"Content-Disposition": f'attachment; filename="residents-{p.tenant_id}.csv"'},
    )
