"""The role table in docs/authorization.md is the routes' own declarations, and every route declares."""

from tests.security.role_table import documented, local_document, operations_of


def test_every_route_declares_who_may_call_it_and_the_doc_says_the_same():
    declared = operations_of(local_document())
    undeclared = [op.key for op in declared if not op.roles]
    assert undeclared == [], f"routes without openapi_extra x-roles: {undeclared}"
    assert {op.key: op.roles for op in documented()} == {op.key: op.roles for op in declared}, (
        "docs/authorization.md is out of date: run .venv/bin/python -m tests.security.role_table --write")
