"""The layers of ARCHITECTURE.md, read from the imports: each layer builds on the ones below it
and none reaches up, so no chain of imports comes back to where it started.

Every import counts, a deferred one inside a function too: it still ties the two modules."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import event

from outreach import create_app
from outreach.services.scheduling import call_windows

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("outreach", "webhooks")

# The database layer and the pure rules sit below the services and the entry points.
BELOW_THE_SERVICES = ("outreach.db", "outreach.domain", "outreach.models", "outreach.security")
ABOVE_THEM = ("outreach.services", "outreach.web", "outreach.api", "outreach.cli", "webhooks")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from package import module` ties to the module alone, as the import system sees
            # it once the package has loaded; a name of the package itself ties to the package.
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(base)
    # A package importing its own children to register their routes is how Flask blueprints
    # are built, not a tie back: the children build on the package, never the reverse.
    own_children = name + "." if path.name == "__init__.py" else None
    return {
        target
        for target in found
        if target in known
        and target != name
        and not (own_children and target.startswith(own_children))
    }


def _graph() -> dict[str, set[str]]:
    files = {
        _module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }
    known = set(files)
    return {name: _imports(path, name, known) for name, path in files.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the chain of modules that closes it, or None."""
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        trail.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*trail[trail.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        trail.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_chain_of_imports_comes_back_to_where_it_started() -> None:
    assert _cycle(_graph()) is None


def test_the_layers_below_the_services_import_nothing_above_them() -> None:
    reaching_up = {
        (name, target)
        for name, targets in _graph().items()
        if name.startswith(BELOW_THE_SERVICES)
        for target in targets
        if target.startswith(ABOVE_THEM)
    }
    assert reaching_up == set()


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_application_hangs_the_plan_hook_on_its_sessions(
    test_environ: dict[str, str],
) -> None:
    # The hook moved from the database layer to create_app: the app's own sessions must carry it,
    # or a changed schedule would leave stale call windows in the queue.
    app = create_app()
    sessions = app.extensions["outreach"].sessions
    assert event.contains(sessions, "after_flush", call_windows._drop_moved_plans)
