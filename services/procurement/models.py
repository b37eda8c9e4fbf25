"""The procurement service's declarative base; each domain folder defines its tables on it."""

from kernel.db import make_base

Base = make_base()


def load_all() -> None:
    """Imports every domain's tables so that `Base.metadata` knows them all."""
    from services.procurement import policies as _policies  # noqa: F401
    from services.procurement.agreements import models as _agreements  # noqa: F401
    from services.procurement.campaigns import models as _campaigns  # noqa: F401
    from services.procurement.orders import models as _orders  # noqa: F401
    from services.procurement.products import models as _products  # noqa: F401
