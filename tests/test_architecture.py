"""The shape of the import graph, read from the source (no module is imported).

- A service imports no other service: they talk through events and the API, never through code.
  The gateway and the kernel import no service at all.
- Inside a service, the domain folders (`services/<service>/<domain>/`) import one another
  without a circle: each one can be read, changed and tested knowing only those below it. The
  modules directly in `services/<service>/` (the app, the model registry, the event handlers,
  the settings, the visibility policy) stand above or beside the folders and are not part of
  this graph.
- A top-level module that a domain folder imports is a layer beneath the folders: of the folders
  it reads only their tables (`<folder>.models`, which import no folder's service). So
  `visibility.py` may name the campaign, agreement and order tables while the campaigns call the
  agreements: the visibility policy is SPEC's one table of who reads what, across every folder,
  and a per-folder copy of it is what that table exists to prevent. What it cannot do is carry a
  folder's logic back into another folder, which would be a circle this graph does not see.

Every import counts, also one inside a function or under `TYPE_CHECKING`: deferring an import
to call time hides a circle from Python, not from the reader.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "app.py").exists())


def sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.relative_to(ROOT).parts)


def imported(path: Path) -> set[str]:
    """Every module `path` names in an import; for `from a.b import c` both `a.b` and `a.b.c`
    (`c` may be a submodule)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; write the module's full name"
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_services_stand_alone():
    crossings = []
    for service in SERVICES:
        for path in sources(ROOT / "services" / service):
            crossings += [(str(path.relative_to(ROOT)), name) for name in sorted(imported(path))
                          if name.startswith("services.") and name.split(".")[1] != service]
    for package in ("gateway", "kernel"):
        for path in sources(ROOT / package):
            crossings += [(str(path.relative_to(ROOT)), name) for name in sorted(imported(path))
                          if name == "services" or name.startswith("services.")]
    assert crossings == []


def domain_imports(service: str) -> dict[str, dict[str, tuple[str, str]]]:
    """folder -> folder it imports -> one (file, import) that shows it."""
    base = ROOT / "services" / service
    folders = {p.name for p in base.iterdir() if (p / "__init__.py").exists() and p.name != "migrations"}
    edges: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    for folder in sorted(folders):
        for path in sources(base / folder):
            for name in sorted(imported(path)):
                parts = name.split(".")
                if parts[:2] == ["services", service] and len(parts) > 2 and parts[2] in folders - {folder}:
                    edges[folder].setdefault(parts[2], (str(path.relative_to(ROOT)), name))
    return edges


