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
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, col, select

from dispatcher.models import Ride, ShopOrder, Tenant

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The largest value an INTEGER column holds on both backends (32-bit on PostgreSQL): ids from
# requests are checked against it, so a huge number is a 422, not a database error.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Ge(1), Le(MAX_ID)]


STATEMENT_TIMEOUT_SECONDS = 30.0  # defaults of NORIAI_DB_STATEMENT_TIMEOUT / NORIAI_DB_CONNECT_TIMEOUT
CONNECT_TIMEOUT_SECONDS = 5.0


def make_engine(
    url: str,
    statement_timeout_s: float = STATEMENT_TIMEOUT_SECONDS,
    connect_timeout_s: float = CONNECT_TIMEOUT_SECONDS,
) -> Engine:
    """An engine for a SQLite file (created with its folder) or a PostgreSQL URL.

    SQLite runs in WAL mode with foreign keys on; a writer waits up to `statement_timeout_s`
    seconds for the write lock (busy timeout), so concurrent bookings queue instead of failing.
    PostgreSQL cancels a statement that runs longer than `statement_timeout_s` seconds (a lock
    wait included) and gives up connecting after `connect_timeout_s` seconds (whole seconds, at
    least 1). Errors never carry the statement's parameters (residents' names, notes), so no log
    line does either.
    """
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        busy_ms = max(1, round(statement_timeout_s * 1000))
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": statement_timeout_s},
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.close()

        return engine
    if u.get_backend_name() == "postgresql" and u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    # the URL's own options (e.g. -csearch_path=...) come first; ours are added to them
    given = u.query.get("options", ())
    timeout = f"-c statement_timeout={max(1, round(statement_timeout_s * 1000))}"
    options = " ".join([*([given] if isinstance(given, str) else given), timeout])
    u = u.difference_update_query(["options"])
    return create_engine(
        u,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args={"options": options, "connect_timeout": max(1, round(connect_timeout_s))},
    )


# PostgreSQL error classes (SQLSTATE) that mean "the database cannot serve now", not "this request
# is wrong": read-only transaction, statement cancelled (timeout), the server shutting down or
# starting, too many connections, disk full. Class 08 (connection exceptions) is added below.
_READ_ONLY_STATES = {"25006"}
_TIMEOUT_STATES = {"57014", "55P03"}  # query_canceled, lock_not_available
_UNAVAILABLE_STATES = {"57P01", "57P02", "57P03", "53300", "53100"}


def database_trouble(exc: BaseException) -> str | None:
    """Why a database error means the database cannot serve now: "read_only", "timeout" (a
    statement or a lock wait took too long, or no pooled connection came free) or "unavailable"
    (cannot connect, shutting down, out of space); None for any other error (a bug, not the
    database's state). Used to answer 503 with Retry-After instead of 500."""
    if isinstance(exc, sa_exc.TimeoutError):  # the connection pool had none free in time
        return "timeout"
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    state = getattr(exc.orig, "sqlstate", None) or ""
    message = str(exc.orig).lower()
    if state in _READ_ONLY_STATES or "readonly database" in message:
        return "read_only"
    if state in _TIMEOUT_STATES or "database is locked" in message or "database is busy" in message:
        return "timeout"
    if state.startswith("08") or state in _UNAVAILABLE_STATES or exc.connection_invalidated:
        return "unavailable"
    if isinstance(exc, sa_exc.OperationalError):  # cannot connect, disk I/O, unable to open the file
        return "unavailable"
    return None


def check_ready(engine: Engine) -> str | None:
    """None when the database takes writes now, else what is wrong (see `database_trouble`), from
    a real round trip: in a transaction that is rolled back, an UPDATE that matches no row. A
    read-only database (a replica after fail-over, a full disk, a file mounted read-only) refuses
    it although it still answers reads."""
    try:
        with engine.connect() as c:
            c.execute(update(Tenant).where(col(Tenant.id) == "").values(lock_seq=col(Tenant.lock_seq)))
            c.rollback()
    except sa_exc.SQLAlchemyError as e:
        return database_trouble(e) or "error"
    return None


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
    write lock on SQLite), setting `lock_seq` to itself and leaving `plan_seq` alone, so neither
    the bookings' remembered view of the plan nor a re-optimization solving meanwhile is disturbed."""
    session.exec(update(Tenant).where(col(Tenant.id) == tenant_id).values(lock_seq=col(Tenant.lock_seq)))


def lock_seq(session: Session, tenant_id: str) -> int:
    """The tenant's lock sequence as this transaction sees it (after `lock_tenant`: the one it took)."""
    return session.exec(select(Tenant.lock_seq).where(Tenant.id == tenant_id)).one()


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


def sent_under_key(
    session: Session, model: type[Ride | ShopOrder], tenant_id: str, key: str, actor: str
) -> bool:
    """Whether `actor` already sent a request stored as a `model` row (a ride, an order) under this
    Idempotency-Key: a retry, which is answered from what is stored."""
    found = session.exec(
        select(model.id).where(
            model.tenant_id == tenant_id, model.idempotency_key == key, model.created_by == actor
        )
    ).first()
    return found is not None
