"""Explicit `null` in a PATCH or PUT body, for every field (optional or not) of every such operation
of the merged OpenAPI document (so a new route is covered without a line here): it empties a field that may
be empty, or is refused with a 422 problem document; it never reaches a service as a None it cannot
use (the fuzzer's first find was a 500 from `PATCH /budget/lines/{id}` with nulls)."""

from __future__ import annotations

import pytest

from tests.security import objects
from tests.security.bodies import body_for, resolve
from tests.security.role_table import local_document

pytestmark = pytest.mark.slow

DOC = local_document()
WRITES = [(method.upper(), path) for path, item in DOC["paths"].items() for method in item
          if method in ("patch", "put") and "requestBody" in item[method]]


def fields_of(method: str, path: str) -> list[str]:
    schema = DOC["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
    return list(resolve(schema, DOC).get("properties", {}))


def test_the_writes_are_read_from_the_document():
    assert {("PATCH", "/api/v1/budget/lines/{line_id}"), ("PUT", "/api/v1/budget/policies/{org_id}")} <= set(WRITES)


@pytest.mark.parametrize(("method", "path"), WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_null_in_any_field_is_refused_or_applied_never_a_crash(world, method, path):
    maker = objects.maker_for(path)
    assert maker, f"{method} {path}: no maker in tests/security/objects.py"
    target = maker(world)
    url = path.format(**target.params)
    body = body_for(DOC, method, path, target.hints) or {}
    fields = fields_of(method, path)
    answers = []
    # Every field null at once (the first find's shape), then each alone in an otherwise valid body.
    for nulls in ([fields] if len(fields) > 1 else []) + [[name] for name in fields]:
        sent = {**body, **dict.fromkeys(nulls)}
        resp = world.call(method, url, world.admin, json=sent)
        answers.append((nulls, resp.status_code))
        assert resp.status_code < 500, f"{method} {url} {sent}: {resp.status_code} {resp.text[:500]}"
        if resp.status_code >= 400:
            problem = resp.json()
            assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
            assert resp.status_code == 422 and problem["status"] == 422, f"{sent}: {resp.text[:500]}"
            # A refusal names the field it refuses (or, for a null the domain refuses, says why).
            assert any(name in resp.text for name in nulls) or problem.get("type"), problem
    assert answers, f"{method} {path} has no field to send null for"
