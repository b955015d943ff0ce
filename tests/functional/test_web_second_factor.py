"""The TOTP second factor: enrolment, sign-in with a code, no replay, production requires it."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlparse

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.clock import FixedClock
from outreach.models import User
from outreach.security import totp
from tests.factories import PASSWORD, World
from tests.functional.web import csrf, log_in, post


def _enrol(client: FlaskClient, clock: FixedClock, current: str = "") -> bytes:
    proof = {"password": PASSWORD, "current_code": current}
    page = post(client, "/account/second-factor", proof).get_data(as_text=True)  # type: ignore[attr-defined]
    uri = re.search(r"otpauth://[^<\"]+", page)
    assert uri, "the page shows the otpauth URI as text"
    raw = parse_qs(urlparse(uri.group(0).replace("&amp;", "&")).query)["secret"][0]
    secret = base64.b32decode(raw + "=" * (-len(raw) % 8))
    code = totp.code_at(secret, totp.step_of(clock.now()))
    assert post(client, "/account/second-factor", {"code": code}).status_code == 302  # type: ignore[attr-defined]
    return secret


def _password_step(client: FlaskClient, user: User) -> object:
    data = {"username": user.username, "password": PASSWORD, "csrf_token": csrf(client)}
    return client.post("/login", data=data)


def _code_step(client: FlaskClient, code: str) -> object:
    return client.post(
        "/login/code", data={"code": code, "csrf_token": csrf(client, "/login/code")}
    )


def test_after_enrolment_sign_in_takes_a_fresh_code_and_refuses_its_replay(
    app: Flask, client: FlaskClient, db: Session, world: World, clock: FixedClock
) -> None:
    user = world.users["liaison"]
    log_in(client, user)
    secret = _enrol(client, clock)
    db.expire_all()
    assert db.get(User, user.id).totp_secret_sealed is not None  # type: ignore[union-attr]
    clock.advance(seconds=60)
    fresh = app.test_client()
    assert _password_step(fresh, user).headers["Location"].endswith("/login/code")  # type: ignore[attr-defined]
    assert fresh.get("/home").status_code == 302, "no session before the code"
    code = totp.code_at(secret, totp.step_of(clock.now()))
    assert _code_step(fresh, code).status_code == 302  # type: ignore[attr-defined]
    assert fresh.get("/home").status_code == 200
    again = app.test_client()
    _password_step(again, user)
    assert _code_step(again, code).status_code == 401  # type: ignore[attr-defined]


def test_a_wrong_code_opens_no_session(
    app: Flask, client: FlaskClient, world: World, clock: FixedClock
) -> None:
    user = world.users["supervisor"]
    log_in(client, user)
    _enrol(client, clock)
    fresh = app.test_client()
    _password_step(fresh, user)
    assert _code_step(fresh, "000000").status_code == 401  # type: ignore[attr-defined]
    assert fresh.get("/home").status_code == 302


def test_in_production_a_liaison_without_a_second_factor_can_only_enrol(
    app: Flask, client: FlaskClient, world: World, monkeypatch: object
) -> None:
    from dataclasses import replace

    from outreach.runtime import runtime

    rt = runtime(app)
    rt.settings = replace(rt.settings, env="production")
    log_in(client, world.users["liaison"])
    queue = client.get("/queue")
    assert queue.status_code == 302
    assert queue.headers["Location"].endswith("/account/second-factor")
    assert client.get("/account/second-factor").status_code == 200


def test_setting_up_or_replacing_a_second_factor_needs_the_password_and_the_current_code(
    app: Flask, client: FlaskClient, world: World, db: Session
) -> None:
    # ASVS 7.5.1: a screen left signed in is not enough to move a second factor to a new phone.
    clock = app.extensions["outreach"].clock
    user = world.users["liaison"]
    log_in(client, user)
    elsewhere = app.test_client()
    log_in(elsewhere, user)
    wrong = post(client, "/account/second-factor", {"password": "not the password"})
    assert wrong.status_code == 403  # type: ignore[attr-defined]
    first = _enrol(client, clock)
    clock.advance(seconds=60)
    no_code = post(client, "/account/second-factor", {"password": PASSWORD})
    assert no_code.status_code == 403  # type: ignore[attr-defined]
    db.refresh(user)
    assert second_factor_seed(db, app, user) == first
    clock.advance(seconds=60)
    current = totp.code_at(first, totp.step_of(clock.now()))
    second = _enrol(client, clock, current=current)
    db.refresh(user)
    assert second != first
    assert elsewhere.get("/home").status_code == 302  # ASVS 7.4.3: signed out elsewhere
    assert client.get("/home").status_code == 200
    assert second_factor_seed(db, app, user) == second


def second_factor_seed(db: Session, app: Flask, user: User) -> bytes:
    keyring = app.extensions["outreach"].vault.keyring
    assert user.totp_secret_sealed is not None
    return keyring.unwrap(user.totp_secret_sealed, f"app_user.totp.{user.id}")
