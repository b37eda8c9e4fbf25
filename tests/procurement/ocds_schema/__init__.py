"""The official OCDS 1.1.5 release-package and release schemas (open-contracting/standard, tag
1__1__5, schema/), kept as test data, and a validator that resolves the package schema's reference
to the release schema locally instead of over the network."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

HERE = Path(__file__).parent


def _schema(name: str) -> dict:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def validator() -> Draft4Validator:
    package, release = _schema("release-package-schema.json"), _schema("release-schema.json")
    registry = Registry().with_resources(
        [(schema["id"], Resource.from_contents(schema, default_specification=DRAFT4)) for schema in (package, release)])
    return Draft4Validator(package, registry=registry)


def problems(package: dict) -> list[str]:
    """Every way `package` breaks the official schema (none: it is valid OCDS 1.1.5)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(package)]
