"""SQLite: every transaction's end is on disk before it returns, and its sync holds up no one.

The connection runs at synchronous=NORMAL and syncs the WAL itself once the writers' lock is
released (outreach/write_queue.py). The sync is watched here by standing in for the one call
that makes it: what it is given must be the WAL, the lock must already be free, and the
transaction's frames must already be in the file it syncs.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from outreach import write_queue
from outreach.db import make_engine
from outreach.write_queue import QueuedConnection

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


@dataclass
class Syncs:
    """Each sync the connections made: the file, its length then, whether the lock was free."""

    database: str
    files: list[str] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    lock_was_free: list[bool] = field(default_factory=list)
    fail_with: OSError | None = None

    def __call__(self, fd: int) -> None:
        self.files.append(os.readlink(f"/proc/self/fd/{fd}"))
        self.lengths.append(os.fstat(fd).st_size)
        self.lock_was_free.append(_lock_is_free(self.database))
        if self.fail_with is not None:
            raise self.fail_with
        os.fdatasync(fd)


def _lock_is_free(database: str) -> bool:
    probe = sqlite3.connect(database, factory=QueuedConnection)
    try:
        probe.queue(wait=0)
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()
    return True


@pytest.fixture
def database(tmp_path: Path) -> str:
    return str(tmp_path / "durable.db")


@pytest.fixture
def syncs(database: str, monkeypatch: pytest.MonkeyPatch) -> Syncs:
    watched = Syncs(database)
    monkeypatch.setattr(write_queue, "_datasync", watched)
    return watched


@pytest.fixture
def engine(database: str) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE callback (id TEXT PRIMARY KEY, status TEXT)"))
    yield engine
    engine.dispose()


def _wal(database: str) -> str:
    return os.path.realpath(f"{database}-wal")


def test_the_engine_hands_the_sync_to_the_connection(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
        assert conn.connection.driver_connection._syncs_wal  # type: ignore[union-attr]


def test_a_database_in_memory_keeps_sqlites_own_full_sync() -> None:
    engine = make_engine("sqlite://")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 2  # FULL
    engine.dispose()


def test_a_commit_syncs_the_wal_after_the_lock_is_free_and_before_it_returns(
    engine: Engine, database: str, syncs: Syncs
) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO callback VALUES ('CA1', 'ringing')"))
        assert syncs.files == []  # nothing synced while the transaction is open
    assert syncs.files == [_wal(database)]
    assert syncs.lock_was_free == [True]
    # The commit's frames were in the file when it was synced: it has not grown since.
    assert syncs.lengths == [os.path.getsize(f"{database}-wal")]
    assert syncs.lengths[0] > 0


def test_a_transaction_that_only_read_syncs_too(engine: Engine, syncs: Syncs) -> None:
    """What it saw may be another connection's commit whose own sync is still under way."""
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM callback")).scalar_one() == 0
    assert len(syncs.files) == 1


def test_a_callback_that_stores_nothing_is_answered_only_after_a_sync(
    database: str, syncs: Syncs
) -> None:
    """Its answer may rest on another connection's commit (the stored original of a duplicate)
    whose own sync is still under way."""
    from outreach.db import migrate
    from outreach.services.delivery import inbox

    engine = make_engine(f"sqlite:///{database}")
    try:
        migrate(engine)
        before = len(syncs.files)
        stored = inbox.store(
            engine,
            code="names-no-delivery",
            route="status",
            key="status:contact:CA1:ringing",
            fields={"CallStatus": "ringing"},
            now=NOW,
        )
        assert not stored
        assert syncs.files[before:] == [_wal(database)]
        assert syncs.lock_was_free[-1]
    finally:
        engine.dispose()


def test_a_failed_sync_fails_the_commit_and_leaves_the_lock_free(
    engine: Engine, database: str, syncs: Syncs
) -> None:
    syncs.fail_with = OSError(errno.EIO, "Input/output error")
    with pytest.raises(OSError, match="Input/output"), engine.begin() as conn:
        conn.execute(text("INSERT INTO callback VALUES ('CA1', 'ringing')"))
    assert _lock_is_free(database)


