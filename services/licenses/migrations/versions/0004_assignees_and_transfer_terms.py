"""Known users (seats only for real assignees) and transferred seats that keep their term

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

import kernel.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('known_users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('org_path', sa.String(length=2000), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_known_users'))
    )
    with op.batch_alter_table('known_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_known_users_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_known_users_org_path'), ['org_path'], unique=False)

    with op.batch_alter_table('entitlements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transferred_out', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_check_constraint(op.f('ck_entitlements_transferred_within_quantity'),
                                         'transferred_out >= 0 AND transferred_out <= quantity')


def downgrade() -> None:
    with op.batch_alter_table('entitlements', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_entitlements_transferred_within_quantity'), type_='check')
        batch_op.drop_column('transferred_out')

    with op.batch_alter_table('known_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_known_users_org_path'))
        batch_op.drop_index(batch_op.f('ix_known_users_org_id'))

    op.drop_table('known_users')
