"""The panel's buyer representatives, and the reason an award over the public-tender threshold is by
negotiation (issue #20).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("negotiation_reason", sa.Text(), nullable=True))
    # Panels named before this revision are all experts.
    with op.batch_alter_table("panel_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buyer_representative", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table("panel_members", schema=None) as batch_op:
        batch_op.alter_column("buyer_representative", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("panel_members", schema=None) as batch_op:
        batch_op.drop_column("buyer_representative")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("negotiation_reason")
