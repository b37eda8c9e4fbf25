"""Lists as spreadsheets: `GET /lines.csv`, `/lines.xlsx` and the like (SPEC, "Data in and out").

An export is its list: the same service function, so the same filters and the same visibility,
walked page by page to the end. Headers are Chinese (English with `Accept-Language: en`), money
is 元 with two decimals, times are Beijing time, and an org's name stands beside its id.

CSV is streamed as it is read (constant memory, the first rows leave before the last are read);
it starts with a byte order mark so that Excel reads the Chinese. XLSX is written by openpyxl's
write-only workbook, which keeps rows in a temporary file rather than in memory, then sent from
that file."""

from __future__ import annotations

import csv
import io
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from kernel.pagination import Page

CHINA = timezone(timedelta(hours=8))
PAGE = 1000  # rows read per page while exporting
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"csv": CSV_TYPE, "xlsx": XLSX_TYPE}


@dataclass(frozen=True)
class Column:
    """One column: the item's field, its heading in Chinese and English, and how its value reads
    (`text`, `int`, `money` for fen shown as 元, `time` shown in Beijing time, `rate` a fraction
    shown as a percentage)."""

    key: str
    zh: str
    en: str
    kind: str = "text"


def money(fen: int | None) -> str | None:
    """Fen as 元 with two decimals, exactly (no float on the way)."""
    if fen is None:
        return None
    sign, fen = ("-" if fen < 0 else ""), abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "money":
        return money(value)
    if kind == "time" and isinstance(value, datetime):
        return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if isinstance(value, (uuid.UUID, date)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    return value


def english(request: Request) -> bool:
    return request.headers.get("accept-language", "").lower().startswith("en")


def fmt_of(request: Request) -> str:
    """`csv` or `xlsx`, from the path the export was asked at (`/lines.xlsx`)."""
    return request.url.path.rsplit(".", 1)[-1]


async def every_page(fetch: Callable[[str | None, int], Awaitable[Page | tuple]]) -> AsyncIterator[Any]:
    """Each item of a list, page after page: `fetch(cursor, limit)` is the list's own function,
    answering a Page or what `kernel.pagination.paginate` answers (items, next cursor)."""
    cursor = None
    while True:
        page = await fetch(cursor, PAGE)
        items, cursor = (page.items, page.next_cursor) if isinstance(page, Page) else page
        for item in items:
            yield item
        if not cursor:
            return


def query_rows(session, query, id_column, convert: Callable[[Any], Any] | None = None) -> AsyncIterator[Any]:
    """Each row of a list's own query (the one its route pages), page after page, each through
    `convert` if given (the list's own answer of a row)."""
    from kernel.pagination import paginate

    async def fetch(cursor, limit):
        rows, next_cursor = await paginate(session, query, id_column, cursor=cursor, limit=limit)
        return ([convert(row) for row in rows] if convert else rows), next_cursor

    return every_page(fetch)


async def listed(items: Iterable[Any]) -> AsyncIterator[Any]:
    """A list already in memory (a summary's rows) as an export's rows."""
    for item in items:
        yield item


def _value(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else getattr(item, key, None)


async def export(request: Request, name: str, columns: Sequence[Column], rows: AsyncIterator[Any],
                 names: Callable[[uuid.UUID], Awaitable[str | None]] | None = None):
    """The answer to an export request: `rows` as CSV or XLSX (by the path's suffix). With `names`,
    every `…org_id` column is followed by the org's name, headed as the id's column is ("单位编号" →
    "单位名称", "Supplier id" → "Supplier name")."""
    en = english(request)
    spec: list[tuple[str, str, str]] = []  # (key, heading, kind); kind "name" reads the org's name
    for column in columns:
        spec.append((column.key, column.en if en else column.zh, column.kind))
        if names is not None and column.key.endswith("org_id"):
            heading = column.en.replace(" id", " name") if en else column.zh.replace("编号", "名称")
            spec.append((column.key, heading, "name"))

    async def values() -> AsyncIterator[list[Any]]:
        async for item in rows:
            out = []
            for key, _, kind in spec:
                value = _value(item, key)
                out.append((await names(value) if value else None) if kind == "name" else cell(value, kind))
            yield out

    # The first row is read before the answer starts: a refusal (an id outside the caller's
    # subtree, a bad filter) is then still a problem+json answer, not a stream cut short.
    produced = values()
    first = await anext(produced, None)

    async def all_values() -> AsyncIterator[list[Any]]:
        if first is not None:
            yield first
            async for row in produced:
                yield row

    headings = [heading for _, heading, _ in spec]
    filename = f"{name}.{fmt_of(request)}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt_of(request) == "csv":
        return StreamingResponse(_csv(headings, all_values()), media_type=CSV_TYPE, headers=disposition)
    path = await _xlsx(name, headings, all_values())
    return FileResponse(path, media_type=XLSX_TYPE, headers=disposition, background=BackgroundTask(os.unlink, path))


async def _csv(headings: list[str], values: AsyncIterator[list[Any]]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headings)
    first = True
    async for row in values:
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield (("\ufeff" if first else "") + buffer.getvalue()).encode()
            first = False
            buffer.seek(0)
            buffer.truncate()
    yield (("\ufeff" if first else "") + buffer.getvalue()).encode()


async def _xlsx(title: str, headings: list[str], values: AsyncIterator[list[Any]]) -> str:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    bold = Font(bold=True)
    sheet.append([_bold(WriteOnlyCell(sheet, value=h), bold) for h in headings])
    async for row in values:
        sheet.append(row)
    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="zhengban-export-")
    os.close(handle)
    book.save(path)
    return path


def _bold(c, font):
    c.font = font
    return c


def export_routes(router, path: str, **kwargs):
    """Registers one function at `path.csv` and `path.xlsx` (the format is read from the path),
    each documented as the file it answers."""

    def register(fn):
        for fmt, media_type in FORMATS.items():
            router.get(f"{path}.{fmt}", response_class=StreamingResponse, responses={200: {
                "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
                "description": f"The list as {fmt.upper()}: every page, the list's filters and visibility."}},
                **kwargs)(fn)
        return fn

    return register


def org_names(session, orgs) -> Callable[[uuid.UUID], Awaitable[str | None]]:
    """An org's name by its id, from the service's own view of the orgs, each looked up once."""
    known: dict[uuid.UUID, str | None] = {}

    async def name(org_id: uuid.UUID) -> str | None:
        if org_id not in known:
            ref = await orgs.get(session, org_id if isinstance(org_id, uuid.UUID) else uuid.UUID(str(org_id)))
            known[org_id] = ref.name if ref else None
        return known[org_id]

    return name
