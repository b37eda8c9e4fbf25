"""Products, campaigns with demand, offers, panel and complaints, agreements, orders

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

import kernel.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('lead_org_id', sa.Uuid(), nullable=False),
    sa.Column('lead_org_path', sa.String(length=2000), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('min_offers', sa.Integer(), nullable=False),
    sa.Column('standstill_days', sa.Integer(), nullable=False),
    sa.Column('agreement_months', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('round_open', sa.Boolean(), nullable=False),
    sa.Column('awarded_supplier_org_id', sa.Uuid(), nullable=True),
    sa.Column('standstill_ends_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('awarded_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'demand_open', 'demand_locked', 'tendering', 'negotiation', 'standstill', 'awarded', 'cancelled', 'unsuccessful')", name=op.f('ck_campaigns_status_known')),
    sa.CheckConstraint('min_offers >= 1 AND standstill_days >= 0 AND round >= 0', name=op.f('ck_campaigns_numbers_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_lead_org_id'), ['lead_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaigns_lead_org_path'), ['lead_org_path'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('vendor', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('edition', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('metric', sa.String(length=20), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=True),
    sa.Column('domestic', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("metric IN ('device', 'user', 'concurrent')", name=op.f('ck_products_metric_known')),
    sa.CheckConstraint('term_months IS NULL OR term_months > 0', name=op.f('ck_products_term_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('vendor', 'name', 'edition', 'metric', 'term_months', name=op.f('uq_products_vendor_name_edition_metric_term_months'))
    )
    op.create_table('agreements',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('supplier_org_id', sa.Uuid(), nullable=False),
    sa.Column('supplier_org_path', sa.String(length=2000), nullable=False),
    sa.Column('lead_org_id', sa.Uuid(), nullable=False),
    sa.Column('lead_org_path', sa.String(length=2000), nullable=False),
    sa.Column('valid_from', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_to', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'suspended', 'terminated')", name=op.f('ck_agreements_status_known')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_agreements_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreements')),
    sa.UniqueConstraint('campaign_id', name=op.f('uq_agreements_campaign_id'))
    )
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreements_lead_org_path'), ['lead_org_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreements_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('campaign_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('cap_unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('locked_quantity', sa.BigInteger(), nullable=True),
    sa.Column('unified_price_fen', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('cap_unit_price_fen > 0', name=op.f('ck_campaign_items_cap_positive')),
    sa.CheckConstraint('unified_price_fen IS NULL OR unified_price_fen <= cap_unit_price_fen', name=op.f('ck_campaign_items_unified_within_cap')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_items_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_campaign_items_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_items'))
    )
    with op.batch_alter_table('campaign_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_items_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_participants',
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('org_path', sa.String(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_participants_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('campaign_id', 'org_id', name=op.f('pk_campaign_participants'))
    )
    with op.batch_alter_table('campaign_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_participants_org_path'), ['org_path'], unique=False)

    op.create_table('campaign_suppliers',
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('supplier_org_id', sa.Uuid(), nullable=False),
    sa.Column('org_path', sa.String(length=2000), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_suppliers_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('campaign_id', 'supplier_org_id', name=op.f('pk_campaign_suppliers'))
    )
    with op.batch_alter_table('campaign_suppliers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_suppliers_org_path'), ['org_path'], unique=False)

    op.create_table('complaints',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('supplier_org_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name=op.f('ck_complaints_status_known')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_complaints_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('evaluations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('member_user_id', sa.String(length=200), nullable=False),
    sa.Column('supplier_org_id', sa.Uuid(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('recommend', sa.Boolean(), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score >= 0 AND score <= 100', name=op.f('ck_evaluations_score_range')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_evaluations_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluations')),
    sa.UniqueConstraint('campaign_id', 'member_user_id', 'supplier_org_id', name=op.f('uq_evaluations_campaign_id_member_user_id_supplier_org_id'))
    )
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluations_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('panel_members',
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_panel_members_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('campaign_id', 'user_id', name=op.f('pk_panel_members'))
    )
    op.create_table('agreement_items',
    sa.Column('agreement_id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('cap_unit_price_fen', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('unit_price_fen <= cap_unit_price_fen', name=op.f('ck_agreement_items_price_within_cap')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_agreement_items_agreement_id_agreements')),
    sa.ForeignKeyConstraint(['item_id'], ['campaign_items.id'], name=op.f('fk_agreement_items_item_id_campaign_items')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_agreement_items_product_id_products')),
    sa.PrimaryKeyConstraint('agreement_id', 'item_id', name=op.f('pk_agreement_items'))
    )
    op.create_table('demands',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('org_path', sa.String(length=2000), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('budget_line_id', sa.Uuid(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending_budget', 'accepted', 'rejected', 'released')", name=op.f('ck_demands_status_known')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_demands_quantity_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_demands_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['item_id'], ['campaign_items.id'], name=op.f('fk_demands_item_id_campaign_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demands'))
    )
    with op.batch_alter_table('demands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demands_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index('uq_demands_live', ['campaign_id', 'org_id', 'item_id'], unique=True, sqlite_where=sa.text("status IN ('pending_budget', 'accepted')"), postgresql_where=sa.text("status IN ('pending_budget', 'accepted')"))

    op.create_table('offers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('supplier_org_id', sa.Uuid(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('unit_price_fen > 0', name=op.f('ck_offers_price_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_offers_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['item_id'], ['campaign_items.id'], name=op.f('fk_offers_item_id_campaign_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offers')),
    sa.UniqueConstraint('campaign_id', 'supplier_org_id', 'round', 'item_id', name=op.f('uq_offers_campaign_id_supplier_org_id_round_item_id'))
    )
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offers_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('agreement_id', sa.Uuid(), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('org_path', sa.String(length=2000), nullable=False),
    sa.Column('supplier_org_id', sa.Uuid(), nullable=False),
    sa.Column('budget_line_id', sa.Uuid(), nullable=False),
    sa.Column('demand_id', sa.Uuid(), nullable=True),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('valid_from', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_to', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending_budget', 'confirmed', 'rejected', 'cancelled', 'delivered')", name=op.f('ck_orders_status_known')),
    sa.CheckConstraint('quantity > 0 AND amount_fen = quantity * unit_price_fen', name=op.f('ck_orders_amount_consistent')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_orders_agreement_id_agreements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_org_path'), ['org_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_supplier_org_id'), ['supplier_org_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_supplier_org_id'))
        batch_op.drop_index(batch_op.f('ix_orders_org_path'))
        batch_op.drop_index(batch_op.f('ix_orders_org_id'))
        batch_op.drop_index(batch_op.f('ix_orders_agreement_id'))

    op.drop_table('orders')
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offers_campaign_id'))

    op.drop_table('offers')
    with op.batch_alter_table('demands', schema=None) as batch_op:
        batch_op.drop_index('uq_demands_live', sqlite_where=sa.text("status IN ('pending_budget', 'accepted')"), postgresql_where=sa.text("status IN ('pending_budget', 'accepted')"))
        batch_op.drop_index(batch_op.f('ix_demands_campaign_id'))

    op.drop_table('demands')
    op.drop_table('agreement_items')
    op.drop_table('panel_members')
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluations_campaign_id'))

    op.drop_table('evaluations')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_campaign_id'))

    op.drop_table('complaints')
    with op.batch_alter_table('campaign_suppliers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_suppliers_org_path'))

    op.drop_table('campaign_suppliers')
    with op.batch_alter_table('campaign_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_participants_org_path'))

    op.drop_table('campaign_participants')
    with op.batch_alter_table('campaign_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_items_campaign_id'))

    op.drop_table('campaign_items')
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreements_supplier_org_id'))
        batch_op.drop_index(batch_op.f('ix_agreements_lead_org_path'))

    op.drop_table('agreements')
    op.drop_table('products')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_lead_org_path'))
        batch_op.drop_index(batch_op.f('ix_campaigns_lead_org_id'))

    op.drop_table('campaigns')
