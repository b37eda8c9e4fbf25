"""known_users.changed_at: the copy of a user follows identity.user.changed (a user moved to
another org), the newest change winning whatever order the events arrive in.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

import kernel.db

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('known_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changed_at', kernel.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('known_users', schema=None) as batch_op:
        batch_op.drop_column('changed_at')
