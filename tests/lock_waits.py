"""How long a test's PostgreSQL backends waited for locks, and what made them wait, read from
the server's own views (issue 21: "no stall over 100 ms attributable to a lock").

A watcher on a connection of its own samples `pg_locks` every few milliseconds for the
ungranted locks of the backends the watched engine opened. Each wait is timed by the server
(`waitstart`, PostgreSQL 14+), so a sample taken late on a busy machine never makes a wait look
longer than it was. Between two samples of a wait, the time is put down to what its blockers
(`pg_blocking_pids`, followed up a queue of waiters) were doing in the later sample:

- "held across a wait": a holder whose thread is inside a wait the test marked with
  `LockWatch.waiting()` (a provider's answer, an SMS pacer's sleep) while its transaction is
  open: the lock is held across a wait, what the issue forbids;
- "client busy": a holder idle in its transaction while its thread runs Python between two
  statements (on two busy cores, or behind the other threads' GIL, that alone passes 100 ms);
- "queued": a holder itself waiting for a lock held by a working holder;
- "working": a holder running a statement, CPU included;
- "disk": a holder flushing its commit or reading a page.

Only "held across a wait" is attributable to the lock design: it is zero when no lock is held
across a wait and grows with the wait when one is, whatever the machine's load. The others are
the transactions' own work on the machine they run on, and the tests bound them loosely.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.pool import NullPool

from outreach.db import make_engine

SAMPLE_SECONDS = 0.005
ACROSS_A_WAIT = "held across a wait"
_WAITS = text(
    "SELECT w.pid, w.locktype, w.mode, CAST(w.waitstart AS text) AS started, "
    "EXTRACT(EPOCH FROM clock_timestamp() - w.waitstart) AS waited, "
    "pg_blocking_pids(w.pid) AS blockers "
    "FROM pg_locks w WHERE NOT w.granted AND w.waitstart IS NOT NULL "
    "AND w.pid = ANY(CAST(:pids AS integer[]))"
)
_STATES = text(
    "SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity "
    "WHERE pid = ANY(CAST(:pids AS integer[]))"
)
_DISK_EVENTS = {"WALSync", "WALWrite", "WALInsert", "DataFileRead", "DataFileWrite"}
_ORDER = (ACROSS_A_WAIT, "queued", "client busy", "working", "disk")


@dataclass
class Wait:
    """One wait of one backend for one lock."""

    locktype: str
    mode: str
    seconds: float = 0.0
    by_cause: dict[str, float] = field(default_factory=dict)

    @property
    def attributable(self) -> float:
        """Seconds of this wait that a lock held across a wait caused."""
        return self.by_cause.get(ACROSS_A_WAIT, 0.0)

    def describe(self) -> str:
        parts = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in sorted(self.by_cause.items()))
        return f"{self.locktype} {self.mode}: {self.seconds * 1000:.0f} ms ({parts})"


class LockWatch:
    """Samples the lock waits of every backend `engine` opens from now on."""

    def __init__(self, engine: Engine) -> None:
        self.waits: dict[tuple[int, str], Wait] = {}
        self._pids: set[int] = set()
        self._thread_of: dict[int, int] = {}  # backend pid -> the thread that checked it out
        self._in_a_wait: set[int] = set()  # threads inside a marked wait
        self._stop = threading.Event()
        self._url = engine.url.render_as_string(hide_password=False)
        event.listen(engine, "connect", self._connected)
        event.listen(engine, "checkout", self._checked_out)
        event.listen(engine, "checkin", self._checked_in)

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Mark the calling thread as inside a wait that is not the database's."""
        me = threading.get_ident()
        self._in_a_wait.add(me)
        try:
            yield
        finally:
            self._in_a_wait.discard(me)

    @contextmanager
    def watching(self) -> Iterator[LockWatch]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(10)

    def stalls(self, over: float) -> list[str]:
        return [w.describe() for w in self.waits.values() if w.attributable > over]

    def longest(self) -> float:
        return max((w.seconds for w in self.waits.values()), default=0.0)

    # --- bookkeeping ---------------------------------------------------------------------

    def _connected(self, dbapi_connection: Any, record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            record.info["pid"] = int(cursor.fetchone()[0])
        self._pids.add(record.info["pid"])

    def _checked_out(self, _dbapi: Any, record: Any, _proxy: Any) -> None:
        self._thread_of[record.info["pid"]] = threading.get_ident()

    def _checked_in(self, _dbapi: Any, record: Any) -> None:
        self._thread_of.pop(record.info.get("pid", -1), None)

    def _run(self) -> None:
        watcher = make_engine(self._url, poolclass=NullPool)
        try:
            with watcher.connect() as conn:
                while not self._stop.wait(SAMPLE_SECONDS):
                    pids = sorted(self._pids)
                    rows = conn.execute(_WAITS, {"pids": pids}).all()
                    if rows:
                        states = {r.pid: r for r in conn.execute(_STATES, {"pids": pids})}
                        blocked = {r.pid: list(r.blockers) for r in rows}
                        for row in rows:
                            self._note(row, self._cause(row.pid, blocked, states))
                    conn.commit()
        finally:
            watcher.dispose()

    def _cause(self, pid: int, blocked: dict[int, list[int]], states: dict[int, Any]) -> str:
        """What keeps `pid` waiting, followed up the queue of waiters to the holders."""
        seen, todo, causes = {pid}, list(blocked.get(pid, [])), set[str]()
        while todo:
            holder = todo.pop()
            if holder in seen:
                continue
            seen.add(holder)
            if holder in blocked:  # itself waiting: look at what it waits for
                causes.add("queued")
                todo += blocked[holder]
                continue
            causes.add(self._doing(holder, states.get(holder)))
        return next((c for c in _ORDER if c in causes), "working")

    def _doing(self, holder: int, state: Any) -> str:
        if self._thread_of.get(holder) in self._in_a_wait:
            return ACROSS_A_WAIT
        if state is None:
            return "working"  # not one of the watched backends
        if str(state.state).startswith("idle in transaction"):
            return "client busy"
        if state.wait_event_type == "IO" or state.wait_event in _DISK_EVENTS:
            return "disk"
        return "working"

    def _note(self, row: Any, cause: str) -> None:
        wait = self.waits.setdefault((row.pid, row.started), Wait(row.locktype, row.mode))
        waited = float(row.waited)
        step = max(0.0, waited - wait.seconds)
        wait.by_cause[cause] = wait.by_cause.get(cause, 0.0) + step
        wait.seconds = max(wait.seconds, waited)
