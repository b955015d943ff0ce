"""bench/soak: the production process set, started from the systemd units themselves, and the
faults done to it.

The commands are read from deploy/systemd/outreach-web.service and outreach-scheduler.service
(ExecStart), with only the install path and the bind address replaced, so what the run tests is
what docs/operations.md tells an operator to run. Like systemd's `Restart=always`, a scheduler
that dies is started again after the unit's RestartSec. Each process names itself to
PostgreSQL (`application_name`), which is how the observer tells which one holds the leader
lock.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench.webhook_harness import BIN, ROOT
from outreach.scheduler.runner import LOCK_KEY

UNITS = ROOT / "deploy" / "systemd"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def unit_setting(unit: str, name: str) -> str:
    for line in (UNITS / unit).read_text().splitlines():
        if line.startswith(name + "="):
            return line.split("=", 1)[1]
    raise LookupError(f"{unit} has no {name}")


def web_command(port: int) -> list[str]:
    """outreach-web.service's ExecStart, on this checkout and a loopback port of the run's own,
    with the hook that tells the bench when every worker has loaded the application."""
    args = shlex.split(unit_setting("outreach-web.service", "ExecStart"))
    args[0] = str(BIN / Path(args[0]).name)
    args[args.index("--bind") + 1] = f"127.0.0.1:{port}"
    return [*args[:-1], "-c", str(ROOT / "bench" / "gunicorn_ready.py"), args[-1]]


def scheduler_command() -> list[str]:
    args = shlex.split(unit_setting("outreach-scheduler.service", "ExecStart"))
    return [str(BIN / Path(args[0]).name), *args[1:]]


def named(env: dict[str, str], name: str) -> dict[str, str]:
    url = env["OUTREACH_DATABASE_URL"]
    return {**env, "OUTREACH_DATABASE_URL": f"{url}?application_name={name}"}


@dataclass
class Web:
    process: subprocess.Popen[bytes]
    workers: int

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()]


def start_web(env: dict[str, str], port: int, log: Path) -> Web:
    ready = Path(tempfile.mkdtemp(prefix="soak-ready-"))
    command = web_command(port)
    workers = int(command[command.index("--workers") + 1])
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn, on loopback
        command,
        env={**named(env, "soak-web"), "BENCH_READY_DIR": str(ready)},
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )
    try:
        for _ in range(900):  # bounded: 90 s
            if len(list(ready.iterdir())) >= workers:
                return Web(process, workers)
            if process.poll() is not None:
                break
            time.sleep(0.1)
    finally:
        shutil.rmtree(ready, ignore_errors=True)
    stop_process(process)
    raise RuntimeError(f"gunicorn did not start (see {log})")


@dataclass
class Scheduler:
    name: str
    env: dict[str, str]
    logs: Path
    process: subprocess.Popen[bytes] | None = None
    started: int = 0
    kills: list[float] = field(default_factory=list)

    def start(self) -> None:
        self.started += 1
        log = self.logs / f"{self.name}-{self.started}.log"
        self.process = subprocess.Popen(  # noqa: S603 - our own CLI
            scheduler_command(),
            env=named(self.env, self.name),
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=log.open("ab"),
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    """systemd's `Restart=always` for the schedulers: a dead one starts again after RestartSec."""

    def __init__(self, schedulers: list[Scheduler]) -> None:
        self.schedulers = schedulers
        self.delay = float(unit_setting("outreach-scheduler.service", "RestartSec"))
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        for scheduler in self.schedulers:
            scheduler.start()
        self.thread.start()

    def _watch(self) -> None:
        dead_since: dict[str, float] = {}
        while not self.stopping.wait(0.2):
            for s in self.schedulers:
                if s.alive():
                    dead_since.pop(s.name, None)
                elif time.time() - dead_since.setdefault(s.name, time.time()) >= self.delay:
                    s.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        for s in self.schedulers:
            if s.process is not None:
                stop_process(s.process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# --- the observer: leadership and open transactions, every 200 ms ----------------------------

LEADERS = (
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %(k)s AND l.objsubid = 2 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = %(db)s)"
)
IDLE_IN_TRANSACTION = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = %(db)s "
    "AND state LIKE 'idle in transaction%%' AND clock_timestamp() - state_change > %(over)s"
)


