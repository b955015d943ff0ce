"""bench/webhooks: how long each SQLite transaction held the writers' lock, in every process.

Loaded by the server (as its application, `create()`) and by the applier beside it, it times
each hold of outreach/write_queue.py's lock, from `queue()` to `leave()`, and writes the holds
when the process ends to `$BENCH_LOCK_HOLDS/<role>-<pid>.json`, each as its monotonic start
and its length. The bench keeps those inside the run it reports (`read`). Outreach itself is
not changed: the timing wraps its lock from outside.
"""

from __future__ import annotations

import atexit
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from outreach import create_app
from outreach.write_queue import WAIT_SECONDS, QueuedConnection

FOLDER = "BENCH_LOCK_HOLDS"


def create() -> Flask:
    """The application, for gunicorn, with each worker's holds timed."""
    record("webhooks")
    return create_app()


def record(role: str) -> None:
    """Time every hold of the writers' lock in this process, if the bench asked for it."""
    folder = os.environ.get(FOLDER)
    if not folder:
        return
    holds: list[tuple[float, float]] = []
    began: dict[int, float] = {}
    queue: Callable[..., None] = QueuedConnection.queue
    leave: Callable[[QueuedConnection], None] = QueuedConnection.leave

    def timed_queue(self: QueuedConnection, wait: float = WAIT_SECONDS) -> None:
        queue(self, wait)
        began[id(self)] = time.monotonic()

    def timed_leave(self: QueuedConnection) -> None:
        start = began.pop(id(self), None)
        if start is not None:
            holds.append((start, time.monotonic() - start))
        leave(self)

    QueuedConnection.queue = timed_queue  # type: ignore[method-assign]
    QueuedConnection.leave = timed_leave  # type: ignore[method-assign]
    out = Path(folder) / f"{role}-{os.getpid()}.json"
    atexit.register(lambda: out.write_text(json.dumps(holds)))


def read(folder: Path, since: float, until: float) -> dict[str, list[float]]:
    """Each role's holds that began between `since` and `until`, in milliseconds."""
    found: dict[str, list[float]] = {}
    for path in sorted(folder.glob("*.json")):
        role = path.stem.rsplit("-", 1)[0]
        holds = json.loads(path.read_text())
        found.setdefault(role, []).extend(
            length * 1000 for start, length in holds if since <= start <= until
        )
    return found
