"""Accounts, API tokens, and an operator's recovery steps."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.models import ApiToken, AuditEvent, User
from outreach.security.vault import Vault
from outreach.services.errors import Conflict, Forbidden, Invalid, NotFound
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import auth, second_factor, tokens, users
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
        actor=SYSTEM,
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
        users.add_user(db, now=NOW, actor=SYSTEM, **fields)  # type: ignore[arg-type]


def test_a_username_is_taken_only_once(db: Session, world: World) -> None:
    with pytest.raises(Conflict):
        users.add_user(
            db,
            username=world.users["liaison"].username,
            role="liaison",
            password=None,
            program_keys=[],
            now=NOW,
            actor=SYSTEM,
        )


def test_a_token_is_shown_once_and_only_its_hash_is_kept(db: Session, world: World) -> None:
    token = tokens.issue_token(
        db,
        username=world.users["facilitator"].username,
        days=90,
        now=NOW,
        actor=SYSTEM,
    ).token
    assert token.startswith("otk_")
    assert len(token) > 40
    stored = db.scalars(select(ApiToken.token_hash)).all()
    assert stored == [tokens.token_digest(token)]
    assert token not in str(db.scalars(select(AuditEvent.detail)).all())


def test_a_token_expires_the_given_number_of_days_after_it_is_issued(
    db: Session, world: World
) -> None:
    liaison = world.users["liaison"]
    issued = tokens.issue_token(db, username=liaison.username, days=366, now=NOW, actor=SYSTEM)
    assert issued.expires_at == NOW + timedelta(days=366)
    assert db.scalars(select(ApiToken.expires_at)).all() == [issued.expires_at]
    assert issued.token not in repr(issued)
    assert _audited_token_days(db) == [366]
    assert tokens.token_user(db, issued.token, now=issued.expires_at - timedelta(microseconds=1))
    assert tokens.token_user(db, issued.token, now=issued.expires_at) is None


def _audited_token_days(db: Session) -> list[object]:
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.token_issued"))
    return [row.detail.get("days") for row in rows]


@pytest.mark.parametrize("days", [0, -1, 367])
def test_a_token_lifetime_outside_one_to_366_days_is_refused(
    db: Session, world: World, days: int
) -> None:
    with pytest.raises(Invalid, match="1 to 366 days"):
        tokens.issue_token(
            db, username=world.users["liaison"].username, days=days, now=NOW, actor=SYSTEM
        )
    assert db.scalars(select(ApiToken)).all() == []
    assert _audited_token_days(db) == []


def test_a_token_for_an_unknown_user_is_refused(db: Session) -> None:
    with pytest.raises(NotFound):
        tokens.issue_token(db, username="nobody", days=90, now=NOW, actor=SYSTEM)


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

    ended = users.reset_password(
        db, username=user.username, password=NEW_PASSWORD, now=NOW, actor=SYSTEM
    )

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
        users.reset_password(db, username=user.username, password="short", now=NOW, actor=SYSTEM)
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

    ended = users.reset_second_factor(db, username=user.username, now=NOW, actor=SYSTEM)

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
    users.reset_second_factor(db, username=user.username, now=NOW, actor=SYSTEM)
    with pytest.raises(Forbidden):
        auth.authenticate(db, username=user.username, password=PASSWORD, now=NOW)


def test_revoking_tokens_counts_only_the_users_live_ones(db: Session, world: World) -> None:
    liaison, facilitator = world.users["liaison"], world.users["facilitator"]
    tokens.issue_token(db, username=liaison.username, days=90, now=NOW, actor=SYSTEM)
    assert tokens.revoke_tokens(db, username=liaison.username, now=NOW, actor=SYSTEM) == 1
    for _ in range(2):
        tokens.issue_token(db, username=liaison.username, days=90, now=NOW, actor=SYSTEM)
    tokens.issue_token(db, username=facilitator.username, days=90, now=NOW, actor=SYSTEM)

    later = NOW + timedelta(minutes=5)
    assert tokens.revoke_tokens(db, username=liaison.username, now=later, actor=SYSTEM) == 2

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
    old = tokens.issue_token(db, username=liaison.username, days=90, now=NOW, actor=SYSTEM)
    old_row = db.scalars(select(ApiToken).where(ApiToken.user_id == liaison.id)).one()
    old_row.expires_at = None  # as migration 0009 leaves a token issued before it
    db.commit()
    new = tokens.issue_token(db, username=liaison.username, days=90, now=NOW, actor=SYSTEM)
    revoked = tokens.revoke_tokens(
        db, username=liaison.username, now=NOW, only_without_expiry=True, actor=SYSTEM
    )
    assert revoked == 1
    assert tokens.token_user(db, old.token, now=NOW) is None
    assert tokens.token_user(db, new.token, now=NOW) == liaison
    assert _audited(db, "user.tokens_revoked", liaison) == [
        {"revoked": 1, "only_without_expiry": True}
    ]


@pytest.mark.parametrize(
    "recover",
    [
        lambda db: users.reset_password(
            db, username="nobody", password=NEW_PASSWORD, now=NOW, actor=SYSTEM
        ),
        lambda db: users.reset_second_factor(db, username="nobody", now=NOW, actor=SYSTEM),
        lambda db: tokens.revoke_tokens(db, username="nobody", now=NOW, actor=SYSTEM),
        lambda db: tokens.list_tokens(db, username="nobody", now=NOW),
        lambda db: tokens.revoke_token(
            db, username="nobody", token_id="1a2b3c4d", now=NOW, actor=SYSTEM
        ),
    ],
    ids=["password", "second-factor", "tokens", "token-list", "one-token"],
)
def test_recovery_for_an_unknown_user_is_refused_by_name(
    db: Session, recover: Callable[[Session], object]
) -> None:
    with pytest.raises(NotFound, match="no user named 'nobody'"):
        recover(db)
    assert db.scalars(select(AuditEvent)).all() == []


# One token at a time: a program system changing over holds an old and a new token.

TWIN_A = "1a2b3c4d-0000-4000-8000-00000000000a"  # the same first 8 hex digits as TWIN_B
TWIN_B = "1a2b3c4d-0000-4000-8000-00000000000b"
REVOKED = "5e6f7a8b-0000-4000-8000-000000000001"
FACILITATORS = "9c9c9c9c-0000-4000-8000-000000000001"
DAY = timedelta(days=1)


def _token_row(
    db: Session, user: User, token_id: str, *, revoked_at: datetime | None = None
) -> str:
    """Store a live token of the user under a chosen row id, as issue_token would; return it."""
    token = f"otk_test-token-{token_id}"
    db.add(
        ApiToken(
            id=uuid.UUID(token_id),
            user_id=user.id,
            token_hash=tokens.token_digest(token),
            created_at=NOW - DAY * 2,
            expires_at=NOW + DAY * 88,
            revoked_at=revoked_at,
        )
    )
    db.commit()
    return token


def _stored_tokens(db: Session, user: User) -> list[ApiToken]:
    return list(db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)))


def _token_states(db: Session) -> dict[str, datetime | None]:
    return {str(row.id): row.revoked_at for row in db.scalars(select(ApiToken))}


def _token_revocations(db: Session) -> list[tuple[str | None, str | None, dict[str, object]]]:
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.token_revoked"))
    return [(row.object_type, row.object_id, row.detail) for row in rows]


def test_tokens_are_listed_newest_first_in_their_state_without_the_token(
    db: Session, world: World
) -> None:
    liaison = world.users["liaison"]
    issued = {
        "legacy": tokens.issue_token(
            db, username=liaison.username, days=1, now=NOW - DAY * 400, actor=SYSTEM
        ),
        "expired": tokens.issue_token(
            db, username=liaison.username, days=90, now=NOW - DAY * 90, actor=SYSTEM
        ),
        "revoked": tokens.issue_token(
            db, username=liaison.username, days=90, now=NOW - DAY * 9, actor=SYSTEM
        ),
        "live": tokens.issue_token(
            db, username=liaison.username, days=90, now=NOW - DAY, actor=SYSTEM
        ),
    }
    tokens.issue_token(
        db, username=world.users["facilitator"].username, days=90, now=NOW, actor=SYSTEM
    )
    rows = {row.created_at: row for row in _stored_tokens(db, liaison)}
    legacy = rows[NOW - DAY * 400]
    legacy.expires_at = None  # as migration 0009 leaves a token issued before it
    db.commit()
    assert tokens.token_user(db, issued["legacy"].token, now=NOW - DAY)
    tokens.revoke_token(
        db,
        username=liaison.username,
        token_id=rows[NOW - DAY * 9].id.hex[:8],
        now=NOW - DAY,
        actor=SYSTEM,
    )

    listed = tokens.list_tokens(db, username=liaison.username, now=NOW)

    assert [(t.issued_at, t.expires_at, t.last_used_at, t.state) for t in listed] == [
        (NOW - DAY, NOW + DAY * 89, None, "live"),
        (NOW - DAY * 9, NOW + DAY * 81, None, "revoked"),
        (NOW - DAY * 90, NOW, None, "expired"),  # refused from its expiry on
        (NOW - DAY * 400, None, NOW - DAY, "live"),
    ]
    assert [t.short_id for t in listed] == [str(rows[t.issued_at].id)[:8] for t in listed]
    shown = repr(listed)
    for token in issued.values():
        assert token.token not in shown
        assert tokens.token_digest(token.token) not in shown


def test_revoking_one_token_refuses_it_and_the_users_other_token_keeps_working(
    db: Session, world: World
) -> None:
    liaison = world.users["liaison"]
    old = tokens.issue_token(
        db, username=liaison.username, days=90, now=NOW - DAY * 30, actor=SYSTEM
    )
    new = tokens.issue_token(db, username=liaison.username, days=90, now=NOW, actor=SYSTEM)
    [old_row] = [row for row in _stored_tokens(db, liaison) if row.created_at < NOW]

    revoked = tokens.revoke_token(
        db,
        username=liaison.username,
        token_id=old_row.id.hex[:8].upper(),
        now=NOW,
        actor=SYSTEM,
    )

    assert (revoked.id, revoked.state) == (old_row.id, "revoked")
    assert tokens.token_user(db, old.token, now=NOW) is None
    assert tokens.token_user(db, new.token, now=NOW) == liaison
    assert old_row.revoked_at == NOW
    assert _token_revocations(db) == [("api_token", str(old_row.id), {"user": str(liaison.id)})]


def test_more_of_the_id_tells_two_tokens_with_the_same_start_apart(
    db: Session, world: World
) -> None:
    liaison = world.users["liaison"]
    keeps = _token_row(db, liaison, TWIN_A)
    leaked = _token_row(db, liaison, TWIN_B)

    tokens.revoke_token(
        db, username=liaison.username, token_id=TWIN_B.upper(), now=NOW, actor=SYSTEM
    )

    assert tokens.token_user(db, leaked, now=NOW) is None
    assert tokens.token_user(db, keeps, now=NOW) == liaison
    assert _token_states(db) == {TWIN_A: None, TWIN_B: NOW}


@pytest.mark.parametrize(
    ("token_id", "error", "message"),
    [
        ("1a2b3c4d", Conflict, "2 API tokens of '{user}' have ids starting that way"),
        ("0f0f0f0f", NotFound, "no API token of '{user}' has that id"),
        ("9c9c9c9c", NotFound, "no API token of '{user}' has that id"),  # another user's
        ("5e6f7a8b", Conflict, "API token 5e6f7a8b of '{user}' was already revoked at 2026-11-16"),
        ("1a2b3c4", Invalid, "a token id is 8 to 32 hex digits"),
        ("1a2b3c4g", Invalid, "a token id is 8 to 32 hex digits"),
        (f"otk_test-token-{TWIN_A}", Invalid, "a token id is 8 to 32 hex digits"),
        ("ab" * 32, Invalid, "a token id is 8 to 32 hex digits"),  # a hash, not an id
    ],
    ids=["ambiguous", "unknown", "another-users", "revoked", "short", "not-hex", "token", "hash"],
)
def test_a_token_id_that_names_no_single_live_token_is_refused_and_changes_nothing(
    db: Session, world: World, token_id: str, error: type[Exception], message: str
) -> None:
    liaison = world.users["liaison"]
    for twin in (TWIN_A, TWIN_B):
        _token_row(db, liaison, twin)
    _token_row(db, liaison, REVOKED, revoked_at=NOW - DAY)
    _token_row(db, world.users["facilitator"], FACILITATORS)
    before = _token_states(db)

    with pytest.raises(error, match=re.escape(message.format(user=liaison.username))) as refused:
        tokens.revoke_token(db, username=liaison.username, token_id=token_id, now=NOW, actor=SYSTEM)

    assert _token_states(db) == before
    assert _token_revocations(db) == []
    if error is Invalid:
        assert token_id not in str(refused.value), "what was given may be the token itself"


def test_a_password_kept_under_older_hash_settings_is_hashed_again_at_sign_in(
    db: Session, world: World
) -> None:
    # A hash made before the settings were raised (here OWASP's minimum, 19 MiB and 2 passes)
    # still opens, and is made again under today's settings the first time its owner signs in.
    user = world.users["liaison"]
    user.password_hash = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(
        PASSWORD
    )
    db.commit()
    assert auth.authenticate(db, username=user.username, password=PASSWORD, now=NOW) == user
    db.commit()
    assert "m=65536,t=3,p=1" in user.password_hash
    assert auth.authenticate(db, username=user.username, password=PASSWORD, now=NOW) == user
