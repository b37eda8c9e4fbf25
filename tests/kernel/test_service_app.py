"""Every service process answers health, readiness, metrics, and refuses bad tokens as problem+json."""

import pytest

from tests.support.apps import eventually

pytestmark = pytest.mark.parametrize("process", ["budget", "procurement", "licenses"])


async def test_health_ready_and_metrics(start_service, process):
    svc = await start_service(process)
    assert (await svc.client.get("/healthz")).json() == {"status": "ok"}

    async def ready():
        resp = await svc.client.get("/readyz")
        return resp.status_code == 200 and resp.json()["checks"] == {"database": True, "nats": True}

    await eventually(ready)
    metrics = await svc.client.get("/metrics")
    assert "zhengban_http_requests_total" in metrics.text
    # Durations are histograms named <what>_duration_seconds, as Prometheus names them.
    assert "zhengban_http_request_duration_seconds_bucket{" in metrics.text


def test_a_log_line_carries_the_request_id_and_the_trace_id(process):
    import json
    import logging

    from kernel.observability import JsonFormatter
    from kernel.tracing import current_request_id, current_traceparent

    trace_id, span_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    rid, tp = current_request_id.set("req-1"), current_traceparent.set(f"00-{trace_id}-{span_id}-01")
    try:
        line = JsonFormatter(process).format(logging.makeLogRecord({"msg": "seat allocated", "levelno": 20}))
    finally:
        current_request_id.reset(rid)
        current_traceparent.reset(tp)
    assert json.loads(line)["request_id"] == "req-1"
    assert json.loads(line)["trace_id"] == trace_id


async def test_missing_and_forged_tokens_are_problems(start_service, process, tree, keys):
    svc = await start_service(process)
    path = f"/api/v1/{process}/dead-letters"
    missing = await svc.client.get(path)
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"] == "https://zhengban.dev/problems/unauthorized"
    assert missing.json()["status"] == 401

    admin = tree.actor("root", "admin")
    forged = admin.token[:-4] + ("AAAA" if not admin.token.endswith("AAAA") else "BBBB")
    resp = await svc.client.get(path, headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401 and resp.json()["detail"] == "the access token is not valid"

    ok = await svc.client.get(path, headers=admin.headers)
    assert ok.status_code == 200 and ok.json() == {"items": [], "next_cursor": None}
    # Parked events belong to the whole installation: an admin of one province may not see them.
    province_admin = await svc.client.get(path, headers=tree.actor("province", "admin").headers)
    assert province_admin.status_code == 403 and province_admin.json()["type"].endswith("/forbidden")


async def test_backlog_gauges_show_outbox_lag_dead_letters_and_pool_use(start_service, process):
    import re
    import uuid

    import sqlalchemy as sa

    from kernel.ids import utcnow
    from kernel.schema import dead_letters, outbox

    svc = await start_service(process, run_background=False)  # nothing publishes the row below
    async with svc.db.session() as session, session.begin():
        await session.execute(sa.insert(outbox).values(event_id=uuid.uuid4(), subject="x.y", payload="{}",
                                                       created_at=utcnow()))
        await session.execute(sa.insert(dead_letters).values(
            id=uuid.uuid4(), consumer="c", event_id=uuid.uuid4(), subject="x.y", payload="{}", error="boom",
            attempts=5, parked_at=utcnow()))
    text = (await svc.client.get("/metrics")).text
    values = dict(re.findall(r"^(zhengban_(?:outbox_pending|outbox_oldest_seconds|dead_letters|db_pool_size)) (\S+)$",
                             text, re.M))
    assert values["zhengban_outbox_pending"] == "1.0" and values["zhengban_dead_letters"] == "1.0"
    assert float(values["zhengban_outbox_oldest_seconds"]) >= 0 and float(values["zhengban_db_pool_size"]) >= 1
