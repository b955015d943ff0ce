"""One lock order for every writer (issue 21 finding 15, docs/architecture.md "Lock order"):
a transaction's own rows first (deliveries, tasks, stored plans), the audit chain's append lock
last, held for the append alone.

Before, an append took the lock mid-transaction: the inbox applier, settling two calls in one
batch, held the append lock after the first and waited for the second task's stored plan,
while a liaison's write held that plan and waited for the append lock. PostgreSQL broke the
ring by failing one of them: a lost outcome or a liaison's change answered 500.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text, update
from sqlalchemy.orm import Session

from outreach.channels.base import Sent, Sms
from outreach.domain.vocabulary import Role
from outreach.models import (
    Attempt,
    AuditEvent,
    ContactPreferences,
    Delivery,
    OutreachTask,
    Program,
    TaskPlan,
)
from outreach.runtime import Runtime
from outreach.scheduler import jobs
from outreach.services.contact_persons import her_word
from outreach.services.delivery import due_texts, inbox
from outreach.services.delivery.outward import Outward
from outreach.services.errors import Conflict
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM, Actor
from outreach.services.scheduling import call_windows, claims
from tests.conftest import DATABASES, NOW
from tests.factories import (
    make_contact,
    make_group,
    make_participant,
    make_program,
    make_safe_check_delivery,
    make_user,
)
from tests.lock_waits import LockWatch


def _task_of_a_new_contact(
    rt: Runtime, db: Session, phone: str, *, sms: bool = False
) -> OutreachTask:
    program = make_program(db, now=NOW)
    participant = make_participant(db, make_group(db, program, now=NOW), now=NOW)
    make_contact(db, rt.vault, participant, now=NOW, consent="consented", phone=phone, sms=sms)
    _, [task] = events.report_event(
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
                her_word.change_preferences(
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


# --- everything at once ---------------------------------------------------------------------

CONTACTS = 6
# A provider's answer takes a second: a lock held across it would keep its waiters ten times
# the bound below.
PROVIDER_SECONDS = 1.0
# Issue 21: "no stall over 100 ms attributable to a lock". Measured per lock wait, by the
# server's clock, as the time its holder kept the lock while inside a wait that is not the
# database's (tests/lock_waits.py): the provider's answer here. The rest of a lock wait is the
# holders' own statements, Python and commits, which on two busy cores (and behind this
# process's other threads) pass 100 ms now and then: they are bounded by PROVIDER_SECONDS.
LOCK_STALL_SECONDS = 0.1
# A safety net, so that a lock held across the provider's second fails the test rather than
# hangs it; the bounds above are what is asserted.
SET_LOCK_TIMEOUT = text("SET lock_timeout = '5s'")
# SQLSTATEs of a lock going wrong: deadlock detected, lock_timeout ran out.
LOCK_TROUBLE = {"40P01": "deadlock", "55P03": "lock wait over 5 s"}


@dataclass
class PacedProvider:
    """Takes a second a text, as a full SMS pacer and a slow provider would."""

    name: str = "twilio"
    sent: list[str] = field(default_factory=list)
    waiting: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext

    def send_sms(self, sms: Sms) -> Sent:
        with self.waiting():
            time.sleep(PROVIDER_SECONDS)
        self.sent.append(sms.callbacks.code)
        return Sent("SM" + uuid.uuid4().hex, "queued")


def _busy_world(rt: Runtime) -> tuple[list[uuid.UUID], list[uuid.UUID], list[Actor]]:
    """Six contacts who allow texts, each with a task, a stored plan, a reminder due now and
    five safe-check calls whose progress waits in the inbox; and four liaisons."""
    with rt.session() as db:
        found = [
            _task_of_a_new_contact(rt, db, f"+1 (404) 555-01{60 + n}", sms=True)
            for n in range(CONTACTS)
        ]
        for task in found:
            for n in range(5):
                call = make_safe_check_delivery(db, task, now=NOW)
                for step, status in enumerate(("ringing", "in-progress", "no-answer")):
                    inbox.store(
                        rt.engine,
                        code=call.code,
                        route="status",
                        key=f"status:contact:{call.provider_sid}:{status}",
                        fields={"CallStatus": status},
                        now=NOW + timedelta(milliseconds=10 * n + step),
                    )
            for n in range(1):
                db.add(
                    Delivery(
                        task_id=task.id,
                        contact_id=task.contact_id,
                        kind="sms",
                        script="reminder",
                        language="en",
                        code=f"all-{n}-{task.id.hex[:20]}",
                        due_at=NOW - timedelta(minutes=1),
                        expires_at=NOW + timedelta(hours=1),
                        created_at=NOW,
                    )
                )
        db.commit()
        call_windows.refresh_all(
            db,
            rt.profiles,
            now=NOW,
            calling_hours=(rt.settings.calling_start, rt.settings.calling_end),
        )
        program_ids = {task.program_id for task in found}
        liaisons = [
            Actor.of(
                make_user(
                    db,
                    Role.LIAISON,
                    [p for p in db.scalars(select(Program).where(Program.id.in_(program_ids)))],
                    now=NOW,
                )
            )
            for _ in range(4)
        ]
        return [t.id for t in found], [t.contact_id for t in found], liaisons


@pytest.mark.parametrize("own_engine", ["postgresql"], indirect=True)
def _test_the_applier_the_scheduler_and_liaisons_together_meet_no_deadlock_and_no_lock_stall(
    own_runtime: Runtime,
) -> None:
    task_ids, contact_ids, liaisons = _busy_world(own_runtime)
    own_runtime.engine.dispose()  # every backend from here on is watched
    watch = LockWatch(own_runtime.engine)
    trouble: list[str] = []

    @event.listens_for(own_runtime.engine, "handle_error")
    def lock_went_wrong(context: Any) -> None:
        state = getattr(context.original_exception, "sqlstate", None)
        if state in LOCK_TROUBLE:
            trouble.append(f"{LOCK_TROUBLE[state]}: {str(context.statement)[:60]}")

    provider = PacedProvider(waiting=watch.waiting)
    out = Outward(provider, own_runtime.vault, own_runtime.library, own_runtime.settings)  # type: ignore[arg-type]
    start = threading.Barrier(2 + len(liaisons))
    errors: list[str] = []

    def guarded(work: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            start.wait()
            try:
                work()
            except Exception as exc:
                errors.append(f"{work.__name__}: {type(exc).__name__}")

        return run

    def applier() -> None:
        while jobs.apply_callbacks(own_runtime, NOW):
            pass

    def scheduler() -> None:
        with own_runtime.session() as db:
            due_texts.send_due(db, out, NOW)

    def liaison(actor: Actor, n: int) -> Callable[[], None]:
        def work() -> None:
            for round_ in range(8):
                index = (n + round_) % CONTACTS
                with own_runtime.session() as db:
                    db.execute(SET_LOCK_TIMEOUT)
                    with contextlib.suppress(Conflict):  # another liaison holds it: no trouble
                        claims.claim_task(db, actor=actor, task_id=task_ids[index], now=NOW)
                    db.execute(SET_LOCK_TIMEOUT)
                    her_word.change_preferences(
                        db,
                        actor=SYSTEM,
                        contact_id=contact_ids[index],
                        changes={"voicemail": round_ % 2 == 0},
                        now=NOW,
                    )
                    db.execute(text("RESET lock_timeout"))
                    db.commit()

        return work

    threads = [
        threading.Thread(target=guarded(applier)),
        threading.Thread(target=guarded(scheduler)),
    ]
    threads += [threading.Thread(target=guarded(liaison(a, n))) for n, a in enumerate(liaisons)]
    with watch.watching():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert trouble == []
    assert errors == []
    assert watch.stalls(over=LOCK_STALL_SECONDS) == []
    assert watch.longest() < PROVIDER_SECONDS
    assert watch.waits, "the writers met on locks, or the run proves nothing"
    with own_runtime.session() as db:
        assert inbox.unapplied_count(db) == 0
        assert db.scalar(select(func.count()).select_from(Attempt)) == 5 * CONTACTS
        sent = db.scalar(select(func.count()).where(Delivery.status == "sent"))
    assert sent == len(provider.sent) == CONTACTS


@pytest.mark.parametrize("own_engine", ["postgresql"], indirect=True)
def _test_the_watch_puts_a_wait_behind_a_lock_held_across_a_wait_down_to_that_lock(
    own_runtime: Runtime,
) -> None:
    """The measure above sees what it must: a transaction that keeps a task's row locked
    while its thread waits (as the scheduler's sends did before issue 21 finding 14) stalls a
    liaison's claim by that wait; the same hold spent running Python is not put down to it."""
    with own_runtime.session() as db:
        task_id = _task_of_a_new_contact(own_runtime, db, "+1 (404) 555-0171").id
    own_runtime.engine.dispose()
    watch = LockWatch(own_runtime.engine)
    holding = threading.Event()

    def hold_the_row(marked: bool) -> None:
        with own_runtime.engine.connect() as conn:
            conn.execute(
                update(OutreachTask).where(OutreachTask.id == task_id).values(claim_version=7)
            )
            holding.set()
            with watch.waiting() if marked else contextlib.nullcontext():
                time.sleep(0.3)
            conn.commit()

    def claim() -> None:
        assert holding.wait(10)
        with own_runtime.engine.connect() as conn:
            conn.execute(
                update(OutreachTask).where(OutreachTask.id == task_id).values(claim_version=8)
            )
            conn.commit()

    found = []
    for marked in (True, False):
        holding.clear()
        watch.waits.clear()
        with watch.watching():
            threads = [
                threading.Thread(target=hold_the_row, args=(marked,)),
                threading.Thread(target=claim),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        found.append((len(watch.stalls(over=LOCK_STALL_SECONDS)), watch.longest() >= 0.2))
        watch = _fresh(watch, own_runtime)
    assert found == [(1, True), (0, True)]


def _fresh(watch: LockWatch, rt: Runtime) -> LockWatch:
    rt.engine.dispose()
    return LockWatch(rt.engine)


if "postgresql" in DATABASES:  # SQLite has one write lock and no lock order to get wrong
    test_the_applier_the_scheduler_and_liaisons_together_meet_no_deadlock_and_no_lock_stall = (
        _test_the_applier_the_scheduler_and_liaisons_together_meet_no_deadlock_and_no_lock_stall
    )
    test_the_watch_puts_a_wait_behind_a_lock_held_across_a_wait_down_to_that_lock = (
        _test_the_watch_puts_a_wait_behind_a_lock_held_across_a_wait_down_to_that_lock
    )
