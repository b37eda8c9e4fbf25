"""Imports of a kind's objects from a spreadsheet: `POST …:import` (SPEC, "Data in and out").

The file is read by kernel.spreadsheets (CSV or XLSX, headers in English or Chinese); this module
holds what every kind's import shares: a row's errors as `{row, column, code, message}` with the
message in the reader's language, the refusal that lists every one of them (nothing is written
from a file with a bad row), the org each row is for (`?org_id=` for the whole file or an
`org_id` column), the counts a good file answers, and the template with the Chinese headers."""

from __future__ import annotations

import io
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.api_schemas import ResponseSchema
from kernel.auth import Principal
from kernel.db import among
from kernel.errors import InvalidInput
from kernel.orgs import OrgDirectory, OrgRef
from kernel.schema import orgs as orgs_table
from kernel.spreadsheets import Column

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# As the gateway's limit for `…:import` bodies (gateway/settings.py max_upload_bytes), less the
# multipart envelope: a larger file is a 413 here, naming the limit.
MAX_BYTES = 32_000_000
MAX_ROWS = 100_000
# Org ids a file may name that this service has not heard of yet, each asked of the gateway once.
MAX_ORG_LOOKUPS = 20

# A row error's code → its message in Chinese and in English ({value}, {first}, {limit} filled in).
MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("必填项为空", "the column is required"),
    "too-long": ("超过 {limit} 个字符", "longer than {limit} characters"),
    "invalid-text": ("含有不允许的字符", "contains characters that are not allowed"),
    "invalid-choice": ("“{value}”不是可选值之一：{choices}", "{value!r} is not one of {choices}"),
    "invalid-number": ("“{value}”不是整数", "{value!r} is not a whole number"),
    "out-of-range": ("“{value}”超出允许范围", "{value!r} is out of range"),
    "invalid-date": ("“{value}”不是日期（如 2026-03-01）", "{value!r} is not a date (such as 2026-03-01)"),
    "unknown-org": ("您的管辖范围内没有单位“{value}”", "no org {value!r} in your subtree"),
    "no-org": ("未给出单位：请填写单位一列或在请求中给出 org_id",
               "no org: fill in the org_id column or give ?org_id="),
    "not-allowed": ("您无权在单位“{value}”导入", "you may not import into org {value!r}"),
    "duplicate": ("与第 {first} 行重复", "repeats row {first}"),
    "retired": ("该设备已退役，不能修改", "the device is retired and cannot be changed"),
    "invalid": ("“{value}”无效", "{value!r} is not valid"),
}


@dataclass
class RowError:
    row: int
    column: str | None
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, english: bool) -> dict[str, Any]:
        zh, en = MESSAGES[self.code]
        return {"row": self.row, "column": self.column, "code": self.code,
                "message": (en if english else zh).format(**self.params)}


class RowsRefused(InvalidInput):
    slug, title = "invalid-rows", "Rows of the file are not valid; nothing was imported"


def refuse(errors: Sequence[RowError], english: bool) -> None:
    """Raises the 422 listing every error, in file order, when there is any."""
    if errors:
        ordered = sorted(errors, key=lambda e: (e.row, e.column or ""))
        raise RowsRefused(f"{len(errors)} error(s) in the file's rows; nothing was imported",
                          errors=[e.as_dict(english) for e in ordered])


class ImportOut(ResponseSchema):
    created: int
    updated: int
    unchanged: int
    dry_run: bool


def normalized(value: str | None) -> str | None:
    """A cell as meant: full-width letters and digits (ＰＣ－００１, typed with a Chinese input
    method) as their ASCII forms, surrounding spaces (full-width ones too) gone."""
    if value is None:
        return None
    value = unicodedata.normalize("NFKC", value).strip()
    return value or None


def columns_of(fields: Sequence[tuple[str, str]]) -> tuple[Column, ...]:
    """The reader's columns for (field name, Chinese header) pairs: either header names the field."""
    return tuple(Column(name, (name, zh)) for name, zh in fields)


async def rows_orgs(session: AsyncSession, orgs: OrgDirectory, principal: Principal,
                    given: set[str]) -> dict[str, OrgRef]:
    """The orgs the file's `org_id` cells name that lie in the caller's subtree, by cell text. An
    org outside it is left out exactly as one that does not exist, so a row error never tells
    them apart."""
    ids: dict[str, uuid.UUID] = {}
    for text in given:
        try:
            ids[text] = uuid.UUID(text)
        except ValueError:
            continue
    known: dict[uuid.UUID, OrgRef] = {}
    for condition in among(session, orgs_table.c.id, sorted(set(ids.values()))):
        for row in (await session.execute(sa.select(orgs_table).where(condition))).all():
            known[row.id] = OrgRef(row.id, row.parent_id, row.name, row.kind, row.path)
    for org_id in sorted(set(ids.values()) - set(known))[:MAX_ORG_LOOKUPS]:
        ref = await orgs.get(session, org_id)
        if ref is not None:
            known[org_id] = ref
    return {text: known[org_id] for text, org_id in ids.items()
            if org_id in known and principal.covers(known[org_id].path)}


TEMPLATE_RESPONSES = {200: {"content": {XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}},
                            "description": "An XLSX workbook of one sheet: the header row in Chinese."}}


def template(name: str, headers: Sequence[str]) -> Response:
    """An empty workbook with the Chinese headers, to fill in and import."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(name)
    sheet.append(list(headers))
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}-import-template.xlsx"'})
