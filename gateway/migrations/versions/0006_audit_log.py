"""One audit log for the instance: sign-ins, account changes and every state-changing request.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

from kernel.db import JSONType, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(200), nullable=True),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("org_path", sa.String(2000), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(500), nullable=True),
        sa.Column("method", sa.String(10), nullable=True),
        sa.Column("path", sa.String(2000), nullable=True),
        sa.Column("object_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(100), nullable=True),
        sa.Column("detail", JSONType, nullable=True),
    )
    for column in ("at", "action", "actor_id", "org_path", "object_id"):
        op.create_index(f"ix_audit_log_{column}", "audit_log", [column])


def downgrade() -> None:
    for column in ("at", "action", "actor_id", "org_path", "object_id"):
        op.drop_index(f"ix_audit_log_{column}", table_name="audit_log")
    op.drop_table("audit_log")
