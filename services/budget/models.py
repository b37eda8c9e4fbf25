"""The budget service's declarative base; each domain folder defines its tables on it."""

from kernel.db import make_base

Base = make_base()


def load_all() -> None:
    """Imports every domain's tables so that `Base.metadata` knows them all."""
    from services.budget.ledger import models as _ledger  # noqa: F401
    from services.budget.lines import models as _lines  # noqa: F401
    from services.budget.policies import models as _policies  # noqa: F401
    from services.budget.transfers import models as _transfers  # noqa: F401
