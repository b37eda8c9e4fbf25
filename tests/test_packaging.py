"""Installs are reproducible: every dependency pinned in requirements/*.lock (`make lock`), the
pins agreeing with pyproject.toml, running without the test tools, and the image installing from
the same lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
TEST_TOOLS = {"pytest", "pytest-asyncio", "playwright", "schemathesis", "hypothesis", "ruff"}


def pins(lock: str) -> dict[str, set[str]]:
    """name → pinned version; a name pinned under several markers keeps every version."""
    found: dict[str, set[str]] = {}
    for line in (ROOT / "requirements" / lock).read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line):
            found.setdefault(canonicalize_name(match[1].split("[")[0]), set()).add(match[2])
    return found


def unmet(requirements: list[str], locked: dict[str, set[str]]) -> list[str]:
    wrong = []
    for text in requirements:
        req = Requirement(text)
        versions = locked.get(canonicalize_name(req.name), set())
        if req.marker is not None and not req.marker.evaluate() and not versions:
            continue
        if not versions or not any(req.specifier.contains(v, prereleases=True) for v in versions):
            wrong.append(f"{text} (locked: {sorted(versions) or 'nothing'})")
    return wrong


def test_every_dependency_is_pinned_as_pyproject_allows():
    assert unmet(PROJECT["dependencies"], pins("run.lock")) == [], "run `make lock`"
    assert unmet(PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"], pins("test.lock")) == [], \
        "run `make lock`"


def test_running_installs_no_test_tool_and_testing_keeps_the_running_versions():
    run, test = pins("run.lock"), pins("test.lock")
    assert TEST_TOOLS & set(run) == set()
    assert {name: versions for name, versions in run.items() if test.get(name) != versions} == {}


def test_make_up_and_the_image_install_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^up: install\b", makefile, re.M) and re.search(r"^test: install-test\b", makefile, re.M)
    assert "-r $(RUN_LOCK)" in makefile and "-r $(TEST_LOCK)" in makefile
    assert "pip install --no-cache-dir -r requirements/run.lock" in (ROOT / "deploy" / "Dockerfile").read_text()
