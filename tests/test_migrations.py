"""Migrations upgrade a database that is in use (users signed in, rides booked), not only an empty one."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from dispatcher.db import alembic_config, make_engine, migrate

TENANT_ROW = text(
    "INSERT INTO tenant (id, name, municipality_code, config, lock_seq, created_at) "
    "VALUES ('t', 'T', '202096', '{}', 0, '2026-11-24 00:00:00')"
)


def test_upgrade_from_0003_with_signed_in_users(db_url: str) -> None:
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0003")
    with engine.begin() as c:
        c.execute(TENANT_ROW)
        c.execute(
            text(
                'INSERT INTO "user" (tenant_id, username, password_hash, role, display_name, active, '
                "created_at) VALUES ('t', 'op', 'x', 'operator', 'op', true, '2026-11-24 00:00:00')"
            )
        )
        uid = c.execute(text("SELECT id FROM \"user\" WHERE username = 'op'")).scalar()
        c.execute(
            text(
                "INSERT INTO apitoken (token_hash, user_id, tenant_id, created_at, expires_at) "
                "VALUES ('h', :u, 't', '2026-11-24 00:00:00', '2026-11-25 00:00:00')"
            ),
            {"u": uid},
        )
    migrate(engine)  # to the newest
    columns = {c["name"] for c in inspect(engine).get_columns("user")}
    assert {"seller_id", "hall_id"} <= columns
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM apitoken")).scalar() == 1
    engine.dispose()


def test_upgrade_from_the_last_release_matches_the_models(db_url: str) -> None:
    """A database at 0004 (the schema before the scheduler, publishing, billing and watch-over)
    with an event in it upgrades to a schema equal to the tables the code uses."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0004")
    with engine.begin() as c:
        c.execute(TENANT_ROW)
        c.execute(
            text(
                "INSERT INTO event (tenant_id, at, actor, kind, entity, entity_id) "
                "VALUES ('t', '2026-11-24 00:00:00', 'x', 'ride.requested', 'ride', '1')"
            )
        )
    migrate(engine)
    with engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), SQLModel.metadata)
        assert c.execute(text("SELECT count(*) FROM event")).scalar() == 1
    # the one known difference: a foreign key SQLite cannot add to "user" in place (migration 0004)
    rest = [d for d in diff if not (d[0] in ("add_fk", "remove_fk") and d[1].parent.name == "user")]
    assert rest == []
    engine.dispose()
