"""The licenses service's table base; each domain folder defines its tables on it."""

from sqlmodel import SQLModel

from kernel.db import table_registry


class LicensesTable(SQLModel, registry=table_registry()):
    """A table of the licenses database (`class X(LicensesTable, table=True)`); its own registry keeps
    this database's metadata (and Alembic environment) apart from the other services'."""


def load_all() -> None:
    """Imports every domain's tables so that `LicensesTable.metadata` knows them all."""
    from services.licenses import policies as _policies  # noqa: F401
    from services.licenses.allocations import models as _allocations  # noqa: F401
    from services.licenses.annual_reports import models as _annual_reports  # noqa: F401
    from services.licenses.catalogue import models as _catalogue  # noqa: F401
    from services.licenses.devices import models as _devices  # noqa: F401
    from services.licenses.findings import models as _findings  # noqa: F401
    from services.licenses.install_requests import models as _install_requests  # noqa: F401
    from services.licenses.pools import models as _pools  # noqa: F401
    from services.licenses.users import models as _users  # noqa: F401
