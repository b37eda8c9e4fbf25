"""Every table of the procurement database: the domain folders' models (and the policy copy's table),
which register themselves on `ProcurementTable.metadata` when imported. What the app and Alembic
read; imported by nothing that a folder imports, so the folders' models and the table base draw no
circle."""

from services.procurement import policy_copy
from services.procurement.agreements import models as agreements
from services.procurement.campaigns import models as campaigns
from services.procurement.demands import models as demands
from services.procurement.models import ProcurementTable
from services.procurement.orders import models as orders
from services.procurement.products import models as products

# Imported for their tables: the names only say so.
REGISTERED = (policy_copy, agreements, campaigns, demands, orders, products)
METADATA = ProcurementTable.metadata
