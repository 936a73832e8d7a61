"""registration: residents registered by the municipality

`resident.registration_no` (the municipality's own number, unique per tenant), `evidence` (what each
eligibility category rests on, replacing the bare `categories` list), `companion_needed`, and the
state of the registration (`paused_on`, `pause_reason`, `ended_on`, `end_reason`);
`household.settlement` and `household.tv_box`. Existing residents get their id as registration
number and their categories as evidence without dates (see dispatcher/residents/eligibility.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:00:00
"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settlement', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('tv_box', sa.String(length=32), nullable=False, server_default=''))
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registration_no', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('evidence', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('companion_needed', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('paused_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('pause_reason', sa.String(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('ended_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('end_reason', sa.String(length=16), nullable=False, server_default=''))
    bind = op.get_bind()
    resident = sa.table(
        'resident',
        sa.column('id', sa.Integer()),
        sa.column('categories', sa.JSON()),
        sa.column('evidence', sa.JSON()),
        sa.column('registration_no', sa.String()),
    )
    rows = bind.execute(sa.select(resident.c.id, resident.c.categories)).all()
    for rid, cats in rows:
        if isinstance(cats, str):
            cats = json.loads(cats)
        evidence = [{'category': c} for c in (cats or [])]
        bind.execute(
            resident.update()
            .where(resident.c.id == rid)
            .values(evidence=evidence, registration_no=str(rid))
        )
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_column('categories')
        batch_op.create_unique_constraint('uq_resident_registration_no', ['tenant_id', 'registration_no'])


def downgrade() -> None:
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_constraint('uq_resident_registration_no', type_='unique')
        batch_op.add_column(sa.Column('categories', sa.JSON(), nullable=False, server_default='[]'))
    bind = op.get_bind()
    resident = sa.table('resident', sa.column('id', sa.Integer()), sa.column('categories', sa.JSON()),
                        sa.column('evidence', sa.JSON()))
    for rid, ev in bind.execute(sa.select(resident.c.id, resident.c.evidence)).all():
        if isinstance(ev, str):
            ev = json.loads(ev)
        bind.execute(resident.update().where(resident.c.id == rid)
                     .values(categories=[e['category'] for e in ev or []]))
    with op.batch_alter_table('resident', schema=None) as batch_op:
        for c in ('end_reason', 'ended_on', 'pause_reason', 'paused_on', 'companion_needed', 'evidence',
                  'registration_no'):
            batch_op.drop_column(c)
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_column('tv_box')
        batch_op.drop_column('settlement')
