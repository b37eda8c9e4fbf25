from kernel.migrations import run_env
from services.budget.app import metadata

run_env(metadata())
