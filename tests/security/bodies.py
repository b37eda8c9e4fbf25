"""Minimal valid request bodies built from an operation's JSON schema, so that an authorization
check is reached (a body the schema refuses would answer 422 before anyone is asked who calls)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

DEFAULT_HINTS = {"reason": "authorization matrix", "note": "authorization matrix", "title": "authz"}


def resolve(schema: dict, doc: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def example(schema: dict, doc: dict, hints: dict, name: str | None = None):
    """A value that satisfies `schema`, taking fields named in `hints` from there."""
    if name is not None and name in hints:
        return hints[name]
    schema = resolve(schema, doc)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if resolve(s, doc).get("type") != "null"] or schema[key]
            return example(options[0], doc, hints, name)
    if "allOf" in schema:
        merged: dict = {}
        for part in schema["allOf"]:
            merged.update(resolve(part, doc))
        return example(merged, doc, hints, name)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        wanted = set(schema.get("required", ())) | {k for k in props if k in hints}
        return {key: example(props[key], doc, hints, key) for key in props if key in wanted}
    if kind == "array":
        count = max(schema.get("minItems", 0), 1 if name and name in hints else 0)
        return [example(schema.get("items", {}), doc, hints) for _ in range(count)]
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "date-time":
            return (datetime.now(UTC) + timedelta(days=1)).isoformat()
        if fmt == "date":
            return (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        return DEFAULT_HINTS.get(name or "", "x" * max(schema.get("minLength", 1), 1))
    if kind == "integer" or kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else 1)
        return max(int(low), 1) if "maximum" not in schema else min(max(int(low), 1), int(schema["maximum"]))
    if kind == "boolean":
        return True
    return None


def body_for(doc: dict, method: str, path: str, hints: dict):
    """The JSON body to send to an operation (None when it takes none)."""
    operation = doc["paths"][path][method.lower()]
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return example(content["application/json"]["schema"], doc, {**DEFAULT_HINTS, **hints})
