"""The devices' `org_path` index with the pattern operator class on PostgreSQL, so that a subtree's
`org_path LIKE 'prefix%'` uses it under any database collation (issue #17: the compliance report
scanned every device of every org).

SQLite has no operator classes; its index is left as it is.

Revision ID: 0008
Revises: 0007
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_devices_org_path", table_name="devices")
    op.create_index("ix_devices_org_path", "devices", ["org_path"], unique=False,
                    postgresql_ops={"org_path": "varchar_pattern_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_devices_org_path", table_name="devices")
    op.create_index("ix_devices_org_path", "devices", ["org_path"], unique=False)
