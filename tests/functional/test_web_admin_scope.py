"""The admin's pages, as an admin of one program lives them (issue 21 finding 7)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Role
from outreach.models import User
from tests.conftest import NOW
from tests.factories import World, make_user
from tests.functional.web import csrf, log_in


@pytest.fixture
def home_admin(db: Session, world: World) -> User:
    return make_user(db, Role.ADMIN, [world.home], now=NOW)


def test_an_admin_of_one_program_sees_and_manages_only_that_program(
    client: FlaskClient, db: Session, world: World, home_admin: User
) -> None:
    log_in(client, home_admin)
    page = client.get("/admin/users").get_data(as_text=True)
    assert world.users["liaison"].username in page
    assert world.users["outsider"].username not in page
    assert world.other.key not in page  # no box to tick, nor a key of another program shown
    spanning = world.users["admin"]  # works in both programs: listed, but not the admin's
    assert f"/admin/users/{spanning.id}/disable" not in page
    assert f"/admin/users/{world.users['liaison'].id}/disable" in page
    assert world.other.key not in client.get("/admin/programs").get_data(as_text=True)
    token = csrf(client, "/admin/users")
    made = client.post(
        "/admin/users",
        data={
            "username": "pat.supervisor",
            "role": "supervisor",
            "password": "a long enough passphrase",
            "programs": world.other.key,
            "csrf_token": token,
        },
    )
    assert made.status_code == 403
    assert db.scalar(select(User).where(User.username == "pat.supervisor")) is None
    outsider = world.users["outsider"].id
    for action in ("token", "disable"):
        sent = client.post(f"/admin/users/{outsider}/{action}", data={"csrf_token": token})
        assert sent.status_code == 403


def test_an_admin_has_no_call_queue_and_no_task_page(
    client: FlaskClient, world: World, home_admin: User
) -> None:
    log_in(client, home_admin)
    assert "Call queue" not in client.get("/home").get_data(as_text=True)
    assert client.get("/queue").status_code == 403
