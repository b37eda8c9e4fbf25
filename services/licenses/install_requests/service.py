"""Install requests: asked for by staff or IT admins, decided once by an IT admin over the org.

Approving an install takes the seat in the approval's own transaction (the allocations' set-based
path, as a batch of one): when the pool has none left the whole transaction rolls back, so the
request stays pending and nothing is half-done. The compare-and-set on the request comes first:
of two approvals racing, the loser waits on the request's row and gets its 409 without touching
the pool."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import history
from kernel.auth import Principal
from kernel.contracts import InstallRequestDecided
from kernel.errors import DomainError, InvalidInput, NotFound
from kernel.events import new_event
from kernel.ids import utcnow
from kernel.outbox import add_events
from kernel.transitions import Change, Note
from services.licenses import visibility
from services.licenses.allocations import seats
from services.licenses.allocations import service as allocations
from services.licenses.allocations.models import Allocation
from services.licenses.catalogue import service as catalogue
from services.licenses.devices.models import Device
from services.licenses.install_requests import schemas
from services.licenses.install_requests.models import INSTALL_REQUEST, InstallRequest
from services.licenses.pools import service as pools
from services.licenses.users.directory import UserDirectory
from services.licenses.visibility import IT_ADMINS, IT_ADMINS_AND_STAFF

SOURCE = pools.SOURCE


async def request_install(session: AsyncSession, principal: Principal,
                          data: schemas.InstallRequestCreate) -> InstallRequest:
    """Records a pending request for a title on a device of the caller's subtree."""
    device = await session.get(Device, data.device_id)
    if device is None or not principal.covers(device.org_path):
        raise InvalidInput(f"no device {data.device_id} in your subtree", slug="unknown-device")
    IT_ADMINS_AND_STAFF.require(principal, device.org_path)
    if device.status != "active":
        raise InvalidInput(f"device {device.id} is retired", slug="device-retired")
    await catalogue.title_for(session, data.title_id, "", "")  # 422 unknown-title when not in the catalogue
    request = InstallRequest(org_id=device.org_id, org_path=device.org_path, device_id=device.id,
                             title_id=data.title_id, kind=data.kind, reason=data.reason, status="pending",
                             requested_by=history.actor_of(principal))
    session.add(request)
    await session.flush()
    await history.record(session, "install_request", request.id, "requested", principal,
                         {"kind": data.kind, "device_id": str(device.id), "title_id": str(data.title_id)})
    await session.commit()
    return request


async def visible_request(session: AsyncSession, principal: Principal, request_id: uuid.UUID) -> InstallRequest:
    request = await session.get(InstallRequest, request_id)
    if request is None or not visibility.sees_install_request(principal, request.org_path, request.requested_by):
        raise NotFound(f"no install request {request_id} in your subtree")
    return request


def requests_query(principal: Principal, org_id: uuid.UUID | None, status: str | None,
                   device_id: uuid.UUID | None) -> sa.Select:
    query = sa.select(InstallRequest).where(
        visibility.install_request_scope(principal, InstallRequest.org_path, InstallRequest.requested_by))
    if org_id:
        query = query.where(InstallRequest.org_id == org_id)
    if status:
        query = query.where(InstallRequest.status == status)
    if device_id:
        query = query.where(InstallRequest.device_id == device_id)
    return query


def decided_event(request: InstallRequest):
    return new_event("licenses.install_request.decided", InstallRequestDecided(
        install_request_id=request.id, org_id=request.org_id, device_id=request.device_id,
        title_id=request.title_id, kind=request.kind, status=request.status, pool_id=request.pool_id,
        allocation_id=request.allocation_id), source=SOURCE, about=request.id)


async def approve(session: AsyncSession, principal: Principal, users: UserDirectory, request_id: uuid.UUID,
                  data: schemas.Approval) -> InstallRequest:
    """Approves: an install takes a seat of `pool_id` for the device, an uninstall gives the
    device's seat of that pool back (when it holds one)."""
    request = await visible_request(session, principal, request_id)
    IT_ADMINS.require(principal, request.org_path)
    INSTALL_REQUEST.require("approve", request.status)
    pool = await pools.visible_pool(session, principal, data.pool_id)
    IT_ADMINS.require(principal, pool.org_path)
    if not request.org_path.startswith(pool.org_path):
        raise InvalidInput(f"pool {pool.id} is not of the device's org or an ancestor's", slug="pool-outside-org")
    if pool.title_id is not None and pool.title_id != request.title_id:
        # A WPS seat does not make an installed Microsoft Office genuine (SPEC Inspection).
        raise InvalidInput(f"pool {pool.id} holds seats of another title", slug="pool-of-another-title")
    now = utcnow()
    await INSTALL_REQUEST.apply(session, "approve", request.id, Note(principal, {"pool_id": str(pool.id)}),
                                Change({"pool_id": pool.id, "decided_by": history.actor_of(principal),
                                        "decided_at": now, "updated_at": now}))
    if request.kind == "install":
        allocation_id = await take_seat(session, principal, users, pool.id, request.device_id)
    else:
        allocation_id = await give_seat_back(session, principal, pool.id, request)
    if allocation_id is not None:
        await session.execute(sa.update(InstallRequest).where(InstallRequest.id == request.id)
                              .values(allocation_id=allocation_id))
    await session.refresh(request)
    await add_events(session, [decided_event(request)])
    await session.commit()
    return request


async def take_seat(session: AsyncSession, principal: Principal, users: UserDirectory, pool_id: uuid.UUID,
                    device_id: uuid.UUID) -> uuid.UUID:
    """The device's seat of the pool: a new one, or the one it holds already."""
    [outcome] = await seats.allocate_seats(session, [seats.SeatAsk(principal, pool_id, "device", str(device_id))],
                                           users)
    if isinstance(outcome, DomainError):
        raise outcome  # no seat left, the category's seats taken: rolled back, the request stays pending
    if outcome is None:  # a seat given back while it was read: as good as none left
        raise seats.no_seat(pool_id)
    row, _created = outcome
    return row["id"]


async def give_seat_back(session: AsyncSession, principal: Principal, pool_id: uuid.UUID,
                         request: InstallRequest) -> uuid.UUID | None:
    held = (await session.execute(sa.select(Allocation.id).where(
        Allocation.pool_id == pool_id, Allocation.device_id == request.device_id,
        Allocation.status == "active"))).scalar()
    if held is None:
        return None  # nothing of the pool on the device: the removal needs no seat back
    reclaimed = await allocations.reclaim_allocations(
        session, [held], f"uninstall approved (install request {request.id})", principal)
    return reclaimed[0] if reclaimed else None


async def reject(session: AsyncSession, principal: Principal, request_id: uuid.UUID,
                 data: schemas.Rejection) -> InstallRequest:
    request = await visible_request(session, principal, request_id)
    IT_ADMINS.require(principal, request.org_path)
    INSTALL_REQUEST.require("reject", request.status)
    now = utcnow()
    await INSTALL_REQUEST.apply(session, "reject", request.id, Note(principal, {"reason": data.reason}),
                                Change({"decision_reason": data.reason, "decided_by": history.actor_of(principal),
                                        "decided_at": now, "updated_at": now}))
    await session.refresh(request)
    await add_events(session, [decided_event(request)])
    await session.commit()
    return request
