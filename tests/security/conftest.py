import pytest

from tests.e2e.stack import UNLIMITED, started
from tests.security.world import World


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # The matrix and the fuzzer send many requests from few callers.
    with started(tmp_path_factory.mktemp("stack"), env=UNLIMITED) as running:
        yield running


@pytest.fixture(scope="module")
def world(stack) -> World:
    return World(stack)
