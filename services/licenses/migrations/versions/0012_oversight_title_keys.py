"""Install requests and findings name catalogue titles: their `title_id` gets its foreign key now
that the catalogue's table exists (issue #30, after #26). Batch mode, for SQLite's sake.

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

KEYS = (("install_requests", "fk_install_requests_title_id_catalogue_titles"),
        ("findings", "fk_findings_title_id_catalogue_titles"))


def upgrade() -> None:
    for table, name in KEYS:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(name, "catalogue_titles", ["title_id"], ["id"])


def downgrade() -> None:
    for table, name in KEYS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_="foreignkey")
