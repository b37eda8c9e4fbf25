"""Oversight (issue #30): install requests, annual reports, findings.

`title_id` names a catalogue title; its foreign key comes with the catalogue's table.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

import kernel.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('annual_reports',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('org_path', sa.String(length=2000), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('responsible_person', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('notes', sa.String(length=2000), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('snapshot', kernel.db.JSONType, nullable=False),
    sa.Column('totals', kernel.db.JSONType, nullable=False),
    sa.Column('submitted_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'submitted')", name=op.f('ck_annual_reports_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_reports')),
    sa.UniqueConstraint('org_id', 'year', name=op.f('uq_annual_reports_org_id_year'))
    )
    op.create_index('ix_annual_reports_year_org_path', 'annual_reports', ['year', 'org_path'], unique=False, postgresql_ops={'org_path': 'varchar_pattern_ops'})
    op.create_table('findings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('org_path', sa.String(length=2000), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=True),
    sa.Column('title_id', sa.Uuid(), nullable=True),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('resolution_note', sa.String(length=2000), nullable=True),
    sa.Column('reopen_reason', sa.String(length=2000), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('resolved_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'resolved', 'closed')", name=op.f('ck_findings_status_known')),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_findings_device_id_devices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_findings'))
    )
    op.create_index(op.f('ix_findings_device_id'), 'findings', ['device_id'], unique=False)
    op.create_index(op.f('ix_findings_org_id'), 'findings', ['org_id'], unique=False)
    op.create_index('ix_findings_org_path', 'findings', ['org_path'], unique=False, postgresql_ops={'org_path': 'varchar_pattern_ops'})
    op.create_table('install_requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('org_path', sa.String(length=2000), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=False),
    sa.Column('title_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('pool_id', sa.Uuid(), nullable=True),
    sa.Column('allocation_id', sa.Uuid(), nullable=True),
    sa.Column('decision_reason', sa.String(length=500), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('install', 'uninstall')", name=op.f('ck_install_requests_kind_known')),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_install_requests_status_known')),
    sa.ForeignKeyConstraint(['allocation_id'], ['allocations.id'], name=op.f('fk_install_requests_allocation_id_allocations')),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_install_requests_device_id_devices')),
    sa.ForeignKeyConstraint(['pool_id'], ['pools.id'], name=op.f('fk_install_requests_pool_id_pools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_install_requests'))
    )
    op.create_index(op.f('ix_install_requests_device_id'), 'install_requests', ['device_id'], unique=False)
    op.create_index(op.f('ix_install_requests_org_id'), 'install_requests', ['org_id'], unique=False)
    op.create_index('ix_install_requests_org_path', 'install_requests', ['org_path'], unique=False, postgresql_ops={'org_path': 'varchar_pattern_ops'})
    op.create_index('ix_install_requests_requested_by', 'install_requests', ['requested_by', 'id'], unique=False)
    op.create_index(op.f('ix_install_requests_title_id'), 'install_requests', ['title_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_install_requests_title_id'), table_name='install_requests')
    op.drop_index('ix_install_requests_requested_by', table_name='install_requests')
    op.drop_index('ix_install_requests_org_path', table_name='install_requests', postgresql_ops={'org_path': 'varchar_pattern_ops'})
    op.drop_index(op.f('ix_install_requests_org_id'), table_name='install_requests')
    op.drop_index(op.f('ix_install_requests_device_id'), table_name='install_requests')
    op.drop_table('install_requests')
    op.drop_index('ix_findings_org_path', table_name='findings', postgresql_ops={'org_path': 'varchar_pattern_ops'})
    op.drop_index(op.f('ix_findings_org_id'), table_name='findings')
    op.drop_index(op.f('ix_findings_device_id'), table_name='findings')
    op.drop_table('findings')
    op.drop_index('ix_annual_reports_year_org_path', table_name='annual_reports', postgresql_ops={'org_path': 'varchar_pattern_ops'})
    op.drop_table('annual_reports')
