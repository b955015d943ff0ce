"""The address throttle kept in the database: shared, expiring, pruned and bounded (issue 21
finding 9; ASVS 6.1.1, 6.3.1)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.models import SignInFailure
from outreach.services.errors import Forbidden
from outreach.services.staff import auth
from tests.conftest import NOW
from tests.factories import PASSWORD, World

ADDRESS = "198.51.100.23"


def _fail(db: Session, n: int, at: datetime = NOW, address: str = ADDRESS) -> None:
    for k in range(n):
        with pytest.raises(Forbidden):
            auth.authenticate(db, username=f"nobody-{k}", password="x", now=at, address=address)


def _rows(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(SignInFailure)) or 0


def test_the_limit_refuses_the_right_password_until_the_oldest_failure_expires(
    db: Session, world: World
) -> None:
    username = world.users["liaison"].username
    _fail(db, auth.CLIENT_FAILURES)
    later = NOW + auth.THROTTLE.period
    with pytest.raises(Forbidden):
        auth.authenticate(db, username=username, password=PASSWORD, now=later, address=ADDRESS)
    after = later + timedelta(seconds=1)
    found = auth.authenticate(db, username=username, password=PASSWORD, now=after, address=ADDRESS)
    assert found.id == world.users["liaison"].id
    other = auth.authenticate(db, username=username, password=PASSWORD, now=NOW, address="x")
    assert other.id == found.id, "another address is not held back"


def test_an_address_at_the_limit_adds_no_rows_and_expired_rows_are_pruned(db: Session) -> None:
    _fail(db, 3 * auth.CLIENT_FAILURES)
    assert _rows(db) == auth.CLIENT_FAILURES
    _fail(db, 1, at=NOW + auth.THROTTLE.period + timedelta(seconds=1), address="203.0.113.9")
    assert _rows(db) == 1


def test_the_address_is_kept_only_as_a_digest(db: Session) -> None:
    _fail(db, 1)
    assert db.scalars(select(SignInFailure.address_hash)).all() == [auth._digest(ADDRESS)]
