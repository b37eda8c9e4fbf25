"""Policies as documents (issue #20): an org's own fields, inherited field by field; a revision per
change for the copies other services keep. Lines say their edition, and their procurement method
takes SPEC's labels (below_threshold, decentralized_procurement, public_tender).

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

policies = sa.table("policies", sa.column("org_id", sa.Uuid()), sa.column("caps", kernel.db.JSONType),
                    sa.column("special_caps", kernel.db.JSONType),
                    sa.column("decentralized_threshold_fen", sa.BigInteger()),
                    sa.column("document", kernel.db.JSONType))
lines = sa.table("budget_lines", sa.column("procurement_method", sa.String(40)))

# The old labels were backwards: amounts below the threshold were called "decentralized".
RELABEL = {"decentralized": "below_threshold", "government_procurement": "decentralized_procurement"}


def upgrade() -> None:
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document", kernel.db.JSONType, nullable=True))
        batch_op.add_column(sa.Column("revision", sa.BigInteger(), nullable=False, server_default="1"))
    bind = op.get_bind()
    for row in bind.execute(sa.select(policies.c.org_id, policies.c.caps, policies.c.special_caps,
                                      policies.c.decentralized_threshold_fen)).all():
        document = {"caps": row.caps, "special_caps": row.special_caps,
                    "decentralized_threshold_fen": row.decentralized_threshold_fen}
        bind.execute(policies.update().where(policies.c.org_id == row.org_id).values(document=document))
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.alter_column("document", existing_type=kernel.db.JSONType, nullable=False)
        batch_op.alter_column("revision", server_default=None)
        batch_op.drop_column("caps")
        batch_op.drop_column("special_caps")
        batch_op.drop_column("decentralized_threshold_fen")
    with op.batch_alter_table("budget_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edition", sa.String(length=20), nullable=True))
    for old, new in RELABEL.items():
        bind.execute(lines.update().where(lines.c.procurement_method == old).values(procurement_method=new))


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(lines.update().where(lines.c.procurement_method == "public_tender")
                 .values(procurement_method="decentralized_procurement"))
    for old, new in RELABEL.items():
        bind.execute(lines.update().where(lines.c.procurement_method == new).values(procurement_method=old))
    with op.batch_alter_table("budget_lines", schema=None) as batch_op:
        batch_op.drop_column("edition")
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caps", kernel.db.JSONType, nullable=True))
        batch_op.add_column(sa.Column("special_caps", kernel.db.JSONType, nullable=True))
        batch_op.add_column(sa.Column("decentralized_threshold_fen", sa.BigInteger(), nullable=True))
    for row in bind.execute(sa.select(policies.c.org_id, policies.c.document)).all():
        document = row.document or {}
        bind.execute(policies.update().where(policies.c.org_id == row.org_id).values(
            caps={k: v for k, v in (document.get("caps") or {}).items() if v is not None},
            special_caps={k: v for k, v in (document.get("special_caps") or {}).items() if v is not None},
            decentralized_threshold_fen=document.get("decentralized_threshold_fen", 60_000_000)))
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.alter_column("caps", existing_type=kernel.db.JSONType, nullable=False)
        batch_op.alter_column("special_caps", existing_type=kernel.db.JSONType, nullable=False)
        batch_op.alter_column("decentralized_threshold_fen", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column("document")
        batch_op.drop_column("revision")
