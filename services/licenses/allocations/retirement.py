"""Retiring a device: the device leaves service and every seat it holds comes back. It lives with
the allocations because the seats are theirs; the devices folder knows nothing of seats."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.auth import Principal
from kernel.contention import retried
from kernel.ids import utcnow
from kernel.transitions import Change, Note
from services.licenses.allocations.models import Allocation
from services.licenses.allocations.service import reclaim_allocations
from services.licenses.devices.models import DEVICE, Device
from services.licenses.devices.service import visible_device
from services.licenses.visibility import IT_ADMINS


@retried
async def retire_device(session: AsyncSession, principal: Principal, device_id: uuid.UUID) -> tuple[Device, int]:
    device = await visible_device(session, principal, device_id)
    IT_ADMINS.require(principal, device.org_path)
    DEVICE.require("retire", device.status)
    now = utcnow()
    await DEVICE.apply(session, "retire", device.id, Note(principal), Change({"retired_at": now, "updated_at": now}))
    # Read after the compare-and-set: every seat committed before it is seen and given back (each
    # seat's own reclaim line in the ledger says "device retired").
    held = (await session.execute(sa.select(Allocation.id).where(Allocation.device_id == device.id,
                                                                 Allocation.status == "active"))).scalars().all()
    reclaimed = await reclaim_allocations(session, list(held), "device retired", principal, now)
    await session.commit()
    await session.refresh(device)
    return device, len(reclaimed)
