"""The `outreach` command as an operator runs it: a real process, a real SQLite file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

OUTREACH = [sys.executable, "-m", "outreach"]


def run(
    instance: Path, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "TWILIO_"))}
    environ.update({"OUTREACH_INSTANCE_PATH": str(instance), **env})
    return subprocess.run(
        [*OUTREACH, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    return tmp_path / "instance"


def test_a_malformed_keyring_stops_start_up_with_one_line(instance: Path) -> None:
    result = run(instance, "init", OUTREACH_DATA_KEYS="k1:not-base64!")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "OUTREACH_DATA_KEYS" in result.stderr
    assert "Traceback" not in result.stderr
    assert "not-base64" not in result.stderr


def test_an_operator_creates_the_database_a_user_and_a_token(instance: Path) -> None:
    assert run(instance, "init").returncode == 0
    added = run(
        instance,
        "users",
        "add",
        "sam.ops",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long admin passphrase\n",
    )
    assert added.returncode == 0, added.stderr
    token = run(instance, "users", "token", "sam.ops")
    assert token.returncode == 0
    assert token.stdout.strip().startswith("otk_")
    again = run(instance, "users", "token", "sam.ops")
    assert again.stdout != token.stdout  # each call makes a new token; none is shown twice


def test_a_weak_password_is_refused_with_the_rule(instance: Path) -> None:
    run(instance, "init")
    result = run(
        instance, "users", "add", "sam", "--role", "admin", "--password-stdin", stdin="short\n"
    )
    assert result.returncode == 1
    assert "at least 12 characters" in result.stderr


def test_help_lists_the_commands(instance: Path) -> None:
    result = run(instance, "--help")
    assert result.returncode == 0
    commands = ("init", "demo", "serve", "users", "plan", "lint-scripts", "audit", "keys", "purge")
    for name in commands:
        assert name in result.stdout


def test_plan_prints_the_demo_windows_as_json(tmp_path: Path) -> None:
    import json

    instance = tmp_path / "plan-instance"
    assert run(instance, "demo", "--no-serve").returncode == 0
    result = run(instance, "plan", "--from", "2026-11-23T12:00:00+00:00", "--days", "7", "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["from"] == "2026-11-23T12:00:00+00:00"
    assert plan["to"] == "2026-11-30T12:00:00+00:00"
    kinds = {w["kind"] for w in plan["windows"]}
    assert "group" in kinds
    for window in plan["windows"]:
        assert plan["from"] <= window["start"] < window["end"]
        assert set(window) <= {
            "task_id",
            "contact_id",
            "start",
            "end",
            "kind",
            "group_id",
            "session_date",
            "participant_present",
        }
    assert not re.search(r"\+1\d{10}|(404|678|770|303|720|312)55501\d\d", result.stdout)


def test_plan_refuses_a_time_without_an_offset(tmp_path: Path) -> None:
    result = run(tmp_path / "i", "plan", "--from", "2026-11-23T12:00:00")
    assert result.returncode == 2
    assert "offset" in result.stderr


def test_the_outbox_is_refused_with_the_twilio_channel(tmp_path: Path) -> None:
    result = run(
        tmp_path / "i",
        "outbox",
        OUTREACH_CHANNEL="twilio",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN="t" * 32,
    )
    assert result.returncode == 1
    assert "console and simulator" in result.stderr


def test_tick_runs_the_due_work_once_at_the_given_instant(tmp_path: Path) -> None:
    instance = tmp_path / "tick-instance"
    assert run(instance, "demo", "--no-serve").returncode == 0
    at = "2026-12-01T12:00:00+00:00"
    first = run(instance, "tick", "--now", at)
    assert first.returncode == 0, first.stderr
    assert "duty to warn notified: 1" in first.stdout
    second = run(instance, "tick", "--now", at)
    assert "duty to warn notified: 0" in second.stdout  # once, however often it runs
    assert "escalated: 0" in second.stdout


def test_tick_refuses_an_instant_without_an_offset(tmp_path: Path) -> None:
    result = run(tmp_path / "i", "tick", "--now", "2026-12-01T12:00:00")
    assert result.returncode == 2
    assert "offset" in result.stderr
