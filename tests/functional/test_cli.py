"""The `outreach` command as an operator runs it: a real process, a real SQLite file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from outreach.clock import FixedClock
from outreach.models import ApiToken, AuditEvent, User
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import PASSWORD, World, enrol_second_factor
from tests.functional.web import csrf, log_in

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
        OUTREACH_MESSAGING_SERVICE_SID="MG" + "ab" * 16,
    )
    assert result.returncode == 1
    assert "console and simulator" in result.stderr


def test_tick_runs_the_due_work_once_at_the_given_instant(tmp_path: Path) -> None:
    instance = tmp_path / "tick-instance"
    assert run(instance, "demo", "--no-serve").returncode == 0
    at = "2026-12-01T12:00:00+00:00"
    first = run(instance, "tick", "--now", at)
    assert first.returncode == 0, first.stderr
    # The demo's two duties to warn, the held one too: a supervisor must confirm it. Each
    # texts the demo's on-call supervisor, once (S8).
    assert "on call notices sent: 2" in first.stdout
    second = run(instance, "tick", "--now", at)
    assert "on call notices sent: 0" in second.stdout  # once, however often it runs
    assert "duty to warn notified: 0" in second.stdout  # the raise queued each notice
    assert "escalated: 0" in second.stdout


def test_tick_refuses_an_instant_without_an_offset(tmp_path: Path) -> None:
    result = run(tmp_path / "i", "tick", "--now", "2026-12-01T12:00:00")
    assert result.returncode == 2
    assert "offset" in result.stderr


# Account recovery, run in-process on the test database (SQLite and PostgreSQL) with the
# frozen clock, so the web pages and the API can be asked what the command changed.

NEW_PASSWORD = "a fresh passphrase for monday"


def invoke(app: Flask, *args: str, stdin: str | None = None) -> Result:
    with app.app_context():  # the `outreach` entry point pushes one; the bare group does not
        return app.test_cli_runner().invoke(args=list(args), input=stdin)


def _sign_in(client: FlaskClient, username: str, password: str) -> TestResponse:
    data = {"username": username, "password": password, "csrf_token": csrf(client)}
    return client.post("/login", data=data)


def _api(app: Flask, token: str) -> int:
    bearer = {"Authorization": f"Bearer {token}"}
    return app.test_client().get("/api/v1/tasks", headers=bearer).status_code


def _audited(db: Session, action: str, user: User) -> list[dict[str, object]]:
    rows = db.scalars(
        select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == str(user.id))
    )
    return [row.detail for row in rows]


def test_reset_password_shuts_out_the_old_password_and_every_open_session(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    liaison = world.users["liaison"]
    log_in(client, liaison)
    liaison.failed_logins, liaison.locked_until = 4, NOW + timedelta(minutes=10)
    db.commit()

    result = invoke(
        app, "users", "reset-password", liaison.username, "--password-stdin", stdin=NEW_PASSWORD
    )

    assert result.exit_code == 0, result.output
    assert result.output == f"password of {liaison.username} reset; 1 web session(s) ended\n"
    assert client.get("/home").status_code == 302, "the open session no longer signs in"
    fresh = app.test_client()
    assert _sign_in(fresh, liaison.username, PASSWORD).status_code == 401
    signed_in = _sign_in(fresh, liaison.username, NEW_PASSWORD)
    assert signed_in.headers["Location"].endswith("/queue"), "the lockout was lifted too"
    assert fresh.get("/home").status_code == 200
    assert _audited(db, "user.password_reset", liaison) == [{"sessions_ended": 1}]


def test_reset_password_refuses_a_weak_password_and_keeps_the_old_one(
    app: Flask, db: Session, world: World
) -> None:
    liaison = world.users["liaison"]
    result = invoke(
        app, "users", "reset-password", liaison.username, "--password-stdin", stdin="short\n"
    )
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output
    assert "short" not in result.output.replace("at least", "")
    assert _sign_in(app.test_client(), liaison.username, PASSWORD).status_code == 302
    assert _audited(db, "user.password_reset", liaison) == []


def test_reset_second_factor_makes_the_user_enrol_again(
    app: Flask, client: FlaskClient, db: Session, world: World, vault: Vault
) -> None:
    supervisor = world.users["supervisor"]
    log_in(client, supervisor)
    enrol_second_factor(db, vault, supervisor, now=NOW)
    asked = _sign_in(app.test_client(), supervisor.username, PASSWORD)
    assert asked.headers["Location"].endswith("/login/code"), "a code is asked for before"

    result = invoke(app, "users", "reset-second-factor", supervisor.username)

    assert result.exit_code == 0, result.output
    assert "1 web session(s) ended" in result.output
    assert client.get("/home").status_code == 302, "the open session no longer signs in"
    rt = runtime(app)
    rt.settings = replace(rt.settings, env="production")
    fresh = app.test_client()
    landed = _sign_in(fresh, supervisor.username, PASSWORD).headers["Location"]
    assert landed.endswith("/review/compliance")
    queue = fresh.get("/queue")
    assert queue.headers["Location"].endswith("/account/second-factor"), "enrol before all else"
    assert _audited(db, "user.second_factor_reset", supervisor) == [
        {"had_second_factor": True, "sessions_ended": 1}
    ]


def test_revoke_tokens_refuses_every_old_token_and_a_new_one_works(
    app: Flask, db: Session, world: World
) -> None:
    liaison, supervisor = world.users["liaison"], world.users["supervisor"]
    old = [
        tokens.issue_token(db, username=liaison.username, days=90, now=NOW, actor=SYSTEM).token
        for _ in range(2)
    ]
    others = tokens.issue_token(
        db, username=supervisor.username, days=90, now=NOW, actor=SYSTEM
    ).token
    assert [_api(app, token) for token in old] == [200, 200]

    result = invoke(app, "users", "revoke-tokens", liaison.username)

    assert result.exit_code == 0, result.output
    assert result.output == f"2 API token(s) of {liaison.username} revoked\n"
    assert [_api(app, token) for token in old] == [401, 401]
    assert _api(app, others) == 200, "another user's token is not touched"
    issued = invoke(app, "users", "token", liaison.username)
    assert _api(app, issued.stdout.strip()) == 200
    assert _audited(db, "user.tokens_revoked", liaison) == [
        {"revoked": 2, "only_without_expiry": False}
    ]


def _token_row(
    db: Session,
    user: User,
    token_id: str,
    *,
    issued: datetime,
    days: int | None,
    revoked_at: datetime | None = None,
) -> str:
    """Store a token of the user under a chosen row id, as issue_token would; return it."""
    token = f"otk_test-token-{token_id}"
    expires_at = None if days is None else issued + timedelta(days=days)
    db.add(
        ApiToken(
            id=uuid.UUID(token_id),
            user_id=user.id,
            token_hash=tokens.token_digest(token),
            created_at=issued,
            expires_at=expires_at,
            revoked_at=revoked_at,
        )
    )
    db.commit()
    return token


def _revoked_at(db: Session) -> dict[str, datetime | None]:
    return {str(row.id): row.revoked_at for row in db.scalars(select(ApiToken))}


def _token_revocations(db: Session) -> list[tuple[str | None, dict[str, object]]]:
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.token_revoked"))
    return [(row.object_id, row.detail) for row in rows]


def test_revoke_token_refuses_the_leaked_token_and_the_users_other_one_keeps_working(
    app: Flask, db: Session, world: World
) -> None:
    liaison, supervisor = world.users["liaison"], world.users["supervisor"]
    leaked = tokens.issue_token(
        db, username=liaison.username, days=90, now=NOW - DAY * 60, actor=SYSTEM
    )
    new = tokens.issue_token(db, username=liaison.username, days=90, now=NOW, actor=SYSTEM)
    others = tokens.issue_token(db, username=supervisor.username, days=90, now=NOW, actor=SYSTEM)
    listed = invoke(app, "users", "tokens", liaison.username).output.splitlines()
    assert [line.split("  ")[1] for line in listed] == [
        "issued 2026-11-17 20:00 UTC",
        "issued 2026-09-18 20:00 UTC",
    ], "newest first"
    leaked_id = listed[1].split()[0]

    result = invoke(app, "users", "revoke-token", liaison.username, leaked_id)

    assert result.exit_code == 0, result.output
    assert result.output == f"API token {leaked_id} of {liaison.username} revoked\n"
    assert _api(app, leaked.token) == 401
    assert _api(app, new.token) == 200, "the user's other token keeps working"
    assert _api(app, others.token) == 200
    after = invoke(app, "users", "tokens", liaison.username).output.splitlines()
    assert [line.split()[-1] for line in after] == ["live", "revoked"]
    [leaked_row] = db.scalars(select(ApiToken).where(ApiToken.revoked_at.is_not(None)))
    assert str(leaked_row.id).startswith(leaked_id)
    assert _token_revocations(db) == [(str(leaked_row.id), {"user": str(liaison.id)})]


OLD = "0a0a0a0a-0000-4000-8000-000000000001"
NEWER = "0b0b0b0b-0000-4000-8000-000000000001"
GONE = "0c0c0c0c-0000-4000-8000-000000000001"
DAY = timedelta(days=1)


def test_users_tokens_shows_each_token_in_its_state_at_the_clocks_time(
    app: Flask, clock: FixedClock, db: Session, world: World
) -> None:
    liaison = world.users["liaison"]
    old = _token_row(db, liaison, OLD, issued=NOW - DAY * 400, days=None)
    _token_row(db, liaison, NEWER, issued=NOW - timedelta(hours=1), days=1)
    _token_row(db, liaison, GONE, issued=NOW - DAY * 30, days=90, revoked_at=NOW - DAY)
    assert _api(app, old) == 200  # marks it used at the clock's time

    now = invoke(app, "users", "tokens", liaison.username)
    clock.at = NOW + DAY
    tomorrow = invoke(app, "users", "tokens", liaison.username)

    assert now.exit_code == 0, now.output
    assert now.output == (
        "0b0b0b0b  issued 2026-11-17 19:00 UTC  expires 2026-11-18 19:00 UTC  "
        "last used never  live\n"
        "0c0c0c0c  issued 2026-10-18 20:00 UTC  expires 2027-01-16 20:00 UTC  "
        "last used never  revoked\n"
        "0a0a0a0a  issued 2025-10-13 20:00 UTC  expires never (issued before expiry)  "
        "last used 2026-11-17 20:00 UTC  live\n"
    )
    assert [line.split()[-1] for line in tomorrow.output.splitlines()] == [
        "expired",
        "revoked",
        "live",
    ]
    assert old not in now.output
    assert tokens.token_digest(old) not in now.output


def test_users_tokens_says_so_when_there_are_none(app: Flask, world: World) -> None:
    liaison = world.users["liaison"]
    result = invoke(app, "users", "tokens", liaison.username)
    assert result.exit_code == 0, result.output
    assert result.output == f"no API tokens of {liaison.username}\n"


@pytest.mark.parametrize(
    ("token_id", "refusal"),
    [
        ("1a2b3c4d", "2 API tokens of {user} have ids starting that way; give more of the id"),
        ("0f0f0f0f", "no API token of {user} has that id; `users tokens` lists them"),
        ("5e6f7a8b", "API token 5e6f7a8b of {user} was already revoked at 2026-11-16 20:00 UTC"),
        (f"otk_test-token-{OLD}", "a token id is 8 to 32 hex digits, as `users tokens` lists it"),
    ],
    ids=["ambiguous", "unknown", "already-revoked", "the-token-itself"],
)
def test_revoke_token_refuses_in_one_line_and_changes_nothing(
    app: Flask, db: Session, world: World, token_id: str, refusal: str
) -> None:
    liaison = world.users["liaison"]
    for twin in ("1a2b3c4d-0000-4000-8000-00000000000a", "1a2b3c4d-0000-4000-8000-00000000000b"):
        _token_row(db, liaison, twin, issued=NOW, days=90)
    revoked = "5e6f7a8b-0000-4000-8000-000000000001"
    _token_row(db, liaison, revoked, issued=NOW - DAY * 2, days=90, revoked_at=NOW - DAY)
    before = _revoked_at(db)

    result = invoke(app, "users", "revoke-token", liaison.username, token_id)

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), "refused, not crashed"
    assert result.output == f"Error: {refusal.format(user=repr(liaison.username))}\n"
    assert _revoked_at(db) == before
    assert _token_revocations(db) == []


@pytest.mark.parametrize(
    "args",
    [
        ("reset-password", "nobody", "--password-stdin"),
        ("reset-second-factor", "nobody"),
        ("revoke-tokens", "nobody"),
        ("tokens", "nobody"),
        ("revoke-token", "nobody", "1a2b3c4d"),
    ],
)
def test_recovery_for_an_unknown_user_is_one_clear_line(
    app: Flask, db: Session, args: tuple[str, ...]
) -> None:
    result = invoke(app, "users", *args, stdin=NEW_PASSWORD)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), "refused, not crashed"
    assert result.output == "Error: no user named 'nobody'\n"
    assert db.scalars(select(AuditEvent)).all() == []


def test_the_recovery_commands_explain_themselves(app: Flask) -> None:
    listed = invoke(app, "users", "--help").output
    for name in ("reset-password", "reset-second-factor", "revoke-tokens"):
        assert name in listed
    reset = " ".join(invoke(app, "users", "reset-password", "--help").output.split())
    for words in ("--password-stdin", "locked out", "web sessions", "revoke-tokens"):
        assert words in reset


def test_an_operator_recovers_an_account_in_a_real_process(instance: Path) -> None:
    assert run(instance, "init").returncode == 0
    added = run(instance, "users", "add", "kim.ops", "--role", "admin")
    assert added.returncode == 0, added.stderr  # an account for API tokens only
    assert run(instance, "users", "token", "kim.ops").returncode == 0
    reset = run(
        instance, "users", "reset-password", "kim.ops", "--password-stdin", stdin=NEW_PASSWORD
    )
    assert reset.returncode == 0, reset.stderr
    assert NEW_PASSWORD not in reset.stdout + reset.stderr
    revoked = run(instance, "users", "revoke-tokens", "kim.ops")
    assert revoked.stdout == "1 API token(s) of kim.ops revoked\n"
    unknown = run(instance, "users", "reset-second-factor", "nobody")
    assert unknown.returncode == 1
    assert unknown.stderr == "Error: no user named 'nobody'\n"
    verified = run(instance, "audit", "verify")  # created, token issued, reset, revoked
    assert "audit chain intact: 4 events" in verified.stdout
