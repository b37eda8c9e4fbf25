"""Seats per device and category (98号): allocations carry their pool's category and a slot

Existing allocations take their pool's category. Active device seats of os, office and antivirus
(limited to one per computer by default) are numbered 1, 2, … per device and category in the order
they were taken, so the unique index holds from the start; a computer that held two before this
migration keeps them (slot 2) and the compliance report names it.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

ACTIVE_SLOT = "status = 'active' AND slot IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('slot', sa.SmallInteger(), nullable=True))
    op.execute("UPDATE allocations SET category = (SELECT pools.category FROM pools WHERE pools.id = allocations.pool_id)")
    op.execute("""
        UPDATE allocations SET slot = 1 + (
            SELECT count(*) FROM allocations AS other
            WHERE other.device_id = allocations.device_id AND other.category = allocations.category
              AND other.status = 'active'
              AND (other.allocated_at < allocations.allocated_at
                   OR (other.allocated_at = allocations.allocated_at AND other.id < allocations.id)))
        WHERE status = 'active' AND device_id IS NOT NULL AND category IN ('os', 'office', 'antivirus')
    """)
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.alter_column('category', existing_type=sa.String(length=40), nullable=False)
        batch_op.create_check_constraint(op.f('ck_allocations_slot_of_a_device'),
                                         'slot IS NULL OR (slot >= 1 AND device_id IS NOT NULL)')
        batch_op.create_index('uq_allocations_active_device_slot', ['device_id', 'category', 'slot'], unique=True,
                              sqlite_where=sa.text(ACTIVE_SLOT), postgresql_where=sa.text(ACTIVE_SLOT))


def downgrade() -> None:
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_index('uq_allocations_active_device_slot', sqlite_where=sa.text(ACTIVE_SLOT),
                            postgresql_where=sa.text(ACTIVE_SLOT))
        batch_op.drop_constraint(op.f('ck_allocations_slot_of_a_device'), type_='check')
        batch_op.drop_column('slot')
        batch_op.drop_column('category')
