"""bench/soak starts the process set docs/operations.md documents, read from the systemd units
themselves (issue 21: "bench/soak starts exactly this process set, so the recipe is the tested
one"): only the install path and the bind address differ."""

from __future__ import annotations

import shlex

from bench import soak_processes
from bench.webhook_harness import BIN


def _exec_start(unit: str) -> list[str]:
    return shlex.split(soak_processes.unit_setting(unit, "ExecStart"))


def test_the_web_workers_run_with_the_web_units_own_flags() -> None:
    unit = _exec_start("outreach-web.service")
    started = soak_processes.web_command(8123)

    assert started[0] == str(BIN / "gunicorn")
    bind = unit.index("--bind")
    expected = [*unit[1:bind], "--bind", "127.0.0.1:8123", *unit[bind + 2 : -1]]
    assert started[1 : len(expected) + 1] == expected
    assert started[-1] == unit[-1] == "outreach:create_app()"
    assert "--workers" in started


def test_the_schedulers_run_the_scheduler_units_command() -> None:
    unit = _exec_start("outreach-scheduler.service")

    assert soak_processes.scheduler_command() == [str(BIN / "outreach"), *unit[1:]]
    assert unit[1:] == ["scheduler"]


def test_a_dead_scheduler_is_started_again_after_the_units_restart_delay() -> None:
    assert soak_processes.unit_setting("outreach-scheduler.service", "Restart") == "always"
    assert float(soak_processes.unit_setting("outreach-scheduler.service", "RestartSec")) > 0