@dataclass(frozen=True)
class Sample:
    at: float
    leaders: tuple[str, ...]
    idle_in_transaction: int


class Observer:
    """Samples, from the server's own views, who holds the scheduler's leader lock and how many
    of the run's connections sit idle in a transaction for over 5 s. It connects to the
    `postgres` database, so that blocking connections to the run's database spares it."""

    def __init__(self, database: str, every: float = 0.2) -> None:
        self.database, self.every = database, every
        self.samples: list[Sample] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)

    def _run(self) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            while not self.stopping.wait(self.every):
                params = {"k": LOCK_KEY, "db": self.database, "over": "5 seconds"}
                leaders = tuple(sorted(r[0] for r in conn.execute(LEADERS, params)))
                idle = conn.execute(IDLE_IN_TRANSACTION, params).fetchone()
                self.samples.append(Sample(time.time(), leaders, int(idle[0]) if idle else 0))

    def idle_in_transaction_now(self) -> int:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            row = conn.execute(
                IDLE_IN_TRANSACTION, {"db": self.database, "over": "0 seconds"}
            ).fetchone()
        return int(row[0]) if row else 0


# --- faults --------------------------------------------------------------------------------


def terminate_backends(database: str) -> int:
    """pg_terminate_backend on every backend of the run's database (never anyone else's)."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)


def allow_connections(database: str, allowed: bool) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {"true" if allowed else "false"}'
        )


def simulated_restart(database: str, down_seconds: float) -> int:
    """A database restart, as far as the run's processes can tell, without restarting the
    server other people's tests share: new connections are refused and every existing one is
    ended, twice (a restart ends sessions that were still starting), for `down_seconds`."""
    allow_connections(database, False)
    try:
        ended = terminate_backends(database)
        time.sleep(0.5)
        ended += terminate_backends(database)
        time.sleep(max(0.0, down_seconds - 0.5))
    finally:
        allow_connections(database, True)
    return ended


def leader(observer: Observer) -> str | None:
    latest = observer.samples[-1] if observer.samples else None
    return latest.leaders[0] if latest and len(latest.leaders) == 1 else None


def create_database(name: str) -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- where the CPU went --------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds a process has used so far (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


class CpuMeter:
    """Every second, the CPU each role's processes used since the last look: gunicorn (master
    and workers), the schedulers, and the run's PostgreSQL backends. A process that dies
    between two looks takes its last second with it: the figures are a little low."""

    def __init__(self, database: str, web: Web, schedulers: list[Scheduler]) -> None:
        self.database, self.web, self.schedulers = database, web, schedulers
        self.used: dict[str, float] = {"web": 0.0, "schedulers": 0.0, "postgresql": 0.0}
        self._last: dict[int, float] = {}
        self._priming = True  # what ran before the run began is not the run's
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> dict[str, float]:
        self.stopping.set()
        self.thread.join(5)
        return dict(self.used)

    def _run(self) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            while True:
                backends = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
                ).fetchall()
                self._add("postgresql", [int(r[0]) for r in backends])
                self._add("web", [self.web.process.pid, *self._workers()])
                self._add(
                    "schedulers", [s.process.pid for s in self.schedulers if s.process is not None]
                )
                self._priming = False
                if self.stopping.wait(1.0):
                    return

    def _workers(self) -> list[int]:
        try:
            return self.web.worker_pids()
        except OSError:
            return []

    def _add(self, role: str, pids: list[int]) -> None:
        for pid in pids:
            now = cpu_seconds(pid)
            if now is None:
                continue
            if not self._priming:
                self.used[role] += now - self._last.get(pid, 0.0)
            self._last[pid] = now
