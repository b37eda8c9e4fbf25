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
    return add_links(merged)


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
