"""Every table of the budget database: the domain folders' models, which register themselves on
`BudgetTable.metadata` when imported. What the app and Alembic read; imported by nothing that a
folder imports, so the folders' models and the table base draw no circle."""

from services.budget.lines import models as lines
from services.budget.models import BudgetTable
from services.budget.policies import models as policies
from services.budget.transfers import models as transfers

# Imported for their tables: the names only say so.
REGISTERED = (lines, policies, transfers)
METADATA = BudgetTable.metadata
