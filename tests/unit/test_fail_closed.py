"""Fail closed (issue 23 item 5): no service takes the system actor by default. The system
may do everything (services/staff/access.py), so a forgotten `actor=` must be an error at the call,
never a call made with every permission."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "outreach" / "services"


def _defaulted_actors(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        arguments = node.args
        positional = arguments.posonlyargs + arguments.args
        defaulted = positional[len(positional) - len(arguments.defaults) :]
        keyword = [
            a
            for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
            if d is not None
        ]
        if any(a.arg == "actor" for a in [*defaulted, *keyword]):
            found.append(f"{path.name}:{node.lineno} {node.name}")
    return found


def test_no_service_takes_an_actor_by_default() -> None:
    found = [hit for path in sorted(SERVICES.rglob("*.py")) for hit in _defaulted_actors(path)]
    assert found == []


def test_the_check_sees_a_defaulted_actor(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f(session, *, actor=SYSTEM): ...\ndef g(session, actor=None): ...\n")
    assert _defaulted_actors(sample) == ["sample.py:1 f", "sample.py:2 g"]
