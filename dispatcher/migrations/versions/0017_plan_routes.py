"""plan routes: the live plan kept per vehicle, the history as per-vehicle changes

Until now every change of a day's plan (a booking, a driver's report) stored the whole day's plan
as a new `plan_version` row, and only the last 50 were kept: at city scale most of a booking's
time went to writing the whole plan, and the history was lost. Now `plan_route` holds each
vehicle's current route (one row per tenant, day and vehicle, written only when that vehicle's
route changes) and a `plan_version` row holds only the routes that version changed, kept for the
day like the events (removed with the day's other personal data).

The current routes are filled from the latest version of every day.

Also an index of rides by rider and day: a booking looks up the rider's other rides of the day (one
ride at a time), and without it SQLite read the whole town's day through the (tenant, day) index.

Revision ID: 0017a
Revises: 0016f
Create Date: 2026-12-08 01:00:00
"""
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import dispatcher.models


revision = '0017a'
down_revision = '0016f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'plan_route',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.String(), nullable=False),
        sa.Column('service_date', sa.Date(), nullable=False),
        sa.Column('vehicle_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('stops', sa.JSON(), nullable=False),
        sa.Column('updated_at', dispatcher.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'service_date', 'vehicle_id'),
    )
    op.create_index('ix_ride_resident_date', 'ride', ['resident_id', 'service_date'], unique=False)
    bind = op.get_bind()
    latest = bind.execute(
        sa.text(
            "SELECT p.tenant_id, p.service_date, p.version, p.routes, p.created_at FROM planversion p "
            "JOIN (SELECT tenant_id, service_date, MAX(version) AS v FROM planversion "
            "GROUP BY tenant_id, service_date) m "
            "ON p.tenant_id = m.tenant_id AND p.service_date = m.service_date AND p.version = m.v"
        )
    ).all()
    table = sa.table(
        'plan_route',
        sa.column('tenant_id', sa.String()),
        sa.column('service_date', sa.Date()),
        sa.column('vehicle_id', sa.Integer()),
        sa.column('version', sa.Integer()),
        sa.column('stops', sa.JSON()),
        sa.column('updated_at', dispatcher.models.UTCDateTime()),
    )
    rows = []
    for tenant_id, day, version, routes, created in latest:
        if isinstance(routes, str):  # SQLite hands JSON back as text
            routes = json.loads(routes)
        if isinstance(day, str):
            day = datetime.fromisoformat(day).date()
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        for vid, stops in (routes or {}).items():
            rows.append(
                {
                    'tenant_id': tenant_id,
                    'service_date': day,
                    'vehicle_id': int(vid),
                    'version': version,
                    'stops': stops,
                    'updated_at': created or datetime.now(UTC),
                }
            )
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index('ix_ride_resident_date', table_name='ride')
    op.drop_table('plan_route')
