"""delivery log: status codes and timings, not the partner's answer

Until now a failed webhook try kept up to 200 characters of the answer's body
(`HTTP 500: <body>`) and the operating system's words for a failed connection, in
`delivery_attempt.error` and `outbox_message.last_error`: what an internal service said, or whether
a port was open, could be read off the log. From now on only `HTTP <status>` or the kind of failure
is kept; this clears what was stored before (the columns stay: they hold that short reason).

Revision ID: 0015e
Revises: 0014
Create Date: 2026-12-07 15:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015e'
down_revision = '0014'
branch_labels = None
depends_on = None


def _short(error: str) -> str:
    """`HTTP 500: body` -> `HTTP 500`; `ConnectError: [Errno 111] ...` -> `ConnectError`."""
    head = error.split(":", 1)[0].strip()
    return head[:60]


def upgrade() -> None:
    bind = op.get_bind()
    for table, key, column in (("delivery_attempt", "id", "error"), ("outbox_message", "id", "last_error")):
        rows = bind.execute(
            sa.text(f"SELECT {key}, {column} FROM {table} WHERE {column} LIKE '%:%'")
        ).all()
        for row_id, error in rows:
            if error.startswith("refused:"):  # never written before this revision; kept as it is
                continue
            bind.execute(
                sa.text(f"UPDATE {table} SET {column} = :e WHERE {key} = :id"),
                {"e": _short(error), "id": row_id},
            )


def downgrade() -> None:
    pass  # the bodies are gone for good
