"""While one liaison's claim lasts, nobody else records on the task: pages, API or service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.vocabulary import Role
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log, closing
from outreach.services.errors import Conflict
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import SYSTEM, Actor
from outreach.services.scheduling import claims
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import World, make_user, report_event

PROFILES = load_profiles(PROTOCOLS_DIR)


def _attempt(db: Session, vault: Vault, actor: Actor, task_id: Any, now: Any) -> None:
    attempt_log.record_attempt(
        db, vault, actor=actor, task_id=task_id, channel="voice", at=now, outcome="busy", now=now
    )


def test_another_liaison_cannot_record_or_close_while_the_claim_lasts(
    db: Session, vault: Vault, world: World
) -> None:
    (task, *_) = report_event(db, PROFILES, world, "enrolled", now=NOW)
    second = Actor.of(make_user(db, Role.LIAISON, [world.home], now=NOW))
    claims.claim_task(db, actor=world.actor("liaison"), task_id=task.id, now=NOW)
    with pytest.raises(Conflict):
        _attempt(db, vault, second, task.id, NOW + timedelta(minutes=1))
    with pytest.raises(Conflict):
        closing.close_task(
            db,
            actor=second,
            task_id=task.id,
            resolution="unreachable",
            now=NOW + timedelta(minutes=1),
        )
    _attempt(db, vault, world.actor("liaison"), task.id, NOW + timedelta(minutes=2))
    _attempt(db, vault, SYSTEM, task.id, NOW + timedelta(minutes=3))  # the call's own outcome
    after = NOW + claims.LEASE + timedelta(seconds=1)
    _attempt(db, vault, second, task.id, after)  # the claim ran out: the task is free again
    assert len(attempt_log.standing_attempts(db, task.id)) == 3


def test_the_api_answers_409_to_a_liaison_who_does_not_hold_the_claim(
    client: FlaskClient, db: Session, world: World
) -> None:
    (task, *_) = report_event(db, PROFILES, world, "enrolled", now=NOW)
    second = make_user(db, Role.LIAISON, [world.home], now=NOW)
    token = tokens.issue_token(db, username=second.username, days=90, now=NOW, actor=SYSTEM).token
    claims.claim_task(db, actor=world.actor("liaison"), task_id=task.id, now=NOW)
    response = client.post(
        f"/api/v1/tasks/{task.id}/attempts",
        json={"channel": "voice", "at": NOW.isoformat(), "outcome": "busy"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 409
    assert attempt_log.standing_attempts(db, task.id) == []
