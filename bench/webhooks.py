"""bench/webhooks: signed status callbacks against gunicorn (2 workers) on loopback.

For SQLite and (when it answers) PostgreSQL: throughput with 8 client threads, latency at a
fixed 200 requests/s, both with 10% duplicates, and the same against a bare Flask endpoint
that answers empty TwiML, measured in the same run. Then it checks that every acknowledged
callback is stored exactly once and every call was logged as exactly one attempt.

    .venv/bin/python bench/webhooks.py [--calls 500] [--seconds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import webhook_harness as h

THREADS = 8


def play(
    port: int, token: str, lanes: list[list[h.Callback]], pace: float | None
) -> tuple[float, list[float], list[int]]:
    """Post each lane from its own thread; answer (seconds, latencies, statuses)."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def lane_worker(lane: list[h.Callback]) -> None:
        client, start = h.Client(port, token), time.monotonic()
        for n, callback in enumerate(lane):
            if pace:
                delay = start + n / pace - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            began = time.monotonic()
            status = client.post(callback)
            with lock:
                latencies.append(time.monotonic() - began)
                statuses.append(status)

    threads = [threading.Thread(target=lane_worker, args=(lane,)) for lane in lanes]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return time.monotonic() - began, latencies, statuses


def lanes_of(codes: list[str], duplicates: float) -> list[list[h.Callback]]:
    """Each call's callbacks stay in order within one lane; calls spread over the lanes."""
    lanes: list[list[h.Callback]] = [[] for _ in range(THREADS)]
    for n, code in enumerate(codes):
        lanes[n % THREADS].extend(h.callbacks_for(code))
    return [h.with_duplicates(lane, duplicates, seed=n) for n, lane in enumerate(lanes)]


def measure(
    port: int, token: str, throughput_codes: list[str], latency_codes: list[str], seconds: float
) -> dict[str, float]:
    lanes = lanes_of(throughput_codes, 0.10)
    elapsed, _, statuses = play(port, token, lanes, None)
    paced_lanes = lanes_of(latency_codes, 0.10)
    rate = 200 / THREADS
    paced_lanes = [lane[: int(rate * seconds)] for lane in paced_lanes]
    _, latencies, paced_statuses = play(port, token, paced_lanes, rate)
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "throughput": len(statuses) / elapsed,
        "p50": quantiles[49] * 1000,
        "p99": quantiles[98] * 1000,
        "errors": float(sum(s != 200 for s in statuses + paced_statuses)),
    }


def run_database(
    name: str, url_for: Callable[[Path], str], calls: int, seconds: float
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        port = h.free_port()
        env = h.environment(Path(tmp), url_for(Path(tmp)), port)
        token, codes = h.prepare(env, calls * 2)
        with h.server("outreach:create_app()", env, port):
            result = measure(port, token, codes[:calls], codes[calls:], seconds)
        _events, attempts, keys = h.stored_state(env)
        sent = {h.natural_key(c) for code in codes for c in h.callbacks_for(code)}
        played = {h.natural_key(c) for code in codes[:calls] for c in h.callbacks_for(code)}
        result["lost"] = float(len(played - keys))
        result["unexpected"] = float(len(keys - sent))
        result["attempts"] = float(attempts)
        result["calls_completed"] = float(
            sum(h.natural_key(h.callbacks_for(code)[-1]) in keys for code in codes)
        )
    return result


def run_bare(calls: int, seconds: float) -> dict[str, float]:
    port = h.free_port()
    codes = [f"{n:032x}" for n in range(calls * 2)]
    with h.server("bench.bare_app:app", h.environment(Path("."), "", port), port):
        return measure(port, "bare", codes[:calls], codes[calls:], seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per measurement")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the 200/s run")
    args = parser.parse_args()
    bare = run_bare(args.calls, args.seconds)
    print(
        f"bare Flask endpoint      {bare['throughput']:8.0f} req/s   "
        f"p50 {bare['p50']:6.1f} ms  p99 {bare['p99']:6.1f} ms at 200 req/s"
    )
    databases: dict[str, Callable[[Path], str]] = {"sqlite": lambda d: f"sqlite:///{d / 'b.db'}"}
    if _postgres_answers():
        databases["postgresql"] = lambda _: h.fresh_postgres("outreach_bench")
    for name, url_for in databases.items():
        r = run_database(name, url_for, args.calls, args.seconds)
        print(
            f"outreach on {name:<12} {r['throughput']:8.0f} req/s   "
            f"p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms at 200 req/s   "
            f"ratio {r['throughput'] / bare['throughput']:.2f} of bare"
        )
        print(
            f"    checks: lost {r['lost']:.0f}, unexpected {r['unexpected']:.0f}, "
            f"non-200 {r['errors']:.0f}, attempts {r['attempts']:.0f} for "
            f"{r['calls_completed']:.0f} completed calls (must be equal)"
        )


def _postgres_answers() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
