from __future__ import annotations

import uuid

import orjson
from fastapi import APIRouter, Request, Response

from kernel import history
from kernel.auth import SIGNED_IN, CurrentPrincipal
from kernel.bounds import Word
from kernel.deps import Orgs, Session
from kernel.exports import Column, export, export_routes, org_names, query_rows
from kernel.ids import Id
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page, paginate
from services.licenses.allocations import retirement, schemas, service
from services.licenses.allocations.batching import Seats
from services.licenses.allocations.models import Allocation
from services.licenses.allocations.seats import SeatAsk
from services.licenses.devices import schemas as device_schemas
from services.licenses.users.directory import Users
from services.licenses.visibility import IT_ADMINS

router = APIRouter(prefix="/api/v1/licenses", tags=["allocations"])
ALLOCATE_ANSWERS = {
    200: {"description": "the assignee already holds a seat of this pool"},
    409: {"description": "no seat left (no-seats-available), the device is retired (device-retired), or the "
                         "computer already holds its seats of the pool's category (category-already-licensed)"},
    422: {"description": "no such device or user in the pool org's subtree (unknown-assignee, "
                         "assignee-outside-pool-org)"},
}


@router.post("/pools/{pool_id}/allocations", status_code=201, response_model=schemas.AllocationOut,
             openapi_extra={**IT_ADMINS, **gives(allocation_id="/id")}, responses=ALLOCATE_ANSWERS,
             summary="Allocates a seat to a device or a user; the same assignee again gets its seat (200).")
async def allocate(pool_id: uuid.UUID, data: schemas.AllocationCreate, principal: CurrentPrincipal, seats: Seats,
                   response: Response):
    # Through the group commit (batching.py): concurrent requests share one transaction.
    row, created = await seats.allocate(SeatAsk(principal, pool_id, data.assignee_type, str(data.assignee_id)))
    if not created:
        response.status_code = 200
    return schemas.AllocationOut(**row)


@router.post("/pools/{pool_id}/allocations:bulk", response_model=schemas.BulkResult,
             openapi_extra={**IT_ADMINS, **gives(allocation_id="/items/0/allocation_id")},
             summary="Allocates seats to many assignees at once (up to 10,000), with a result per item.")
async def allocate_bulk(pool_id: uuid.UUID, data: schemas.BulkAllocationCreate, principal: CurrentPrincipal,
                        session: Session, users: Users):
    # orjson writes the 10,000 items in one pass, where FastAPI would validate and serialize the
    # answer against its response model item by item (the model still documents it). `str` for
    # the ids asyncpg returns as its own UUID type (seats held already), which orjson does not take.
    return Response(orjson.dumps(await service.allocate_bulk(session, principal, users, pool_id, data), default=str),
                    media_type="application/json")


@router.get("/allocations", response_model=Page[schemas.AllocationOut],
            openapi_extra={**SIGNED_IN, **gives(allocation_id="/items/0/id")},
            summary="Lists allocations in the caller's subtree, by pool, assignee or status.")
async def list_allocations(principal: CurrentPrincipal, session: Session, pool_id: uuid.UUID | None = None,
                           assignee_id: Id | None = None, status: Word | None = None, cursor: Cursor = None,
                           limit: Limit = 100):
    items, next_cursor = await paginate(session, service.allocations_query(
        principal, pool_id, assignee_id and str(assignee_id), status),
                                        Allocation.id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/allocations/{allocation_id}", response_model=schemas.AllocationOut, openapi_extra=SIGNED_IN,
            summary="Gets an allocation.")
async def get_allocation(allocation_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    allocation, _ = await service.visible_allocation(session, principal, allocation_id)
    return allocation


@router.post("/allocations/{allocation_id}/reclaim", response_model=schemas.AllocationOut, openapi_extra=IT_ADMINS,
             summary="Takes a seat back, with a reason.")
async def reclaim(allocation_id: uuid.UUID, data: schemas.Reclaim, principal: CurrentPrincipal, session: Session):
    return await service.reclaim_seat(session, principal, allocation_id, data)


@router.get("/allocations/{allocation_id}/history", response_model=Page[history.HistoryEntry],
            openapi_extra=SIGNED_IN, summary="Gets an allocation's history (its lines in the allocation ledger).")
async def allocation_history(allocation_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
        cursor: Cursor = None, limit: Limit = 100):
    return await service.allocation_history(session, principal, allocation_id, cursor=cursor, limit=limit)


@router.post("/reclaim-runs", status_code=201, response_model=schemas.ReclaimRunOut,
             openapi_extra={**IT_ADMINS, **gives(run_id="/id")},
             summary="Takes back (or with dry_run only lists) seats of devices inactive for inactive_days.")
async def create_reclaim_run(data: schemas.ReclaimRunCreate, principal: CurrentPrincipal, session: Session,
                             orgs: Orgs):
    return await service.reclaim_run(session, orgs, principal, data)


@router.get("/reclaim-runs/{run_id}", response_model=schemas.ReclaimRunOut, openapi_extra=SIGNED_IN,
            summary="Gets a reclaim run and the seats it took back or listed.")
async def get_reclaim_run(run_id: uuid.UUID, principal: CurrentPrincipal, session: Session, orgs: Orgs):
    return await service.visible_reclaim_run(session, orgs, principal, run_id)


@router.post("/devices/{device_id}/retire", response_model=device_schemas.RetireOut, openapi_extra=IT_ADMINS,
             tags=["devices"], summary="Retires a device and takes back every seat it holds.")
async def retire_device(device_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    device, reclaimed = await retirement.retire_device(session, principal, device_id)
    return device_schemas.RetireOut(**device_schemas.DeviceOut.model_validate(device).model_dump(),
                                    seats_reclaimed=reclaimed)


ALLOCATION_COLUMNS = [
    Column("id", "分配编号", "Allocation id"), Column("pool_id", "授权池编号", "Pool id"),
    Column("org_id", "单位编号", "Org id"), Column("assignee_type", "分配对象类型", "Assignee type"),
    Column("assignee_id", "分配对象编号", "Assignee id"), Column("status", "状态", "Status"),
    Column("allocated_at", "分配时间", "Allocated", "time"),
    Column("reclaimed_at", "回收时间", "Reclaimed", "time"),
    Column("reason", "回收理由", "Reclaim reason"),
]


@export_routes(router, "/allocations", openapi_extra=SIGNED_IN,
               summary="The allocations of the caller's subtree as a spreadsheet (the list's filters).")
async def export_allocations(request: Request, principal: CurrentPrincipal, session: Session, orgs: Orgs,
                             pool_id: uuid.UUID | None = None, assignee_id: Id | None = None,
                             status: Word | None = None):
    query = service.allocations_query(principal, pool_id, assignee_id and str(assignee_id), status)
    return await export(request, "allocations", ALLOCATION_COLUMNS, query_rows(session, query, Allocation.id),
                        names=org_names(session, orgs))
