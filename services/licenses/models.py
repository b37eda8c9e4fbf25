"""The licenses service's declarative base; each domain folder defines its tables on it."""

from kernel.db import make_base

Base = make_base()


def load_all() -> None:
    """Imports every domain's tables so that `Base.metadata` knows them all."""
    from services.licenses import policies as _policies  # noqa: F401
    from services.licenses.allocations import models as _allocations  # noqa: F401
    from services.licenses.devices import models as _devices  # noqa: F401
    from services.licenses.pools import models as _pools  # noqa: F401
    from services.licenses.users import models as _users  # noqa: F401
