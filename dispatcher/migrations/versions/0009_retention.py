"""retention: what a purged day keeps

`daily_stats.vehicles` and `daily_stats.purged_at`: each vehicle's figures of a day whose personal
data (positions, addresses) the retention purge removed; `shop_order.item_count`: the number of
items of an order whose lines it removed. See dispatcher/platform/retention.py.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import dispatcher.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('daily_stats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vehicles', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('purged_at', dispatcher.models.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('item_count', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.drop_column('item_count')
    with op.batch_alter_table('daily_stats', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
        batch_op.drop_column('vehicles')
