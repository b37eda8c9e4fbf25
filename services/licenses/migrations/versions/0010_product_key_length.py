"""A pool's product key holds the longest vendor, product name and metric the API accepts (issue 27:
a long vendor plus product name overflowed the 300-character column, a 500 on PostgreSQL).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BEFORE, AFTER = 300, 427  # services.licenses.pools.models.PRODUCT_KEY_MAX when written


def _length(before: int, after: int) -> None:
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.alter_column("product_key", existing_type=sa.String(length=before), type_=sa.String(length=after),
                              existing_nullable=False)


def upgrade() -> None:
    _length(BEFORE, AFTER)


def downgrade() -> None:
    _length(AFTER, BEFORE)
