"""Imports of a kind's objects from a spreadsheet: `POST …:import` (SPEC, "Data in and out").

The file is read by kernel.spreadsheets (CSV or XLSX, headers in English or Chinese); this module
holds what every kind's import shares: a row's errors as `{row, column, code, message}` with the
message in the reader's language, the refusal that lists every one of them (nothing is written
from a file with a bad row), the org each row is for (`?org_id=` for the whole file or an
`org_id` column), the counts a good file answers, and the template with the Chinese headers."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import io
import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi import BackgroundTasks, Depends, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import cells
from kernel.api_schemas import ResponseSchema
from kernel.auth import Principal, Roles
from kernel.db import among
from kernel.errors import InvalidInput
from kernel.orgs import OrgDirectory, OrgRef
from kernel.schema import orgs as orgs_table
from kernel.spreadsheets import Column, Table, read_table, read_upload

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
    "invalid-money": ("“{value}”不是金额（元，最多两位小数）",
                      "{value!r} is not an amount in 元 (two decimals at most)"),
    "formula-error": ("公式出错：{value}", "the formula failed: {value}"),
    "out-of-range": ("“{value}”超出允许范围", "{value!r} is out of range"),
    "invalid-date": ("“{value}”不是日期（如 2026-03-01）", "{value!r} is not a date (such as 2026-03-01)"),
    "unknown-org": ("您的管辖范围内没有单位“{value}”", "no org {value!r} in your subtree"),
    "ambiguous-org": ("您的管辖范围内有多个单位名为“{value}”：请填写单位编号",
                      "several orgs in your subtree are named {value!r}: give the org's id"),
    "no-org": ("未给出单位：请填写单位一列或在请求中给出 org_id",
               "no org: fill in the org_id column or give ?org_id="),
    "not-allowed": ("您无权在单位“{value}”导入", "you may not import into org {value!r}"),
    "duplicate": ("与第 {first} 行重复", "repeats row {first}"),
    "retired": ("该设备已退役，不能修改", "the device is retired and cannot be changed"),
    "invalid": ("“{value}”无效", "{value!r} is not valid"),
    "not-draft": ("同名预算项目已提交或已审批，不能再修改",
                  "a line of that title was submitted or decided and cannot change"),
    "ambiguous": ("已有多条记录与此行对应：{value}", "several existing objects match the row: {value}"),
    "registered": ("编号“{value}”已登记且内容不同：已登记的授权不能通过导入修改",
                   "{value!r} is registered with other values; a file does not change a registered entitlement"),
    "already-expired": ("截止日期已过：过期的授权不增加席位",
                        "valid_to is already past: an expired entitlement adds no seats"),
    "inconsistent": ("本行各列互相矛盾：{detail}", "the row contradicts itself: {detail}"),
    "other-kind": ("上级单位下已有同名单位，其类型为“{value}”",
                   "the parent has an org of this name, of kind {value!r}"),
    "username-taken": ("用户名“{value}”已被使用", "the username {value!r} is taken"),
    "weak-password": ("密码不符合规则：至少 {length} 个字符，含大写字母、小写字母、数字、其他字符中的"
                      "至少 {classes} 类，且不同于用户名",
                      "the password needs at least {length} characters of at least {classes} of upper case, lower "
                      "case, digits and other characters, and to differ from the username"),
    "os-needs-justification": ("操作系统随计算机配备（财行〔2013〕98号），操作系统类须填写申请理由",
                               "the OS comes with the computer (财行〔2013〕98号); an os line needs a justification"),
    "price-above-cap": ("单价超过限价 {cap} 元：特殊需求须填写申请理由",
                        "the unit price is above the cap of {cap} 元; a special need needs a justification"),
    "price-above-special-cap": ("单价超过限价 {cap} 元", "the unit price is above the cap of {cap} 元"),
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


@dataclass(frozen=True)
class Field:
    """A column of an import: `name` its English header (the POST body's field it fills, unless
    `into` names another), `zh` its Chinese header (None: an English-only column, left out of the
    template), `read` how its cell's text becomes the value (kernel.cells; None: the text)."""

    name: str
    zh: str | None
    read: Callable[[str], Any] | None = None
    into: str | None = None


def columns_of(fields: Sequence[Field]) -> tuple[Column, ...]:
    """The reader's columns: either header names the field."""
    return tuple(Column(f.name, (f.name, f.zh) if f.zh else (f.name,)) for f in fields)


def headers_of(fields: Sequence[Field]) -> list[str]:
    return [f.zh for f in fields if f.zh]


