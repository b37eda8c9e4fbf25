"""Who may hold a seat of a pool: a registered, non-retired device of the pool org's subtree, or a
user of that subtree (SPEC Licenses). The one check single and bulk allocation both go through."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal
from kernel.errors import Conflict, DomainError, InvalidInput
from services.licenses.devices.models import Device
from services.licenses.users.directory import UserDirectory

Assignee = tuple[str, str]  # (assignee_type, assignee_id)


def unknown(assignee_type: str, assignee_id: str) -> DomainError:
    return InvalidInput(f"no {assignee_type} {assignee_id} is registered in your subtree", slug="unknown-assignee",
                        title="Unknown assignee")


def outside(assignee_type: str, assignee_id: str) -> DomainError:
    return InvalidInput(f"{assignee_type} {assignee_id} does not belong to the pool's org or its suborgs",
                        slug="assignee-outside-pool-org", title="Assignee outside the pool's org")


def retired(assignee_id: str) -> DomainError:
    return Conflict(f"device {assignee_id} is retired", slug="device-retired", title="Device retired")


def as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


class Checked(NamedTuple):
    refusals: list[DomainError | None]  # one per ask
    device_paths: dict[uuid.UUID, str]  # the org path of each device asked for that exists
    ids: dict[Assignee, uuid.UUID | None]  # each assignee's id as a UUID (None: not one)


# Built once, so that SQLAlchemy keeps its cache key too (it runs for every allocation batch).
_device = Device.__table__.c
DEVICES_TO_SEAT = (sa.select(_device.id, _device.org_path, _device.status)
                   .where(_device.id.in_(sa.bindparam("ids", expanding=True))).with_for_update(read=True))


async def refusals(session: AsyncSession, users: UserDirectory,
                   asks: Sequence[tuple[Principal, Assignee, str]]) -> Checked:
    """Why each asker's assignee may not hold a seat of the pool at the ask's org path (None: it
    may), for many at once, whatever their pools: one query for the devices, one (and gateway
    look-ups for the unheard-of) for users.
    The devices' org paths come with the answer: they choose the policy that limits seats per device.

    The devices' rows are share-locked until the commit: a retirement running at the same time
    waits, and then reclaims the seat given here, instead of leaving a seat on a retired device
    (SQLite's BEGIN IMMEDIATE already serializes the two)."""
    ids = {key: as_uuid(key[1]) for _, key, _ in asks}
    device_ids = sorted({i for (kind, _), i in ids.items() if kind == "device" and i is not None})
    user_ids = {i for (kind, _), i in ids.items() if kind == "user" and i is not None}
    devices: dict[uuid.UUID, tuple[str, str]] = {}
    for start in range(0, len(device_ids), 500):
        rows = await session.execute(DEVICES_TO_SEAT, {"ids": device_ids[start:start + 500]})
        devices.update({r.id: (r.org_path, r.status) for r in rows})
    user_paths = await users.org_paths(session, user_ids) if user_ids else {}
    answers: list[DomainError | None] = []
    for principal, (kind, text), pool_path in asks:
        found = ids[kind, text]
        if kind == "device":
            path, status = devices.get(found, (None, None))
        else:
            path, status = user_paths.get(found), "active"
        # Something outside the caller's own subtree is not theirs to learn about: unknown.
        if path is None or not principal.covers(path):
            answers.append(unknown(kind, text))
        elif not path.startswith(pool_path):
            answers.append(outside(kind, text))
        elif status != "active":
            answers.append(retired(text))
        else:
            answers.append(None)
    return Checked(answers, {device_id: path for device_id, (path, _) in devices.items()}, ids)
