"""SQLite writers queue on a lock file beside the database instead of SQLite's busy handler.

Every transaction on SQLite starts with BEGIN IMMEDIATE (outreach/db.py), so writers take
turns. Left to SQLite, a writer that finds the lock taken sleeps 1, 2, 5, 10 ... 100 ms
between tries: a webhook behind a 10 ms batch of the inbox applier could wait 100 ms, and
two gunicorn workers spent most of their waits asleep after the lock was already free. Here
a writer first takes an advisory lock on `<database>-writers`, trying every 0.05 ms at first
and at least every half millisecond after, so it goes on within half a millisecond of the
lock's release, and gives up with SQLite's own "database is locked" after the same 5 s as
busy_timeout. The lock is the kernel's (flock): it is never left held by a process that died.

A transaction's end is durable before it returns, as with synchronous=FULL, but its fsync no
longer holds up the next writer. In WAL mode FULL differs from NORMAL by one sync of the WAL
after each commit, made while the commit still holds the write lock, so every writer behind
it waited out that sync (0.3 ms here, and 100 ms or more when this machine's disk stalls). A
connection that `syncs_wal()` runs at NORMAL instead and syncs the WAL file itself, at the
end of every transaction (commit or rollback), once the writers' lock is released and before
`commit()` or `rollback()` returns. The WAL is written in order, so one sync makes durable
this transaction's commit and every commit before it; two writers' syncs overlap, and one
flush may serve both. What a commit wrote is visible to other connections just before its
sync is done; a transaction that only read it, a duplicate callback found already stored,
say, syncs too before it ends, so nothing it saw is acknowledged to Twilio, sent, or shown as
kept until it is on disk. A web request's transaction ends before its answer is written
(Flask closes the session as the request ends).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
import weakref
from collections.abc import Callable
from typing import Any

WAIT_SECONDS = 5.0  # as PRAGMA busy_timeout (outreach/db.py)
FIRST_PAUSE = 0.00005
LONGEST_PAUSE = 0.0005
# fdatasync where the system has it (Linux), else fsync: the WAL's data, and its length.
_datasync = getattr(os, "fdatasync", os.fsync)


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
        self._wal_path = os.path.abspath(f"{os.fsdecode(database)}-wal")
        self._wal: int | None = None  # opened at the end of the first transaction
        self._syncs_wal = False

    def syncs_wal(self) -> None:
        """Run at synchronous=NORMAL and sync the WAL at the end of each transaction, outside
        the writers' lock (above). Only for a connection in WAL mode."""
        self.execute("PRAGMA synchronous=NORMAL")
        self._syncs_wal = True

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
        self._end(super().commit)

    def rollback(self) -> None:
        self._end(super().rollback)

    def _end(self, end: Callable[[], None]) -> None:
        """End the transaction, release the lock, then make all it wrote or saw durable."""
        held = self._held
        try:
            end()
        finally:
            self.leave()
        if not (held and self._syncs_wal):
            return
        if self._wal is None:
            # SQLite opened (or created) the WAL for this connection's transaction and never
            # deletes it while a connection is open, so this descriptor stays the WAL's.
            self._wal = os.open(self._wal_path, os.O_RDONLY)
            self._wal_closer = weakref.finalize(self, os.close, self._wal)
        # A failed sync raises: the caller then answers no one that the commit is kept.
        _datasync(self._wal)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave()
            self._closer()
            if self._wal is not None:
                self._wal_closer()
