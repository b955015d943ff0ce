"""The suite gives the same answer on every CI run, and a hung test fails instead of hanging.

Issue 21 finding 13: a fresh clone's `make test` went red on a draw of hypothesis that no later
run repeated. On CI (CI=true) hypothesis draws the same examples every run; locally it keeps
drawing new ones. A test that hangs is stopped by pytest-timeout and reported as failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import hypothesis_profile


def test_ci_runs_hypothesis_derandomised_without_a_database_and_locally_randomised() -> None:
    assert hypothesis_profile({"CI": "true"}) == "ci"
    assert hypothesis_profile({"CI": "TRUE"}) == "ci"
    assert hypothesis_profile({}) == "dev"
    assert hypothesis_profile({"CI": "false"}) == "dev"
    assert hypothesis_profile({"CI": "true", "HYPOTHESIS_PROFILE": "dev"}) == "dev"
    ci = hypothesis.settings.get_profile("ci")
    assert ci.derandomize
    assert ci.database is None
    assert ci.deadline is None
    assert ci.print_blob
    assert hypothesis.HealthCheck.too_slow in ci.suppress_health_check  # timing is not a result
    dev = hypothesis.settings.get_profile("dev")
    assert not dev.derandomize
    assert dev.database is not None, "a local failure is replayed first by the next run"


def test_this_run_uses_the_profile_its_environment_asks_for() -> None:
    expected = hypothesis.settings.get_profile(hypothesis_profile(dict(os.environ)))
    assert hypothesis.settings.default.derandomize == expected.derandomize
    assert hypothesis.settings.default.database == expected.database


def test_under_the_ci_profile_two_runs_draw_the_same_examples() -> None:
    def draws() -> list[str]:
        seen: list[str] = []

        @hypothesis.settings(hypothesis.settings.get_profile("ci"), max_examples=25)
        @given(st.text())
        def record(value: str) -> None:
            seen.append(value)

        record()
        return seen

    first = draws()
    assert len(first) > 1
    assert draws() == first


def test_a_test_that_hangs_fails_with_a_timeout(tmp_path: Path) -> None:
    hung = tmp_path / "test_hung.py"
    hung.write_text(
        textwrap.dedent(
            """
            import threading

            def test_waits_for_ever():
                threading.Event().wait()
            """
        )
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\ntimeout = 2\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(hung)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Timeout" in run.stdout


def test_the_suite_has_a_per_test_timeout(request: pytest.FixtureRequest) -> None:
    # Well above the slowest test (93 s on two busy shared cores): a hang, never a slow run.
    assert request.config.pluginmanager.hasplugin("timeout")
    assert float(request.config.getini("timeout")) >= 120
