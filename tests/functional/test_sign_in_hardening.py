"""Sign-in hardening: the second step obeys the lockout and the address throttle, and every
answer to a password costs the same hashing work (issue 21 finding 8; ASVS 6.3.1, 6.1.1).

An attacker who learnt a liaison's password keeps guessing her codes; another hammers the
form from one address; a third times the answers to learn which accounts exist or are locked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.clock import FixedClock
from outreach.domain.vocabulary import Role
from outreach.models import User
from outreach.security import passwords, totp
from outreach.security.vault import Vault
from outreach.services.errors import Forbidden
from outreach.services.staff import auth
from tests.conftest import NOW
from tests.factories import PASSWORD, World, enrol_second_factor, make_user
from tests.functional.web import csrf

ELSEWHERE = {"REMOTE_ADDR": "192.0.2.44"}


def _password_step(client: FlaskClient, username: str, password: str = PASSWORD, **env: str) -> int:
    data = {"username": username, "password": password, "csrf_token": csrf(client)}
    return client.post("/login", data=data, environ_base=env).status_code


def _code_step(client: FlaskClient, code: str) -> int:
    data = {"code": code, "csrf_token": csrf(client, "/login/code")}
    return client.post("/login/code", data=data).status_code


@pytest.fixture
def enrolled(db: Session, vault: Vault, world: World, clock: FixedClock) -> tuple[User, bytes]:
    """The liaison has an authenticator app; a minute later she signs in."""
    user = world.users["liaison"]
    secret = enrol_second_factor(db, vault, user, now=NOW)
    clock.advance(seconds=60)
    return user, secret


def _right_code(secret: bytes, clock: FixedClock) -> str:
    return totp.code_at(secret, totp.step_of(clock.now()))


def test_the_right_code_is_refused_once_the_account_locked_after_the_password_step(
    app: Flask, client: FlaskClient, enrolled: tuple[User, bytes], clock: FixedClock
) -> None:
    user, secret = enrolled
    assert _password_step(client, user.username) == 302  # her password: the code is next
    attacker = app.test_client()
    for _ in range(auth.MAX_FAILURES):
        assert _password_step(attacker, user.username, "wrong guess", **ELSEWHERE) == 401
    assert _code_step(client, _right_code(secret, clock)) == 401
    assert client.get("/home").status_code == 302, "no session while the account is locked"


def test_the_right_code_is_refused_from_a_throttled_address(
    app: Flask, client: FlaskClient, enrolled: tuple[User, bytes], clock: FixedClock
) -> None:
    user, secret = enrolled
    assert _password_step(client, user.username) == 302
    same_address = app.test_client()
    for n in range(auth.CLIENT_FAILURES):
        assert _password_step(same_address, f"nobody-{n}", "wrong") == 401
    assert _code_step(client, _right_code(secret, clock)) == 401


def test_wrong_codes_count_toward_the_address_limit(
    app: Flask, db: Session, vault: Vault, world: World, clock: FixedClock
) -> None:
    """Four wrong codes on each of five accounts: no account locks, but the address does."""
    per_account = auth.MAX_FAILURES - 1
    accounts = -(-auth.CLIENT_FAILURES // per_account)
    for _ in range(accounts):
        user = make_user(db, Role.LIAISON, [world.home], now=NOW)
        enrol_second_factor(db, vault, user, now=NOW)
        client = app.test_client()
        assert _password_step(client, user.username) == 302
        for _ in range(per_account):
            assert _code_step(client, "000000") == 401
    supervisor = world.users["supervisor"].username
    assert _password_step(app.test_client(), supervisor) == 401
    assert _password_step(app.test_client(), supervisor, **ELSEWHERE) == 302


class CountingHasher:
    """The real argon2 hasher, counting how often it verifies a password."""

    def __init__(self, real: Any) -> None:
        self.real, self.verified = real, 0

    def verify(self, stored: str, password: str) -> bool:
        self.verified += 1
        return bool(self.real.verify(stored, password))

    def hash(self, password: str) -> str:
        return str(self.real.hash(password))

    def check_needs_rehash(self, stored: str) -> bool:
        return bool(self.real.check_needs_rehash(stored))


def _locked(db: Session, world: World) -> str:
    user = world.users["supervisor"]
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(Forbidden):
            auth.authenticate(db, username=user.username, password="wrong", now=NOW)
    return user.username


def _disabled(db: Session, world: World) -> str:
    user = world.users["outsider"]
    user.active = False
    db.commit()
    return user.username


def _throttled(db: Session, world: World) -> str:
    for n in range(auth.CLIENT_FAILURES):
        with pytest.raises(Forbidden):
            auth.authenticate(db, username=f"nobody-{n}", password="x", now=NOW, address="ours")
    return world.users["liaison"].username


ACCOUNTS: dict[str, Callable[[Session, World], str]] = {
    "open": lambda db, world: world.users["liaison"].username,
    "unknown": lambda db, world: "nobody-at-all",
    "disabled": _disabled,
    "locked": _locked,
    "address throttled": _throttled,
}


@pytest.mark.parametrize("password", [PASSWORD, "a wrong password"])
@pytest.mark.parametrize("account", sorted(ACCOUNTS))
def test_every_answer_to_a_password_costs_one_hash(
    db: Session, world: World, monkeypatch: pytest.MonkeyPatch, account: str, password: str
) -> None:
    """Timing tells nothing: an unknown, disabled, locked or throttled account costs exactly
    the hashing work of an open one (counted, not timed)."""
    username = ACCOUNTS[account](db, world)
    counting = CountingHasher(passwords._HASHER)
    monkeypatch.setattr(passwords, "_HASHER", counting)
    with contextlib.suppress(Forbidden):
        auth.authenticate(db, username=username, password=password, now=NOW, address="ours")
    assert counting.verified == 1
