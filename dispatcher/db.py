"""Engine, sessions, migrations and the per-tenant write lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Protocol

from alembic import command
from alembic.config import Config
from annotated_types import Ge, Le
from sqlalchemy import ColumnElement, Delete, Engine, Update, and_, create_engine, event, update
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, col, select

from dispatcher.models import Tenant

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The largest value an INTEGER column holds on both backends (32-bit on PostgreSQL): ids from
# requests are checked against it, so a huge number is a 422, not a database error.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Ge(1), Le(MAX_ID)]


def make_engine(url: str) -> Engine:
    """An engine for a SQLite file (created with its folder) or a PostgreSQL URL.

    SQLite runs in WAL mode with foreign keys on and a 30 s busy timeout, so concurrent bookings
    queue for the write lock instead of failing.
    """
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if u.get_backend_name() == "postgresql" and u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    return create_engine(u, pool_size=10, max_overflow=20, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest migration."""
    command.upgrade(alembic_config(engine), "head")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def lock_tenant(session: Session, tenant_id: str, plan: bool = True) -> int:
    """Take the tenant's write lock for the rest of the transaction; returns the new lock sequence.

    The first statement of the transaction is an UPDATE of the tenant row: on PostgreSQL it holds
    the row lock until commit, on SQLite it takes the database's write lock at once (as BEGIN
    IMMEDIATE would). Writes of one tenant therefore run one after another.

    Every call bumps `lock_seq` (what the bookings' remembered view of the plan is keyed on: a
    position report changes where a vehicle starts). `plan_seq` is bumped too unless `plan` is
    False: a write that leaves the set of rides and their promises as they were (a position or a
    delay report) passes False, so that a re-optimization solving meanwhile is not thrown away
    (`dispatcher.rides.reoptimize`). When in doubt, True: a needless bump costs one more search.
    """
    values: dict[str, Any] = {"lock_seq": col(Tenant.lock_seq) + 1}
    if plan:
        values["plan_seq"] = col(Tenant.plan_seq) + 1
    session.exec(update(Tenant).where(col(Tenant.id) == tenant_id).values(**values))
    tenant = session.get(Tenant, tenant_id, populate_existing=True)
    if tenant is None:
        raise LookupError(f"unknown tenant {tenant_id}")
    return tenant.lock_seq


def hold_tenant(session: Session, tenant_id: str) -> None:
    """Take the tenant's write lock for the rest of the transaction without moving its lock
    sequence: for counted inserts that change no plan (a new TV box against the waiting cap).

    The same first-statement UPDATE as `lock_tenant` (the row lock on PostgreSQL, the database's
    write lock on SQLite), setting `lock_seq` to itself, so a re-optimization solving meanwhile is
    not told that the plan changed."""
    session.exec(update(Tenant).where(col(Tenant.id) == tenant_id).values(lock_seq=col(Tenant.lock_seq)))


def plan_seq(session: Session, tenant_id: str) -> int:
    """The tenant's plan sequence as this transaction sees it (see `lock_tenant`)."""
    return session.exec(select(Tenant.plan_seq).where(Tenant.id == tenant_id)).one()


def changed_rows(session: Session, stmt: Update | Delete) -> int:
    """Run a bulk UPDATE or DELETE in the session's transaction; how many rows it changed."""
    return session.exec(stmt).rowcount  # a CursorResult: it has the row count


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def id_of(row: _Row) -> int:
    """The id of a row read from the database, or added and flushed: it has one there (the models
    say `int | None` only because a row built in Python has none until it is flushed)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id: it was never flushed")
    return row.id


def within(column: Any, start: datetime | None, end: datetime) -> ColumnElement[bool]:
    """column in [start, end), or before `end` when there is no start."""
    return and_(column < end, column >= start) if start is not None else column < end
