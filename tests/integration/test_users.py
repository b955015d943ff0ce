"""Accounts, API tokens, and an operator's recovery steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.models import ApiToken, AuditEvent, User
from outreach.security.vault import Vault
from outreach.services import auth, second_factor, users
from outreach.services.errors import Conflict, Forbidden, Invalid, NotFound
from outreach.settings import Settings
from tests.conftest import NOW
from tests.factories import PASSWORD, World, enrol_second_factor

NEW_PASSWORD = "a fresh passphrase for monday"


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
    token = users.issue_token(
        db, username=world.users["facilitator"].username, days=90, now=NOW
    ).token
    assert token.startswith("otk_")
    assert len(token) > 40
    stored = db.scalars(select(ApiToken.token_hash)).all()
    assert stored == [users.token_digest(token)]
    assert token not in str(db.scalars(select(AuditEvent.detail)).all())


def test_a_token_expires_the_given_number_of_days_after_it_is_issued(
    db: Session, world: World
) -> None:
    liaison = world.users["liaison"]
    issued = users.issue_token(db, username=liaison.username, days=366, now=NOW)
    assert issued.expires_at == NOW + timedelta(days=366)
    assert db.scalars(select(ApiToken.expires_at)).all() == [issued.expires_at]
    assert issued.token not in repr(issued)
    assert _audited_token_days(db) == [366]
    assert users.token_user(db, issued.token, now=issued.expires_at - timedelta(microseconds=1))
    assert users.token_user(db, issued.token, now=issued.expires_at) is None


def _audited_token_days(db: Session) -> list[object]:
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.token_issued"))
    return [row.detail.get("days") for row in rows]


@pytest.mark.parametrize("days", [0, -1, 367])
def test_a_token_lifetime_outside_one_to_366_days_is_refused(
    db: Session, world: World, days: int
) -> None:
    with pytest.raises(Invalid, match="1 to 366 days"):
        users.issue_token(db, username=world.users["liaison"].username, days=days, now=NOW)
    assert db.scalars(select(ApiToken)).all() == []
    assert _audited_token_days(db) == []


def test_a_token_for_an_unknown_user_is_refused(db: Session) -> None:
    with pytest.raises(NotFound):
        users.issue_token(db, username="nobody", days=90, now=NOW)


def _audited(db: Session, action: str, user: User) -> list[dict[str, object]]:
    rows = db.scalars(
        select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == str(user.id))
    )
    return [row.detail for row in rows]


def test_a_password_reset_lets_a_locked_out_user_in_with_the_new_password_only(
    db: Session, world: World
) -> None:
    user = world.users["liaison"]
    desk = auth.log_in(db, username=user.username, password=PASSWORD, now=NOW)
    laptop = auth.log_in(db, username=user.username, password=PASSWORD, now=NOW)
    user.failed_logins, user.locked_until = 3, NOW + timedelta(minutes=10)
    db.commit()

    ended = users.reset_password(db, username=user.username, password=NEW_PASSWORD, now=NOW)

    assert ended == 2
    assert auth.session_user(db, desk, now=NOW) is None
    assert auth.session_user(db, laptop, now=NOW) is None
    with pytest.raises(Forbidden):
        auth.authenticate(db, username=user.username, password=PASSWORD, now=NOW)
    assert auth.log_in(db, username=user.username, password=NEW_PASSWORD, now=NOW)
    assert _audited(db, "user.password_reset", user) == [{"sessions_ended": 2}]


def test_a_weak_new_password_is_refused_and_changes_nothing(db: Session, world: World) -> None:
    user = world.users["liaison"]
    desk = auth.log_in(db, username=user.username, password=PASSWORD, now=NOW)
    with pytest.raises(Invalid, match="at least 12 characters"):
        users.reset_password(db, username=user.username, password="short", now=NOW)
    assert auth.session_user(db, desk, now=NOW) is not None
    assert auth.authenticate(db, username=user.username, password=PASSWORD, now=NOW) == user
    assert _audited(db, "user.password_reset", user) == []


def test_after_a_second_factor_reset_the_user_must_enrol_again(
    db: Session, world: World, vault: Vault, settings: Settings
) -> None:
    user = world.users["supervisor"]
    enrol_second_factor(db, vault, user, now=NOW)
    desk = auth.log_in(db, username=user.username, password=PASSWORD, now=NOW)
    production = replace(settings, env="production")
    assert not second_factor.must_enrol(user, production)

    ended = users.reset_second_factor(db, username=user.username, now=NOW)

    assert ended == 1
    assert auth.session_user(db, desk, now=NOW) is None
    assert not second_factor.has_second_factor(user)
    assert second_factor.must_enrol(user, production)
    assert _audited(db, "user.second_factor_reset", user) == [
        {"had_second_factor": True, "sessions_ended": 1}
    ]


def test_a_second_factor_reset_leaves_a_lockout_in_place(db: Session, world: World) -> None:
    user = world.users["supervisor"]
    user.locked_until = NOW + timedelta(minutes=10)
    db.commit()
    users.reset_second_factor(db, username=user.username, now=NOW)
    with pytest.raises(Forbidden):
        auth.authenticate(db, username=user.username, password=PASSWORD, now=NOW)


def test_revoking_tokens_counts_only_the_users_live_ones(db: Session, world: World) -> None:
    liaison, facilitator = world.users["liaison"], world.users["facilitator"]
    users.issue_token(db, username=liaison.username, days=90, now=NOW)
    assert users.revoke_tokens(db, username=liaison.username, now=NOW) == 1
    for _ in range(2):
        users.issue_token(db, username=liaison.username, days=90, now=NOW)
    users.issue_token(db, username=facilitator.username, days=90, now=NOW)

    later = NOW + timedelta(minutes=5)
    assert users.revoke_tokens(db, username=liaison.username, now=later) == 2

    revoked_at = dict(
        db.execute(select(ApiToken.user_id, func.max(ApiToken.revoked_at)).group_by("user_id"))
        .tuples()
        .all()
    )
    assert revoked_at[liaison.id] == later
    assert revoked_at[facilitator.id] is None
    assert _audited(db, "user.tokens_revoked", liaison) == [
        {"revoked": 1, "only_without_expiry": False},
        {"revoked": 2, "only_without_expiry": False},
    ]


def test_an_upgrades_old_tokens_are_revoked_and_the_new_one_given_first_keeps_working(
    db: Session, world: World
) -> None:
    liaison = world.users["liaison"]
    old = users.issue_token(db, username=liaison.username, days=90, now=NOW)
    old_row = db.scalars(select(ApiToken).where(ApiToken.user_id == liaison.id)).one()
    old_row.expires_at = None  # as migration 0009 leaves a token issued before it
    db.commit()
    new = users.issue_token(db, username=liaison.username, days=90, now=NOW)
    revoked = users.revoke_tokens(db, username=liaison.username, now=NOW, only_without_expiry=True)
    assert revoked == 1
    assert users.token_user(db, old.token, now=NOW) is None
    assert users.token_user(db, new.token, now=NOW) == liaison
    assert _audited(db, "user.tokens_revoked", liaison) == [
        {"revoked": 1, "only_without_expiry": True}
    ]


@pytest.mark.parametrize(
    "recover",
    [
        lambda db: users.reset_password(db, username="nobody", password=NEW_PASSWORD, now=NOW),
        lambda db: users.reset_second_factor(db, username="nobody", now=NOW),
        lambda db: users.revoke_tokens(db, username="nobody", now=NOW),
    ],
    ids=["password", "second-factor", "tokens"],
)
def test_recovery_for_an_unknown_user_is_refused_by_name(
    db: Session, recover: Callable[[Session], int]
) -> None:
    with pytest.raises(NotFound, match="no user named 'nobody'"):
        recover(db)
    assert db.scalars(select(AuditEvent)).all() == []
