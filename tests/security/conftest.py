import pytest

from tests.e2e.stack import RunningStack
from tests.security.world import World

# The matrix and the fuzzer send many requests from few callers; the limits are tested elsewhere.
UNLIMITED = {"ZHENGBAN_GATEWAY_RATE_PER_SECOND": "100000", "ZHENGBAN_GATEWAY_RATE_BURST": "100000",
             "ZHENGBAN_GATEWAY_TOKEN_RATE_BURST": "1000"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = RunningStack(tmp_path_factory.mktemp("stack"), env=UNLIMITED)
    running.start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def world(stack) -> World:
    return World(stack)
