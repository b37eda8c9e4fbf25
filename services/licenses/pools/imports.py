"""Entitlements registered from a spreadsheet (last years' license certificates): `POST
/entitlements:import`, a row per entitlement with the columns of `POST /entitlements` (SPEC, "Data
in and out"; the shared machinery is kernel.imports).

An entitlement is known by its `reference` (the certificate or contract number) in its org. A
file adds seats and never takes them away: a row naming a registered entitlement is unchanged
when it says the same, and an error when it does not (its seats may be allocated; an entitlement
ends by expiring or a transfer, not by a spreadsheet). All rows or none, in one transaction, with
the pools, seats, history and events of `POST /entitlements`."""

from __future__ import annotations

import uuid
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import cells, imports
from kernel.auth import Principal
from kernel.bounds import Text
from kernel.contracts import METRICS
from kernel.db import among
from kernel.ids import utcnow
from kernel.imports import Field, ImportOut, RowError
from kernel.orgs import OrgDirectory
from services.licenses import visibility
from services.licenses.pools import schemas, service
from services.licenses.pools.models import Entitlement

METRIC_WORDS = {"按设备": "device", "设备": "device", "按用户": "user", "用户": "user", "并发": "concurrent",
                "按并发": "concurrent"} | {code: code for code in METRICS}
SOURCE_WORDS = {"手工登记": "manual", "手工录入": "manual", "手工": "manual", "预装": "oem", "随机预装": "oem",
                "OEM": "oem", "manual": "manual"}
# The columns in the order the template shows them: EntitlementCreate's fields with Chinese
# headers; dates are days in Beijing (a term runs from the first moment of its first day through
# the last second of its last).
FIELDS = (Field("reference", "证书编号"), Field("product_name", "产品名称"), Field("vendor", "厂商"),
          Field("category", "类别", cells.category),
          Field("metric", "授权方式", cells.choice(METRIC_WORDS, "按设备/按用户/并发 (device/user/concurrent)")),
          Field("quantity", "授权数量", cells.whole_number),
          Field("valid_from", "生效日期", cells.day_start), Field("valid_to", "截止日期", cells.day_end),
          Field("source", "来源", cells.choice(SOURCE_WORDS, "手工登记/预装 (manual/oem)")),
          Field("org_id", "单位"), Field("product_id", None))
REQUIRED = (("reference",), ("product_name",), ("vendor",), ("category",), ("metric",), ("quantity",))
COMPARED = ("product_name", "vendor", "category", "metric", "quantity", "valid_from", "valid_to", "source",
            "product_id")


class Row(schemas.EntitlementCreate):
    """A row's entitlement: its reference is its natural key, so required; its source is manual
    unless the row says otherwise."""

    reference: Text(200)
    source: Literal["manual", "oem"] = "manual"


async def import_entitlements(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                              org_id: uuid.UUID | None, upload, *, dry_run: bool, english: bool) -> ImportOut:
    org = None
    if org_id is not None:
        org = await orgs.visible(session, principal, org_id)
    visibility.IT_ADMINS.require(principal, org.path if org else principal.org_path)  # each row's org: below
    table = await imports.read(upload, FIELDS, REQUIRED)
    rows, errors = await imports.parsed_rows(session, principal, table, FIELDS, Row, orgs=orgs, org=org,
                                             key=lambda d: (d.org_id, d.reference), key_column="reference",
                                             roles=visibility.IT_ADMINS)
    now = utcnow()
    errors += [RowError(row.number, "valid_to", "already-expired") for row in rows
               if row.data.valid_to is not None and row.data.valid_to <= now]

    org_ids = sorted({row.data.org_id for row in rows})
    await imports.take_turns(session, org_ids)
    existing: dict[tuple, list[Entitlement]] = {}
    for condition in among(session, Entitlement.reference, sorted({row.data.reference for row in rows})):
        for found in (await session.execute(sa.select(Entitlement).where(
                condition, Entitlement.org_id.in_(org_ids), Entitlement.source.in_(("manual", "oem"))))).scalars():
            existing.setdefault((found.org_id, found.reference), []).append(found)
    created, unchanged = [], 0
    for row in rows:
        known = existing.get((row.data.org_id, row.data.reference), [])
        if not known:
            created.append(row)
        elif any(all(getattr(e, name) == getattr(row.data, name) for name in COMPARED) for e in known):
            unchanged += 1
        else:
            differ = [name for name in COMPARED if getattr(known[0], name) != getattr(row.data, name)]
            errors.append(RowError(row.number, differ[0], "registered", {"value": row.data.reference}))
    imports.refuse(errors, english)
    if not dry_run:
        await service.add_entitlements(session, [service.NewEntitlement(
            row.org, principal, **row.data.model_dump(exclude={"org_id"})) for row in created])
        await session.commit()
    else:
        await session.rollback()
    return imports.counts(len(created), 0, unchanged, dry_run)
