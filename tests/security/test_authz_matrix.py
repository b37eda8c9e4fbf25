"""The authorization matrix: every operation that takes an object id, called for an object of one
org by principals of the same org, its parent, a sibling, a child, a supplier, an auditor, a
holder of a role the operation does not accept, and an unauthenticated client. What each should
get comes from the role table (docs/authorization.md), which the routes' own declarations make."""

from __future__ import annotations

import pytest

from kernel.auth import ROLES
from tests.security import objects
from tests.security.bodies import body_for
from tests.security.role_table import Operation, documented, operations_of
from tests.security.world import RELATIVES, World

pytestmark = pytest.mark.slow

# The caller got past authorization: a success, or a refusal the use-case itself made (409 for the
# object's state, a domain 422). A 422 from request validation is not one: it comes before anyone
# looks at the object, so it shows nothing about who may reach it. And an operation counts as
# checked only when at least one allowed caller succeeds outright.
ALLOWED = "allowed"
NEUTRAL_ROLE = "budget_editor"  # what a caller holds for operations any role in scope may call

OBJECT_OPERATIONS = [op for op in documented() if op.path_params and op.roles != ("public",)]
# Operations on the installation itself rather than on an org's object; checked separately below.
INSTALLATION_WIDE = {op.key for op in OBJECT_OPERATIONS if "/dead-letters/" in op.path}


@pytest.fixture(scope="module")
def merged(stack, world):
    return world.http.get("/openapi.json").json()


def test_role_table_lists_every_operation_the_gateway_serves(merged):
    served = {op.key: op.roles for op in operations_of(merged)}
    table = {op.key: op.roles for op in documented()}
    assert not [key for key, roles in served.items() if not roles], "operations without x-roles"
    assert set(served) - set(table) == set(), "operations missing from docs/authorization.md"
    assert set(table) - set(served) == set(), "operations in docs/authorization.md that no longer exist"
    assert served == table, "docs/authorization.md is out of date: run python -m tests.security.role_table --write"


# Not roles but memberships an operation checks; the matrix acts with the role such members hold.
MEMBERSHIPS = {"panel_member": "negotiator"}


def acting_roles(op: Operation) -> tuple[str, ...]:
    declared = [MEMBERSHIPS.get(r, r) for r in op.roles if r not in ("authenticated", "auditor")]
    return (declared[0],) if declared else (NEUTRAL_ROLE,)


def wrong_role(op: Operation) -> str | None:
    if "authenticated" in op.roles:
        return None
    refused = [r for r in ROLES if r not in op.roles and r not in ("admin", "auditor", "supplier")]
    return refused[0] if refused else None


def relations(op: Operation, target: objects.Target) -> list[tuple[str, str | None, tuple[str, ...], object]]:
    """(relation, org, roles, expected) for one operation on one object."""
    acting = acting_roles(op)
    family = RELATIVES[target.owner]
    rows: list[tuple[str, str | None, tuple[str, ...], object]] = [
        ("unauthenticated", None, (), 401),
        ("same org", target.owner, acting, ALLOWED),
        ("parent", family["parent"], acting, ALLOWED),
        ("sibling", family["sibling"], acting, 404),
        ("auditor", target.owner, ("auditor",), ALLOWED if op.reads else 403),
    ]
    if family["child"]:
        rows.append(("child", family["child"], acting, 404))
    if (role := wrong_role(op)) is not None:
        rows.append(("role not accepted", target.owner, (role,), 403))
    stranger = "supplier_y" if target.addressed == "supplier_x" else "supplier_x"
    if stranger != target.owner:
        rows.append(("supplier not addressed", stranger, ("supplier",), 404))
    if target.addressed:
        may = "supplier" in op.roles or (op.reads and "authenticated" in op.roles)
        rows.append(("supplier addressed", target.addressed, ("supplier",), ALLOWED if may else 403))
    return [(name, org, roles, target.expect.get((op.key, name), expected)) for name, org, roles, expected in rows]


def verdict(resp, expected) -> bool:
    if resp.status_code >= 500:
        return False
    if expected == ALLOWED:
        if resp.status_code < 300:
            return True
        return resp.status_code in (409, 422) and not resp.json()["type"].endswith("/validation-error")
    return resp.status_code == expected


@pytest.mark.parametrize("op", [op for op in OBJECT_OPERATIONS if op.key not in INSTALLATION_WIDE],
                         ids=lambda op: op.key)
def test_operation_on_an_object(world: World, merged, op: Operation):
    make = objects.maker_for(op.path)
    assert make is not None, f"no maker in tests/security/objects.py for {op.path}"
    shared = make(world)
    failures, succeeded = [], []
    for relation, org, roles, expected in relations(op, shared):
        # A write that gets through changes its object (or deletes it), so each allowed writer
        # gets an object of its own.
        target = make(world) if expected == ALLOWED and not op.reads else shared
        path = op.path.format(**target.params)
        headers = world.as_(org, *roles) if org else {}
        body = body_for(merged, op.method, op.path, {"org_id": world.org_id(target.owner), **target.hints})
        resp = world.call(op.method, path, headers, json=body)
        if not verdict(resp, expected):
            failures.append(f"{relation} ({org}: {', '.join(roles)}): expected {expected}, got "
                            f"{resp.status_code} {resp.text[:200]}")
        elif expected == ALLOWED and resp.status_code < 300:
            succeeded.append(relation)
        elif resp.status_code >= 400:
            assert resp.headers["content-type"].startswith("application/problem+json"), (relation, resp.text)
            assert resp.json()["status"] == resp.status_code
    if not succeeded:
        failures.append("no allowed caller succeeded: the rows above show refusals only")
    assert not failures, f"{op.key}:\n  " + "\n  ".join(failures)


@pytest.mark.parametrize("op", [op for op in OBJECT_OPERATIONS if op.key in INSTALLATION_WIDE], ids=lambda op: op.key)
def test_installation_wide_operation(world: World, merged, op: Operation):
    path = op.path.format(**{name: "0190d6a2-0000-7000-8000-000000000000" for name in op.path_params})
    assert world.call(op.method, path).status_code == 401
    for org in ("province", "dept_a"):
        resp = world.call(op.method, path, world.as_(org, "admin"))
        assert resp.status_code == 403, (org, resp.text)
    # The root admin gets past authorization (and finds no such parked event).
    assert world.call(op.method, path, world.admin).status_code == 404
