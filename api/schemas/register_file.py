"""The register file: what an import did."""

from __future__ import annotations

from pydantic import Field

from api.schemas.base import ApiModel


class ImportProblem(ApiModel):
    """A refused row (or a warning): where in the file, and why."""

    line: int = Field(description="line in the file (the header is line 1)")
    column: str = Field(description="the column's header as the file wrote it ('' : the whole row)")
    field: str = Field(description="the column's English name (docs/residents.md)")
    registration_no: str
    code: str = Field(description="stable problem code (dispatcher.errors.Code)")
    message: str = Field(description="what is wrong, in English")
    message_ja: str = Field(description="what is wrong, in plain Japanese (chosen by code)")


class ImportReport(ApiModel):
    """What an import of the register file did (with `dry_run`: would do). Counts of people and
    households; `written`: the valid rows were stored (false for a dry run, and for a strict run
    with refused rows)."""

    encoding: str = Field(description="how the file was read: utf-8, utf-8-sig or cp932")
    dry_run: bool
    strict: bool
    rows: int = Field(description="rows of people in the file")
    created: int
    updated: int
    unchanged: int
    refused: int = Field(description="rows with an error: not imported")
    skipped: int = Field(description="rows naming an ended registration: not imported")
    households_created: int
    households_moved: int
    households_updated: int
    not_in_file: int = Field(description="registered people the file does not name (left as they are)")
    events: int = Field(description="events recorded")
    written: bool
    errors: list[ImportProblem]
    warnings: list[ImportProblem]
