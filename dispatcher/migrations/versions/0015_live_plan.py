"""live plan: a plan sequence apart from the write lock

`tenant.plan_seq` is bumped only by transactions that change the set of rides or their promises
(bookings, cancellations, drivers' ride reports, fleet changes); `tenant.lock_seq` keeps being
bumped by every write under the tenant lock, position reports included. A re-optimization compares
plan sequences, so a fleet's position reports no longer throw its solve away.

Revision ID: 0015a
Revises: 0014
Create Date: 2026-12-07 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015a'
down_revision = '0015e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_seq', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('plan_seq')
