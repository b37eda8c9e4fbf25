from gateway.models import GatewayTable
from kernel.migrations import run_env

run_env(GatewayTable.metadata)
