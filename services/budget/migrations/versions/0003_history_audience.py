"""History entries know their audience: who besides the object's owners may read each one.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

from kernel.schema import create_history_audience, drop_history_audience

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_history_audience(op)


def downgrade() -> None:
    drop_history_audience(op)
