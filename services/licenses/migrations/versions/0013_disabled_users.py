"""The users whose access tokens this service refuses, kept from identity.user.changed/disabled.

Revision ID: 0013
Revises: 0012
"""
from alembic import op

from kernel.schema import create_disabled_users, drop_disabled_users

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_disabled_users(op)


def downgrade() -> None:
    drop_disabled_users(op)