def test_a_connection_that_never_began_has_nothing_to_sync(
    database: str, engine: Engine, syncs: Syncs
) -> None:
    connection = sqlite3.connect(database, factory=QueuedConnection)
    connection.syncs_wal()
    try:
        connection.commit()
        connection.rollback()
    finally:
        connection.close()
    assert syncs.files == []


Step = tuple[int, str, str]  # which connection, what it does, how its transaction ends


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),
            st.sampled_from(["insert", "update", "read", "duplicate"]),
            st.sampled_from(["commit", "rollback"]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_every_transaction_of_any_connection_ends_synced_with_the_lock_free(
    steps: list[Step],
) -> None:
    """Random transactions over three connections: each one's end is followed by exactly one
    sync of the WAL, made with the writers' lock free, covering the file as that end left it."""
    with _three_connections() as (connections, syncs, database):
        for n, (which, does, ends) in enumerate(steps):
            connection = connections[which]
            connection.queue()
            connection.execute("BEGIN IMMEDIATE")
            _do(connection, does, n)
            length_at_end = os.path.getsize(f"{database}-wal")
            before = len(syncs.files)
            getattr(connection, ends)()
            assert syncs.files[before:] == [_wal(database)]
            assert syncs.lock_was_free[-1]
            assert syncs.lengths[-1] >= length_at_end


def _do(connection: sqlite3.Connection, does: str, n: int) -> None:
    if does == "insert":
        connection.execute("INSERT INTO callback VALUES (?, 'ringing')", (f"CA{n}",))
    elif does == "update":
        connection.execute("UPDATE callback SET status = 'completed'")
    elif does == "duplicate":
        connection.execute(
            "INSERT INTO callback VALUES ('CA-first', 'ringing') ON CONFLICT DO NOTHING"
        )
    else:
        connection.execute("SELECT count(*) FROM callback").fetchone()


@contextmanager
def _three_connections() -> Iterator[tuple[list[QueuedConnection], Syncs, str]]:
    """Three queued connections on a fresh file, each handing its sync to one watcher.

    Not fixtures: hypothesis runs every example in the same function-scoped fixtures."""
    with tempfile.TemporaryDirectory() as folder:
        database = str(Path(folder) / "property.db")
        syncs, saved = Syncs(database), write_queue._datasync
        write_queue._datasync = syncs
        connections = [_opened(database) for _ in range(3)]
        try:
            first = connections[0]
            first.queue()
            first.execute("BEGIN IMMEDIATE")
            first.execute("CREATE TABLE callback (id TEXT PRIMARY KEY, status TEXT)")
            first.execute("INSERT INTO callback VALUES ('CA-first', 'ringing')")
            first.commit()
            syncs.files.clear()
            yield connections, syncs, database
        finally:
            for connection in connections:
                connection.close()
            write_queue._datasync = saved


def _opened(database: str) -> QueuedConnection:
    connection = sqlite3.connect(
        database, factory=QueuedConnection, isolation_level=None, check_same_thread=False
    )
    assert connection.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    connection.syncs_wal()
    return connection


def test_two_writers_sync_at_the_same_time(database: str, engine: Engine, syncs: Syncs) -> None:
    """The point of syncing outside the lock: the second writer commits while the first is
    still syncing, which SQLite's own FULL sync, inside the lock, never allows."""
    first_syncing, second_done = threading.Event(), threading.Event()

    def held_sync(fd: int) -> None:
        if not first_syncing.is_set():
            first_syncing.set()
            assert second_done.wait(timeout=5), "the second writer waited for the first's sync"
        syncs(fd)

    write_queue._datasync = held_sync  # the fixture's monkeypatch restores it

    def write(sid: str) -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO callback VALUES (:sid, 'ringing')"), {"sid": sid})

    first = threading.Thread(target=write, args=("CA1",))
    first.start()
    assert first_syncing.wait(timeout=5)
    write("CA2")
    second_done.set()
    first.join(timeout=5)
    assert not first.is_alive()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM callback")).scalar_one() == 2
