"""Accounts that change: e-mail, disabling, one-time passwords, the sign-in lockout, and API keys
that expire and say when they were last used. The kernel's `disabled_users` table too: every
process has the kernel's tables, though the gateway reads its refusals from its own users.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from kernel.db import UTCDateTime
from kernel.schema import create_disabled_users, drop_disabled_users

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity_users") as table:
        table.add_column(sa.Column("email", sa.String(254), nullable=True))
        table.add_column(sa.Column("disabled_at", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        table.add_column(sa.Column("temporary_used_at", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("failures_since", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("locked_until", UTCDateTime(), nullable=True))
    with op.batch_alter_table("identity_api_keys") as table:
        table.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))
    create_disabled_users(op)


def downgrade() -> None:
    drop_disabled_users(op)
    with op.batch_alter_table("identity_api_keys") as table:
        table.drop_column("last_used_at")
        table.drop_column("expires_at")
    with op.batch_alter_table("identity_users") as table:
        for column in ("locked_until", "failures_since", "failed_sign_ins", "temporary_used_at", "must_change_password",
                       "disabled_at",
                       "email"):
            table.drop_column(column)
