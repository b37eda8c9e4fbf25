"""Budget: the kernel tables and the budget tables.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op

from kernel.schema import create_kernel_tables, drop_kernel_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_kernel_tables(op)


def downgrade() -> None:
    drop_kernel_tables(op)
