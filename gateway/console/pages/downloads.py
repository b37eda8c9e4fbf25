"""Downloads of lists: the API's export of a list (`GET /api/v1/<list>.csv` or `.xlsx`: every page,
the list's filters, Chinese headers) through the console, as the signed-in user, so a person gets
exactly the rows the API shows them. Every list page links its own with the filters it shows
(the `downloads` macro)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.console.api import ConsoleApi
from gateway.console.files import download
from gateway.console.page import viewer

router = APIRouter(prefix="/console", include_in_schema=False)
ID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# The lists the API exports (SPEC, "Data in and out"), by their path under /api/v1/: the console
# passes on nothing else.
EXPORTS = re.compile(rf"budget/(lines|lines/{ID}/entries|summary)|procurement/(orders|agreements)"
                     rf"|licenses/(pools|allocations|devices|findings|compliance)|identity/audit")
PAGING = ("cursor", "limit")  # an export is every page


@router.get("/download/{target:path}")
async def download_list(request: Request, target: str):
    session = viewer(request)
    path, _, fmt = target.rpartition(".")
    if fmt not in ("csv", "xlsx") or not EXPORTS.fullmatch(path):
        return HTMLResponse("<!doctype html><title>404</title><h1>404</h1>", status_code=404)
    params = {k: v for k, v in request.query_params.items() if k not in PAGING}
    async with ConsoleApi(request, session) as api:
        return await download(api, f"/api/v1/{path}.{fmt}", params)
