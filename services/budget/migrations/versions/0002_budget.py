"""Budget lines, the funds ledger and policies

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
    op.create_table('budget_lines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('org_path', sa.String(length=2000), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('requested_fen', sa.BigInteger(), nullable=False),
    sa.Column('justification', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('cap_fen', sa.BigInteger(), nullable=True),
    sa.Column('special_need', sa.Boolean(), nullable=False),
    sa.Column('procurement_method', sa.String(length=40), nullable=False),
    sa.Column('approved_fen', sa.BigInteger(), nullable=False),
    sa.Column('adjusted_fen', sa.BigInteger(), nullable=False),
    sa.Column('pre_encumbered_fen', sa.BigInteger(), nullable=False),
    sa.Column('reserved_fen', sa.BigInteger(), nullable=False),
    sa.Column('spent_fen', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('return_reason', sa.Text(), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('submitted_by', sa.String(length=200), nullable=True),
    sa.Column('submitted_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'approved', 'rejected', 'closed')", name=op.f('ck_budget_lines_status_known')),
    sa.CheckConstraint('approved_fen + adjusted_fen - pre_encumbered_fen - reserved_fen - spent_fen >= 0', name=op.f('ck_budget_lines_available_not_negative')),
    sa.CheckConstraint('approved_fen >= 0 AND approved_fen <= requested_fen', name=op.f('ck_budget_lines_approved_within_requested')),
    sa.CheckConstraint('pre_encumbered_fen >= 0 AND reserved_fen >= 0 AND spent_fen >= 0', name=op.f('ck_budget_lines_counters_not_negative')),
    sa.CheckConstraint('quantity > 0 AND unit_price_fen > 0', name=op.f('ck_budget_lines_amounts_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_lines'))
    )
    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budget_lines_fiscal_year'), ['fiscal_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_budget_lines_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_budget_lines_org_path'), ['org_path'], unique=False)

    op.create_table('policies',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('org_path', sa.String(length=2000), nullable=False),
    sa.Column('caps', kernel.db.JSONType, nullable=False),
    sa.Column('special_caps', kernel.db.JSONType, nullable=False),
    sa.Column('decentralized_threshold_fen', sa.BigInteger(), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_policies')),
    sa.UniqueConstraint('org_path', name=op.f('uq_policies_org_path'))
    )
    op.create_table('ledger_entries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('line_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('ref_id', sa.Uuid(), nullable=True),
    sa.Column('demand_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('approve', 'adjust', 'preencumber', 'release_preencumbrance', 'reserve', 'release', 'spend')", name=op.f('ck_ledger_entries_kind_known')),
    sa.ForeignKeyConstraint(['line_id'], ['budget_lines.id'], name=op.f('fk_ledger_entries_line_id_budget_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('line_id', 'kind', 'ref_id', name=op.f('uq_ledger_entries_line_id_kind_ref_id'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entries_demand_id'), ['demand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_line_id'), ['line_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entries_line_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_entries_demand_id'))

    op.drop_table('ledger_entries')
    op.drop_table('policies')
    with op.batch_alter_table('budget_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budget_lines_org_path'))
        batch_op.drop_index(batch_op.f('ix_budget_lines_org_id'))
        batch_op.drop_index(batch_op.f('ix_budget_lines_fiscal_year'))

    op.drop_table('budget_lines')
