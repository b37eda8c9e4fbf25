"""The suite's `published(count=N)` is exact: an event past the N it waits for fails the test, so a
double-apply that publishes twice cannot pass as "the first N arrived"."""

from __future__ import annotations

import uuid

import pytest

from kernel.contracts import OrderCancelled
from kernel.events import new_event
from tests.support.events import publish, published


def cancelled() -> object:
    order = uuid.uuid4()
    return new_event("procurement.order.cancelled", OrderCancelled(
        order_id=order, org_id=uuid.uuid4(), budget_line_id=uuid.uuid4(), amount_fen=100), source="test", about=order)


async def test_one_event_more_than_awaited_fails_and_the_exact_count_passes(nats):
    await publish(nats.url, cancelled(), cancelled())
    with pytest.raises(AssertionError, match="2 events on procurement.order.cancelled, not 1"):
        await published(nats.url, "procurement.order.cancelled", count=1)
    assert len(await published(nats.url, "procurement.order.cancelled", count=2)) == 2
