"""SIGKILL the server mid-burst, restart, re-send: every acknowledged callback is stored once,
and the inbox applier then applies each exactly once.

A real gunicorn on loopback and a real SQLite file; the burst is bounded in count and time.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path

from bench import webhook_harness as h

CALLS = 120
KILL_AFTER = 150  # acknowledged callbacks before the kill


def test_every_acknowledged_callback_is_stored_exactly_once_across_a_crash(
    tmp_path: Path,
) -> None:
    port = h.free_port()
    env = h.environment(tmp_path, f"sqlite:///{tmp_path / 'crash.db'}", port)
    token, codes = h.prepare(env, CALLS)
    stream = h.with_duplicates([c for code in codes for c in h.callbacks_for(code)], 0.10)
    acked, unacked = _burst_until_killed(env, port, token, stream)
    assert len(acked) >= KILL_AFTER, "the kill came after the acknowledged callbacks"
    assert unacked, "the kill came mid-burst"
    with h.server("outreach:create_app()", env, port, workers=1):
        client = h.Client(port, token)
        assert all(client.post(c) == 200 for c in unacked + stream)  # resend, and replay all
    h.apply_inbox(env)  # the scheduler's applier, after the server is gone
    stored = h.stored_state(env)
    assert {h.natural_key(c) for c in acked} <= stored.keys
    assert stored.events == len({h.natural_key(c) for c in stream})
    assert stored.unapplied == 0
    assert stored.attempts == CALLS  # one machine-answered call, one attempt each: none doubled
    check = sqlite3.connect(tmp_path / "crash.db").execute("PRAGMA integrity_check")
    assert check.fetchone() == ("ok",)


def _burst_until_killed(
    env: dict[str, str], port: int, token: str, stream: list[h.Callback]
) -> tuple[list[h.Callback], list[h.Callback]]:
    """Post the stream while another thread kills the server once enough were acknowledged,
    so the kill can land while a request is in flight."""
    acked: list[h.Callback] = []
    unacked: list[h.Callback] = []
    server = h.start("outreach:create_app()", env, port, workers=1)

    def killer() -> None:
        for _ in range(3000):  # bounded: at most 30 s
            if len(acked) >= KILL_AFTER:
                break
            time.sleep(0.01)
        h.stop(server, signal.SIGKILL)  # no goodbye: like power loss to the process

    thread = threading.Thread(target=killer)
    thread.start()
    client = h.Client(port, token)
    for callback in stream:
        (acked if client.post(callback) == 200 else unacked).append(callback)
    thread.join(timeout=60)
    return acked, unacked
