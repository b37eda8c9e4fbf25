"""The budget service's table base; each domain folder defines its tables on it."""

from sqlmodel import SQLModel

from kernel.db import table_registry


class BudgetTable(SQLModel, registry=table_registry()):
    """A table of the budget database (`class X(BudgetTable, table=True)`); its own registry keeps
    this database's metadata (and Alembic environment) apart from the other services'."""


def load_all() -> None:
    """Imports every domain's tables so that `BudgetTable.metadata` knows them all."""
    from services.budget.ledger import models as _ledger  # noqa: F401
    from services.budget.lines import models as _lines  # noqa: F401
    from services.budget.policies import models as _policies  # noqa: F401
    from services.budget.transfers import models as _transfers  # noqa: F401
