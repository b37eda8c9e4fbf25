"""The role table: who may call which operation, read from the routes' own `x-roles` declarations.

Each route declares next to its code the roles that, held over the object's org (or an ancestor),
permit the call: `public` (no token), `authenticated` (any caller; scoping alone decides), or role
names (`admin` may always act in its subtree; `auditor` may always read). `docs/authorization.md`
carries the table rendered from those declarations, and the authorization matrix
(`test_authz_matrix.py`) checks the running services against it.

Regenerate the table after adding or changing a route:

    .venv/bin/python -m tests.security.role_table --write
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "authorization.md"
BEGIN, END = "<!-- role-table:begin -->", "<!-- role-table:end -->"
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    roles: tuple[str, ...]
    summary: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def reads(self) -> bool:
        return self.method == "GET"

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


def operations_of(doc: dict) -> list[Operation]:
    """Every operation of an OpenAPI document, with its declared roles (empty when undeclared)."""
    found = []
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                op = item[method]
                found.append(Operation(method.upper(), path, tuple(op.get("x-roles", ())), op.get("summary", "")))
    return sorted(found, key=lambda o: (o.path, METHODS.index(o.method.lower())))


def local_document() -> dict:
    """The merged public OpenAPI document, built from the apps without starting them."""
    from gateway.openapi_doc import merge
    from zhengban.processes import SERVICES, app_module

    def doc_of(name: str) -> dict:
        module = app_module(name)
        return module.create_app(module.SETTINGS()).openapi()

    return merge(doc_of("gateway"), {name: doc_of(name) for name in SERVICES})


def render(operations: list[Operation]) -> str:
    lines = ["| Method | Path | Roles over the object's org | What it does |", "|---|---|---|---|"]
    for op in operations:
        roles = ", ".join(f"`{r}`" for r in op.roles) or "**undeclared**"
        lines.append(f"| {op.method} | `{op.path}` | {roles} | {op.summary} |")
    return "\n".join(lines)


def parse(text: str) -> list[Operation]:
    """The operations listed in the table of `docs/authorization.md`."""
    body = text.split(BEGIN, 1)[1].split(END, 1)[0]
    found = []
    for line in body.splitlines():
        match = re.match(r"\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`([^`]+)`\s*\|([^|]*)\|(.*)\|\s*$", line)
        if match:
            roles = tuple(re.findall(r"`([a-z_]+)`", match.group(3)))
            found.append(Operation(match.group(1), match.group(2), roles, match.group(4).strip()))
    return found


def documented() -> list[Operation]:
    return parse(DOC.read_text(encoding="utf-8"))


def write(operations: list[Operation]) -> None:
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(f"{head}{BEGIN}\n{render(operations)}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the table in docs/authorization.md")
    args = parser.parse_args()
    operations = operations_of(local_document())
    if args.write:
        write(operations)
        print(f"{DOC}: {len(operations)} operations")
    else:
        print(render(operations))
    undeclared = [op.key for op in operations if not op.roles]
    if undeclared:
        sys.exit("routes without x-roles:\n  " + "\n  ".join(undeclared))


if __name__ == "__main__":
    main()
