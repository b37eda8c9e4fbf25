from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, UploadFile

from kernel import history
from kernel.auth import SIGNED_IN, SIGNED_IN_AND_STAFF, CurrentPrincipal
from kernel.bounds import Word
from kernel.deps import Orgs, Session
from kernel.etags import IfMatch, with_etag
from kernel.exports import Column, english, export, export_routes, org_names, query_rows
from kernel.imports import RELEASES_MEMORY, TEMPLATE_RESPONSES, ImportOut, headers_of, template
from kernel.links import gives
from kernel.pagination import Cursor, Limit, Page, paginate
from services.licenses.devices import imports, register_import, schemas, service
from services.licenses.devices.models import Device
from services.licenses.visibility import IT_ADMINS

router = APIRouter(prefix="/api/v1/licenses", tags=["devices"])


@router.post("/devices", status_code=201, response_model=schemas.DeviceOut,
             openapi_extra={**IT_ADMINS, **gives(device_id="/id")},
             summary="Registers a device (desktop, laptop or server).")
async def register_device(data: schemas.DeviceCreate, principal: CurrentPrincipal, session: Session, orgs: Orgs):
    return await service.register_device(session, orgs, principal, data)


@router.post("/devices:import", response_model=ImportOut, openapi_extra=IT_ADMINS,
             dependencies=[RELEASES_MEMORY],
             summary="Registers or updates devices from a spreadsheet (CSV in UTF-8 or GB18030, or XLSX), all rows "
                     "or none: a file with a bad row answers every row's error.")
async def import_devices(file: UploadFile, request: Request, principal: CurrentPrincipal, session: Session,
                         orgs: Orgs, org_id: uuid.UUID | None = None, dry_run: bool = False):
    return await register_import.import_devices(session, orgs, principal, org_id, file, dry_run=dry_run,
                                                english=english(request))


@router.get("/devices:import-template.xlsx", openapi_extra=IT_ADMINS,
            response_class=Response, responses=TEMPLATE_RESPONSES,
            summary="Gets the devices import template: an XLSX workbook with the Chinese headers.")
async def devices_import_template(principal: CurrentPrincipal):
    IT_ADMINS.require(principal, principal.org_path)
    return template("devices", headers_of(register_import.FIELDS))


# Staff list the computers registered to them (owner: their username), to name one in an install request.
@router.get("/devices", response_model=Page[schemas.DeviceOut],
            openapi_extra={**SIGNED_IN_AND_STAFF, **gives(device_id="/items/0/id")},
            summary="Lists devices in the caller's subtree (for staff: the computers registered to them).")
async def list_devices(principal: CurrentPrincipal, session: Session, org_id: uuid.UUID | None = None,
                       status: Word | None = None, cursor: Cursor = None, limit: Limit = 100):
    items, next_cursor = await paginate(session, service.devices_query(principal, org_id, status), Device.id,
                                        cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/devices/{device_id}", response_model=schemas.DeviceOut, openapi_extra=SIGNED_IN, summary="Gets a device.")
async def get_device(device_id: uuid.UUID, principal: CurrentPrincipal, session: Session, response: Response):
    device = await service.visible_device(session, principal, device_id)
    with_etag(response, service.device_etag(device))
    return device


@router.patch("/devices/{device_id}", response_model=schemas.DeviceOut, openapi_extra=IT_ADMINS,
              summary="Edits an active device's hostname, kind, operating system or owner (JSON merge patch; "
                      "If-Match holds it to the version read).")
async def update_device(device_id: uuid.UUID, data: schemas.DeviceUpdate, principal: CurrentPrincipal,
                        session: Session, response: Response, if_match: IfMatch = None):
    device = await service.update_device(session, principal, device_id, data, if_match=if_match)
    with_etag(response, service.device_etag(device))
    return device


@router.post("/devices/{device_id}/inventory", response_model=schemas.InventoryOut, openapi_extra=IT_ADMINS,
             summary="Records what is installed on a device now, and that it was seen.")
async def report_inventory(device_id: uuid.UUID, data: schemas.InventoryReport, principal: CurrentPrincipal,
                           session: Session):
    return await service.report_inventory(session, principal, device_id, data)


@router.get("/devices/{device_id}/inventory", response_model=schemas.InventoryOut, openapi_extra=SIGNED_IN,
            summary="Gets the device's latest inventory report.")
async def latest_inventory(device_id: uuid.UUID, principal: CurrentPrincipal, session: Session):
    return await service.latest_inventory(session, principal, device_id)


@router.get("/inventory/unrecognized", response_model=Page[schemas.UnrecognizedOut], openapi_extra=SIGNED_IN,
            summary="Lists the raw software names of the subtree's latest inventories that no catalogue title "
                    "recognizes, with their vendor and device count, most devices first.")
async def unrecognized(org_id: uuid.UUID, principal: CurrentPrincipal, session: Session, orgs: Orgs,
                       cursor: Cursor = None, limit: Limit = 100):
    items, next_cursor = await service.unrecognized(session, orgs, principal, org_id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.post("/inventory:import", response_model=schemas.ImportOut, openapi_extra=IT_ADMINS,
             dependencies=[RELEASES_MEMORY],
             summary="Imports a detection tool's export (CSV in UTF-8 or GB18030, or XLSX): each device it names "
                     "gets a new inventory report of its rows; a result per row.")
async def import_inventory(org_id: uuid.UUID, file: UploadFile, principal: CurrentPrincipal, session: Session,
                           orgs: Orgs):
    return await imports.import_inventory(session, orgs, principal, org_id, file)


@router.get("/devices/{device_id}/history", response_model=Page[history.HistoryEntry], openapi_extra=SIGNED_IN,
            summary="Gets a device's history.")
async def device_history(device_id: uuid.UUID, principal: CurrentPrincipal, session: Session,
        cursor: Cursor = None, limit: Limit = 100):
    await service.visible_device(session, principal, device_id)
    return await history.history_page(session, device_id, cursor=cursor, limit=limit)


DEVICE_COLUMNS = [
    Column("id", "设备编号", "Device id"), Column("org_id", "单位编号", "Org id"),
    Column("asset_tag", "资产编号", "Asset tag"),
    Column("hostname", "主机名", "Hostname"),
    Column("kind", "类型", "Kind"),
    Column("os_name", "操作系统", "Operating system"),
    Column("owner", "使用人", "Owner"),
    Column("status", "状态", "Status"),
    Column("last_seen_at", "最近上报", "Last seen", "time"),
    Column("created_at", "登记时间", "Registered", "time"),
]


@export_routes(router, "/devices", openapi_extra=SIGNED_IN_AND_STAFF,
               summary="The devices of the caller's subtree as a spreadsheet (登记造册; the list's filters).")
async def export_devices(request: Request, principal: CurrentPrincipal, session: Session, orgs: Orgs,
                         org_id: uuid.UUID | None = None, status: Word | None = None):
    query = service.devices_query(principal, org_id, status)
    return await export(request, "devices", DEVICE_COLUMNS, query_rows(session, query, Device.id),
                        names=org_names(session, orgs))
