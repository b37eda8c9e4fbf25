"""OpenAPI links: from the operations that answer an object's id to the operations that take it in
their path, so that a client generator (or a stateful fuzzer) can follow a line from its creation
to its submission, approval and ledger.

A route declares, next to its code and once, which path parameters its answer gives and where in
the body they are: `openapi_extra={**EDITORS, **gives(line_id="/id")}` on `POST /lines`,
`gives(line_id="/items/0/id")` on `GET /lines`. The links are drawn from those declarations over
the whole merged document (the gateway's `/openapi.json`), where every target is known: an id
names the same object in every operation of its service that takes it (`{line_id}` of
`/lines/{line_id}/approve`, `/lines/{line_id}/entries`, …), and the ids identity gives (orgs) in
every service, since each service keeps its own view of the orgs. A path parameter of the target
that the source also takes is passed along (`/campaigns/{campaign_id}/demands` gives a demand of
that campaign)."""

from __future__ import annotations

import re

GIVES = "x-gives"
METHODS = ("get", "post", "put", "patch", "delete")
# The service whose ids are every service's: identity owns the orgs the others keep a view of.
SHARED_BY = "identity"


def gives(**ids: str) -> dict:
    """`openapi_extra` declaring the path parameters an operation's answer gives, each as a JSON
    pointer into the answer's body."""
    return {GIVES: ids}


def path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


def _service(path: str) -> str | None:
    parts = path.split("/")
    return parts[3] if len(parts) > 3 and parts[1:3] == ["api", "v1"] else None


def add_links(doc: dict) -> dict:
    """Adds to each declaring operation's success answer a link to every operation its ids reach."""
    operations = [(path, method, op) for path, item in doc.get("paths", {}).items()
                  for method, op in item.items() if method in METHODS]
    for path, method, op in operations:
        given = op.get(GIVES)
        if not given:
            continue
        links = {}
        for target_path, target_method, target in operations:
            needed = path_params(target_path)
            if (target_path, target_method) == (path, method) or not set(needed) & set(given):
                continue
            if not set(needed) <= set(given) | set(path_params(path)):
                continue
            if _service(target_path) != _service(path) and _service(path) != SHARED_BY:
                continue
            links[target["operationId"]] = {
                "operationId": target["operationId"],
                "parameters": {name: f"$response.body#{given[name]}" if name in given else f"$request.path.{name}"
                               for name in needed}}
        for code, response in op["responses"].items():
            if code.startswith("2"):
                response["links"] = links
    return doc


def link_targets(doc: dict) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation some link leads to."""
    by_id = {op["operationId"]: (method.upper(), path) for path, item in doc.get("paths", {}).items()
             for method, op in item.items() if method in METHODS}
    return {by_id[link["operationId"]] for item in doc.get("paths", {}).values() for method, op in item.items()
            if method in METHODS for response in op.get("responses", {}).values()
            for link in response.get("links", {}).values()}
