import pytest

from tests.e2e.stack import RunningStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """One `zhengban up` per test module (starting one takes a few seconds)."""
    running = RunningStack(tmp_path_factory.mktemp("stack"))
    running.start()
    yield running
    running.close()
