"""Passwords as people type them, no default accounts, and no way in but the documented ones.

Each test names the ASVS 5.0 requirements it proves; docs/security/asvs.md cites them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from outreach import create_app
from outreach.clock import FixedClock
from outreach.models import User
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import users
from outreach.services.staff.auth import CLIENT_FAILURES
from outreach.settings import Settings, load_settings
from tests.conftest import NOW
from tests.factories import PASSWORD, World
from tests.functional.web import csrf

# The pathways of docs/security/controls.md ("Ways in"), by the prefix of their routes.
API, WEBHOOKS = "/api/v1/", "/webhooks/twilio/"
FALLBACKS = {"/webhooks/twilio/voice/fallback", "/webhooks/twilio/sms/fallback"}
OPEN_API_ROUTES = {"/api/v1/openapi.json"}


def _sign_in(client: FlaskClient, username: str, password: str) -> int:
    data = {"username": username, "password": password, "csrf_token": csrf(client)}
    return client.post("/login", data=data).status_code


def _add(db: Session, world: World, username: str, password: str) -> None:
    users.add_user(
        db,
        username=username,
        role="liaison",
        password=password,
        program_keys=[world.home.key],
        now=NOW,
        actor=SYSTEM,
    )


@pytest.mark.parametrize(
    "password",
    [
        "a" * 64,  # long, one kind of character
        "x" * 128,  # the longest allowed
        "    twelve spaces and more    ",  # spaces anywhere
        "ñandú über straße ☂☂☂",  # any script, symbols
        "1234567890123456",  # digits only: no composition rule
    ],
)
def test_passwords_of_any_composition_up_to_128_characters_work(
    client: FlaskClient, db: Session, world: World, password: str
) -> None:
    """ASVS 6.2.5, 6.2.9: no character-class rules; 64 characters and more are permitted."""
    _add(db, world, "pat.long", password)
    assert _sign_in(client, "pat.long", password) == 302


def test_the_password_is_checked_exactly_as_typed(
    client: FlaskClient, db: Session, world: World
) -> None:
    """ASVS 6.2.8: no trimming, no case folding, no truncation."""
    typed = "  Mixed Case Passphrase  "
    _add(db, world, "pat.exact", typed)
    # Four near misses: a fifth would lock the account (the lockout is tested elsewhere).
    for near_miss in (typed.strip(), typed.lower(), typed[:-1], typed + " "):
        assert _sign_in(client, "pat.exact", near_miss) == 401, repr(near_miss)
    assert _sign_in(client, "pat.exact", typed) == 302


def test_a_password_stays_valid_until_it_is_changed(
    client: FlaskClient, world: World, clock: FixedClock
) -> None:
    """ASVS 6.2.10: no periodic rotation: the same password works years later."""
    clock.advance(days=3 * 366)
    assert _sign_in(client, world.users["liaison"].username, PASSWORD) == 302


def test_a_new_database_has_no_accounts_at_all(db: Session) -> None:
    """ASVS 6.3.2: no default account; the operator creates the first one."""
    assert db.scalar(select(func.count(User.id))) == 0


@pytest.fixture
def production_app(
    settings: Settings,
    test_environ: dict[str, str],
    sessions: sessionmaker[Session],
    clock: FixedClock,
    tmp_path: Path,
) -> Flask:
    environ = {
        **test_environ,
        "OUTREACH_INSTANCE_PATH": str(tmp_path),
        "OUTREACH_DATABASE_URL": settings.database_url,
        "OUTREACH_ENV": "production",
        "OUTREACH_CHANNEL": "twilio",
        "OUTREACH_PUBLIC_URL": "https://outreach.example.org",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "t" * 32,
        "OUTREACH_MESSAGING_SERVICE_SID": "MG" + "ab" * 16,
    }
    return create_app(settings=load_settings(environ), sessions=sessions, clock=clock)


def test_production_never_seeds_demo_accounts_nor_runs_in_debug(production_app: Flask) -> None:
    """ASVS 6.3.2, 13.4.2: the demo logins never reach production; debug stays off."""
    assert production_app.debug is False
    runner = production_app.test_cli_runner()
    with production_app.app_context():
        demo = runner.invoke(args=["demo", "--no-serve"])
        serve = runner.invoke(args=["serve"])
    assert demo.exit_code != 0
    assert "never runs in production" in demo.output
    assert serve.exit_code != 0, "the development server refuses production"


def test_every_route_is_on_one_of_the_documented_ways_in(app: Flask, client: FlaskClient) -> None:
    """ASVS 6.1.3, 6.3.4: staff pages, the token API, signed webhooks; nothing undocumented.

    The staff pages are classified one by one in test_web_crawl; here every API route wants a
    bearer token and every webhook a Twilio signature, before anything else happens.
    """
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<", "").replace(">", "").replace("uuid:", "")
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        if rule.rule.startswith(API) and rule.rule not in OPEN_API_ROUTES:
            for method in methods:
                assert client.open(path, method=method, json={}).status_code == 401, rule.rule
        elif rule.rule in FALLBACKS:
            # Twilio's fallbacks answer even unsigned (a wrong public URL is one reason they
            # are asked), with silence that changes nothing: webhooks/fallback.py.
            for method in methods:
                answer = client.open(path, method=method, data={})
                assert answer.status_code == 200, rule.rule
                assert "<Message" not in answer.get_data(as_text=True)
        elif rule.rule.startswith(WEBHOOKS):
            for method in methods:
                assert client.open(path, method=method, data={}).status_code == 403, rule.rule
        elif rule.rule not in OPEN_API_ROUTES:
            assert not rule.rule.startswith(("/api", "/webhooks")), f"{rule.rule} is undocumented"


def test_a_forwarded_for_header_cannot_dodge_the_address_throttle(
    client: FlaskClient, world: World
) -> None:
    """ASVS 4.1.3: with no proxy configured, X-Forwarded-For is not believed."""
    for n in range(CLIENT_FAILURES):
        data = {"username": f"nobody-{n}", "password": "wrong", "csrf_token": csrf(client)}
        spoofed = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert client.post("/login", data=data, headers=spoofed).status_code == 401
    right = {"username": world.users["liaison"].username, "password": PASSWORD}
    response = client.post(
        "/login",
        data={**right, "csrf_token": csrf(client)},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert response.status_code == 401, "still the same address, still throttled"
