"""tenant.config_version: running processes notice a changed tenant file

`noriai tenant apply` (or a server starting with a changed file) bumps it when the stored
configuration changes; every process re-reads it at most every few seconds and reloads its cached
rules, travel model and plan views (dispatcher/context.py `Dispatcher.config`).

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-10 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('config_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('config_version')
