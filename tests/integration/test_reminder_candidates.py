"""Reminders plan only the tasks whose contact may get a heads-up text before a call, and lose
none by it (S1, S2, S4, consented reminders)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session, sessionmaker

from outreach.domain.vocabulary import Consent
from outreach.models import Delivery, OutreachTask
from outreach.runtime import Runtime, runtime
from outreach.scheduler import jobs
from outreach.security.vault import Vault
from outreach.services.contact_persons import her_word, preferences
from outreach.services.intake import events
from outreach.services.scheduling import planning, reminders
from tests.conftest import NOW
from tests.factories import World, make_contact, make_group, make_participant, rolled_back

CHANNELS = (("voice",), ("voice", "sms"), ("sms",))
EVENTS = ("class_cancelled", "enrolled", "terminated", "duty_to_warn")
Made = tuple[uuid.UUID, datetime, datetime | None, str]  # a reminder: task, due, expiry, language


@dataclass(frozen=True)
class Spec:
    """One contact with one open (or closed) task, as a generated example describes it."""

    versions: tuple[dict[str, Any], ...] = ()  # preference changes after the task opened
    channels: tuple[str, ...] = ("voice", "sms")
    event: str = "class_cancelled"
    daily_group: bool = False
    closed: bool = False
    planned_on: int | None = None  # a reminder already planned this many days after today (UTC)


# Weighted towards contacts who may be texted, so that most examples expect some reminder.
versions = st.fixed_dictionaries(
    {
        "consent": st.sampled_from([Consent.CONSENTED.value] * 3 + [c.value for c in Consent]),
        "sms": st.sampled_from([True, True, False]),
        "voice": st.booleans(),
        "only_during_group": st.booleans(),
    }
)


def _declined_stays(changes: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """No later change lifts a decline (S1: ever), as change_preferences refuses it."""
    declined = False
    kept = []
    for change in changes:
        declined = declined or change["consent"] == Consent.DECLINED.value
        kept.append({**change, "consent": Consent.DECLINED.value} if declined else change)
    return tuple(kept)


specs = st.builds(
    Spec,
    versions=st.lists(versions, max_size=2).map(_declined_stays),
    channels=st.sampled_from(CHANNELS),
    event=st.sampled_from(EVENTS),
    daily_group=st.sampled_from([True, True, False]),  # the weekly group is rarely near
    closed=st.sampled_from([False, False, False, True]),
    planned_on=st.sampled_from([None, None, None, 0, 1]),
)


@pytest.fixture
def rt(app: Flask) -> Runtime:
    return runtime(app)


def _open(db: Session, vault: Vault, world: World, rt: Runtime, spec: Spec, n: int) -> None:
    """Open the task while SMS is allowed, then let the contact change their mind."""
    group = world.group
    if spec.daily_group:
        group = make_group(db, world.home, now=NOW, rrule="FREQ=DAILY", start_time="12:00")
    participant = make_participant(db, group, now=NOW)
    contact = make_contact(
        db, vault, participant, now=NOW, phone=f"404-555-01{n:02d}", consent="consented", sms=True
    )
    _, opened = events.report_event(
        db,
        rt.profiles,
        actor=world.actor("facilitator"),
        participant_id=participant.id,
        event_type=spec.event,
        at=NOW,
        severity="high",
        now=NOW,
    )
    for changes in spec.versions:
        her_word.change_preferences(
            db, actor=world.actor("liaison"), contact_id=contact.id, changes=changes, now=NOW
        )
    for task in opened:
        task.channels, task.status = list(spec.channels), "completed" if spec.closed else "open"
        if spec.planned_on is not None:
            day = datetime.combine(NOW.date() + timedelta(days=spec.planned_on), time(12), UTC)
            db.add(_reminder(task, day))
    db.commit()


def _reminder(task: OutreachTask, due_at: datetime) -> Delivery:
    return Delivery(
        task_id=task.id,
        contact_id=task.contact_id,
        kind="sms",
        script="reminder",
        language="en",
        status="pending",
        code=secrets.token_urlsafe(32),
        due_at=due_at,
        expires_at=due_at + timedelta(hours=1),
        created_at=NOW - timedelta(days=1),
    )


def _made_at(db: Session, now: datetime) -> set[Made]:
    rows = db.execute(
        select(Delivery.task_id, Delivery.due_at, Delivery.expires_at, Delivery.language).where(
            Delivery.script == "reminder", Delivery.created_at == now
        )
    )
    return {(r.task_id, r.due_at, r.expires_at, r.language) for r in rows}


def _planning_every_task(db: Session, rt: Runtime, now: datetime) -> set[Made]:
    """What scheduling made before the narrowing: every open task planned; then undone."""
    savepoint = db.begin_nested()
    plan = planning.plan_open_tasks(
        db,
        rt.profiles,
        now=now,
        days=2,
        calling_hours=(rt.settings.calling_start, rt.settings.calling_end),
    )
    for window in reminders._next_windows(
        plan.windows, now, now + reminders.REMINDER_LOOKAHEAD
    ).values():
        reminders._schedule_one(db, rt.profiles, window, now)
    made = _made_at(db, now)
    savepoint.rollback()
    return made


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mix=st.lists(specs, min_size=1, max_size=8), hours=st.sampled_from([0, 5, 17, 30]))
def test_narrowed_scheduling_makes_exactly_the_reminders_planning_every_task_made(
    connection: Connection,
    sessions: sessionmaker[Session],
    vault: Vault,
    world: World,
    rt: Runtime,
    mix: list[Spec],
    hours: int,
) -> None:
    now = NOW + timedelta(hours=hours)
    with rolled_back(connection, sessions) as db:
        for n, spec in enumerate(mix):
            _open(db, vault, world, rt, spec, n)
        expected = _planning_every_task(db, rt, now)
        assert jobs.schedule_reminders(db, rt, now) == len(expected)
        assert _made_at(db, now) == expected


@contextmanager
def _statements(connection: Connection) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(args[2])  # (conn, cursor, statement, parameters, context, executemany)

    event.listen(connection, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", note)


@pytest.mark.parametrize("count", [3, 30])
def test_finding_who_may_be_texted_takes_one_query_however_many_tasks(
    connection: Connection, db: Session, vault: Vault, world: World, rt: Runtime, count: int
) -> None:
    for n in range(count):
        _open(db, vault, world, rt, Spec() if n % 3 == 0 else Spec(({"sms": False},)), n)
    db.connection()  # the test's own savepoint opens here, not among the counted
    with _statements(connection) as seen:
        found = reminders.reminder_candidates(db, rt.profiles)
    assert len(found) == len(range(0, count, 3))
    assert len(seen) == 1


def test_a_task_is_a_candidate_only_while_its_contacts_newest_version_allows_sms(
    db: Session, vault: Vault, world: World, rt: Runtime
) -> None:
    revoked = Spec(versions=({"sms": False},))
    restored = Spec(versions=({"sms": False}, {"sms": True}))
    # A text-only task plans no call, so there is nothing to give her a heads-up about.
    for n, spec in enumerate((revoked, restored, Spec(channels=("sms",)), Spec(closed=True))):
        _open(db, vault, world, rt, spec, n)
    [found] = reminders.reminder_candidates(db, rt.profiles)
    task = db.get_one(OutreachTask, found)
    assert preferences.current_preferences(db, task.contact_id).version == 3  # the restored one
