"""Reproducible installs (issue 23 item 9): every package the code imports is declared, every
declared package is pinned with its hashes in requirements.lock, and the Makefile installs from it.

An undeclared import works until the package that brought it along drops it; an open range
installs whatever was newest that day."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
OWN = {"outreach", "webhooks", "tests", "bench"}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + [
        line for group in project["optional-dependencies"].values() for line in group
    ]
    return {canonicalize_name(Requirement(line).name) for line in lines}


def _locked() -> dict[str, list[str]]:
    """Each pinned package of requirements.lock with the hashes that follow its pin."""
    pins: dict[str, list[str]] = {}
    current = ""
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9._-]+)==\S+", line):
            current = canonicalize_name(match[1])
            pins[current] = []
        elif match := re.search(r"--hash=sha256:([0-9a-f]{64})", line):
            pins[current].append(match[1])
    return pins


def _top_level_imports() -> set[str]:
    found: set[str] = set()
    for folder in OWN:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    found.update(alias.name.partition(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.partition(".")[0])
    return found - OWN - set(sys.stdlib_module_names)


def test_every_package_the_code_imports_is_declared() -> None:
    owners = packages_distributions()
    undeclared = {
        name
        for name in _top_level_imports()
        if not {canonicalize_name(dist) for dist in owners.get(name, [])} & _declared()
    }
    assert undeclared == set()


def test_every_declared_package_is_pinned_with_its_hashes() -> None:
    locked = _locked()
    assert _declared() - set(locked) == set()
    assert [name for name, hashes in locked.items() if not hashes] == []


def test_the_makefile_installs_the_pinned_set_and_refuses_a_changed_download() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements.lock" in makefile
    assert "--no-deps" in makefile, "the project itself adds nothing beyond the lock"
    assert re.search(r"^\$\(STAMP\): pyproject.toml requirements.lock$", makefile, re.M)
