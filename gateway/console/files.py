"""Files through the API: a spreadsheet a person uploads, passed on as it came to an import
(`POST …:import`), and a file the API answers (an export, a template), passed back as a download.
The console reads neither: the API checks, counts and refuses, the page only shows its answer."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from fastapi.responses import Response

from gateway.console.api import ConsoleApi
from gateway.console.forms import BadInput

# A detection tool's export of 50,000 rows, or a register of as many devices, is a few MB; the API
# sets the real limit (413), this one only keeps a page from reading a film someone picked by mistake.
MAX_UPLOAD = 32 * 1024 * 1024


@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes
    content_type: str


async def uploaded(form: dict) -> Upload:
    """The file of a posted form's `file` field; BadInput names what is wrong (none picked, too large)."""
    upload = form.get("file")
    if not hasattr(upload, "read") or not upload.filename:
        raise BadInput("pick_file")
    content = await upload.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise BadInput("file_too_large")
    return Upload(upload.filename, content, upload.content_type or "application/octet-stream")


async def send(api: ConsoleApi, path: str, upload: Upload, **params) -> httpx.Response:
    """POSTs the file to an import as multipart `file`; an API refusal raises ApiProblem."""
    return await api.call("POST", path, params={k: v for k, v in params.items() if v not in (None, "")},
                          files={"file": (upload.name, upload.content, upload.content_type)})


async def download(api: ConsoleApi, path: str, params: dict | None = None) -> Response:
    """The API's file as the browser's download, under the name the API gave it."""
    resp = await api.call("GET", path, params={k: v for k, v in (params or {}).items() if v not in (None, "")})
    return Response(resp.content, media_type=resp.headers["content-type"], headers={
        "Content-Disposition": resp.headers.get("content-disposition", "attachment"), "Cache-Control": "no-store"})
