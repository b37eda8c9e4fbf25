from kernel.migrations import run_env
from services.procurement.app import metadata

run_env(metadata())