async def read(upload, fields: Sequence[Field], required: Sequence[tuple[str, ...]]) -> Table:
    """The upload as a table of the fields' columns, or the whole file refused (kernel.spreadsheets)."""
    data = await read_upload(upload, max_bytes=MAX_BYTES)
    # Parsing 50,000 rows takes a moment of CPU: off the event loop, so other requests go on.
    return await asyncio.to_thread(read_table, data, columns_of(fields), required=required, max_rows=MAX_ROWS)


@dataclass
class Row:
    """A good row: its number in the file, its org, and its cells as the kind's POST body."""

    number: int
    org: OrgRef | None
    data: BaseModel


def _field_errors(number: int, exc: ValidationError, cells_: dict[str, Any], into: dict[str, str]) -> list[RowError]:
    """A body's validation errors as row errors, each on the column the file named it by."""
    errors = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else None
        column = into.get(name, name) if name else None
        value = cells_.get(column) if column else None
        kind = error["type"]
        if not error["loc"]:  # the body's own check across its fields (a term that ends before it starts)
            detail = error["msg"].removeprefix("Value error, ")
            errors.append(RowError(number, None, "inconsistent", {"detail": detail}))
        elif kind == "missing" or (kind == "string_too_short" and not value):
            errors.append(RowError(number, column, "required"))
        elif kind == "string_too_long":
            errors.append(RowError(number, column, "too-long", {"limit": error["ctx"]["max_length"]}))
        elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            errors.append(RowError(number, column, "out-of-range", {"value": value}))
        elif kind == "literal_error":
            errors.append(RowError(number, column, "invalid-choice",
                                   {"value": value, "choices": error["ctx"]["expected"]}))
        elif kind.startswith(("string", "value_error")) or value is None:
            errors.append(RowError(number, column, "invalid-text"))
        else:
            errors.append(RowError(number, column, "invalid", {"value": value}))
    return errors


async def parsed_rows(session: AsyncSession, principal: Principal, table: Table, fields: Sequence[Field],
                      schema: type[BaseModel], *, key: Callable[[BaseModel], Hashable] | None, key_column: str,
                      org: OrgRef | None, roles: Roles, org_field: str | None = "org_id",
                      orgs: OrgDirectory | None = None, org_table: sa.Table = orgs_table
                      ) -> tuple[list[Row], list[RowError]]:
    """Every row read into `schema` (the kind's POST body) and every error found: a cell that does
    not read (kernel.cells), an org the caller may not import into with one of `roles` (an org
    outside its subtree reads as one that does not exist), a body the schema refuses, a row whose
    natural key (`key` of the body, shown on `key_column`; None: the kind checks its keys itself)
    repeats an earlier row's. `org_field`: the body's field holding the row's org (its cell, or
    `org` for the whole file); None for a kind without one."""
    named: dict[str, OrgRef | None] = {}
    if org_field:
        named = await rows_orgs(session, orgs, principal, {
            text for _, raw in table.rows if (text := _text(raw.get(org_field)))}, table=org_table)
    # Checking 50,000 rows is seconds of CPU: in a worker thread, so that the service's other
    # requests go on meanwhile (on the event loop it stalled them all for as long).
    return await asyncio.to_thread(_checked_rows, principal, table, fields, schema, key, key_column, org, roles,
                                   org_field, named)


def _checked_rows(principal: Principal, table: Table, fields: Sequence[Field], schema: type[BaseModel],
                  key: Callable[[BaseModel], Hashable] | None, key_column: str, org: OrgRef | None,
                  roles: tuple[str, ...], org_field: str | None, named: dict[str, OrgRef | None]
                  ) -> tuple[list[Row], list[RowError]]:
    readers = {f.name: f for f in fields}
    into = {(f.into or f.name): f.name for f in fields if f.name in table.columns}
    rows: list[Row] = []
    errors: list[RowError] = []
    first_of: dict[Hashable, int] = {}
    for number, raw in table.rows:
        given: dict[str, Any] = {}
        texts: dict[str, str | None] = {}
        unread: set[str] = set()  # columns whose cell did not read, already named in an error
        for name, value in raw.items():
            spec = readers[name]
            try:
                texts[name] = value = cells.text(value)
                if value is not None and name != org_field:
                    given[spec.into or name] = spec.read(value) if spec.read else value
            except cells.CellError as exc:
                errors.append(RowError(number, name, exc.code, exc.params))
                unread.add(name)
        row_org = org
        if org_field:
            if texts.get(org_field):
                row_org = named.get(texts[org_field], False)
                if not row_org:
                    code = "unknown-org" if row_org is False else "ambiguous-org"
                    errors.append(RowError(number, org_field, code, {"value": texts[org_field]}))
                    continue
                if not roles.allow(principal, row_org.path):
                    errors.append(RowError(number, org_field, "not-allowed", {"value": row_org.name}))
                    continue
            elif row_org is None:
                errors.append(RowError(number, org_field, "no-org"))
                continue
            given[org_field] = row_org.id
        try:
            data = schema.model_validate(given)
        except ValidationError as exc:
            errors.extend(e for e in _field_errors(number, exc, texts, into) if e.column not in unread)
            continue
        if unread:
            continue
        k = key(data) if key else number
        if k in first_of:
            errors.append(RowError(number, key_column, "duplicate", {"first": first_of[k]}))
            continue
        first_of[k] = number
        rows.append(Row(number, row_org, data))
    return rows, errors


