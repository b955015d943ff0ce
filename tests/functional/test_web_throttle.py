"""One client address trying many accounts is slowed down, whatever the usernames."""

from __future__ import annotations

from flask.testing import FlaskClient

from outreach.services.staff.auth import CLIENT_FAILURES
from tests.factories import PASSWORD, World
from tests.functional.web import csrf


def test_too_many_failures_from_one_address_refuse_even_the_right_password(
    client: FlaskClient, world: World
) -> None:
    for n in range(CLIENT_FAILURES):
        data = {"username": f"nobody-{n}", "password": "wrong", "csrf_token": csrf(client)}
        assert client.post("/login", data=data).status_code == 401
    right = {"username": world.users["liaison"].username, "password": PASSWORD}
    assert client.post("/login", data={**right, "csrf_token": csrf(client)}).status_code == 401
    elsewhere = client.post(
        "/login",
        data={**right, "csrf_token": csrf(client)},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert elsewhere.status_code == 302
