"""API tokens expire: refused from their expiry on, exactly like a revoked or unknown token.

The lifetime comes from OUTREACH_API_TOKEN_DAYS or `users token --days`; tokens issued before
migration 0009 have none and keep working until revoked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.clock import FixedClock
from outreach.logs import SECURITY
from outreach.models import ApiToken, User
from outreach.runtime import runtime
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import World
from tests.functional.web import csrf, log_in


def _tasks(app: Flask, token: str) -> tuple[int, object, str | None]:
    """Status, JSON body and WWW-Authenticate of one API request with this bearer token."""
    response = app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.get_json(), response.headers.get("WWW-Authenticate")


def _invoke(app: Flask, *args: str) -> Result:
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def _stored(db: Session, user: User) -> list[ApiToken]:
    return list(db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)))


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def security_log(app: Flask) -> Iterator[list[str]]:
    handler, logger = _Kept(), logging.getLogger(SECURITY)
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_a_token_works_until_its_expiry_and_is_refused_from_that_instant(
    app: Flask, clock: FixedClock, db: Session, world: World
) -> None:
    issued = tokens.issue_token(
        db, username=world.users["liaison"].username, days=30, now=NOW, actor=SYSTEM
    )
    assert issued.expires_at == NOW + timedelta(days=30)

    clock.at = issued.expires_at - timedelta(seconds=1)
    assert _tasks(app, issued.token)[0] == 200
    clock.at = issued.expires_at
    assert _tasks(app, issued.token)[0] == 401
    clock.at = issued.expires_at + timedelta(days=400)
    assert _tasks(app, issued.token)[0] == 401


def test_an_expired_token_is_refused_and_logged_exactly_like_a_revoked_or_unknown_one(
    app: Flask, clock: FixedClock, db: Session, world: World, security_log: list[str]
) -> None:
    liaison, supervisor = world.users["liaison"], world.users["supervisor"]
    expired = tokens.issue_token(db, username=liaison.username, days=1, now=NOW, actor=SYSTEM).token
    revoked = tokens.issue_token(
        db, username=supervisor.username, days=90, now=NOW, actor=SYSTEM
    ).token
    tokens.revoke_tokens(db, username=supervisor.username, now=NOW, actor=SYSTEM)
    clock.at = NOW + timedelta(days=1)

    answers = [_tasks(app, token) for token in (expired, revoked, "otk_never-issued")]

    assert answers[0][0] == 401
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][1] == {"error": "a valid bearer token is required"}
    refused = [line for line in security_log if line.startswith("api.token_refused")]
    assert refused == ["api.token_refused bearer=True path=/api/v1/tasks"] * 3
    assert not any(expired in line for line in security_log)


def test_a_token_from_before_expiry_existed_works_until_it_is_revoked(
    app: Flask, clock: FixedClock, db: Session, world: World
) -> None:
    liaison = world.users["liaison"]
    token = tokens.issue_token(db, username=liaison.username, days=1, now=NOW, actor=SYSTEM).token
    [row] = _stored(db, liaison)
    row.expires_at = None  # what migration 0009 leaves on every token issued before it
    db.commit()

    clock.at = NOW + timedelta(days=3 * 366)
    assert _tasks(app, token)[0] == 200
    db.refresh(row)
    assert row.last_used_at == clock.at
    tokens.revoke_tokens(db, username=liaison.username, now=clock.at, actor=SYSTEM)
    assert _tasks(app, token)[0] == 401


def test_users_token_lasts_as_long_as_the_setting_says_and_prints_the_token_alone(
    app: Flask, db: Session, world: World
) -> None:
    rt = runtime(app)
    rt.settings = replace(rt.settings, api_token_days=30)
    liaison = world.users["liaison"]

    result = _invoke(app, "users", "token", liaison.username)

    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout == f"{token}\n"
    assert token.startswith(tokens.TOKEN_PREFIX)
    assert result.stderr == (
        f"API token of {liaison.username} expires 2026-12-17 20:00 UTC (30 days)\n"
    )
    assert token not in result.stderr
    assert [t.expires_at for t in _stored(db, liaison)] == [NOW + timedelta(days=30)]
    assert _tasks(app, token)[0] == 200


def test_users_token_days_overrides_the_setting(app: Flask, db: Session, world: World) -> None:
    rt = runtime(app)
    rt.settings = replace(rt.settings, api_token_days=30)
    liaison = world.users["liaison"]

    result = _invoke(app, "users", "token", liaison.username, "--days", "7")

    assert result.exit_code == 0, result.output
    assert "expires 2026-11-24 20:00 UTC (7 days)" in result.stderr
    assert [t.expires_at for t in _stored(db, liaison)] == [NOW + timedelta(days=7)]


@pytest.mark.parametrize("days", ["0", "-3", "367", "seven", "1.5"])
def test_users_token_refuses_bad_days_and_issues_nothing(
    app: Flask, db: Session, world: World, days: str
) -> None:
    liaison = world.users["liaison"]

    result = _invoke(app, "users", "token", liaison.username, "--days", days)

    assert result.exit_code == 2
    assert "Invalid value for '--days'" in result.stderr
    assert result.stderr.count("Error:") == 1
    assert result.stdout == ""
    assert _stored(db, liaison) == []


def test_the_admin_page_shows_when_a_new_token_expires(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    rt = runtime(app)
    rt.settings = replace(rt.settings, api_token_days=45)
    liaison = world.users["liaison"]
    log_in(client, world.users["admin"])

    response = client.post(
        f"/admin/users/{liaison.id}/token", data={"csrf_token": csrf(client, "/admin/users")}
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "It works until 01 Jan 2027 20:00 UTC" in page
    [row] = _stored(db, liaison)
    assert row.expires_at == NOW + timedelta(days=45)
    shown = re.search(r'<code class="uri">([^<]+)</code>', page)
    assert shown is not None
    assert _tasks(app, shown.group(1))[0] == 200
