"""The software catalogue (titles, patterns, its revision) loaded with the shipped titles; inventory
entries, pools and entitlements name their title; devices record their pre-installed titles;
an inventory entry's category becomes optional (issue #26).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

import kernel.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("catalogue_titles",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("key", sa.String(length=700), nullable=False),
    sa.Column("vendor", sa.String(length=200), nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("category", sa.String(length=40), nullable=False),
    sa.Column("edition", sa.String(length=100), nullable=True),
    sa.Column("licensing", sa.String(length=20), nullable=False),
    sa.Column("domestic", sa.Boolean(), nullable=False),
    sa.Column("shipped", sa.Boolean(), nullable=False),
    sa.Column("created_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("updated_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("licensing IN ('commercial', 'free', 'personal_free', 'bundled')",
                       name=op.f("ck_catalogue_titles_licensing_known")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_titles")),
    sa.UniqueConstraint("key", name=op.f("uq_catalogue_titles_key"))
    )
    op.create_table("catalogue_patterns",
    sa.Column("id", sa.Uuid(), nullable=False),
    sa.Column("title_id", sa.Uuid(), nullable=False),
    sa.Column("pattern", sa.String(length=500), nullable=False),
    sa.Column("shipped", sa.Boolean(), nullable=False),
    sa.Column("created_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["title_id"], ["catalogue_titles.id"],
                            name=op.f("fk_catalogue_patterns_title_id_catalogue_titles")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_patterns")),
    sa.UniqueConstraint("title_id", "pattern", name=op.f("uq_catalogue_patterns_title_id_pattern"))
    )
    revision_table = op.create_table("catalogue_revision",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("revision", sa.BigInteger(), nullable=False),
    sa.Column("changed_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("recognized", sa.BigInteger(), nullable=False),
    sa.Column("recognized_at", kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_revision"))
    )
    op.create_table("device_bundled_titles",
    sa.Column("device_id", sa.Uuid(), nullable=False),
    sa.Column("title_id", sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_device_bundled_titles_device_id_devices")),
    sa.ForeignKeyConstraint(["title_id"], ["catalogue_titles.id"],
                            name=op.f("fk_device_bundled_titles_title_id_catalogue_titles")),
    sa.PrimaryKeyConstraint("device_id", "title_id", name=op.f("pk_device_bundled_titles"))
    )
    with op.batch_alter_table("installed_software", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("not_a_product", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.alter_column("category", existing_type=sa.String(length=40), nullable=True)
        batch_op.create_foreign_key(batch_op.f("fk_installed_software_title_id_catalogue_titles"),
                                    "catalogue_titles", ["title_id"], ["id"])
        batch_op.create_index("ix_installed_software_name", ["name"], unique=False)
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_pools_title_id_catalogue_titles"),
                                    "catalogue_titles", ["title_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_pools_title_id"), ["title_id"], unique=False)
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_entitlements_title_id_catalogue_titles"),
                                    "catalogue_titles", ["title_id"], ["id"])

    from kernel.ids import utcnow
    from services.licenses.catalogue.shipped import load_shipped

    op.bulk_insert(revision_table, [{"id": 1, "revision": 0, "changed_at": utcnow(), "recognized": 0,
                                     "recognized_at": None}])
    # Existing inventories are recognized by the re-recognition job: the load raises the revision.
    load_shipped(op.get_bind())


def downgrade() -> None:
    op.execute(sa.text("UPDATE installed_software SET category = 'other' WHERE category IS NULL"))
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_entitlements_title_id_catalogue_titles"), type_="foreignkey")
        batch_op.drop_column("title_id")
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pools_title_id"))
        batch_op.drop_constraint(batch_op.f("fk_pools_title_id_catalogue_titles"), type_="foreignkey")
        batch_op.drop_column("title_id")
    with op.batch_alter_table("installed_software", schema=None) as batch_op:
        batch_op.drop_index("ix_installed_software_name")
        batch_op.drop_constraint(batch_op.f("fk_installed_software_title_id_catalogue_titles"), type_="foreignkey")
        batch_op.alter_column("category", existing_type=sa.String(length=40), nullable=False)
        batch_op.drop_column("not_a_product")
        batch_op.drop_column("title_id")
    op.drop_table("device_bundled_titles")
    op.drop_table("catalogue_revision")
    op.drop_table("catalogue_patterns")
    op.drop_table("catalogue_titles")
