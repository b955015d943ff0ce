"""One scheduler leads; when it dies, another takes over (advisory lock or lock file)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from outreach.runtime import Runtime
from outreach.scheduler import jobs
from outreach.scheduler.runner import LOCK_KEY, Leadership
from outreach.services.delivery import inbox
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM
from tests.conftest import NOW
from tests.factories import (
    make_contact,
    make_group,
    make_participant,
    make_program,
    make_safe_check_delivery,
)

HOLDER = """
import sys, time
from pathlib import Path
from outreach.db import make_engine
from outreach.scheduler.runner import LOCK_KEY, Leadership
engine = make_engine(sys.argv[1], connect_args={"options": sys.argv[3]} if sys.argv[3] else {})
leader = Leadership(engine, Path(sys.argv[2]))
print("leading" if leader.try_acquire() else "waiting", flush=True)
time.sleep(60)
"""


def test_only_one_process_leads_and_a_release_hands_over(
    own_engine: Engine, tmp_path: Path
) -> None:
    first, second = Leadership(own_engine, tmp_path), Leadership(own_engine, tmp_path)
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_when_the_leader_is_killed_another_takes_over(own_engine: Engine, tmp_path: Path) -> None:
    url = own_engine.url.render_as_string(hide_password=False)
    options = "" if own_engine.dialect.name == "sqlite" else _search_path(own_engine)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, str(tmp_path), options],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "leading"
        waiting = Leadership(own_engine, tmp_path)
        assert not waiting.try_acquire()
        os.killpg(holder.pid, signal.SIGKILL)  # the leader dies mid-whatever
        holder.wait(timeout=30)
        assert _eventually(waiting.try_acquire)
        waiting.release()
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait(timeout=30)
        if holder.stdout is not None:
            holder.stdout.close()


def _eventually(check: object, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def _search_path(engine: Engine) -> str:
    with engine.connect() as conn:
        schema = conn.exec_driver_sql("SHOW search_path").scalar_one()
    return f"-csearch_path={schema}"


def test_a_leader_whose_lock_connection_the_server_ended_steps_down_at_once(
    own_engine: Engine, tmp_path: Path
) -> None:
    """Issue 21 finding 5: the server ends the leader's session (a terminated backend, a
    restart); the lock went with it and the other scheduler takes it. The first must know at
    once, not go on ticking beside the new leader."""
    first, second = Leadership(own_engine, tmp_path), Leadership(own_engine, tmp_path)
    assert first.try_acquire()
    if own_engine.dialect.name == "postgresql":
        _end_the_session_holding_the_lock(own_engine)
    else:
        first.release()  # SQLite: the lock file is freed only when its holder lets go
    assert not first.held
    assert second.try_acquire()
    assert second.held
    assert not first.try_acquire()  # stepped down, and the lock is the other's now
    second.release()
    assert first.try_acquire()
    first.release()


def _end_the_session_holding_the_lock(engine: Engine) -> None:
    with engine.connect() as conn:
        ended = conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = :key AND objid = CAST(hashtext(current_schema()) AS oid) "
                "AND objsubid = 2 AND granted"
            ),
            {"key": LOCK_KEY},
        ).all()
        conn.commit()
    assert ended == [(True,)]
    time.sleep(0.2)  # the backend is gone once its process has exited


def test_an_applier_that_stops_leading_mid_drain_applies_no_further_batch(
    own_runtime: Runtime,
) -> None:
    """Issue 21 "One leader, proven": the leader re-checks its lock before each job, and a
    drain of a backlog is many batches over seconds. bench/soak saw the old leader go on
    applying for 4 s after its lock connection was terminated, beside the process that had
    taken over. Before the fix this drain applied every row."""
    with own_runtime.session() as db:
        program = make_program(db, now=NOW)
        participant = make_participant(db, make_group(db, program, now=NOW), now=NOW)
        make_contact(db, own_runtime.vault, participant, now=NOW, consent="consented")
        _, [task] = events.report_event(
            db,
            own_runtime.profiles,
            actor=SYSTEM,
            participant_id=participant.id,
            event_type="class_cancelled",
            at=NOW,
            severity="routine",
            now=NOW,
        )
        total = 3 * inbox.batch_size(db)
        for n in range(total):
            call = make_safe_check_delivery(db, task, now=NOW)
            inbox.store(
                own_runtime.engine,
                code=call.code,
                route="status",
                key=f"status:contact:{call.provider_sid}:ringing",
                fields={"CallStatus": "ringing"},
                now=NOW + timedelta(milliseconds=n),
            )
    answers = iter([True])  # leads for the first batch, then the lock is gone

    applied = jobs.apply_callbacks(own_runtime, NOW, leading=lambda: next(answers, False))

    assert 0 < applied <= total // 3
    with own_runtime.session() as db:
        assert inbox.unapplied_count(db) == total - applied  # left for the new leader


def test_a_tick_whose_process_stops_leading_runs_no_further_step(own_runtime: Runtime) -> None:
    """A tick under load lasts seconds (sends are paced); bench/soak saw a scheduler go on
    re-planning every open task after its lock connection was terminated, beside the new
    leader. Before the fix this tick re-planned the task."""
    with own_runtime.session() as db:
        program = make_program(db, now=NOW)
        participant = make_participant(db, make_group(db, program, now=NOW), now=NOW)
        make_contact(db, own_runtime.vault, participant, now=NOW, consent="consented")
        events.report_event(
            db,
            own_runtime.profiles,
            actor=SYSTEM,
            participant_id=participant.id,
            event_type="class_cancelled",
            at=NOW,
            severity="routine",
            now=NOW,
        )
    answers = iter([True])  # leads while the callbacks are applied, then the lock is gone

    stepped_down = jobs.tick(own_runtime, NOW, leading=lambda: next(answers, False))
    leading = jobs.tick(own_runtime, NOW)

    assert stepped_down.plans_refreshed == 0
    assert leading.plans_refreshed == 1  # the work was there for a leader
