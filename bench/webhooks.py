"""bench/webhooks: signed status callbacks against gunicorn (2 workers) on loopback.

For SQLite and (when it answers) PostgreSQL: throughput with 8 client threads, latency at a
fixed 200 requests/s (alone, then with the scheduler's inbox applier running beside it, as in
production), all with 10% duplicates, and the same against a bare Flask endpoint that answers
empty TwiML, measured in the same run. The bare server stays up throughout: throughput is
measured in three rounds, each of outreach's right after one of the bare endpoint's, and the
ratio is the median of the rounds' ratios, so a slow minute of the machine moves both. Status
callbacks are only stored by the webhooks; the applier applies them, and its rate is timed on
the throughput run's backlog. Once the applier has drained the inbox it checks that every
acknowledged callback is stored exactly once and every completed call was logged as exactly one
attempt. On SQLite it also shows how long each transaction held the writers' lock while the
applier ran beside the webhooks (bench/lock_holds.py). With --sync-variants it also measures
SQLite as it was before, syncing each commit inside the writers' lock, and with no sync at
all, the ceiling (bench/sync_variants.py; neither is shipped).

    .venv/bin/python bench/webhooks.py [--calls 500] [--seconds 5] [--sync-variants]
                                       [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import lock_holds
from bench import webhook_harness as h
from outreach.scheduler.runner import APPLY_SECONDS

THREADS = 8
RATE = 200
# Throughput rounds, outreach's each right after the bare endpoint's: the machine's other load
# moves both in the same minute, so each round's ratio is fair even when the figures drift.
ROUNDS = 3
Beside = Callable[[], AbstractContextManager[object]]


class Run:
    """What one play of some lanes measured: its length, each request's latency and answer."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.latencies: list[float] = []
        self.answers: list[tuple[h.Callback, int]] = []

    def quantile(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000


def play(port: int, token: str, lanes: list[list[h.Callback]], pace: float | None) -> Run:
    """Post each lane from its own thread, at `pace` requests/s per lane or as fast as it can."""
    run, lock = Run(), threading.Lock()

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
                run.latencies.append(time.monotonic() - began)
                run.answers.append((callback, status))

    threads = [threading.Thread(target=lane_worker, args=(lane,)) for lane in lanes]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    run.seconds = time.monotonic() - began
    return run


def lanes_of(codes: list[str], duplicates: float) -> list[list[h.Callback]]:
    """Each call's callbacks stay in order within one lane; calls spread over the lanes."""
    lanes: list[list[h.Callback]] = [[] for _ in range(THREADS)]
    for n, code in enumerate(codes):
        lanes[n % THREADS].extend(h.callbacks_for(code))
    return [h.with_duplicates(lane, duplicates, seed=n) for n, lane in enumerate(lanes)]


def paced(port: int, token: str, codes: list[str], seconds: float) -> Run:
    per_lane = RATE / THREADS
    lanes = [lane[: int(per_lane * seconds)] for lane in lanes_of(codes, 0.10)]
    return play(port, token, lanes, per_lane)


@dataclass
class Measured:
    """One server's figures; the database checks are filled in for outreach."""

    throughput: float
    p50: float
    p99: float
    runs: list[Run]
    ratios: list[float] = field(default_factory=list)  # of bare's, round by round
    beside: tuple[float, float] | None = None  # p50 and p99 with the applier running
    beside_window: tuple[float, float] = (0.0, 0.0)  # when that run began and ended
    holds: dict[str, list[float]] = field(default_factory=dict)  # SQLite's writers' lock, ms
    applied: int = 0
    apply_rate: float = 0.0
    waiting: int = 0
    unapplied: int = 0
    lost: int = 0
    unexpected: int = 0
    attempts: int = 0
    calls_completed: int = 0

    @property
    def errors(self) -> int:
        return sum(status != 200 for run in self.runs for _, status in run.answers)


class Bare:
    """The bare endpoint's server, kept running so each outreach round has its own baseline."""

    def __init__(self, port: int, calls: int) -> None:
        self.port, self.codes = port, [f"{n:032x}" for n in range(calls)]

    def throughput(self) -> float:
        run = play(self.port, "bare", lanes_of(self.codes, 0.10), None)
        return len(run.answers) / run.seconds


def measure(
    port: int,
    token: str,
    codes: list[str],
    calls: int,
    seconds: float,
    bare: Bare | None = None,
    between: Callable[[], object] | None = None,
    beside: Beside | None = None,
) -> Measured:
    """Throughput rounds, each right after a round of `bare`; then `between`; then 200
    requests/s alone and, given `beside`, with it. `codes` holds ROUNDS + 1 lots of `calls`."""
    rounds, ratios = [], []
    for n in range(ROUNDS):
        baseline = bare.throughput() if bare is not None else 0.0
        rounds.append(play(port, token, lanes_of(codes[n * calls : (n + 1) * calls], 0.10), None))
        if baseline:
            ratios.append(len(rounds[-1].answers) / rounds[-1].seconds / baseline)
    if between is not None:
        between()
    rest = codes[ROUNDS * calls :]
    alone = paced(port, token, rest[: len(rest) // 2], seconds)
    measured = Measured(
        statistics.median(len(run.answers) / run.seconds for run in rounds),
        alone.quantile(50),
        alone.quantile(99),
        [*rounds, alone],
        ratios,
    )
    if beside is not None:
        with beside():
            began = time.monotonic()
            together = paced(port, token, rest[len(rest) // 2 :], seconds)
            measured.beside_window = (began, time.monotonic())
        measured.runs.append(together)
        measured.beside = (together.quantile(50), together.quantile(99))
    return measured


def run_database(
    url_for: Callable[[Path], str], calls: int, seconds: float, app: str, bare: Bare
) -> Measured:
    with tempfile.TemporaryDirectory() as tmp:
        port = h.free_port()
        env = h.environment(Path(tmp), url_for(Path(tmp)), port)
        holds = Path(tmp) / "lock-holds"
        holds.mkdir()
        env[lock_holds.FOLDER] = str(holds)
        token, codes = h.prepare(env, calls * (ROUNDS + 1))
        drained: list[tuple[int, float]] = []
        with h.server(app, env, port):
            # The throughput run's backlog is applied (and timed) before the 200 req/s runs.
            m = measure(
                port,
                token,
                codes,
                calls,
                seconds,
                bare,
                between=lambda: drained.append(h.apply_inbox(env)),
                beside=lambda: h.applier(env),
            )
        m.waiting = h.stored_state(env).unapplied  # what the applier beside had not reached
        m.holds = lock_holds.read(holds, *m.beside_window)  # written as the processes ended
        h.apply_inbox(env)
        stored = h.stored_state(env)
    acknowledged = {
        h.natural_key(c) for run in m.runs for c, status in run.answers if status == 200
    }
    sent = {h.natural_key(c) for code in codes for c in h.callbacks_for(code)}
    m.applied, drain_seconds = drained[0]
    m.apply_rate = m.applied / drain_seconds if drain_seconds else 0.0
    m.unapplied, m.attempts = stored.unapplied, stored.attempts
    m.lost, m.unexpected = len(acknowledged - stored.keys), len(stored.keys - sent)
    m.calls_completed = sum(h.natural_key(h.callbacks_for(c)[-1]) in stored.keys for c in codes)
    return m


@contextmanager
def bare_server(calls: int, seconds: float) -> Iterator[tuple[Bare, Measured]]:
    """The bare endpoint, up for the whole run; with its own figures, measured as outreach's."""
    port = h.free_port()
    codes = [f"{n:032x}" for n in range(calls * (ROUNDS + 1))]
    with h.server("bench.bare_app:app", h.environment(Path("."), "", port), port):
        yield Bare(port, calls), measure(port, "bare", codes, calls, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per measurement")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each 200/s run")
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="which to measure (PostgreSQL only where it answers)",
    )
    parser.add_argument(
        "--sync-variants",
        action="store_true",
        help="also measure SQLite syncing inside the writers' lock, and not syncing at all",
    )
    args = parser.parse_args()
    with bare_server(args.calls, args.seconds) as (bare, figures):
        print(
            f"bare Flask endpoint              {figures.throughput:8.0f} req/s   "
            f"p50 {figures.p50:6.1f} ms  p99 {figures.p99:6.1f} ms at 200 req/s"
        )
        for name, (app, url_for) in _apps(args).items():
            _report(name, run_database(url_for, args.calls, args.seconds, app, bare))


def _apps(args: argparse.Namespace) -> dict[str, tuple[str, Callable[[Path], str]]]:
    wanted = args.databases.split(",")
    sqlite: Callable[[Path], str] = lambda d: f"sqlite:///{d / 'b.db'}"  # noqa: E731
    apps: dict[str, tuple[str, Callable[[Path], str]]] = {}
    if "sqlite" in wanted:
        apps["sqlite"] = ("bench.lock_holds:create()", sqlite)
        if args.sync_variants:
            apps["sqlite, sync in the lock"] = ("bench.sync_variants:inside_the_lock()", sqlite)
            apps["sqlite, no sync"] = ("bench.sync_variants:unsynced()", sqlite)
    if "postgresql" in wanted and _postgres_answers():
        apps["postgresql"] = ("outreach:create_app()", lambda _: h.fresh_postgres("outreach_bench"))
    return apps


def _report(name: str, m: Measured) -> None:
    ratios = " ".join(f"{r:.2f}" for r in m.ratios)
    print(
        f"outreach on {name:<20} {m.throughput:8.0f} req/s   "
        f"p50 {m.p50:6.1f} ms  p99 {m.p99:6.1f} ms at 200 req/s   "
        f"ratio {statistics.median(m.ratios):.2f} of bare (rounds: {ratios})"
    )
    if m.beside is not None:
        print(
            f"    with the scheduler's applier beside it (every {APPLY_SECONDS} s): "
            f"p50 {m.beside[0]:6.1f} ms  p99 {m.beside[1]:6.1f} ms at 200 req/s"
        )
    held = [
        f"{role} p50 {_ms(times, 50)} p99 {_ms(times, 99)} max {max(times):.1f} ms"
        for role, times in sorted(m.holds.items())
        if len(times) > 1  # a quantile needs two
    ]
    if held:
        print(f"    the writers' lock, held by each transaction in that run: {', '.join(held)}")
    print(
        f"    applier: the throughput run's {m.applied} callbacks applied at "
        f"{m.apply_rate:.0f}/s; {m.waiting} waiting as the 200 req/s run ended "
        f"(about {APPLY_SECONDS} s of arrivals or fewer means it keeps up); "
        f"{m.unapplied} left at the end"
    )
    print(
        f"    checks: lost {m.lost}, unexpected {m.unexpected}, non-200 {m.errors}, "
        f"attempts {m.attempts} for {m.calls_completed} completed calls (must be equal)"
    )


def _ms(times: list[float], q: int) -> str:
    # Inclusive: a few hundred holds, and a p99 that never lies above the longest of them.
    return f"{statistics.quantiles(times, n=100, method='inclusive')[q - 1]:.1f}"


def _postgres_answers() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
