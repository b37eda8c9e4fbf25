"""Foreign keys for every reference inside the service: a seat's device, a ledger line's pool and
device

Tables are SQLModel classes from here on; autogenerate against a database at 0006 found nothing
else to change.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `device_id` is set only for an assignee naming a known device, and devices are never deleted;
    # a link to no device (written before assignees were checked) is dropped, not the seat.
    for table in ("allocations", "allocation_entries"):
        op.execute(sa.text(f"UPDATE {table} SET device_id = NULL WHERE device_id IS NOT NULL "
                           f"AND NOT EXISTS (SELECT 1 FROM devices WHERE devices.id = {table}.device_id)"))
    with op.batch_alter_table('allocation_entries', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_allocation_entries_pool_id_pools'), 'pools', ['pool_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_allocation_entries_device_id_devices'), 'devices', ['device_id'], ['id'])

    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_allocations_device_id_devices'), 'devices', ['device_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_allocations_device_id_devices'), type_='foreignkey')

    with op.batch_alter_table('allocation_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_allocation_entries_device_id_devices'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_allocation_entries_pool_id_pools'), type_='foreignkey')
