"""services: the consent a household's watch-over rests on

`watch_over.consent_on` (the day it was given), `consent_method` (written | oral | phone),
`consent_given_by` (the resident's name), `consent_recorded_by` and `consent_recorded_at`.
Watch-overs set up before have none: the next change of their settings asks for it.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-08 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import dispatcher.models


revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('watch_over', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('consent_method', sqlmodel.sql.sqltypes.AutoString(length=8),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('consent_given_by', sqlmodel.sql.sqltypes.AutoString(length=60),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('consent_recorded_by', sqlmodel.sql.sqltypes.AutoString(length=60),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('consent_recorded_at', dispatcher.models.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('watch_over', schema=None) as batch_op:
        for c in ('consent_recorded_at', 'consent_recorded_by', 'consent_given_by', 'consent_method',
                  'consent_on'):
            batch_op.drop_column(c)
