"""Sessions live on the server: fresh at each sign-in, ended for good, and referenced only.

Each test names the ASVS 5.0 requirements it proves; docs/security/asvs.md cites them.
"""

from __future__ import annotations

import base64
import secrets

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import WebSession
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import admin, auth
from outreach.services.staff.tokens import issue_token
from outreach.web import SessionCookies
from tests.conftest import NOW
from tests.factories import PASSWORD, World
from tests.functional.web import csrf, log_in, open_tasks, post

COOKIE = "outreach"  # on plain http; behind https it is __Host-outreach


def _sid(client: FlaskClient) -> str:
    with client.session_transaction() as cookie_session:
        return str(cookie_session["sid"])


def _cookie(client: FlaskClient) -> str:
    found = client.get_cookie(COOKIE)
    assert found is not None
    return found.value


def test_signing_in_again_ends_the_session_the_browser_had(
    client: FlaskClient, db: Session, world: World
) -> None:
    """ASVS 7.2.4: a new token at every sign-in, and the one before it stops working."""
    log_in(client, world.users["liaison"])
    first = _sid(client)
    log_in(client, world.users["liaison"])
    second = _sid(client)
    assert second != first
    assert auth.session_user(db, first, now=NOW) is None
    assert auth.session_user(db, second, now=NOW) is not None


def test_a_signed_out_session_cannot_be_replayed(app: Flask, world: World) -> None:
    """ASVS 7.4.1: signing out ends the session on the server, not only in the browser."""
    client = app.test_client()
    log_in(client, world.users["liaison"])
    kept = _cookie(client)
    response = client.post("/logout", data={"csrf_token": csrf(client, "/home")})
    assert response.status_code == 302
    thief = app.test_client()
    thief.set_cookie(COOKIE, kept)
    assert thief.get("/home").status_code == 302, "the copied cookie no longer signs in"


def test_signing_out_asks_the_browser_to_clear_what_it_kept(
    client: FlaskClient, world: World
) -> None:
    """ASVS 14.3.1: Clear-Site-Data on sign-out (pages are never cached: no-store)."""
    log_in(client, world.users["liaison"])
    response = client.post("/logout", data={"csrf_token": csrf(client, "/home")})
    cleared = response.headers["Clear-Site-Data"]
    assert '"cache"' in cleared
    assert '"storage"' in cleared


def test_an_unknown_or_tampered_session_is_refused(app: Flask, world: World) -> None:
    """ASVS 7.2.1: the server checks every token against its own session table."""
    made_up = app.test_client()
    with made_up.session_transaction() as cookie_session:
        cookie_session["sid"] = secrets.token_urlsafe(32)
    assert made_up.get("/home").status_code == 302
    tampered = app.test_client()
    log_in(tampered, world.users["liaison"])
    value = _cookie(tampered)
    tampered.set_cookie(COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert tampered.get("/home").status_code == 302


def test_the_cookie_is_signed_with_hmac_sha256_not_flasks_sha1(
    app: Flask, client: FlaskClient, world: World
) -> None:
    """ASVS 11.4.1: the session cookie's MAC is HMAC-SHA256; a SHA-1-signed one is refused."""
    log_in(client, world.users["liaison"])
    payload = {"sid": _sid(client)}
    sha1 = SecureCookieSessionInterface().get_signing_serializer(app)
    sha256 = SessionCookies().get_signing_serializer(app)
    assert sha1 is not None
    assert sha256 is not None
    legacy = app.test_client()
    legacy.set_cookie(COOKIE, sha1.dumps(payload))
    assert legacy.get("/home").status_code == 302
    current = app.test_client()
    current.set_cookie(COOKIE, sha256.dumps(payload))
    assert current.get("/home").status_code == 200


def test_each_sign_in_gets_a_fresh_random_token_of_256_bits_kept_only_as_a_hash(
    db: Session, world: World
) -> None:
    """ASVS 7.2.2, 7.2.3: dynamically generated reference tokens from the CSPRNG."""
    username = world.users["liaison"].username
    tokens = {auth.log_in(db, username=username, password=PASSWORD, now=NOW) for _ in range(3)}
    assert len(tokens) == 3
    for token in tokens:
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 256
    stored = set(db.scalars(select(WebSession.token_hash)))
    assert not tokens & stored, "only hashes are stored"


def test_disabling_an_account_ends_its_sessions_and_tokens_at_once(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    """ASVS 7.4.2 (and 8.3.1): the next request of a disabled account is refused."""
    liaison = world.users["liaison"]
    log_in(client, liaison)
    token = issue_token(db, username=liaison.username, days=90, now=NOW, actor=SYSTEM).token
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/home").status_code == 200
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 200
    admin.disable_user(db, actor=world.actor("admin"), user_id=liaison.id, now=NOW)
    assert client.get("/home").status_code == 302
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 401


def test_an_account_may_hold_several_sessions_each_ending_on_its_own(
    app: Flask, world: World
) -> None:
    """ASVS 7.1.2: concurrent sessions are allowed, as docs/security/controls.md says."""
    desk, laptop = app.test_client(), app.test_client()
    log_in(desk, world.users["supervisor"])
    log_in(laptop, world.users["supervisor"])
    assert desk.get("/home").status_code == laptop.get("/home").status_code == 200
    desk.post("/logout", data={"csrf_token": csrf(desk, "/home")})
    assert desk.get("/home").status_code == 302
    assert laptop.get("/home").status_code == 200


def test_the_cookie_holds_references_only_even_after_contact_data_was_shown(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    """ASVS 14.3.3: browser storage holds the session reference and the CSRF token, no data."""
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    post(client, f"/tasks/{task.id}/claim")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "+14045550123" in page, "the page did show the contact's number"
    serializer = SessionCookies().get_signing_serializer(app)
    assert serializer is not None
    stored = serializer.loads(_cookie(client))
    assert set(stored) <= {"sid", "csrf", "_flashes"}
    assert "555" not in str(stored)
    assert "Avery" not in str(stored)
