"""Gunicorn hooks for the benchmarks and the crash test: each worker says when its application
is loaded, so measuring starts once every worker serves, not while they still import."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any


def post_worker_init(worker: Any) -> None:
    folder = os.environ.get("BENCH_READY_DIR")
    # A worker restarted after the harness stopped waiting finds the folder gone: no matter.
    if folder:
        with contextlib.suppress(OSError):
            (Path(folder) / str(worker.pid)).touch()
