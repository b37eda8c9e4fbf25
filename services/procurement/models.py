"""The procurement service's table base; each domain folder defines its tables on it, and
`tables.py` gathers them all."""

from sqlmodel import SQLModel

from kernel.db import table_registry


class ProcurementTable(SQLModel, registry=table_registry()):
    """A table of the procurement database (`class X(ProcurementTable, table=True)`); its own registry keeps
    this database's metadata (and Alembic environment) apart from the other services'."""

