"""SQLite writers queue on a lock file: one at a time, the next at once, none forever."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from outreach.db import make_engine
from outreach.write_queue import QueuedConnection, lock_path


@pytest.fixture
def database(tmp_path: Path) -> str:
    return str(tmp_path / "queue.db")


@pytest.fixture
def writers(database: str) -> Iterator[list[QueuedConnection]]:
    opened: list[QueuedConnection] = []
    yield opened
    for connection in opened:
        connection.close()


def _writer(database: str, opened: list[QueuedConnection]) -> QueuedConnection:
    connection = sqlite3.connect(database, factory=QueuedConnection, check_same_thread=False)
    opened.append(connection)
    return connection


@pytest.mark.parametrize("ends", ["commit", "rollback", "close"])
def test_a_writer_waits_while_another_holds_the_queue_and_goes_on_when_it_ends(
    database: str, writers: list[QueuedConnection], ends: str
) -> None:
    first, second = _writer(database, writers), _writer(database, writers)
    first.queue()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        second.queue(wait=0.05)
    waiting = threading.Thread(target=second.queue)
    waiting.start()
    getattr(first, ends)()
    waiting.join(timeout=5)
    assert not waiting.is_alive()  # it took the lock the first holder let go of
    with pytest.raises(sqlite3.OperationalError):
        _writer(database, writers).queue(wait=0.05)  # and now it holds it
    second.commit()
    _writer(database, writers).queue(wait=0.05)


def test_the_lock_file_is_the_owners_alone(database: str, writers: list[QueuedConnection]) -> None:
    _writer(database, writers)
    mode = stat.S_IMODE(os.stat(lock_path(database)).st_mode)
    assert mode & 0o077 == 0


def test_a_writer_that_dies_holding_the_queue_leaves_it_free(
    database: str, writers: list[QueuedConnection]
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "from outreach.write_queue import QueuedConnection\n"
            f"c = sqlite3.connect({database!r}, factory=QueuedConnection)\n"
            "c.queue()\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(sqlite3.OperationalError):
            _writer(database, writers).queue(wait=0.05)
    finally:
        holder.kill()
        holder.communicate(timeout=10)
    _writer(database, writers).queue(wait=1)


def test_every_transaction_of_the_engine_queues(database: str) -> None:
    engine = make_engine(f"sqlite:///{database}")
    outsider: list[QueuedConnection] = []
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))  # a transaction has begun: it holds the queue
            with pytest.raises(sqlite3.OperationalError):
                _writer(database, outsider).queue(wait=0.05)
        _writer(database, outsider).queue(wait=0.05)  # released when it ended
    finally:
        for connection in outsider:
            connection.close()
        engine.dispose()
