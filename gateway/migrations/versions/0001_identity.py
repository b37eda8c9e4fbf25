"""Identity: orgs, users, API keys, signing keys; and the kernel tables.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from kernel.db import JSONType, UTCDateTime
from kernel.schema import create_kernel_tables, drop_kernel_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables(op)
    op.create_table(
        "identity_orgs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("parent_id", sa.Uuid(), sa.ForeignKey("identity_orgs.id", name="fk_identity_orgs_parent_id_identity_orgs"), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("path", name="uq_identity_orgs_path"),
    )
    op.create_index("ix_identity_orgs_parent_id", "identity_orgs", ["parent_id"])
    op.create_table(
        "identity_users",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("org_id", sa.Uuid(), sa.ForeignKey("identity_orgs.id", name="fk_identity_users_org_id_identity_orgs"), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("username", name="uq_identity_users_username"),
    )
    op.create_index("ix_identity_users_org_id", "identity_users", ["org_id"])
    op.create_table(
        "identity_api_keys",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("org_id", sa.Uuid(), sa.ForeignKey("identity_orgs.id", name="fk_identity_api_keys_org_id_identity_orgs"), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("key_hash", name="uq_identity_api_keys_key_hash"),
    )
    op.create_index("ix_identity_api_keys_org_id", "identity_api_keys", ["org_id"])
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("public_jwk", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("superseded_at", UTCDateTime(), nullable=True),
        sa.Column("retire_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("signing_keys")
    op.drop_table("identity_api_keys")
    op.drop_table("identity_users")
    op.drop_table("identity_orgs")
    drop_kernel_tables(op)