def _text(value: str | None) -> str | None:
    try:
        return cells.text(value)
    except cells.CellError:
        return None


async def take_turns(session: AsyncSession, org_ids, table: sa.Table = orgs_table) -> None:
    """Imports into the same orgs take turns, so that two imports of one file never both create an
    object the other has not seen where no unique index would stop them (a line's title in its
    org and year): the orgs' rows are locked in id order (PostgreSQL; SQLite's BEGIN IMMEDIATE
    has serialized the transaction already). Call before reading the existing objects."""
    ids = sorted(set(org_ids))
    if ids and session.bind.dialect.name == "postgresql":
        for condition in among(session, table.c.id, ids):
            await session.execute(sa.select(table.c.id).where(condition).order_by(table.c.id).with_for_update())


def counts(created: int, updated: int, unchanged: int, dry_run: bool) -> ImportOut:
    return ImportOut(created=created, updated=updated, unchanged=unchanged, dry_run=dry_run)


async def rows_orgs(session: AsyncSession, orgs: OrgDirectory | None, principal: Principal,
                    given: set[str], *, table: sa.Table = orgs_table) -> dict[str, OrgRef | None]:
    """The orgs the file's org cells name that lie in the caller's subtree, by cell text: an org's
    id, or its name where one org of the subtree has it (None where several have it). An org
    outside the subtree is left out exactly as one that does not exist, so a row error never
    tells them apart. `table`: the org tree (a service's copy, or the gateway's own);
    `orgs` asks the gateway for ids the copy has not heard of yet."""
    ids: dict[str, uuid.UUID] = {}
    for text in given:
        try:
            ids[text] = uuid.UUID(text)
        except ValueError:
            continue
    def ref(row) -> OrgRef:
        return OrgRef(row.id, row.parent_id, row.name, row.kind, row.path)

    known: dict[uuid.UUID, OrgRef] = {}
    for condition in among(session, table.c.id, sorted(set(ids.values()))):
        for row in (await session.execute(sa.select(table).where(condition))).all():
            known[row.id] = ref(row)
    if orgs is not None:
        for org_id in sorted(set(ids.values()) - set(known))[:MAX_ORG_LOOKUPS]:
            found = await orgs.get(session, org_id)
            if found is not None:
                known[org_id] = found
    answer: dict[str, OrgRef | None] = {text: known[org_id] for text, org_id in ids.items()
                                        if org_id in known and principal.covers(known[org_id].path)}
    by_name: dict[str, list[OrgRef]] = {}
    for condition in among(session, table.c.name, sorted(given - set(ids))):
        for row in (await session.execute(sa.select(table).where(
                condition, table.c.path.startswith(principal.org_path, autoescape=True)))).all():
            by_name.setdefault(row.name, []).append(ref(row))
    answer |= {name: refs[0] if len(refs) == 1 else None for name, refs in by_name.items()}
    return answer


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


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to call
        return None


_trim = _malloc_trim()


def release_memory() -> None:
    """Gives the heap an import freed back to the system. glibc keeps freed memory for reuse, the
    worker threads' arenas included, so after a 50,000-row import the process stayed ~100 MB larger
    until it exited, and the next import's peak came on top (zhengban bench, imports)."""
    if _trim is not None:
        _trim(0)


def _release_after(background: BackgroundTasks) -> None:
    background.add_task(release_memory)


# On every `…:import` route: the memory is released once the answer is sent and the rows are gone.
RELEASES_MEMORY = Depends(_release_after)
