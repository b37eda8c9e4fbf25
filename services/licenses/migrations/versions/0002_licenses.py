"""Pools, entitlements, transfers, allocations and their ledger, reclaim runs, devices, inventories

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

import kernel.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('devices',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('org_path', sa.String(length=2000), nullable=False),
    sa.Column('asset_tag', sa.String(length=100), nullable=False),
    sa.Column('hostname', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('os_name', sa.String(length=200), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('last_seen_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retired_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('desktop', 'laptop', 'server')", name=op.f('ck_devices_kind_known')),
    sa.CheckConstraint("status IN ('active', 'retired')", name=op.f('ck_devices_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('org_id', 'asset_tag', name=op.f('uq_devices_org_id_asset_tag'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_org_path'), ['org_path'], unique=False)

    op.create_table('pools',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('org_path', sa.String(length=2000), nullable=False),
    sa.Column('product_key', sa.String(length=300), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=True),
    sa.Column('product_name', sa.String(length=200), nullable=False),
    sa.Column('vendor', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('metric', sa.String(length=20), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('allocated', sa.BigInteger(), nullable=False),
    sa.Column('low_threshold', sa.BigInteger(), nullable=True),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('allocated >= 0 AND allocated <= total', name=op.f('ck_pools_allocated_within_total')),
    sa.CheckConstraint('total >= 0', name=op.f('ck_pools_total_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pools')),
    sa.UniqueConstraint('org_id', 'product_key', name=op.f('uq_pools_org_id_product_key'))
    )
    with op.batch_alter_table('pools', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pools_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pools_org_path'), ['org_path'], unique=False)

    op.create_table('reclaim_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('inactive_days', sa.Integer(), nullable=False),
    sa.Column('max_seats', sa.Integer(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('seats', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reclaim_runs'))
    )
    with op.batch_alter_table('reclaim_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reclaim_runs_org_id'), ['org_id'], unique=False)

    op.create_table('allocations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('pool_id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('assignee_type', sa.String(length=10), nullable=False),
    sa.Column('assignee_id', sa.String(length=200), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('allocated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reclaimed_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("assignee_type IN ('device', 'user')", name=op.f('ck_allocations_assignee_type_known')),
    sa.CheckConstraint("status IN ('active', 'reclaimed')", name=op.f('ck_allocations_status_known')),
    sa.ForeignKeyConstraint(['pool_id'], ['pools.id'], name=op.f('fk_allocations_pool_id_pools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocations'))
    )
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocations_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocations_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocations_pool_id'), ['pool_id'], unique=False)
        batch_op.create_index('uq_allocations_active_assignee', ['pool_id', 'assignee_type', 'assignee_id'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.create_table('entitlements',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('pool_id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=True),
    sa.Column('product_name', sa.String(length=200), nullable=False),
    sa.Column('vendor', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('metric', sa.String(length=20), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('valid_from', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_to', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'expired')", name=op.f('ck_entitlements_status_known')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_entitlements_quantity_positive')),
    sa.ForeignKeyConstraint(['pool_id'], ['pools.id'], name=op.f('fk_entitlements_pool_id_pools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entitlements'))
    )
    with op.batch_alter_table('entitlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entitlements_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entitlements_pool_id'), ['pool_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entitlements_valid_to'), ['valid_to'], unique=False)
        batch_op.create_index('uq_entitlements_order_reference', ['reference'], unique=True, sqlite_where=sa.text("source = 'order'"), postgresql_where=sa.text("source = 'order'"))

    op.create_table('installed_software',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=False),
    sa.Column('reported_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('vendor', sa.String(length=200), nullable=True),
    sa.Column('version', sa.String(length=100), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_installed_software_device_id_devices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_installed_software'))
    )
    with op.batch_alter_table('installed_software', schema=None) as batch_op:
        batch_op.create_index('ix_installed_software_device_reported', ['device_id', 'reported_at'], unique=False)

    op.create_table('inventory_reports',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=False),
    sa.Column('reported_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_inventory_reports_device_id_devices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_reports')),
    sa.UniqueConstraint('device_id', 'reported_at', name=op.f('uq_inventory_reports_device_id_reported_at'))
    )
    with op.batch_alter_table('inventory_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_reports_device_id'), ['device_id'], unique=False)

    op.create_table('transfers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('from_pool_id', sa.Uuid(), nullable=False),
    sa.Column('to_pool_id', sa.Uuid(), nullable=False),
    sa.Column('to_org_id', sa.Uuid(), nullable=False),
    sa.Column('seats', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('seats > 0', name=op.f('ck_transfers_seats_positive')),
    sa.ForeignKeyConstraint(['from_pool_id'], ['pools.id'], name=op.f('fk_transfers_from_pool_id_pools')),
    sa.ForeignKeyConstraint(['to_pool_id'], ['pools.id'], name=op.f('fk_transfers_to_pool_id_pools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers'))
    )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfers_from_pool_id'), ['from_pool_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_to_pool_id'), ['to_pool_id'], unique=False)

    op.create_table('allocation_entries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('allocation_id', sa.Uuid(), nullable=False),
    sa.Column('pool_id', sa.Uuid(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('allocated', 'reclaimed')", name=op.f('ck_allocation_entries_kind_known')),
    sa.ForeignKeyConstraint(['allocation_id'], ['allocations.id'], name=op.f('fk_allocation_entries_allocation_id_allocations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_entries')),
    sa.UniqueConstraint('allocation_id', 'kind', name=op.f('uq_allocation_entries_allocation_id_kind'))
    )
    with op.batch_alter_table('allocation_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_entries_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocation_entries_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocation_entries_pool_id'), ['pool_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('allocation_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_entries_pool_id'))
        batch_op.drop_index(batch_op.f('ix_allocation_entries_device_id'))
        batch_op.drop_index(batch_op.f('ix_allocation_entries_at'))

    op.drop_table('allocation_entries')
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfers_to_pool_id'))
        batch_op.drop_index(batch_op.f('ix_transfers_from_pool_id'))

    op.drop_table('transfers')
    with op.batch_alter_table('inventory_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inventory_reports_device_id'))

    op.drop_table('inventory_reports')
    with op.batch_alter_table('installed_software', schema=None) as batch_op:
        batch_op.drop_index('ix_installed_software_device_reported')

    op.drop_table('installed_software')
    with op.batch_alter_table('entitlements', schema=None) as batch_op:
        batch_op.drop_index('uq_entitlements_order_reference', sqlite_where=sa.text("source = 'order'"), postgresql_where=sa.text("source = 'order'"))
        batch_op.drop_index(batch_op.f('ix_entitlements_valid_to'))
        batch_op.drop_index(batch_op.f('ix_entitlements_pool_id'))
        batch_op.drop_index(batch_op.f('ix_entitlements_org_id'))

    op.drop_table('entitlements')
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_index('uq_allocations_active_assignee', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_allocations_pool_id'))
        batch_op.drop_index(batch_op.f('ix_allocations_device_id'))
        batch_op.drop_index(batch_op.f('ix_allocations_assignee_id'))

    op.drop_table('allocations')
    with op.batch_alter_table('reclaim_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reclaim_runs_org_id'))

    op.drop_table('reclaim_runs')
    with op.batch_alter_table('pools', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pools_org_path'))
        batch_op.drop_index(batch_op.f('ix_pools_org_id'))

    op.drop_table('pools')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_org_path'))
        batch_op.drop_index(batch_op.f('ix_devices_org_id'))

    op.drop_table('devices')
