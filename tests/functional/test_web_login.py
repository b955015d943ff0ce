"""The login page: sessions held on the server, expiring, throttled, and safe headers."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.clock import FixedClock
from outreach.models import AuditEvent
from outreach.security.passwords import verify_password
from tests.factories import PASSWORD, World
from tests.functional.web import log_in, post


def _csrf(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def _log_in(client: FlaskClient, username: str, password: str = PASSWORD) -> object:
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": _csrf(client)}
    )


def test_the_login_page_is_served_with_protective_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    assert "Sign in" in response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_user_signs_in_and_out(client: FlaskClient, world: World) -> None:
    username = world.users["liaison"].username
    response = _log_in(client, username)
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert username in client.get("/home").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": _csrf(client, "/home")})
    assert client.get("/home").status_code == 302


def test_a_wrong_password_gets_the_same_answer_as_an_unknown_user(
    client: FlaskClient, world: World
) -> None:
    wrong = _log_in(client, world.users["liaison"].username, "not the password at all")
    unknown = _log_in(client, "nobody-here")
    assert wrong.status_code == unknown.status_code == 401  # type: ignore[attr-defined]
    assert wrong.get_data(as_text=True) == unknown.get_data(as_text=True)  # type: ignore[attr-defined]


def test_five_failures_lock_the_account_even_against_the_right_password(
    client: FlaskClient, world: World, db: Session
) -> None:
    username = world.users["liaison"].username
    for _ in range(5):
        _log_in(client, username, "not the password at all")
    assert _log_in(client, username).status_code == 401  # type: ignore[attr-defined]
    failures = db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed"))
    assert len(list(failures)) == 6


def test_an_idle_session_expires_after_fifteen_minutes(
    client: FlaskClient, world: World, clock: FixedClock
) -> None:
    _log_in(client, world.users["liaison"].username)
    clock.advance(minutes=14)
    assert client.get("/home").status_code == 200
    clock.advance(minutes=16)
    assert client.get("/home").status_code == 302


def test_a_session_ends_after_eight_hours_however_busy(
    client: FlaskClient, world: World, clock: FixedClock
) -> None:
    _log_in(client, world.users["liaison"].username)
    for _ in range(33):
        clock.advance(minutes=14, seconds=50)
        response = client.get("/home")
    assert response.status_code == 302


@pytest.mark.parametrize("path", ["/login", "/logout"])
def test_a_form_without_its_csrf_token_is_refused(
    client: FlaskClient, world: World, path: str
) -> None:
    response = client.post(
        path, data={"username": world.users["liaison"].username, "password": PASSWORD}
    )
    assert response.status_code == 400


def test_the_health_check_reports_the_database(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_an_unknown_page_reveals_nothing(client: FlaskClient) -> None:
    response = client.get("/contacts/+14045550123")
    assert response.status_code == 404
    assert "4045550123" not in response.get_data(as_text=True)


def test_a_user_changes_their_password_and_every_other_session_ends(
    app: Flask, world: World, db: Session
) -> None:
    # ASVS 6.2.2, 6.2.3 and 7.4.3: the current password first; a session elsewhere is shut out.
    user = world.users["liaison"]
    here, elsewhere = app.test_client(), app.test_client()
    log_in(here, user)
    log_in(elsewhere, user)
    new = "a new passphrase for the liaison"
    wrong = post(here, "/account/password", {"current": "not it", "new": new, "repeat": new})
    assert wrong.status_code == 403  # type: ignore[attr-defined]
    weak = post(here, "/account/password", {"current": PASSWORD, "new": "short", "repeat": "short"})
    assert weak.status_code == 422  # type: ignore[attr-defined]
    done = post(here, "/account/password", {"current": PASSWORD, "new": new, "repeat": new})
    assert done.status_code == 302  # type: ignore[attr-defined]
    assert here.get("/home").status_code == 200
    assert elsewhere.get("/home").status_code == 302  # signed out: back to the login page
    db.refresh(user)
    assert verify_password(user.password_hash, new)
    assert not verify_password(user.password_hash, PASSWORD)
    changed = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.password_changed")
    ).all()
    assert len(changed) == 1
