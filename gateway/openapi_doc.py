"""One OpenAPI 3 document for the whole public API: the gateway's own paths plus every service's."""

from __future__ import annotations

import json
import logging

import orjson
from fastapi import FastAPI

from kernel.links import add_links

log = logging.getLogger("zhengban.openapi")


def merge(base: dict, service_docs: dict[str, dict]) -> dict:
    """Adds each service's paths and schemas to `base`; a schema name two services use differently
    is renamed with the service's name in front. The links between operations are drawn here, where
    every operation is known (kernel/links.py)."""
    merged = json.loads(json.dumps(base))
    schemas = merged.setdefault("components", {}).setdefault("schemas", {})
    for service, doc in service_docs.items():
        renames: dict[str, str] = {}
        # Until nothing changes: a schema that reads the same as one already merged but refers to a
        # renamed one (`Page_TransferOut_` of two services) differs once its references are renamed.
        while True:
            renamed = _renamed(doc, renames)
            own = renamed.get("components", {}).get("schemas", {})
            more = {name: f"{service}_{name}" for name, schema in own.items()
                    if name not in renames and name in schemas and schemas[name] != schema}
            if not more:
                break
            renames |= more
        doc = renamed
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas[renames.get(name, name)] = schema
        for path, item in doc.get("paths", {}).items():
            if path.startswith(f"/api/v1/{service}/"):
                merged.setdefault("paths", {})[path] = item
        for scheme, spec in doc.get("components", {}).get("securitySchemes", {}).items():
            merged["components"].setdefault("securitySchemes", {})[scheme] = spec
    merged["components"].setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer", "description": "an access token from /auth/token, or an API key"}
    merged["security"] = [{"bearer": []}]
    return add_links(document_errors(merged))


PROBLEM = {
    "type": "object", "required": ["type", "title", "status"], "additionalProperties": True,
    "description": "An error, as RFC 9457 problem details. `type` is stable per kind of error (a script branches "
                   "on it), `status` equals the HTTP status.",
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "additionalProperties": True},
                   "description": "Each wrong field (`loc`, `msg`, `type`), or each wrong row of an imported file "
                                  "(`row`, `column`, `code`, `message`)."},
    },
}
ERRORS = {
    "401": "No valid access token or API key.",
    "403": "The caller's roles do not allow this (an object outside its subtree is a 404 instead).",
    "404": "No such object in the caller's subtree.",
    "409": "The object is not in a state that allows this, or a racing request won (retry after `Retry-After`, "
           "when given).",
    "422": "The request is not valid; `errors` says where.",
    "429": "Over the rate limit; `Retry-After` says when to try again.",
}
WRITES = ("post", "put", "patch", "delete")
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Any unique string (a UUID, say): a retry of this POST with the same key and body answers the first "
                   "answer again instead of doing the work twice; the same key with another body is a 422. Keys are "
                   "kept at least 24 hours.",
    "schema": {"type": "string", "maxLength": 200},
}


def document_errors(doc: dict) -> dict:
    """States, on every operation, the problem+json answers it may give (SPEC: every error is
    problem+json) in place of FastAPI's generic validation error, and on every POST the
    `Idempotency-Key` header that every POST honours (kernel/idempotency.py)."""
    doc["components"]["schemas"]["Problem"] = PROBLEM
    for name in ("HTTPValidationError", "ValidationError"):
        doc["components"]["schemas"].pop(name, None)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", *WRITES):
                continue
            public = "public" in op.get("x-roles", ())
            codes = ["422", "429"] + (["401"] if method == "post" or not public else []) + ([] if public else ["403"])
            if "{" in path:
                codes.append("404")
            if method in WRITES:
                codes.append("409")
            for code in sorted(codes):
                op["responses"][code] = {"description": ERRORS[code], "content": problem}
            if method == "post" and not any(p.get("name") == "Idempotency-Key" for p in op.get("parameters", ())):
                op.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    return doc


def _renamed(doc: dict, renames: dict[str, str]) -> dict:
    text = json.dumps(doc)
    for old, new in renames.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    return json.loads(text)


async def build(app: FastAPI) -> dict:
    docs = {}
    upstreams = app.state.upstreams
    for name, bases in upstreams.replicas.items():
        try:
            answer = await upstreams.fetch(bases[0], "GET", "/openapi.json", timeout=5)
            if answer.status != 200:
                raise RuntimeError(f"HTTP {answer.status}")
            docs[name] = orjson.loads(answer.body)
        except Exception as exc:  # noqa: BLE001 - a missing service leaves its paths out for now
            log.warning("no OpenAPI document from %s: %s", name, exc)
    return merge(app.openapi(), docs), len(docs) == len(upstreams.replicas)
