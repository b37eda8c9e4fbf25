from kernel.migrations import run_env
from services.licenses.app import metadata

run_env(metadata())
