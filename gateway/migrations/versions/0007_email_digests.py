"""E-mail digests: when each person was last sent one, and what it listed.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

import kernel.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('email_digests',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('listed', kernel.db.JSONType, nullable=False),
    sa.Column('sent_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['identity_users.id'], name=op.f('fk_email_digests_user_id_identity_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_email_digests'))
    )


def downgrade() -> None:
    op.drop_table('email_digests')
