"""travel margin: what drivers' reports taught about real driving times

`travel_margin`: per tenant, hour of day and leg-length band, a decayed histogram of real over
road-model driving times (dispatcher/rides/margin.py); the planner's margin comes from it.

Revision ID: 0015c
Revises: 0014
Create Date: 2026-12-07 15:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import dispatcher.models


revision = '0015c'
down_revision = '0015a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('travel_margin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('band', sa.Integer(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('histogram', sa.JSON(), nullable=False),
    sa.Column('learned_through', sa.Date(), nullable=False),
    sa.Column('updated_at', dispatcher.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'hour', 'band')
    )


def downgrade() -> None:
    op.drop_table('travel_margin')
