"""Closed fiscal years (issue 27): a year closed over a subtree refuses later approvals of its lines.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

import kernel.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("fiscal_year_closures",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("org_id", sa.Uuid(), nullable=False),
    sa.Column("org_path", sa.String(length=2000), nullable=False),
    sa.Column("fiscal_year", sa.Integer(), nullable=False),
    sa.Column("closed_by", sa.String(length=200), nullable=False),
    sa.Column("closed_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_year_closures")),
    sa.UniqueConstraint("org_path", "fiscal_year", name=op.f("uq_fiscal_year_closures_org_path_fiscal_year")),
    )


def downgrade() -> None:
    op.drop_table("fiscal_year_closures")
