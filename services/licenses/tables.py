"""Every table of the licenses database: the domain folders' models (and the policy copy's table),
which register themselves on `LicensesTable.metadata` when imported. What the app and Alembic read;
imported by nothing that a folder imports, so the folders' models and the table base draw no circle."""

from services.licenses import policy_copy
from services.licenses.allocations import models as allocations
from services.licenses.annual_reports import models as annual_reports
from services.licenses.catalogue import models as catalogue
from services.licenses.devices import models as devices
from services.licenses.findings import models as findings
from services.licenses.install_requests import models as install_requests
from services.licenses.models import LicensesTable
from services.licenses.pools import models as pools
from services.licenses.users import models as users

# Imported for their tables: the names only say so.
REGISTERED = (policy_copy, allocations, annual_reports, catalogue, devices, findings, install_requests, pools, users)
METADATA = LicensesTable.metadata
