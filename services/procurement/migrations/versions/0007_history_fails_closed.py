"""History fails closed (issue #27): an entry without an audience is the lead's alone from now on.
The campaign entries written before without one were meant for every reader of the campaign (the
old default), so they get the explicit `everyone` audience and read as they did.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

from kernel.history import EVERYONE_TOKEN
from kernel.schema import history, history_audience

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    unaddressed = sa.select(history.c.id, sa.literal(EVERYONE_TOKEN)).where(
        history.c.object_type == "campaign",
        ~sa.exists().where(history_audience.c.history_id == history.c.id))
    op.execute(sa.insert(history_audience).from_select(["history_id", "token"], unaddressed))


def downgrade() -> None:
    # Before this revision an entry without rows was everyone's: the explicit token is dropped again.
    op.execute(sa.delete(history_audience).where(history_audience.c.token == EVERYONE_TOKEN))
