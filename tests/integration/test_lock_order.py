"""One lock order for every writer (issue 21 finding 15, docs/architecture.md "Lock order"):
a transaction's own rows first (deliveries, tasks, stored plans), the audit chain's append lock
last, held for the append alone.

Before, an append took the lock mid-transaction: the inbox applier, settling two calls in one
batch, held the append lock after the first and waited for the second task's stored plan,
while a liaison's write held that plan and waited for the append lock. PostgreSQL broke the
ring by failing one of them: a lost outcome or a liaison's change answered 500.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from outreach.models import Attempt, AuditEvent, ContactPreferences, OutreachTask, TaskPlan
from outreach.runtime import Runtime
from outreach.services import call_windows, contacts, inbox, tasks
from outreach.services.audit import SYSTEM
from tests.conftest import NOW
from tests.factories import (
    make_contact,
    make_group,
    make_participant,
    make_program,
    make_safe_check_delivery,
)


def _task_of_a_new_contact(rt: Runtime, db: Session, phone: str) -> OutreachTask:
    program = make_program(db, now=NOW)
    participant = make_participant(db, make_group(db, program, now=NOW), now=NOW)
    make_contact(db, rt.vault, participant, now=NOW, consent="consented", phone=phone)
    _, [task] = tasks.report_event(
        db,
        rt.profiles,
        actor=SYSTEM,
        participant_id=participant.id,
        event_type="class_cancelled",
        at=NOW,
        severity="routine",
        now=NOW,
    )
    return task


@pytest.fixture
def two_calls_ended_busy(own_runtime: Runtime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Two contacts' tasks, each with a stored plan and a safe-check call whose "busy" status
    waits in the inbox for the applier."""
    with own_runtime.session() as db:
        found = [
            _task_of_a_new_contact(own_runtime, db, phone)
            for phone in ("+1 (404) 555-0141", "+1 (404) 555-0142")
        ]
        for n, task in enumerate(found):  # the first task's call ended first
            call = make_safe_check_delivery(db, task, now=NOW)
            assert inbox.store(
                own_runtime.engine,
                code=call.code,
                route="status",
                key=f"status:contact:{call.provider_sid}:busy",
                fields={"CallStatus": "busy"},
                now=NOW + timedelta(seconds=n),
            )
        call_windows.refresh_all(
            db,
            own_runtime.profiles,
            now=NOW,
            calling_hours=(own_runtime.settings.calling_start, own_runtime.settings.calling_end),
        )
        assert db.scalar(select(func.count()).select_from(TaskPlan)) == 2
        ids = [(task.id, task.contact_id) for task in found]
    return ids


def test_a_liaisons_change_and_the_applier_settling_calls_never_deadlock(
    own_runtime: Runtime, two_calls_ended_busy: list[tuple[uuid.UUID, uuid.UUID]]
) -> None:
    (first, _), (second, second_contact) = two_calls_ended_busy
    web_holds_the_plan, failures = threading.Event(), list[str]()

    def liaison_changes_the_second_contacts_hours() -> None:
        with own_runtime.session() as db:
            # The liaison's write has dropped the second task's stored plan (its row is
            # locked) and goes on for a moment before it commits: a slow page, a busy core.
            paused = [False]

            @event.listens_for(db, "after_flush")
            def pause(*_: Any) -> None:
                if not paused[0]:
                    paused[0] = True
                    web_holds_the_plan.set()
                    threading.Event().wait(0.5)

            try:
                contacts.change_preferences(
                    db,
                    actor=SYSTEM,
                    contact_id=second_contact,
                    changes={"voicemail": True},
                    now=NOW,
                )
            except Exception as exc:
                failures.append(f"liaison: {type(exc).__name__}")
                web_holds_the_plan.set()

    def applier() -> None:
        assert web_holds_the_plan.wait(10)
        with own_runtime.session() as db:
            try:  # one batch, both calls: drain would retry a failed batch row by row
                assert inbox.apply_pending(db, NOW) == 2
            except Exception as exc:
                failures.append(f"applier: {type(exc).__name__}")

    threads = [
        threading.Thread(target=liaison_changes_the_second_contacts_hours),
        threading.Thread(target=applier),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    with own_runtime.session() as db:
        assert inbox.unapplied_count(db) == 0
        attempts = db.scalars(select(Attempt.task_id)).all()
        assert sorted(attempts, key=uuid.UUID.__str__) == sorted(
            [first, second], key=uuid.UUID.__str__
        )
        preferences = db.scalars(
            select(ContactPreferences).where(ContactPreferences.contact_id == second_contact)
        ).all()
        assert len(preferences) == 2  # the liaison's change was kept
        actions = db.scalars(select(AuditEvent.action)).all()
    assert actions.count("contact.preferences_changed") == 1
    assert actions.count("task.attempt_recorded") == 2