def circles(edges: dict[str, dict[str, tuple[str, str]]]) -> list[list[str]]:
    """The strongly connected components with more than one folder (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_circle_finder_finds_a_circle_and_only_one():
    evidence = ("x.py", "x")
    edges = {"a": {"b": evidence}, "b": {"c": evidence}, "c": {"a": evidence, "d": evidence}, "d": {}}
    assert circles(edges) == [["a", "b", "c"]]
    assert circles({"a": {"b": evidence}, "b": {}}) == []


def test_no_circle_between_the_domain_folders_of_a_service():
    tangles = {}
    for service in SERVICES:
        edges = domain_imports(service)
        for component in circles(edges):
            # Name the imports that close the circle, so that whoever breaks it knows where to look.
            tangles[f"{service}: {' <-> '.join(component)}"] = sorted(
                f"{source} -> {target}: {edges[source][target][0]} imports {edges[source][target][1]}"
                for source in component for target in component if target in edges.get(source, {}))
    assert tangles == {}


def test_what_the_folders_share_reads_only_their_tables():
    leaks = []
    for service in SERVICES:
        base = ROOT / "services" / service
        folders = {p.name for p in base.iterdir() if (p / "__init__.py").exists() and p.name != "migrations"}
        shared = {p.stem for p in base.glob("*.py") if p.stem != "__init__"}
        used = {parts[2] for folder in folders for path in sources(base / folder) for name in imported(path)
                if (parts := name.split("."))[:2] == ["services", service] and len(parts) > 2 and parts[2] in shared}
        for module in sorted(used):
            path = base / f"{module}.py"
            names = imported(path)
            for name in sorted(names):
                parts = name.split(".")
                # `from services.x.folder import models` names the folder too: that is its table.
                a_table = parts[3:4] == ["models"] or (len(parts) == 3 and f"{name}.models" in names)
                if parts[:2] == ["services", service] and len(parts) > 2 and parts[2] in folders and not a_table:
                    leaks.append(f"{path.relative_to(ROOT)} imports {name}")
    assert leaks == []


# Who reads a route's `x-roles`: the declaration itself (`kernel.auth.Roles`), the staff gate beside
# it, and the merged OpenAPI document. Every route declares its roles with a `Roles` from its
# service's visibility.py (or kernel.auth's shared ones), which is also the check its use case makes.
ROLE_READERS = {"kernel/auth.py", "gateway/openapi_doc.py"}


def test_a_routes_roles_are_declared_once():
    spelled_out = []
    for package in ("gateway", "kernel", "services", "zhengban"):
        for path in sources(ROOT / package):
            name = str(path.relative_to(ROOT))
            if name in ROLE_READERS:
                continue
            tree = ast.parse(path.read_text(), filename=name)
            if any(isinstance(node, ast.Constant) and node.value == "x-roles" for node in ast.walk(tree)):
                spelled_out.append(name)
    assert spelled_out == [], "declare a route's roles as a kernel.auth.Roles in the service's visibility.py"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_imports_itself_back():
    """No circle of modules anywhere: events and tracing, a service's table base and its folders'
    models (services/<service>/tables.py gathers those, and nothing a folder imports imports it)."""
    paths = [path for package in ("gateway", "kernel", "services", "zhengban") for path in sources(ROOT / package)]
    modules = {module_name(path): path for path in paths}
    edges = {name: {target: (str(path.relative_to(ROOT)), target) for target in modules_imported(path, modules)
                    if target != name} for name, path in modules.items()}
    assert circles(edges) == []


def modules_imported(path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of the house that `path` imports: `from a import b` names the module `a.b` when
    there is one (the package `a` is then only the way there), else `a`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            inner = {f"{node.module}.{alias.name}" for alias in node.names}
            names.update(inner & modules.keys())
            if inner - modules.keys():
                names.add(node.module)
    return names & modules.keys()


# One word, one meaning: a module named `policies` is an org's policy document (budget's folder);
# the notices' figures are kernel/notices.py, and a service's event-fed copy of the documents is
# its `policy_copy.py`.
POLICY_DOCUMENTS = {"services/budget/policies"}


def test_policies_means_the_policy_documents():
    misnamed = [str(path.relative_to(ROOT)) for package in ("gateway", "kernel", "services", "zhengban")
                for path in [*sources(ROOT / package), *(ROOT / package).rglob("policies")]
                if (path.stem == "policies" or path.name == "policies")
                and not any(str(path.relative_to(ROOT)).startswith(kept) for kept in POLICY_DOCUMENTS)]
    assert sorted(set(misnamed)) == []


# One shape per domain folder: `models` (its tables and their StateMachines), `schemas` (request and
# response bodies), `service` (its use cases), `router` (its routes, thin). What a folder holds
# besides them is written here with why, and so is what it goes without: a new module is named for
# its job and joins this list, and a stale entry fails as surely as a missing one.
SHAPE = {"models", "schemas", "service", "router"}
MORE = {
    "budget/lines": {"closures",  # a fiscal year's close, which every line command reads
                     "imports",  # lines from a spreadsheet
                     "ledger"},  # the line's funds ledger: moving its money (its table is in models)
    "licenses/allocations": {"assignees", "batching", "retirement", "seat_limits", "seats"},  # the seat path's steps
    "licenses/catalogue": {"recognition",  # recognizing raw software names as titles
                           "shipped"},  # the titles every installation starts with
    "licenses/devices": {"imports",  # a detection tool's inventory export
                         "recognition",  # an inventory's rows recognized as titles
                         "register_import"},  # devices from a spreadsheet
    "licenses/pools": {"imports"},  # entitlements from a spreadsheet
    "licenses/users": {"directory"},  # the users seats go to, fed by the gateway's events
    "procurement/campaigns": {"award", "complaints", "offers", "panel", "rounds", "standstill"},  # its stages
}
WITHOUT = {
    "budget/years": {"models"},  # the year-end close writes lines' tables (lines/closures.py)
    "licenses/compliance": {"models", "schemas"},  # a report read from the other folders' tables
    "licenses/expiry": {"models", "schemas", "router"},  # a background job over pools' entitlements
    "licenses/users": {"schemas", "service", "router"},  # no endpoints: a copy of the gateway's users
    # Demand is declared, locked and answered as campaign commands (they hold the campaign row), so
    # its routes are the campaign's; demands/ is the layer below through which agreements and
    # orders release demand without importing the campaigns (which import them).
    "procurement/demands": {"schemas", "router"},
    "procurement/ocds": {"models", "schemas"},  # the OCDS release, read from the other folders' tables
}


def test_every_domain_folder_has_the_one_shape():
    off = {}
    for service in SERVICES:
        base = ROOT / "services" / service
        for folder in sorted(p for p in base.iterdir() if (p / "__init__.py").exists() and p.name != "migrations"):
            name = f"{service}/{folder.name}"
            modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
            missing, more = SHAPE - modules, modules - SHAPE
            if missing != WITHOUT.get(name, set()) or more != MORE.get(name, set()):
                off[name] = {"missing": sorted(missing), "more": sorted(more)}
    assert off == {}, "name the folder's other modules (or what it goes without) in MORE / WITHOUT, with why"
