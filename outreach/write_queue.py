"""SQLite writers queue on a lock file beside the database instead of SQLite's busy handler.

Every transaction on SQLite starts with BEGIN IMMEDIATE (outreach/db.py), so writers take
turns. Left to SQLite, a writer that finds the lock taken sleeps 1, 2, 5, 10 ... 100 ms
between tries: a webhook behind a 10 ms batch of the inbox applier could wait 100 ms, and
two gunicorn workers spent most of their waits asleep after the lock was already free. Here
a writer first takes an advisory lock on `<database>-writers`, trying every 0.05 ms at first
and at least every half millisecond after, so it goes on within half a millisecond of the
lock's release, and gives up with SQLite's own "database is locked" after the same 5 s as
busy_timeout. The lock is the kernel's (flock): it is never left held by a process that died.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
import weakref
from typing import Any

WAIT_SECONDS = 5.0  # as PRAGMA busy_timeout (outreach/db.py)
FIRST_PAUSE = 0.00005
LONGEST_PAUSE = 0.0005


def lock_path(database: str) -> str:
    return f"{database}-writers"


class QueuedConnection(sqlite3.Connection):
    """A sqlite3 connection that holds the writers' lock from `queue()` to commit or rollback."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        # Each connection opens the file itself: flock locks belong to the open file, so two
        # connections in one process queue for each other as two processes do.
        self._lock = os.open(lock_path(os.fsdecode(database)), os.O_RDWR | os.O_CREAT, 0o600)
        self._closer = weakref.finalize(self, os.close, self._lock)
        self._held = False

    def queue(self, wait: float = WAIT_SECONDS) -> None:
        """Wait for this database's writers' lock; raise "database is locked" after `wait`."""
        deadline, pause = time.monotonic() + wait, FIRST_PAUSE
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked") from None
                time.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
                continue
            self._held = True
            return

    def leave(self) -> None:
        if self._held:
            self._held = False
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave()
            self._closer()
