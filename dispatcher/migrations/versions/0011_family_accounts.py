"""family accounts

Family members' own phone-page sign-in (`family_member`, `family_session`) and their links to
residents with the resident's consent (`family_link`). See dispatcher/identity/family.py.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import dispatcher.models


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('family_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('kana', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('login_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', dispatcher.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('password_set_at', dispatcher.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('password_set_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', dispatcher.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('ended_at', dispatcher.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'login_id')
    )
    with op.batch_alter_table('family_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_member_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('family_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('family_member_id', sa.Integer(), nullable=False),
    sa.Column('created_at', dispatcher.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', dispatcher.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', dispatcher.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['family_member_id'], ['family_member.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('family_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_session_family_member_id'), ['family_member_id'], unique=False)

    op.create_table('family_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('family_member_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('permission', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('consent_on', sa.Date(), nullable=False),
    sa.Column('consent_method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', dispatcher.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', dispatcher.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['family_member_id'], ['family_member.id'], ),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('family_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_link_family_member_id'), ['family_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_family_link_resident_id'), ['resident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('family_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_link_resident_id'))
        batch_op.drop_index(batch_op.f('ix_family_link_family_member_id'))

    op.drop_table('family_link')
    with op.batch_alter_table('family_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_session_family_member_id'))

    op.drop_table('family_session')
    with op.batch_alter_table('family_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_member_tenant_id'))

    op.drop_table('family_member')
