"""Accounts and API tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import ApiToken, AuditEvent, User
from outreach.services import users
from outreach.services.errors import Conflict, Invalid, NotFound
from tests.conftest import NOW
from tests.factories import World


def test_a_user_is_created_with_a_hashed_password_and_program_scope(
    db: Session, world: World
) -> None:
    user = users.add_user(
        db,
        username="dana.l",
        role="liaison",
        password="a long passphrase",
        program_keys=[world.home.key],
        now=NOW,
    )
    stored = db.scalar(select(User).where(User.username == "dana.l"))
    assert stored is not None
    assert stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert "a long passphrase" not in stored.password_hash
    assert [p.key for p in user.programs] == [world.home.key]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"role": "overlord"}, Invalid),
        ({"password": "short"}, Invalid),
        ({"username": "x"}, Invalid),
        ({"username": "bad name!"}, Invalid),
        ({"program_keys": ["no-such-program"]}, NotFound),
    ],
)
def test_bad_account_details_are_refused(
    db: Session, world: World, kwargs: dict[str, object], error: type[Exception]
) -> None:
    fields: dict[str, object] = {
        "username": "emery",
        "role": "liaison",
        "password": "a long passphrase",
        "program_keys": [],
    }
    fields.update(kwargs)
    with pytest.raises(error):
        users.add_user(db, now=NOW, **fields)  # type: ignore[arg-type]


def test_a_username_is_taken_only_once(db: Session, world: World) -> None:
    with pytest.raises(Conflict):
        users.add_user(
            db,
            username=world.users["liaison"].username,
            role="liaison",
            password=None,
            program_keys=[],
            now=NOW,
        )


def test_a_token_is_shown_once_and_only_its_hash_is_kept(db: Session, world: World) -> None:
    token = users.issue_token(db, username=world.users["facilitator"].username, now=NOW)
    assert token.startswith("otk_")
    assert len(token) > 40
    stored = db.scalars(select(ApiToken.token_hash)).all()
    assert stored == [users.token_digest(token)]
    assert token not in str(db.scalars(select(AuditEvent.detail)).all())


def test_a_token_for_an_unknown_user_is_refused(db: Session) -> None:
    with pytest.raises(NotFound):
        users.issue_token(db, username="nobody", now=NOW)
