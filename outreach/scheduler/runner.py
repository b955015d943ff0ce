"""The scheduler process: one leader ticks every 30 s and applies stored provider callbacks
every 2 s; the others wait to take over.

No personal data is ever in a job's arguments: the job is a closure over the runtime, and
MemoryJobStore keeps nothing on disk (APScheduler would pickle job state in a persistent
store). On PostgreSQL, leadership is a session-level advisory lock held on its own
connection, released by the server when the leader's connection dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import IO

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from outreach.clock import SystemClock
from outreach.runtime import Runtime
from outreach.scheduler.jobs import apply_callbacks, send_on_call_notices, tick

log = logging.getLogger("outreach.scheduler")
TICK_SECONDS = 30
# Status callbacks wait in the webhook inbox at most about this long before they count.
APPLY_SECONDS = 2
LOCK_KEY = 0x6F757472  # "outr": the advisory lock every scheduler process competes for
# In the two-int key space, with the schema's hash beside it as the audit chain's lock has
# (services/records/audit_chain.py, another class): deployments or test runs sharing one server each
# elect their own leader. pg_locks shows such a key as classid, objid and objsubid 2.
_TRY_LOCK = text("SELECT pg_try_advisory_lock(CAST(:k AS integer), hashtext(current_schema()))")
_UNLOCK = text("SELECT pg_advisory_unlock(CAST(:k AS integer), hashtext(current_schema()))")
_HOLDS_THE_LOCK = text(
    "SELECT clock_timestamp() FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND pid = pg_backend_pid() AND classid = :k "
    "AND objid = CAST(hashtext(current_schema()) AS oid) AND objsubid = 2"
)


class Leadership:
    """Whether this process leads: a PostgreSQL advisory lock, or a lock file for SQLite.

    The advisory lock lives as long as its connection's database session. A session the
    server ended (a terminated backend, a restart) has lost the lock, and another process may
    hold it already: before each job, and before each send, the leader asks its connection
    and steps down the moment the lock is gone (issue 21 finding 5)."""

    def __init__(self, engine: Engine, instance_path: Path) -> None:
        self._engine = engine
        self._lock_path = instance_path / "scheduler.lock"
        self._connection: Connection | None = None
        self._file: IO[bytes] | None = None
        # Two jobs of one process may ask at once; only one of them takes the lock.
        self._asking = threading.RLock()

    @property
    def held(self) -> bool:
        """Whether this process leads right now, asked of the database, not remembered."""
        return self.verified_at() is not None

    def verified_at(self) -> datetime | None:
        """The database's time at which it confirmed that this process holds the lock, or
        None (after stepping down) if it no longer does."""
        with self._asking:
            if self._file is not None:
                return SystemClock().now()  # an flock lasts as long as this process
            if self._connection is None:
                return None
            at = self._still_locked(self._connection)
            if at is None:
                self._step_down()
            return at

    def try_acquire(self) -> bool:
        with self._asking:
            if self.held:
                return True
            if self._engine.dialect.name == "postgresql":
                return self._try_advisory_lock()
            return self._try_lock_file()

    def release(self) -> None:
        if self._connection is not None:
            # Unlock explicitly: closing only returns the connection to the pool, and the
            # lock belongs to the database session, which would live on there.
            try:
                self._connection.execute(_UNLOCK, {"k": LOCK_KEY})
                self._connection.commit()
            except DBAPIError:
                self._connection.invalidate()  # the session, and the lock, are gone already
            self._connection.close()
            self._connection = None
        if self._file is not None:
            self._file.close()  # closing releases the flock
            self._file = None

    @staticmethod
    def _still_locked(connection: Connection) -> datetime | None:
        try:
            at = connection.execute(_HOLDS_THE_LOCK, {"k": LOCK_KEY}).scalar()
            connection.commit()
        except DBAPIError:
            return None  # the server ended this session, and the lock with it
        return at

    def _step_down(self) -> None:
        log.warning("scheduler leadership lost; this process no longer leads")
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(DBAPIError):
                connection.invalidate()  # never back into the pool: its session may be dead
            connection.close()

    def _try_advisory_lock(self) -> bool:
        try:
            connection = self._engine.connect()
        except DBAPIError:
            return False  # the database is away; the next job asks again
        try:
            got = connection.execute(_TRY_LOCK, {"k": LOCK_KEY})
            if got.scalar_one():
                connection.commit()
                self._connection = connection
                log.info("scheduler leadership taken")
                return True
        except DBAPIError:
            connection.invalidate()
        connection.close()
        return False

    def _try_lock_file(self) -> bool:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._lock_path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True


def dispatch_if_leader(rt: Runtime, leadership: Leadership) -> bool:
    """One scheduled wake-up: lead if nobody else does, then run the due work."""
    if not leadership.try_acquire():
        return False
    report = tick(rt, rt.clock.now(), leading=lambda: leadership.held)
    log.info("tick: %s", "; ".join(report.lines()))
    return True


def apply_callbacks_if_leader(rt: Runtime, leadership: Leadership) -> bool:
    """Apply the provider callbacks the webhooks stored, if this process leads."""
    if not leadership.try_acquire():
        return False
    applied = apply_callbacks(rt, rt.clock.now(), leading=lambda: leadership.held)
    if applied:
        log.info("callbacks applied: %d", applied)
    if send_on_call_notices(rt, rt.clock.now()):  # S8: at once, not at the next tick
        log.info("on-call notice sent")
    return True


def build(rt: Runtime, *, background: bool) -> BaseScheduler:
    """An APScheduler 3 scheduler in UTC with two coalesced jobs: the tick and the applier."""
    leadership = Leadership(rt.engine, rt.settings.instance_path)
    scheduler: BaseScheduler = (BackgroundScheduler if background else BlockingScheduler)(
        timezone="UTC"
    )
    scheduler.add_job(
        dispatch_if_leader,
        IntervalTrigger(seconds=TICK_SECONDS),
        args=(rt, leadership),
        id="dispatch",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=TICK_SECONDS,
        next_run_time=rt.clock.now(),
    )
    scheduler.add_job(
        apply_callbacks_if_leader,
        IntervalTrigger(seconds=APPLY_SECONDS),
        args=(rt, leadership),
        id="apply-callbacks",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=APPLY_SECONDS,
    )
    return scheduler
