"""event kind index: a tenant's events of some kinds since a time

The board lists the drivers' reports flagged for review (`ride.report_flagged`,
`vehicle.position_flagged`) of the last 31 days every 15 seconds, and the statistics and the
nightly close read the reviews of flags; without this index each of these reads went through every
event of the period (a fleet's position reports: thousands a day).

Revision ID: 0016f
Revises: 0015c
Create Date: 2026-12-07 18:30:00
"""
from alembic import op


revision = '0016f'
down_revision = '0015c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_event_tenant_kind_at', 'event', ['tenant_id', 'kind', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_event_tenant_kind_at', table_name='event')
