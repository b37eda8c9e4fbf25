"""The procurement service's table base; each domain folder defines its tables on it."""

from sqlmodel import SQLModel

from kernel.db import table_registry


class ProcurementTable(SQLModel, registry=table_registry()):
    """A table of the procurement database (`class X(ProcurementTable, table=True)`); its own registry keeps
    this database's metadata (and Alembic environment) apart from the other services'."""


def load_all() -> None:
    """Imports every domain's tables so that `ProcurementTable.metadata` knows them all."""
    from services.procurement import policies as _policies  # noqa: F401
    from services.procurement.agreements import models as _agreements  # noqa: F401
    from services.procurement.campaigns import models as _campaigns  # noqa: F401
    from services.procurement.demands import models as _demands  # noqa: F401
    from services.procurement.orders import models as _orders  # noqa: F401
    from services.procurement.products import models as _products  # noqa: F401
