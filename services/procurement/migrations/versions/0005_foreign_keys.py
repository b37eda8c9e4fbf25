"""Foreign keys for every reference inside the service: an order's campaign, item, product and
demand

Tables are SQLModel classes from here on; autogenerate against a database at 0004 found nothing
else to change. Existing orders satisfy the keys: they were copied from the order's agreement
(whose campaign and items have keys) and from the demand found for it; nothing is ever deleted.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_orders_campaign_id_campaigns'), 'campaigns', ['campaign_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_orders_item_id_campaign_items'), 'campaign_items', ['item_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_orders_product_id_products'), 'products', ['product_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_orders_demand_id_demands'), 'demands', ['demand_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_orders_demand_id_demands'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_orders_product_id_products'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_orders_item_id_campaign_items'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_orders_campaign_id_campaigns'), type_='foreignkey')
