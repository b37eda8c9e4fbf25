"""Reading the tables people hand in as files (a detection tool's export, a list kept in Excel):
CSV in UTF-8 (with or without the byte order mark Excel writes) or GB18030 (what Chinese Windows
and its tools write), or XLSX, told apart by their first bytes and not by a name or a declared
type; the first row names the columns, in English or in Chinese.

A bad file is refused as a whole, before anything is written, with a problem naming what is
wrong: too large (413), not a CSV or XLSX file (415), not readable in a known encoding, a column
missing, more rows than allowed (422). The rows come out with their number in the file (the
header is row 1, as a spreadsheet shows it) and every cell as text, so that per-row checks can
name the row and the column."""

from __future__ import annotations

import csv
import io
import itertools
import math
import posixpath
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from xml.etree import ElementTree

from kernel.errors import DomainError, InvalidInput


class FileTooLarge(DomainError):
    status, slug, title = 413, "file-too-large", "The file is too large"


class NotATable(DomainError):
    status, slug, title = 415, "unsupported-file", "The file is neither CSV nor XLSX"


@dataclass(frozen=True)
class Column:
    """A column the reader looks for: its name in the rows it yields, and the header texts that
    name it in a file (compared without case and surrounding spaces)."""

    name: str
    headers: tuple[str, ...]


@dataclass
class Table:
    columns: set[str]  # the names of the columns the file has
    rows: list[tuple[int, dict[str, str | None]]]  # (row number in the file, cell text or None by column)


XLSX_MAGIC = b"PK\x03\x04"  # an XLSX file is a ZIP archive
HEADER_SEARCH = 5  # non-blank rows looked at for the header row


async def read_upload(upload, *, max_bytes: int) -> bytes:
    """The bytes of an uploaded file (a FastAPI UploadFile), refused with 413 beyond `max_bytes`."""
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLarge(f"the file is larger than {max_bytes // 1_000_000} MB")
    return data


def read_table(data: bytes, columns: Sequence[Column], *, required: Sequence[tuple[str, ...]], max_rows: int) -> Table:
    """Reads a CSV or XLSX file's first sheet. `required`: groups of column names of which the file
    must have at least one each (("asset_tag", "hostname") for either). The header row is the
    first row naming them among the first few, so a title row above it (2026年预算表, merged
    across the sheet) is passed over. Blank rows are skipped."""
    if not data.strip():
        raise InvalidInput("the file is empty", slug="empty-file")
    lines = enumerate(_xlsx_rows(data) if data.startswith(XLSX_MAGIC) else _csv_rows(data), start=1)
    by_header = {_header(h): column.name for column in columns for h in column.headers}
    first: dict[str, int] | None = None
    for _, header in itertools.islice(((n, c) for n, c in lines if any(_cell(c, i) for i in range(len(c)))),
                                      HEADER_SEARCH):
        positions: dict[str, int] = {}
        for index, cell in enumerate(header):
            name = by_header.get(_header(cell or ""))
            if name is not None and name not in positions:
                positions[name] = index
        first = positions if first is None else first
        missing = [group for group in required if not any(name in positions for name in group)]
        if not missing:
            break
    else:
        first = first or {}  # no row at all under blank ones: every column is missing
        missing = [group for group in required if not any(name in first for name in group)]
        wanted = "; ".join(" or ".join(_named(columns, name) for name in group) for group in missing)
        raise InvalidInput(f"the header row lacks the column {wanted}", slug="missing-columns",
                           missing=[list(group) for group in missing],
                           missing_headers=[[_header_of(columns, name) for name in group] for group in missing])
    rows: list[tuple[int, dict[str, str | None]]] = []
    for number, cells in lines:
        if not any(cell and cell.strip() for cell in cells):
            continue
        if len(rows) == max_rows:
            raise InvalidInput(f"the file has more than {max_rows:,} rows", slug="too-many-rows", max_rows=max_rows)
        rows.append((number, {name: _cell(cells, index) for name, index in positions.items()}))
    if not rows:
        # Most likely the template sent back unfilled, or the wrong sheet first: worth telling.
        raise InvalidInput("the file has a header row but no rows", slug="empty-file")
    return Table(set(positions), rows)


def _header(text: str) -> str:
    """A header as compared: 单价(元) as 单价（元）, Asset_Tag as asset_tag, no spaces around."""
    return unicodedata.normalize("NFKC", text.lstrip("\ufeff")).strip().lower()


