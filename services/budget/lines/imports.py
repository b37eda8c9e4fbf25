"""Budget lines drafted from a spreadsheet: `POST /lines:import`, a row per line with the columns
of `POST /lines` (SPEC, "Data in and out"; the shared machinery is kernel.imports).

A line is known by its title in its org and fiscal year while it is a draft: a row whose draft
line differs updates it, one whose line has been submitted or decided since is unchanged when it
says the same and an error when it does not. Each row is held to its org's policy as `POST /lines`
is (caps, the OS line's justification). All rows or none, in one transaction."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import cells, history, imports
from kernel.auth import Principal
from kernel.db import among
from kernel.errors import Conflict, InvalidInput
from kernel.exports import money
from kernel.imports import Field, ImportOut, RowError
from kernel.orgs import OrgDirectory
from kernel.transitions import Change, Note
from services.budget import visibility
from services.budget.lines import schemas, service
from services.budget.lines.models import LINE, BudgetLine
from services.budget.policies import service as policies

EDITION_WORDS = {"客户端": "client", "服务器端": "server", "服务端": "server", "client": "client", "server": "server"}
# The columns in the order the template shows them: LineCreate's fields with the export's Chinese
# headers, the price in 元 (单价（元）, as the export writes it) or, by its field name, in fen.
FIELDS = (Field("fiscal_year", "年度", cells.whole_number),
          Field("category", "类别", cells.category),
          Field("edition", "版本", cells.choice(EDITION_WORDS, "客户端/服务器端 (client/server)")),
          Field("title", "项目名称"), Field("quantity", "数量", cells.whole_number),
          Field("unit_price", "单价（元）", cells.fen, into="unit_price_fen"),
          Field("unit_price_fen", None, cells.whole_number),
          Field("justification", "申请理由"), Field("org_id", "单位"))
REQUIRED = (("fiscal_year",), ("category",), ("title",), ("quantity",), ("unit_price", "unit_price_fen"))
COMPARED = ("category", "edition", "quantity", "unit_price_fen", "justification")


async def import_lines(session: AsyncSession, orgs: OrgDirectory, principal: Principal, org_id: uuid.UUID | None,
                       upload, *, dry_run: bool, english: bool) -> ImportOut:
    org = None
    if org_id is not None:
        org = await orgs.visible(session, principal, org_id)
    visibility.EDITORS.require(principal, org.path if org else principal.org_path)  # each row's org: below
    table = await imports.read(upload, FIELDS, REQUIRED)
    rows, errors = await imports.parsed_rows(session, principal, table, FIELDS, schemas.LineCreate, orgs=orgs,
                                             key=lambda d: (d.org_id, d.fiscal_year, d.title), key_column="title",
                                             org=org, roles=visibility.EDITORS)
    price_column = "unit_price" if "unit_price" in table.columns else "unit_price_fen"
    policy_of: dict[uuid.UUID, object] = {}
    figures: dict[int, dict] = {}
    for row in rows:
        data = row.data
        if data.org_id not in policy_of:
            policy_of[data.org_id] = await policies.effective_policy(session, row.org)
        try:
            figures[row.number] = service.priced(policy_of[data.org_id], data.category, data.edition,
                                                 data.fiscal_year, data.unit_price_fen, data.quantity,
                                                 data.justification)
        except InvalidInput as exc:
            column = "justification" if exc.slug == "os-needs-justification" else price_column
            errors.append(RowError(row.number, column, exc.slug, {"cap": money(exc.extensions.get("cap_fen"))}))

    await imports.take_turns(session, policy_of)
    existing: dict[tuple, list[BudgetLine]] = {}
    for condition in among(session, BudgetLine.title, sorted({row.data.title for row in rows})):
        for line in (await session.execute(sa.select(BudgetLine).where(
                condition, BudgetLine.org_id.in_(sorted(policy_of))))).scalars():
            existing.setdefault((line.org_id, line.fiscal_year, line.title), []).append(line)
    created, updated, unchanged = [], [], 0
    for row in rows:
        lines = existing.get((row.data.org_id, row.data.fiscal_year, row.data.title), [])
        drafts = [line for line in lines if line.status == "draft"]
        same = [line for line in lines if all(getattr(line, name) == getattr(row.data, name) for name in COMPARED)]
        if not lines:
            created.append(row)
        elif len(drafts) > 1:
            errors.append(RowError(row.number, "title", "ambiguous", {"value": row.data.title}))
        elif drafts:
            if drafts[0] in same:
                unchanged += 1
            else:
                updated.append((drafts[0], row))
        elif same:  # submitted or decided since the file was first imported, as the file says
            unchanged += 1
        else:
            errors.append(RowError(row.number, "title", "not-draft"))
    imports.refuse(errors, english)
    if dry_run:
        await session.rollback()
        return imports.counts(len(created), len(updated), unchanged, True)

    actor = history.actor_of(principal)
    new = [BudgetLine(org_path=row.org.path, status="draft", created_by=actor, **figures[row.number],
                      **row.data.model_dump()) for row in created]
    session.add_all(new)
    await session.flush()
    await history.record_each(session, "line", [(line.id, "created", principal, {
        **row.data.model_dump(mode="json"), "imported": True}) for line, row in zip(new, created, strict=True)])
    for line, row in updated:
        changes = {name: getattr(row.data, name) for name in COMPARED}
        # A line edited or submitted since it was read is not overwritten: the file is refused.
        await LINE.apply(session, "edit", line.id, Note(principal, {**changes, "imported": True}),
                         Change({**changes, **figures[row.number]}, where=[BudgetLine.updated_at == line.updated_at],
                                refused=Conflict("a line of the file was edited meanwhile; import the file again",
                                                 slug="edited-meanwhile")))
    await session.commit()
    return imports.counts(len(created), len(updated), unchanged, False)
