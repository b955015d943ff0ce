"""CSRF is on by default (issue 23 item 8, ASVS V3.5.1): every unsafe request to a page carries
the session's token, checked once for the whole application before any view runs. Only the API
(a bearer token in a header) and the webhooks (Twilio's signature) are exempt, by name."""

from __future__ import annotations

import re
import uuid

from flask import Blueprint, Flask
from flask.testing import FlaskClient

from outreach.web import CSRF_EXEMPT_BLUEPRINTS
from tests.factories import World
from tests.functional.web import csrf, log_in

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def _filled(rule: str) -> str:
    path = re.sub(r"<uuid:[a-z_]+>", str(uuid.uuid4()), rule)
    assert "<" not in path, f"{rule} has an argument this test cannot fill"
    return path


def _page_rules(app: Flask) -> list[tuple[str, str]]:
    """Every (method, rule) of the URL map that changes something, outside the exemptions."""
    return [
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.partition(".")[0] not in CSRF_EXEMPT_BLUEPRINTS
        for method in sorted(rule.methods or ())
        if method in UNSAFE
    ]


def test_the_only_exemptions_are_the_api_and_the_webhooks() -> None:
    assert sorted(CSRF_EXEMPT_BLUEPRINTS) == ["api", "webhooks"]


def test_every_unsafe_page_request_without_its_token_is_refused_signed_in_or_not(
    app: Flask, client: FlaskClient, world: World
) -> None:
    rules = _page_rules(app)
    assert len(rules) > 20, "the walk reaches the pages' forms"
    for method, rule in rules:  # nobody signed in: refused before the sign-in redirect
        assert client.open(_filled(rule), method=method).status_code == 400, rule
    log_in(client, world.users["supervisor"])
    for method, rule in rules:
        response = client.open(_filled(rule), method=method, data={"csrf_token": "forged"})
        assert response.status_code == 400, rule


def test_a_page_added_tomorrow_is_protected_without_asking(
    app: Flask, client: FlaskClient, world: World
) -> None:
    changed: list[str] = []
    tomorrow = Blueprint("tomorrow", __name__)

    @tomorrow.post("/tomorrow/change")
    def change() -> str:
        changed.append("yes")
        return "changed"

    app.register_blueprint(tomorrow)
    log_in(client, world.users["liaison"])
    assert client.post("/tomorrow/change").status_code == 400
    assert changed == [], "the view never ran"
    token = csrf(client, "/home")
    assert client.post("/tomorrow/change", data={"csrf_token": token}).status_code == 200
    assert changed == ["yes"]


def test_the_api_and_webhooks_answer_for_themselves_without_a_page_token(
    client: FlaskClient,
) -> None:
    # Not a CSRF refusal (400): the API asks for its bearer token, the webhook for its signature.
    assert client.post("/api/v1/participants", json={}).status_code == 401
    assert client.post("/webhooks/twilio/sms/inbound", data={"Body": "STOP"}).status_code == 403
