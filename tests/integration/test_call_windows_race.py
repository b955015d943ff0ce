"""A re-plan racing a write: it never stores windows the unfinished write has made stale.

The data lives in a schema (or file) of this test's own, because both transactions must really
commit for them to race. The write cancels tonight's group session and holds its transaction
open; a re-plan starts meanwhile. Without the lock between them the re-plan reads the session
as still on, waits only at its own DELETE, and stores tonight's window after the write commits.
"""

from __future__ import annotations

import os
import threading
import time as wall
from datetime import date, time, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from outreach.domain.protocols.loading import load_profiles
from outreach.models import OutreachTask, PlannedWindow, SessionCancellation
from outreach.security.crypto import IndexKeyring, Keyring
from outreach.security.vault import Vault
from outreach.services.intake import events
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import SYSTEM
from outreach.services.scheduling import call_windows
from outreach.services.scheduling.planning import plan_open_tasks
from outreach.settings_secrets import DataKey
from tests.conftest import NOW
from tests.factories import make_contact, make_group, make_participant, make_program
from tests.sessions import app_sessions

PROFILES = load_profiles(PROTOCOLS_DIR)
HOURS = (time(9, 0), time(21, 0))
TONIGHT = date(2026, 11, 17)  # NOW is a Tuesday; the group meets on Tuesdays


def _seed(sessions: sessionmaker[Session], vault: Vault) -> tuple[object, object]:
    with sessions() as db:
        program = make_program(db, now=NOW)
        group = make_group(db, program, now=NOW)
        participant = make_participant(db, group, now=NOW)
        make_contact(db, vault, participant, now=NOW, consent="consented")
        _, opened = events.report_event(
            db,
            PROFILES,
            actor=SYSTEM,
            participant_id=participant.id,
            event_type="enrolled",
            at=NOW,
            severity="routine",
            now=NOW,
        )
        # Planned half a day ago: the next re-plan takes it up whatever else happens.
        earlier = NOW - call_windows.REPLAN_AFTER - timedelta(minutes=1)
        call_windows.refresh_all(db, PROFILES, now=earlier, calling_hours=HOURS)
        return group.id, opened[0].id


def _windows(db: Session, task_id: object) -> list[tuple[object, object]]:
    rows = db.execute(
        select(PlannedWindow.starts_at, PlannedWindow.ends_at)
        .where(PlannedWindow.task_id == task_id)
        .order_by(PlannedWindow.starts_at)
    )
    return [(s, e) for s, e in rows]


def _live(db: Session, task_id: object) -> list[tuple[object, object]]:
    plan = plan_open_tasks(db, PROFILES, now=NOW, days=call_windows.PLAN_DAYS, calling_hours=HOURS)
    return sorted((w.start, w.end) for w in plan.windows if str(task_id) == w.task_id)


def test_a_re_plan_never_stores_windows_an_unfinished_write_made_stale(own_engine: Engine) -> None:
    vault = Vault(
        Keyring((DataKey("t1", os.urandom(32)),)), IndexKeyring((DataKey("i1", os.urandom(32)),))
    )
    sessions = app_sessions(own_engine, audit_key=os.urandom(32))
    group_id, task_id = _seed(sessions, vault)
    with sessions() as db:
        before = _live(db, task_id)
    flushed, failures = threading.Event(), []

    def replan() -> None:
        flushed.wait()
        try:
            with sessions() as db:
                call_windows.refresh_all(db, PROFILES, now=NOW, calling_hours=HOURS)
        except Exception as error:  # reported below, not lost in the thread
            failures.append(error)

    worker = threading.Thread(target=replan)
    worker.start()
    with sessions() as writer:
        writer.add(
            SessionCancellation(
                group_id=group_id, session_date=TONIGHT, reason="closed", created_at=NOW
            )
        )
        writer.flush()  # drops the task's plan, inside a transaction not yet committed
        flushed.set()
        wall.sleep(0.5)  # the re-plan has begun, and waits for this transaction
        writer.commit()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert not failures, failures
    with sessions() as db:
        after = _live(db, task_id)
        assert after != before, "cancelling tonight's session should remove a window"
        task = db.get_one(OutreachTask, task_id)
        assert _windows(db, task.id) == after
