"""Planning open tasks from the database: group time, attendance, cancellations, attempts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.domain.planning.windows import Plan
from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons import her_word
from outreach.services.intake import programs
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import SYSTEM
from outreach.services.scheduling import planning
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import World, report_event

TUESDAY = date(2026, 11, 17)
HOURS = (time(8), time(21))


@pytest.fixture
def profiles() -> dict[str, Profile]:
    return load_profiles(PROTOCOLS_DIR)


@pytest.fixture
def intake(db: Session, world: World, profiles: dict[str, Profile]) -> str:
    [task] = report_event(db, profiles, world, "enrolled", now=NOW)
    return str(task.id)


def _plan(db: Session, profiles: dict[str, Profile], days: int = 7) -> Plan:
    return planning.plan_open_tasks(db, profiles, now=NOW, days=days, calling_hours=HOURS)


def test_the_window_is_tonights_group_session_minus_its_buffers(
    db: Session, profiles: dict[str, Profile], intake: str
) -> None:
    first = _plan(db, profiles).windows[0]
    assert first.task_id == intake
    assert first.kind.value == "group"
    # 18:30-20:30 New York is 23:30-01:30 UTC; settle-in and leave-early trim both ends.
    assert first.start == datetime(2026, 11, 17, 23, 45, tzinfo=UTC)
    assert first.end == datetime(2026, 11, 18, 1, 15, tzinfo=UTC)
    assert first.participant_present is None


def test_a_session_the_participant_missed_is_not_proposed(
    db: Session, world: World, profiles: dict[str, Profile], intake: str
) -> None:
    programs.record_attendance(
        db,
        profiles,
        participant_id=world.participant.id,
        session_date=TUESDAY,
        status="absent",
        checked_in_at=None,
        now=NOW,
        actor=SYSTEM,
    )
    plan = _plan(db, profiles)
    assert TUESDAY not in {w.session_date for w in plan.windows}
    assert any(
        s.reason.value == "participant_not_in_group" and s.session_date == TUESDAY
        for s in plan.skipped
    )


def test_a_checked_in_participant_is_shown_present(
    db: Session, world: World, profiles: dict[str, Profile], intake: str
) -> None:
    programs.record_attendance(
        db,
        profiles,
        participant_id=world.participant.id,
        session_date=TUESDAY,
        status="present",
        checked_in_at=NOW,
        now=NOW,
        actor=SYSTEM,
    )
    assert _plan(db, profiles).windows[0].participant_present is True


def test_a_cancelled_session_yields_no_window(
    db: Session, world: World, profiles: dict[str, Profile], intake: str
) -> None:
    programs.cancel_session(
        db,
        profiles,
        group_id=world.group.id,
        session_date=TUESDAY,
        reason="Closed",
        now=NOW,
        actor=SYSTEM,
    )
    assert TUESDAY not in {w.session_date for w in _plan(db, profiles).windows}


def test_a_session_already_attempted_is_not_proposed_again(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile], intake: str
) -> None:
    import uuid

    attempt_log.record_attempt(
        db,
        vault,
        actor=world.actor("liaison"),
        task_id=uuid.UUID(intake),
        channel="voice",
        at=datetime(2026, 11, 18, 0, 5, tzinfo=UTC),
        outcome="no_answer",
        now=datetime(2026, 11, 18, 0, 6, tzinfo=UTC),
    )
    assert TUESDAY not in {w.session_date for w in _plan(db, profiles, days=14).windows}
    assert {w.session_date for w in _plan(db, profiles, days=15).windows} == {
        TUESDAY + timedelta(days=7),
        TUESDAY + timedelta(days=14),
    }


def test_a_declined_contact_has_no_windows(
    db: Session, world: World, profiles: dict[str, Profile], intake: str
) -> None:
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"consent": "declined"},
        now=NOW,
    )
    assert _plan(db, profiles).windows == ()


def test_the_api_lists_open_tasks_with_their_windows_for_a_liaison_only(
    db: Session, world: World, client: FlaskClient, intake: str
) -> None:
    def get(persona: str) -> tuple[int, object]:
        token = tokens.issue_token(
            db,
            username=world.users[persona].username,
            days=90,
            now=NOW,
            actor=SYSTEM,
        ).token
        response = client.get(
            "/api/v1/tasks?status=open", headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code, response.get_json()

    status, listed = get("liaison")
    assert status == 200
    [task] = listed  # type: ignore[misc]
    assert task["id"] == intake
    assert task["attempts"] == 0
    assert task["windows"][0]["start"] == "2026-11-17T23:45:00+00:00"
    assert get("outsider") == (200, [])
    assert get("facilitator")[0] == 403


# --- S6: the time she asked to be called back at

# Thursday 19 November 2026, 14:00 in New York: no group then, and no safe time she named.
THURSDAY_2PM = datetime(2026, 11, 19, 19, 0, tzinfo=UTC)


def _call(
    db: Session,
    vault: Vault,
    world: World,
    task_id: str,
    at: datetime = NOW,
    outcome: str = "no_answer",
    **extra: object,
) -> None:
    attempt_log.record_attempt(
        db,
        vault,
        actor=world.actor("liaison"),
        task_id=uuid.UUID(task_id),
        channel="voice",
        at=at,
        outcome=outcome,
        now=max(at, NOW),
        **extra,  # type: ignore[arg-type]
    )


def _not_safe(db: Session, vault: Vault, world: World, task_id: str, **extra: object) -> None:
    _call(db, vault, world, task_id, NOW, "reached_not_safe", **extra)


def _callback_windows(plan: Plan, task_id: str) -> list[tuple[datetime, datetime]]:
    return [
        (w.start, w.end)
        for w in plan.windows
        if w.task_id == task_id and w.kind.value == "preferred"
    ]


def test_the_time_she_asked_to_be_called_back_at_is_proposed_until_a_call_keeps_it(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile], intake: str
) -> None:
    _not_safe(db, vault, world, intake, callback_at=THURSDAY_2PM)
    assert _callback_windows(_plan(db, profiles), intake) == [
        (THURSDAY_2PM, THURSDAY_2PM + timedelta(minutes=30))
    ]
    _call(db, vault, world, intake, THURSDAY_2PM + timedelta(minutes=3))
    assert _callback_windows(_plan(db, profiles), intake) == []


def test_a_not_safe_answer_with_no_time_proposes_no_callback(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile], intake: str
) -> None:
    _not_safe(db, vault, world, intake)
    assert _callback_windows(_plan(db, profiles), intake) == []


def test_a_later_call_before_the_callback_time_leaves_her_time_standing(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile], intake: str
) -> None:
    _not_safe(db, vault, world, intake, callback_at=THURSDAY_2PM)
    _call(db, vault, world, intake, NOW + timedelta(minutes=5))
    assert _callback_windows(_plan(db, profiles), intake) == [
        (THURSDAY_2PM, THURSDAY_2PM + timedelta(minutes=30))
    ]
