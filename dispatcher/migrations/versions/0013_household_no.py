"""household number: the municipality's own number of a household (世帯番号)

`household.household_no`, unique per tenant when given: the register file (docs/residents.md,
dispatcher/residents/importing.py) groups people into households by it and matches them on
re-import. Existing households have none until a file gives one.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-08 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.add_column(sa.Column('household_no', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint('uq_household_household_no', ['tenant_id', 'household_no'])


def downgrade() -> None:
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_constraint('uq_household_household_no', type_='unique')
        batch_op.drop_column('household_no')
