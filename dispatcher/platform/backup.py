"""Backups of the whole database: `noriai backup` and `noriai restore`.

- SQLite: SQLite's online backup API copies a consistent snapshot into one file while the server
  runs (pages still in the write-ahead log included); a restore copies a checked backup back in
  one step under the database's write lock.
- PostgreSQL: `pg_dump --format=custom` of the database, or of the schema named in the URL's
  search_path; a restore runs `pg_restore --clean --if-exists --single-transaction`, so a failed
  restore leaves the database as it was.

A restore refuses a database that already holds data unless forced, checks that the file is a
backup of the same kind (and, for SQLite, intact) before touching anything, and brings the schema
to the newest migration afterwards, so a backup made by an older release can be restored.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from dispatcher.db import make_engine, migrate

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says what to fix."""


def _sqlite_path(url: str) -> Path:
    u = make_url(url)
    if not u.database or u.database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up; use a database file.")
    return Path(u.database)


def _pg(url: str) -> tuple[list[str], dict[str, str], str | None]:
    """(libpq connection arguments, environment with the password, schema of the search_path)."""
    u = make_url(url)
    args = ["--host", u.host or "127.0.0.1", "--port", str(u.port or 5432), "--dbname", u.database or ""]
    if u.username:
        args += ["--username", u.username]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    schema = None
    options = u.query.get("options")
    if options:
        opts = options if isinstance(options, str) else options[0]
        for part in unquote(opts).split():
            if part.startswith("-csearch_path="):
                schema = part.split("=", 1)[1].split(",")[0]
    return args, env, schema


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed; install the PostgreSQL client tools (Debian: postgresql-client)."
        )
    return path


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed: {done.stderr.strip()[-800:]}")


def holds_data(url: str) -> bool:
    """Whether the database already has a tenant (an empty or new database has none)."""
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table("tenant"):
            return False
        with engine.connect() as c:
            return c.execute(text("SELECT 1 FROM tenant LIMIT 1")).first() is not None
    finally:
        engine.dispose()


def backup(url: str, out: Path) -> dict[str, Any]:
    """Write a backup of the database at `url` to `out`; returns what was written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    kind = make_url(url).get_backend_name()
    if kind == "sqlite":
        path = _sqlite_path(url)
        if not path.exists():
            raise BackupError(f"There is no database at {path}.")
        src, dst = sqlite3.connect(path), sqlite3.connect(out)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    elif kind == "postgresql":
        args, env, schema = _pg(url)
        cmd = [_tool("pg_dump"), *args, "--format=custom", "--no-owner", "--file", str(out)]
        if schema:
            cmd += ["--schema", schema]
        _run(cmd, env)
    else:
        raise BackupError(f"Backups of {kind} databases are not supported.")
    return {"kind": kind, "file": str(out), "bytes": out.stat().st_size}


def restore(url: str, src: Path, force: bool = False) -> dict[str, Any]:
    """Replace the database at `url` with the backup `src` (refused while it holds data, unless
    `force`); then migrate it to the newest schema."""
    if not src.is_file():
        raise BackupError(f"There is no backup file {src}.")
    head = src.read_bytes()[:16]
    kind = make_url(url).get_backend_name()
    expected = SQLITE_MAGIC if kind == "sqlite" else PG_MAGIC
    if not head.startswith(expected):
        made_by = (
            "SQLite" if head.startswith(SQLITE_MAGIC) else "pg_dump" if head.startswith(PG_MAGIC) else None
        )
        raise BackupError(
            f"{src} is not a {kind} backup"
            + (f" (it is a {made_by} backup)." if made_by else " (not made by noriai backup).")
        )
    if holds_data(url) and not force:
        raise BackupError(
            "The database already holds data; restore into an empty database, or pass --force to replace it."
        )
    if kind == "sqlite":
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        check = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        try:
            try:
                verdict = check.execute("PRAGMA integrity_check").fetchone()[0]
            except sqlite3.DatabaseError as e:
                verdict = str(e)
            if verdict != "ok":
                raise BackupError(f"{src} is damaged: {verdict}")
            dst = sqlite3.connect(path, timeout=30)
            try:
                check.backup(dst)  # one step, under the destination's write lock
            finally:
                dst.close()
        finally:
            check.close()
    else:
        args, env, _schema = _pg(url)
        _run(
            [
                _tool("pg_restore"),
                *args,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                str(src),
            ],
            env,
        )
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return {
        "kind": kind,
        "file": str(src),
        "restored_into": make_url(url).render_as_string(hide_password=True),
    }
