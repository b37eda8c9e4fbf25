from gateway.models import Base
from kernel.migrations import run_env

run_env(Base.metadata)
