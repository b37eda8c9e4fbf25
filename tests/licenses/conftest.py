"""The licenses service in-process on a fresh database, with real NATS, and helpers to make pools."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kernel.contracts import PolicyChanged
from kernel.events import new_event
from kernel.ids import new_id, utcnow
from services.licenses import policy_copy
from services.licenses.users.models import KnownUser
from tests.support.identity import Actor

PREFIX = "/api/v1/licenses"


@pytest.fixture
async def licenses(start_service):
    return await start_service("licenses")


async def make_pool(svc, actor: Actor, *, org=None, quantity: int = 10, product: str = "WPS Office 2019",
                    category: str = "office", vendor: str = "金山办公", **extra) -> dict:
    """Adds a manual entitlement and returns the pool it went into."""
    body = {"org_id": str((org or actor.org).id), "product_name": product, "vendor": vendor,
            "category": category, "metric": "device", "quantity": quantity, "source": "manual",
            "reference": "合同-2026-001", **extra}
    resp = await svc.client.post(f"{PREFIX}/entitlements", json=body, headers=actor.headers)
    assert resp.status_code == 201, resp.text
    pool = await svc.client.get(f"{PREFIX}/pools/{resp.json()['pool_id']}", headers=actor.headers)
    return pool.json()


async def make_device(svc, actor: Actor, tag: str, *, kind: str = "desktop", org=None, **extra) -> dict:
    resp = await svc.client.post(f"{PREFIX}/devices", headers=actor.headers, json={
        "org_id": str((org or actor.org).id), "asset_tag": tag, "hostname": f"host-{tag}", "kind": kind, **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def allocate(svc, actor: Actor, pool_id: str, assignee_id: str, assignee_type: str = "device", **kwargs):
    return await svc.client.post(f"{PREFIX}/pools/{pool_id}/allocations", headers={**actor.headers, **kwargs},
                                 json={"assignee_type": assignee_type, "assignee_id": assignee_id})


async def make_devices(svc, actor: Actor, count: int, prefix: str, **kwargs) -> list[str]:
    """Registers `count` devices and returns their ids (what device seats are given to)."""
    return [(await make_device(svc, actor, f"{prefix}-{n}", **kwargs))["id"] for n in range(count)]


async def make_user(svc, org, username: str | None = None) -> str:
    """Writes a user into the service's copy, as identity.user.created would; returns its id."""
    user_id = new_id()
    async with svc.db.session() as session:
        await session.execute(sa.insert(KnownUser).values(id=user_id, org_id=org.id, org_path=org.path,
                                                          username=username or f"user-{user_id.hex[:8]}",
                                                          updated_at=utcnow()))
        await session.commit()
    return str(user_id)


async def set_policy(svc, org, document: dict, revision: int = 1) -> None:
    """Gives the service an org's own policy document, as budget's `budget.policy.changed` would."""
    event = new_event("budget.policy.changed", PolicyChanged(
        org_id=org.id, org_path=org.path, document=document, revision=revision, changed_at=utcnow()),
        source="zhengban/budget", about=org.id)
    async with svc.db.session() as session, session.begin():
        await policy_copy.COPIES.on_policy_changed(session, event)
