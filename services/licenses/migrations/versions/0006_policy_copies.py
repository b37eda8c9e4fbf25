"""The copy of the orgs' own policy documents, kept by budget.policy.changed events (issue #20).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import kernel.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("policy_copies",
                    sa.Column("org_id", sa.Uuid(), nullable=False),
                    sa.Column("org_path", sa.String(length=2000), nullable=False),
                    sa.Column("document", kernel.db.JSONType, nullable=False),
                    sa.Column("revision", sa.BigInteger(), nullable=False),
                    sa.Column("changed_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
                    sa.Column("copied_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint("org_id", name=op.f("pk_policy_copies")))
    with op.batch_alter_table("policy_copies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_copies_org_path"), ["org_path"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("policy_copies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_copies_org_path"))
    op.drop_table("policy_copies")
