"""What every kind's import test does: upload a file, read a refusal's row errors, build an XLSX,
and check that every bad file is refused whole (the same for each kind, so written once)."""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook


def xlsx(rows: list[list], *, merge: str | None = None) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    if merge:
        book.active.merge_cells(merge)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def saved_by_excel(rows: str) -> bytes:
    """A workbook as Excel saves it, with each formula's value beside it (openpyxl writes formulas
    without values): `rows` is the sheet's <row> elements."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{sheet_type}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{sheet_type}.worksheet+xml"/></Types>'),
        "_rels/.rels": (f'<Relationships xmlns="{package}"><Relationship Id="rId1" Type="{rel}/officeDocument" '
                        'Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
                            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (f'<Relationships xmlns="{package}"><Relationship Id="rId1" '
                                       f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData>{rows}</sheetData></worksheet>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        for name, text in parts.items():
            book.writestr(name, '<?xml version="1.0" encoding="UTF-8"?>' + text)
    return out.getvalue()


async def upload(svc, url: str, actor, content: bytes | str, *, filename: str = "rows.csv", english=False,
                 **params):
    if isinstance(content, str):
        content = content.encode()
    headers = {**actor.headers, **({"Accept-Language": "en"} if english else {})}
    return await svc.client.post(url, params={k: str(v) for k, v in params.items()}, headers=headers,
                                 files={"file": (filename, content, "application/octet-stream")})


def refused(resp) -> list[tuple]:
    """A 422 listing row errors, as (row, column, code)."""
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["type"].endswith("/invalid-rows") and body["status"] == 422
    assert all(e["message"] for e in body["errors"])
    return [(e["row"], e["column"], e["code"]) for e in body["errors"]]


BAD_FILES = {
    "empty": (b"", 422, "empty-file"),
    "only-headers": (None, 422, "empty-file"),  # the kind's header row alone
    "missing-columns": (b"nothing,useful\n1,2\n", 422, "missing-columns"),
    "pdf-renamed-xlsx": (b"%PDF-1.7\n\x00\x01binary", 415, "unsupported-file"),
    "broken-zip": (b"PK\x03\x04not really a workbook", 415, "unsupported-file"),
}


async def assert_bad_files_refused(svc, url: str, actor, header: str, monkeypatch, **params) -> None:
    """Each bad file is a problem+json naming it; a file past the limit is 413 (the limit made
    small here, so no large upload is sent)."""
    for name, (content, status, slug) in BAD_FILES.items():
        resp = await upload(svc, url, actor, content if content is not None else header + "\n",
                            filename="rows.xlsx", **params)
        assert resp.status_code == status, (name, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["type"].endswith("/" + slug), (name, resp.text)
    monkeypatch.setattr("kernel.imports.MAX_BYTES", 100)
    resp = await upload(svc, url, actor, header + "\n" + "x," * 100, **params)
    assert resp.status_code == 413 and resp.json()["type"].endswith("/file-too-large")
