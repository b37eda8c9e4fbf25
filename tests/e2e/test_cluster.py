"""Scale-out on an existing distributed engine: a 3-node NATS cluster (streams with 3 replicas) and
two replicas of each service sharing the durable consumers. One NATS node and one service replica
are killed in the middle of the order flow; nothing is lost or applied twice."""

from __future__ import annotations

import signal

import pytest

from tests.e2e.stack import RunningStack
from tests.e2e.test_faults import finish, report, run_until_orders

pytestmark = pytest.mark.slow


def test_order_flow_survives_losing_a_nats_node_and_a_replica(tmp_path):
    stack = RunningStack(tmp_path / "data", extra_args=["--nats-cluster", "3", "--replicas", "2"])
    stack.start(timeout=180)
    try:
        assert len(stack.pids("nats-server")) == 3
        assert len(stack.pids("serve budget ")) == 2 and len(stack.pids("serve licenses ")) == 2
        scenario = run_until_orders(stack)
        # Killed between orders, so the flow surely crosses the kills: the later orders go through a
        # cluster with a node and a replica missing.
        scenario.place_orders(stop=3)
        nats_node = stack.kill("nats-server", signal.SIGKILL)
        replica = stack.kill("serve budget ", signal.SIGKILL)
        scenario.place_orders(first=3)
        assert len(scenario.made.orders) == 7
        figures = finish(scenario)
        assert figures["statuses"] == {"delivered": 5, "cancelled": 1, "rejected": 1}
        stack.wait_replaced("nats-server", nats_node)
        stack.wait_replaced("serve budget ", replica)
        report("cluster_node_and_replica_killed", stack, figures, faults_injected=2)
    finally:
        stack.close()