def _header_of(columns: Sequence[Column], name: str) -> str:
    """The header a person reads for the column: its last (the Chinese one, where it has one)."""
    return next(c for c in columns if c.name == name).headers[-1]


def _named(columns: Sequence[Column], name: str) -> str:
    column = next(c for c in columns if c.name == name)
    return "/".join(column.headers)


def _cell(cells: list[str | None], index: int) -> str | None:
    if index >= len(cells) or cells[index] is None:
        return None
    value = cells[index].strip()
    return value or None


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    if b"\x00" in data[:4096]:
        raise NotATable("the file is binary: send a CSV (UTF-8 or GB18030) or an XLSX file")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput("the file is neither UTF-8 nor GB18030 text", slug="unknown-encoding")
    # The delimiter the header row uses most: commas, or tabs and semicolons as some tools and
    # European-locale Excel write them (csv.Sniffer guesses from quoting and gets Chinese text wrong).
    first = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first.count)
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as exc:
        raise InvalidInput(f"the CSV cannot be read: {exc}", slug="unreadable-file") from exc


def _xlsx_rows(data: bytes) -> Iterator[list[str | None]]:
    """The first sheet's rows from its row 1 (calamine starts at the first used column). A merged
    range's value (a 单位 merged over the rows of its devices) is read in each of its cells; a
    formula's value is the one Excel saved with it, and a failed formula's is its error (#REF!),
    which calamine would read as an empty cell."""
    from python_calamine import CalamineError, load_workbook

    try:
        book = load_workbook(io.BytesIO(data))
        sheet = book.get_sheet_by_index(0)
        rows = sheet.iter_rows()
        start_column = sheet.start[1] if sheet.start else 0
        merged = sheet.merged_cell_ranges or []
    except (CalamineError, ValueError, OSError) as exc:
        raise NotATable(f"the file is not a readable XLSX workbook: {exc}") from exc
    # (row, column) of each merged cell → its range's first cell, whose value it shows.
    owner = {(r, c): (top, left) for (top, left), (bottom, right) in merged
             for r in range(top, bottom + 1) for c in range(left, right + 1) if (r, c) != (top, left)}
    tops = set(owner.values())
    kept: dict[tuple[int, int], str | None] = {}
    failed = _formula_errors(data)
    for number, row in enumerate(rows):
        cells = [_text(value) for value in row]
        if owner or tops or failed:
            for index, value in enumerate(cells):
                at = (number, index + start_column)
                if at in failed:
                    cells[index] = failed[at]
                elif at in tops:
                    kept[at] = value
                elif at in owner and value is None:
                    cells[index] = kept.get(owner[at])
        yield cells


MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
OFFICE_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
ERROR_CELL = b't="e"'
CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def _formula_errors(data: bytes) -> dict[tuple[int, int], str]:
    """(row, column) → the error of each cell of the first sheet whose formula failed (`t="e"`),
    from the sheet's XML, streamed: a sheet without one is only scanned for the attribute."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            path = _first_sheet(book)
            with book.open(path) as sheet:
                tail = b""
                while chunk := sheet.read(1 << 20):
                    if ERROR_CELL in tail + chunk:
                        break
                    tail = chunk[-len(ERROR_CELL):]
                else:
                    return {}
            found: dict[tuple[int, int], str] = {}
            with book.open(path) as sheet:
                for _, element in ElementTree.iterparse(sheet):
                    if element.tag == MAIN + "c":
                        if element.get("t") == "e" and (ref := CELL_REF.fullmatch(element.get("r") or "")):
                            found[(int(ref[2]) - 1, _column(ref[1]))] = element.findtext(MAIN + "v") or "#VALUE!"
                        element.clear()
            return found
    except (KeyError, StopIteration, AttributeError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return {}  # what calamine read is all there is


def _first_sheet(book: zipfile.ZipFile) -> str:
    sheet = ElementTree.fromstring(book.read("xl/workbook.xml")).find(f"{MAIN}sheets/{MAIN}sheet")
    rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target") for r in rels.iter(RELS + "Relationship") if r.get("Id") == sheet.get(OFFICE_REL))
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


def _column(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number - 1


def _text(value: object) -> str | None:
    """A cell as the text a person typed: 1001 for the number 1001.0, 2026-03-01 for a date."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and math.isfinite(value) else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
