"""Migrations upgrade a database that is in use (users signed in, rides booked), not only an empty one."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from dispatcher.db import alembic_config, make_engine, migrate


def test_upgrade_from_0003_with_signed_in_users(db_url: str) -> None:
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0003")
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO tenant (id, name, municipality_code, config, lock_seq, created_at) "
                "VALUES ('t', 'T', '202096', '{}', 0, '2026-11-24 00:00:00')"
            )
        )
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
