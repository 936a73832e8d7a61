"""event index by tenant and id

The publishing job asks every minute for a tenant's newest event (max id); without an index on
(tenant_id, id) that reads the tenant's whole (tenant_id, at) index, 0.16 s at 3 million events.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:30:00
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_event_tenant_id', 'event', ['tenant_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_event_tenant_id', table_name='event')
