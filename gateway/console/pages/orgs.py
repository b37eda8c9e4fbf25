"""Orgs in the console (admins): the caller's subtree as a tree, a new org under any org of it, and an
org's own page with its sub-orgs, its history and the rename form, which holds to the version it
shows (If-Match): a rename over someone else's since is refused and said so."""

from __future__ import annotations

import asyncio
import uuid
from typing import get_args

from fastapi import APIRouter, Request

from gateway.console.api import ConsoleApi, listed
from gateway.console.names import named
from gateway.console.page import act, area_page, held_to, poster, render
from gateway.identity.schemas import OrgKind

router = APIRouter(prefix="/console", include_in_schema=False)
API = "/api/v1/identity/orgs"
ORGS = "/console/orgs"
KINDS = get_args(OrgKind)


def tree_of(orgs: list[dict]) -> list[dict]:
    """The orgs as a forest: each org with its `children`, by name; the roots are the orgs whose
    parent is not among them (the caller's own org, for an admin below the root)."""
    nodes = {o["id"]: {**o, "children": []} for o in orgs}
    roots = []
    for node in sorted(nodes.values(), key=lambda o: o["name"]):
        parent = nodes.get(node["parent_id"])
        (parent["children"] if parent else roots).append(node)
    return roots


def indented(tree: list[dict], depth: int = 0) -> list[tuple[dict, int]]:
    """The tree in reading order with each org's depth, for the parent select of the new-org form."""
    return [pair for node in tree for pair in [(node, depth), *indented(node["children"], depth + 1)]]


@router.get("/orgs")
async def orgs(request: Request):
    session = area_page(request, "orgs")
    async with ConsoleApi(request, session) as api:
        tree = tree_of(await api.all(API))
    return render(request, "orgs.html", session, tree=tree, parents=indented(tree), kinds=KINDS)


@router.post("/orgs")
async def create_org(request: Request):
    session, form = await poster(request)
    return await act(request, session, form, ORGS, "POST", API, {
        "name": str(form.get("name", "")).strip(), "kind": form.get("kind"), "parent_id": form.get("parent_id")})


@router.get("/orgs/{org_id}")
async def org(request: Request, org_id: uuid.UUID):
    session = area_page(request, "orgs")
    async with ConsoleApi(request, session) as api:
        (found, tag), children, history = await asyncio.gather(
            api.read(f"{API}/{org_id}"), api.all(API, parent_id=str(org_id)),
            api.get(f"{API}/{org_id}/history", limit=100))
        history, _ = listed(history)
        names = await named(api, [found["parent_id"]], [h["actor"] for h in history])
    return render(request, "org.html", session, org=found, etag=tag, history=history, names=names,
                  children=sorted(children, key=lambda o: o["name"]))


@router.post("/orgs/{org_id}/rename")
async def rename_org(request: Request, org_id: uuid.UUID):
    session, form = await poster(request)
    return await act(request, session, form, f"{ORGS}/{org_id}", "PATCH", f"{API}/{org_id}",
                     {"name": str(form.get("name", "")).strip()}, headers=held_to(form))
