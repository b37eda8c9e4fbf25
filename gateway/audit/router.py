"""Reading the audit log: admins and auditors over an org read the entries of its subtree's actors."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response

from gateway.identity.service import visible_org
from gateway.models import AuditEntry
from kernel.api_schemas import ResponseSchema
from kernel.auth import CurrentPrincipal, Principal, Roles
from kernel.bounds import UTCTime, Word
from kernel.deps import Session
from kernel.errors import Forbidden
from kernel.pagination import Cursor, Limit, Page, paginate

router = APIRouter(prefix="/api/v1/identity", tags=["identity"])
ADMINS_AND_AUDITORS = Roles("admin", "auditor")  # the audit log's readers: the route's x-roles and the check

CSV_ROWS_AT_MOST = 100_000


class AuditEntryOut(ResponseSchema):
    id: uuid.UUID
    at: datetime
    action: str
    actor_id: uuid.UUID | None
    actor_name: str | None
    org_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    method: str | None
    path: str | None
    object_id: uuid.UUID | None
    status: int | None
    request_id: str | None
    detail: dict[str, Any] | None


async def audit_query(session, principal: Principal, org_id: uuid.UUID | None, actor_id: uuid.UUID | None,
                      action: str | None, since: datetime | None, until: datetime | None) -> sa.Select:
    if not principal.roles & set(ADMINS_AND_AUDITORS.names):
        raise Forbidden("the audit log is read by admins and auditors")
    path = (await visible_org(session, principal, org_id)).path if org_id else principal.org_path
    scoped = AuditEntry.org_path.startswith(path, autoescape=True)
    if principal.is_root_admin or (principal.org_path.count("/") == 2 and not org_id):
        # Failed sign-ins of unknown usernames belong to no org: the root's readers see them.
        scoped = sa.or_(scoped, AuditEntry.org_path.is_(None))
    query = sa.select(AuditEntry).where(scoped)
    if actor_id:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    return query


Since = Annotated[UTCTime | None, Query(alias="from", description="entries at or after this time")]
Until = Annotated[UTCTime | None, Query(alias="to", description="entries before this time")]
Action = Annotated[Word | None, Query(description="sign_in, sign_in_failed, locked, request, user_changed, …")]


@router.get("/audit", response_model=Page[AuditEntryOut],
            summary="Reads the audit log of the org's subtree (admins and auditors).",
            openapi_extra=ADMINS_AND_AUDITORS)
async def read_audit_log(principal: CurrentPrincipal, session: Session, org_id: uuid.UUID | None = None,
                         actor_id: uuid.UUID | None = None, action: Action = None, since: Since = None,
                         until: Until = None, cursor: Cursor = None, limit: Limit = 100):
    query = await audit_query(session, principal, org_id, actor_id, action, since, until)
    items, next_cursor = await paginate(session, query, AuditEntry.id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/audit.csv", response_class=Response,
            summary="The audit log of the org's subtree as CSV, every page (admins and auditors).",
            openapi_extra=ADMINS_AND_AUDITORS)
async def audit_log_csv(principal: CurrentPrincipal, session: Session, org_id: uuid.UUID | None = None,
                        actor_id: uuid.UUID | None = None, action: Action = None, since: Since = None,
                        until: Until = None):
    query = await audit_query(session, principal, org_id, actor_id, action, since, until)
    rows = (await session.execute(query.order_by(AuditEntry.id).limit(CSV_ROWS_AT_MOST))).scalars().all()
    out = io.StringIO()
    fields = list(AuditEntryOut.model_fields)
    writer = csv.writer(out)
    writer.writerow(fields)
    for row in rows:
        writer.writerow(["" if getattr(row, f) is None else getattr(row, f) for f in fields])
    return Response(out.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
