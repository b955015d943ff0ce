"""Program events open tasks through the protocol; attempts and closing obey S1, S5 and S6."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain import attempt_rules
from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.models import Attempt, AuditEvent, OutreachTask, ProgramEvent
from outreach.security.vault import Vault, place
from outreach.services.attempts import attempt_log, closing, tasks
from outreach.services.contact_persons import her_word, preferences
from outreach.services.errors import Conflict, Forbidden
from outreach.services.intake import events, participant_status
from outreach.services.supervision import corrections, holds, sign_offs
from tests.conftest import NOW
from tests.factories import World, make_contact

# Tuesday 17 November 2026: the world's group meets 18:30-20:30 New York (23:30-01:30 UTC).
TONIGHT = datetime(2026, 11, 18, 0, 0, tzinfo=UTC)
NEXT_WEEK = TONIGHT + timedelta(days=7)


@pytest.fixture
def profiles() -> dict[str, Profile]:
    from outreach.services.intake.programs import PROTOCOLS_DIR

    return load_profiles(PROTOCOLS_DIR)


def _report(
    db: Session,
    world: World,
    profiles: dict[str, Profile],
    kind: str,
    persona: str = "facilitator",
    severity: str = "routine",
) -> list[OutreachTask]:
    _, opened = events.report_event(
        db,
        profiles,
        actor=world.actor(persona),
        participant_id=world.participant.id,
        event_type=kind,
        at=NOW,
        severity=severity,
        now=NOW,
    )
    return opened


def _attempt(
    db: Session,
    vault: Vault,
    world: World,
    task: OutreachTask,
    at: datetime,
    outcome: str = "no_answer",
    **extra: object,
) -> Attempt:
    return attempt_log.record_attempt(
        db,
        vault,
        actor=world.actor("liaison"),
        task_id=task.id,
        channel="voice",
        at=at,
        outcome=outcome,
        now=max(at, NOW),
        **extra,
    )  # type: ignore[arg-type]


def test_enrolment_opens_an_intake_task_with_at_least_two_attempts(
    db: Session, world: World, profiles: dict[str, Profile]
) -> None:
    [task] = _report(db, world, profiles, "enrolled")
    assert task.reason == "intake"
    assert task.contact_id == world.contact.id
    assert task.min_attempts >= 2
    assert NOW < task.due_by <= NOW + timedelta(days=7)


def test_a_declined_contact_gets_no_task_from_any_event(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"consent": "declined"},
        now=NOW,
    )
    # A history that could happen (issue 19): he completes, comes back, is terminated.
    for kind in ("enrolled", "completed", "enrolled", "terminated", "class_cancelled"):
        assert _report(db, world, profiles, kind) == []
    # S1/S8: a duty to warn is the one exception, held until a supervisor confirms it.
    [warning] = _report(db, world, profiles, "duty_to_warn")
    assert holds.is_held(db, warning)


def test_duty_to_warn_is_immediate_and_comes_first(
    db: Session, world: World, profiles: dict[str, Profile]
) -> None:
    [routine] = _report(db, world, profiles, "enrolled")
    [warning] = _report(db, world, profiles, "duty_to_warn", severity="high")
    assert warning.reason == "duty_to_warn"
    assert warning.due_by == NOW
    assert warning.priority < routine.priority
    assert "sms" in warning.channels  # S8: every permitted channel


def test_when_the_participant_may_be_the_victim_there_is_one_resources_only_contact(
    db: Session, world: World, profiles: dict[str, Profile]
) -> None:
    [once] = _report(db, world, profiles, "participant_may_be_victim")
    assert once.reason == "resources_only"
    assert _report(db, world, profiles, "participant_may_be_victim") == []
    assert _report(db, world, profiles, "enrolled") == []


def test_flagging_that_he_may_be_the_victim_cancels_the_open_tasks_but_a_duty_to_warn(
    db: Session, world: World, profiles: dict[str, Profile]
) -> None:
    [intake] = _report(db, world, profiles, "enrolled")
    [warning] = _report(db, world, profiles, "duty_to_warn", severity="high")
    [once] = _report(db, world, profiles, "participant_may_be_victim")
    for task in (intake, warning, once):
        db.refresh(task)
    assert (intake.status, intake.closed_at) == ("cancelled", NOW)  # S11
    assert (warning.status, once.status) == ("open", "open")  # S8 stays; resources only
    [closed] = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "task.closed", AuditEvent.object_id == str(intake.id)
        )
    ).all()
    assert closed.detail == {"resolution": "cancelled", "because": "participant_may_be_victim"}
    assert _report(db, world, profiles, "participant_may_be_victim") == []
    db.refresh(once)
    assert once.status == "open"  # a second flag leaves the one contact it opened alone


def test_a_facilitator_of_another_program_cannot_report_events(
    db: Session, world: World, profiles: dict[str, Profile]
) -> None:
    with pytest.raises(Forbidden):
        _report(db, world, profiles, "enrolled", persona="outsider")


def test_unreachable_is_refused_until_the_minimum_attempts_in_different_windows(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    [task] = _report(db, world, profiles, "enrolled")
    _attempt(db, vault, world, task, TONIGHT)
    _attempt(db, vault, world, task, TONIGHT + timedelta(minutes=30))  # the same session
    with pytest.raises(Conflict, match="different windows"):
        closing.close_task(
            db,
            actor=world.actor("liaison"),
            task_id=task.id,
            resolution="unreachable",
            now=TONIGHT + timedelta(hours=1),
        )
    _attempt(db, vault, world, task, NEXT_WEEK)
    closed = closing.close_task(
        db,
        actor=world.actor("liaison"),
        task_id=task.id,
        resolution="unreachable",
        now=NEXT_WEEK + timedelta(hours=1),
    )
    assert closed.status == "unreachable"


def test_an_attempt_in_group_time_records_its_session(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    [task] = _report(db, world, profiles, "enrolled")
    in_group = _attempt(db, vault, world, task, TONIGHT)
    outside = _attempt(db, vault, world, task, NOW)
    assert (in_group.group_id, str(in_group.session_date)) == (world.group.id, "2026-11-17")
    assert outside.session_date is None


def test_not_safe_to_talk_never_completes_a_contact(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    [task] = _report(db, world, profiles, "enrolled")
    _attempt(
        db, vault, world, task, TONIGHT, "reached_not_safe", callback_at=TONIGHT + timedelta(days=2)
    )
    with pytest.raises(Conflict, match="safe"):
        closing.close_task(
            db,
            actor=world.actor("liaison"),
            task_id=task.id,
            resolution="completed",
            now=TONIGHT + timedelta(hours=1),
        )
    _attempt(db, vault, world, task, NEXT_WEEK, "reached_safe")
    assert (
        closing.close_task(
            db, actor=world.actor("liaison"), task_id=task.id, resolution="completed", now=NEXT_WEEK
        ).status
        == "completed"
    )


def test_a_decline_on_a_call_stops_every_task_of_that_contact(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    [intake] = _report(db, world, profiles, "enrolled")
    [cancelled_class] = _report(db, world, profiles, "class_cancelled")
    _attempt(db, vault, world, intake, TONIGHT, "declined")
    db.expire_all()
    statuses = {
        t.status
        for t in db.scalars(select(OutreachTask).where(OutreachTask.contact_id == world.contact.id))
    }
    assert statuses == {"cancelled"}
    assert preferences.current_preferences(db, world.contact.id).consent == "declined"
    assert _report(db, world, profiles, "terminated") == []
    assert cancelled_class.id != intake.id


def test_attempt_notes_are_sealed_to_the_attempt(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    [task] = _report(db, world, profiles, "enrolled")
    attempt = _attempt(
        db, vault, world, task, TONIGHT, "reached_safe", notes="Asked to call Thursdays after 10"
    )
    assert attempt.notes_sealed is not None
    assert b"Thursdays" not in attempt.notes_sealed
    cipher = vault.cipher_for(db, world.contact.id)
    where = place("attempt", "notes", attempt.id)
    assert cipher.open(where, attempt.notes_sealed) == "Asked to call Thursdays after 10"


def test_an_attempt_in_the_future_or_on_a_closed_task_is_refused(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    [task] = _report(db, world, profiles, "enrolled")
    with pytest.raises(Exception, match="future"):
        attempt_log.record_attempt(
            db,
            vault,
            actor=world.actor("liaison"),
            task_id=task.id,
            channel="voice",
            at=NOW + timedelta(hours=2),
            outcome="busy",
            now=NOW,
        )
    _attempt(db, vault, world, task, TONIGHT, "reached_safe")
    closing.close_task(
        db, actor=world.actor("liaison"), task_id=task.id, resolution="completed", now=TONIGHT
    )
    with pytest.raises(Conflict):
        _attempt(db, vault, world, task, TONIGHT + timedelta(minutes=5))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(days=st.lists(st.integers(min_value=0, max_value=20), min_size=0, max_size=5))
def test_unreachable_closes_exactly_when_enough_distinct_windows_were_tried(
    db: Session, vault: Vault, world: World, profiles: dict[str, Profile], days: list[int]
) -> None:
    participant = world.participant
    contact = make_contact(db, vault, participant, now=NOW, phone="404-555-0177")
    [task] = [t for t in _report(db, world, profiles, "enrolled") if t.contact_id == contact.id]
    for day in days:  # one attempt at 19:00 New York on each chosen day
        _attempt(db, vault, world, task, TONIGHT + timedelta(days=day))
    distinct = len(set(days))
    later = TONIGHT + timedelta(days=30)
    if distinct >= task.min_attempts:
        assert (
            closing.close_task(
                db,
                actor=world.actor("liaison"),
                task_id=task.id,
                resolution="unreachable",
                now=later,
            ).status
            == "unreachable"
        )
    else:
        with pytest.raises(Conflict):
            closing.close_task(
                db,
                actor=world.actor("liaison"),
                task_id=task.id,
                resolution="unreachable",
                now=later,
            )


# Wednesday 18 November 2026, no group session: 18:55 and 19:05 in New York, either side of
# midnight UTC. One evening, one window (S5), though the UTC days differ.
WEDNESDAY_1855 = datetime(2026, 11, 18, 23, 55, tzinfo=UTC)
WEDNESDAY_1905 = datetime(2026, 11, 19, 0, 5, tzinfo=UTC)


def _two_calls_one_new_york_evening(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> OutreachTask:
    [task] = _report(db, world, profiles, "enrolled")
    _attempt(db, vault, world, task, WEDNESDAY_1855)
    _attempt(db, vault, world, task, WEDNESDAY_1905)
    return task


def _close_unreachable(db: Session, world: World, task: OutreachTask, now: datetime) -> str:
    actor = world.actor("liaison")
    return closing.close_task(
        db, actor=actor, task_id=task.id, resolution="unreachable", now=now
    ).status


def test_unreachable_waits_until_the_time_she_asked_to_be_called_back_at_is_tried(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    [task] = _report(db, world, profiles, "enrolled")
    _attempt(db, vault, world, task, TONIGHT)
    callback_at = NEXT_WEEK + timedelta(days=2)
    _attempt(db, vault, world, task, NEXT_WEEK, "reached_not_safe", callback_at=callback_at)
    with pytest.raises(Conflict, match="called back") as refused:  # S6
        _close_unreachable(db, world, task, NEXT_WEEK + timedelta(hours=1))
    assert refused.value.fields == {"resolution": "callback not yet tried"}
    assert attempt_rules.pending_callback(attempt_log.standing_attempts(db, task.id)) == callback_at
    _attempt(db, vault, world, task, callback_at + timedelta(minutes=2))
    assert attempt_rules.pending_callback(attempt_log.standing_attempts(db, task.id)) is None
    assert _close_unreachable(db, world, task, callback_at + timedelta(hours=1)) == "unreachable"


def test_two_calls_one_evening_across_utc_midnight_are_one_window(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    task = _two_calls_one_new_york_evening(db, world, vault, profiles)
    assert attempt_rules.distinct_windows(attempt_log.standing_attempts(db, task.id)) == 1
    assert tasks.windows_counted(db, [task.id]) == {task.id: 1}
    with pytest.raises(Conflict, match="different windows; 1 so far"):
        _close_unreachable(db, world, task, WEDNESDAY_1905 + timedelta(minutes=5))


def test_calls_on_two_local_days_are_two_windows_though_the_utc_day_is_one(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    [task] = _report(db, world, profiles, "enrolled")
    _attempt(db, vault, world, task, WEDNESDAY_1905)
    thursday_morning = datetime(2026, 11, 19, 14, 0, tzinfo=UTC)  # 09:00 in New York
    _attempt(db, vault, world, task, thursday_morning)
    assert tasks.windows_counted(db, [task.id]) == {task.id: 2}
    assert _close_unreachable(db, world, task, thursday_morning) == "unreachable"


def test_an_attempt_outside_group_time_records_the_day_in_the_contacts_own_zone(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    west = make_contact(
        db, vault, world.participant, now=NOW, phone="404-555-0178", timezone="America/Chicago"
    )
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=west.id,
        changes={"timezone": "America/Los_Angeles"},
        now=NOW,
    )
    opened = _report(db, world, profiles, "enrolled")
    [theirs] = [t for t in opened if t.contact_id == west.id]
    [ours] = [t for t in opened if t.contact_id == world.contact.id]
    late = datetime(2026, 11, 19, 6, 30, tzinfo=UTC)  # 22:30 Wednesday in Los Angeles
    assert _attempt(db, vault, world, theirs, late).window_day == date(2026, 11, 18)
    assert _attempt(db, vault, world, ours, late).window_day == date(2026, 11, 19)  # New York
    assert _attempt(db, vault, world, ours, TONIGHT).window_day is None  # in the group session


def test_a_closure_counted_by_utc_days_cannot_be_signed_off(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    task = _two_calls_one_new_york_evening(db, world, vault, profiles)
    # As the old count let it close: two calls ten minutes apart, across UTC midnight.
    task.status, task.closed_at = "unreachable", WEDNESDAY_1905
    db.commit()
    with pytest.raises(Conflict, match="too few attempts"):
        sign_offs.sign_off(db, actor=world.actor("supervisor"), task_id=task.id, now=WEDNESDAY_1905)
    assert task.signed_off_by is None


def test_a_correction_keeps_the_window_of_the_call_it_corrects(
    db: Session, world: World, vault: Vault, profiles: dict[str, Profile]
) -> None:
    [task] = _report(db, world, profiles, "enrolled")
    _attempt(db, vault, world, task, WEDNESDAY_1855)
    late = _attempt(db, vault, world, task, WEDNESDAY_1905)
    fixed = corrections.correct_attempt(
        db, actor=world.actor("supervisor"), attempt_id=late.id, outcome="busy", now=late.at
    )
    assert fixed.window_day == date(2026, 11, 18)
    assert attempt_rules.distinct_windows(attempt_log.standing_attempts(db, task.id)) == 1
    assert tasks.windows_counted(db, [task.id]) == {task.id: 1}


def test_events_recorded_at_one_instant_keep_the_order_they_were_recorded_in(
    db: Session, world: World, profiles: dict[str, Profile]
) -> None:
    """One request or one import records several of his events on one clock reading: his
    status must follow the order they were recorded in, never the order the database returns
    the rows (on PostgreSQL an enrolment and a completion at one instant once read "enrolled")."""
    for kind in ("enrolled", "completed", "enrolled", "terminated"):
        _report(db, world, profiles, kind)
    recorded = db.scalars(
        select(ProgramEvent.created_at)
        .where(ProgramEvent.participant_id == world.participant.id)
        .order_by(ProgramEvent.created_at)
    ).all()
    assert len(set(recorded)) == len(recorded) == 4
    timeline = participant_status.timeline_of(db, world.participant)
    assert timeline.status_at(NOW + timedelta(hours=1)).status == "terminated"
