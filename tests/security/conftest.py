import pytest

from tests.e2e.stack import UNLIMITED, RunningStack
from tests.security.world import World


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # The matrix and the fuzzer send many requests from few callers.
    running = RunningStack(tmp_path_factory.mktemp("stack"), env=UNLIMITED)
    running.start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def world(stack) -> World:
    return World(stack)
