"""Budget transfers (调剂) between approved lines, and the ledger kind that records them.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

import kernel.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KINDS_BEFORE = ("kind IN ('approve', 'adjust', 'preencumber', 'release_preencumbrance', 'reserve', 'release', "
                "'spend')")
KINDS_AFTER = ("kind IN ('approve', 'adjust', 'transfer', 'preencumber', 'release_preencumbrance', 'reserve', "
               "'release', 'spend')")


def _ledger_kinds(check: str) -> None:
    with op.batch_alter_table("ledger_entries", schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint(op.f("ck_ledger_entries_kind_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_ledger_entries_kind_known"), check)


def upgrade() -> None:
    op.create_table("budget_transfers",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("org_id", sa.Uuid(), nullable=False),
    sa.Column("org_path", sa.String(length=2000), nullable=False),
    sa.Column("fiscal_year", sa.Integer(), nullable=False),
    sa.Column("from_line_id", sa.Uuid(), nullable=False),
    sa.Column("to_line_id", sa.Uuid(), nullable=False),
    sa.Column("amount_fen", sa.BigInteger(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("requested_by", sa.String(length=200), nullable=False),
    sa.Column("decided_by", sa.String(length=200), nullable=True),
    sa.Column("decided_at", kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column("reject_reason", sa.Text(), nullable=True),
    sa.Column("created_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("updated_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f("ck_budget_transfers_status_known")),
    sa.CheckConstraint("amount_fen > 0", name=op.f("ck_budget_transfers_amount_positive")),
    sa.CheckConstraint("from_line_id <> to_line_id", name=op.f("ck_budget_transfers_two_lines")),
    sa.ForeignKeyConstraint(["from_line_id"], ["budget_lines.id"],
                            name=op.f("fk_budget_transfers_from_line_id_budget_lines")),
    sa.ForeignKeyConstraint(["to_line_id"], ["budget_lines.id"],
                            name=op.f("fk_budget_transfers_to_line_id_budget_lines")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_transfers"))
    )
    with op.batch_alter_table("budget_transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_transfers_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_budget_transfers_org_path"), ["org_path"], unique=False)
        batch_op.create_index(batch_op.f("ix_budget_transfers_from_line_id"), ["from_line_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_budget_transfers_to_line_id"), ["to_line_id"], unique=False)
    _ledger_kinds(KINDS_AFTER)


def downgrade() -> None:
    _ledger_kinds(KINDS_BEFORE)
    op.drop_table("budget_transfers")
