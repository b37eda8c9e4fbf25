"""Imports from spreadsheets: one page for every kind of gateway/console/import_kinds.py. Upload a
file, check it first (`dry_run`: nothing written) or import it; the API's answer is shown as it
is: the counts created / updated / unchanged, or every row's error {row, column, code, message} in
a table, nothing written. A file the API refuses whole (not a spreadsheet, a column missing) is
one sentence. The template comes from the API too."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.console.api import ApiProblem, ConsoleApi
from gateway.console.files import download, send, uploaded
from gateway.console.forms import BadInput
from gateway.console.import_kinds import INVENTORY_ROLES, KINDS, ImportKind
from gateway.console.page import Refused, back, poster, render, viewer, words_for
from gateway.console.sessions import ConsoleSession

router = APIRouter(prefix="/console", include_in_schema=False)
SHOWN_ERRORS = 1000  # a table of the first errors is enough to correct a file; the rest are counted


def kind_of(key: str) -> ImportKind:
    if key not in KINDS:
        raise Refused(HTMLResponse("<!doctype html><title>404</title><h1>404</h1>", status_code=404))
    return KINDS[key]


async def orgs_for(api: ConsoleApi, session: ConsoleSession, kind: ImportKind) -> list[dict]:
    """The orgs the form offers for the whole file: the user's subtree, when the kind has an org."""
    return await api.all("/api/v1/identity/orgs") if kind.by_org and session.may(*kind.roles) else []


@router.get("/imports")
async def index(request: Request):
    session = viewer(request)
    return render(request, "imports.html", session, kinds=[k for k in KINDS.values() if session.may(*k.roles)],
                  inventory=session.may(*INVENTORY_ROLES))


@router.get("/imports/{key}")
async def import_page(request: Request, key: str):
    session, kind = viewer(request), kind_of(key)
    async with ConsoleApi(request, session) as api:
        orgs = await orgs_for(api, session, kind)
    return render(request, "import_kind.html", session, kind=kind, orgs=orgs, org_id=session.me["org_id"])


@router.get("/imports/{key}/template.xlsx")
async def template(request: Request, key: str):
    session, kind = viewer(request), kind_of(key)
    async with ConsoleApi(request, session) as api:
        return await download(api, f"{kind.api}:import-template.xlsx")


@router.post("/imports/{key}")
async def import_file(request: Request, key: str):
    """Sends the file to the kind's import as it came. No Idempotency-Key: the check and the import
    are posted by one rendered form, and a key would answer the import with the check's replay;
    an import is idempotent by its natural keys anyway."""
    kind = kind_of(key)
    session, form = await poster(request)
    words = words_for(request)
    here = f"/console/imports/{kind.key}"
    dry_run = form.get("dry_run") == "true"
    org_id = str(form.get("org_id") or session.me["org_id"]) if kind.by_org else None
    async with ConsoleApi(request, session) as api:
        try:
            upload = await uploaded(form)
            counts = (await send(api, f"{kind.api}:import", upload, org_id=org_id,
                                 dry_run="true" if dry_run else None)).json()
            errors = None
        except BadInput as bad:
            session.flash = ("error", words(bad.key))
            return back(here)
        except ApiProblem as problem:
            if not str(problem.body.get("type", "")).endswith("/invalid-rows"):
                session.flash = ("error", words.problem(problem.body))
                return back(here)
            counts, errors = None, problem.body["errors"]
        orgs = await orgs_for(api, session, kind)
    return render(request, "import_kind.html", session, kind=kind, orgs=orgs, org_id=org_id or session.me["org_id"],
                  filename=upload.name, dry_run=dry_run, counts=counts,
                  errors=None if errors is None else errors[:SHOWN_ERRORS],
                  error_count=len(errors or ()))
