"""What every kind's import test does: upload a file, read a refusal's row errors, build an XLSX,
and check that every bad file is refused whole (the same for each kind, so written once)."""

from __future__ import annotations

import io

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
