"""bench/soak: the load-and-fault run of issue 21, repeatable and bounded.

    .venv/bin/python -m bench.soak [--seconds 300] [--rate 75]

On a database of its own on the local PostgreSQL server (`soak_<pid>`, dropped at the end) it
starts the production process set of docs/operations.md, read from deploy/systemd: gunicorn
with the web unit's flags and two `outreach scheduler` processes. Then, for `--seconds`:
six liaisons work the queue through the forms, two supervisors read their pages, a program
system posts events on the API, the load balancer asks /healthz, and Twilio posts signed
status callbacks at `--rate` a second with duplicates and out-of-order deliveries, while the
leading scheduler sends SMS reminders falling due all through the run. Four faults, each at a
known instant: a web worker SIGKILLed, the leading scheduler SIGKILLed, every backend of the
database terminated, and a simulated database restart (connections refused and every backend
terminated twice, for a few seconds; the server itself is shared and never restarted).

It prints each endpoint's count, errors and p50/p95/p99, each fault's errors (in flight at
that instant, or later) and recovery time, the integrity numbers, and one verdict line per
target. Only 127.0.0.1 is contacted; every loop is bounded by the run's length.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import soak_load as load
from bench import soak_processes as procs
from bench import soak_report
from bench.soak_world import World, seed
from bench.webhook_harness import environment, free_port

CALLBACKS_PER_CALL = 4.4  # four callbacks a call, one in ten sent twice
FAULTS = (
    (0.2, "web worker SIGKILLed"),
    (0.4, "leading scheduler SIGKILLed"),
    (0.6, "every backend terminated"),
    (0.8, "database restart (simulated)"),
)
RESTART_DOWN_SECONDS = 4.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--rate", type=float, default=75.0, help="signed webhooks a second")
    parser.add_argument("--liaisons", type=int, default=6)
    parser.add_argument("--supervisors", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    args = parser.parse_args()
    if not 10 <= args.seconds <= 1800:
        parser.error("--seconds must be between 10 and 1800")
    database = f"soak_{os.getpid()}"
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    try:
        run(args, database, folder)
    finally:
        if not args.keep:
            procs.drop_database(database)
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept: database {database}, logs in {folder}")


def run(args: argparse.Namespace, database: str, folder: Path) -> None:
    port = free_port()
    env = environment(folder / "instance", procs.create_database(database), port)
    # Reminders are sent at any hour of the run: calling hours span the day (S4 still checked).
    env.update({"OUTREACH_CALLING_START": "00:00", "OUTREACH_CALLING_END": "23:59"})
    env["OUTREACH_LOG_LEVEL"] = "INFO"
    world = _seed(env, args)
    print(
        f"soak: {args.seconds:.0f} s on PostgreSQL ({database}); web: "
        f"{' '.join(procs.web_command(port)[1:])}; 2 x {' '.join(procs.scheduler_command()[1:])}"
        f"; load average (1 min) before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    web = procs.start_web(env, port, folder / "web.log")
    schedulers = [procs.Scheduler(n, env, folder) for n in ("soak-scheduler-a", "soak-scheduler-b")]
    supervisor = procs.Supervisor(schedulers)
    observer = procs.Observer(database)
    recorder = load.Recorder()
    stop = threading.Event()
    try:
        supervisor.start()
        observer.start()
        _wait_for_a_leader(observer)
        meter = procs.CpuMeter(database, web, schedulers)
        meter.start()
        began, cpu_before, client_before = time.time(), soak_report.cpu_times(), _client_cpu()
        threads = load.start_threads(_people(port, world, recorder, stop, args, began))
        faults = _faults(args.seconds, began, database, web, schedulers, observer)
        stop.wait(max(0.0, began + args.seconds - time.time()))
        stop.set()
        ended, cpu_after, client_after = time.time(), soak_report.cpu_times(), _client_cpu()
        used = {**meter.stop(), "load (this process)": client_after - client_before}
        for thread in threads:
            thread.join(40)
        drained = soak_report.drain(env, limit=60)
        idle_at_end = observer.idle_in_transaction_now()
    finally:
        stop.set()
        observer.stop()
        supervisor.stop()
        procs.stop_process(web.process)
    soak_report.report(
        soak_report.Run(
            seconds=args.seconds,
            rate=args.rate,
            began=began,
            ended=ended,
            env=env,
            recorder=recorder,
            faults=faults,
            samples=observer.samples,
            schedulers=schedulers,
            drained=drained,
            idle_at_end=idle_at_end,
            reminders=world.reminders,
            cpu_idle_share=(cpu_after[0] - cpu_before[0]) / max(1, cpu_after[1] - cpu_before[1]),
            cpu_used=used,
            cpu_busy_seconds=soak_report.busy_seconds(cpu_before, cpu_after),
        )
    )


def _client_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _wait_for_a_leader(observer: procs.Observer) -> None:
    """Measure from the moment the process set is up: a scheduler leads (both have loaded)."""
    for _ in range(600):  # bounded: 120 s
        if procs.leader(observer) is not None:
            time.sleep(2)
            return
        time.sleep(0.2)
    raise RuntimeError("no scheduler took the leader lock within 120 s")


def _seed(env: dict[str, str], args: argparse.Namespace) -> World:
    from outreach import create_app
    from outreach.db import migrate
    from outreach.runtime import runtime
    from outreach.settings import load_settings

    rt = runtime(create_app(settings=load_settings(env)))
    migrate(rt.engine)
    calls = int(args.rate * args.seconds / CALLBACKS_PER_CALL) + 50
    world = seed(
        rt,
        now=datetime.now(UTC),
        seconds=args.seconds,
        tasks_open=120,
        calls=calls,
        reminders=max(10, int(args.seconds / 3)),
        liaisons=args.liaisons,
        supervisors=args.supervisors,
    )
    rt.engine.dispose()
    return world


def _people(
    port: int,
    world: World,
    recorder: load.Recorder,
    stop: threading.Event,
    args: argparse.Namespace,
    began: float,
) -> list[Callable[[], None]]:
    base = f"http://127.0.0.1:{port}"
    twilio = load.Twilio(port, world.webhook_token, recorder)
    stream = load.callback_stream(world.call_codes, int(args.rate * args.seconds))
    people: list[Callable[[], None]] = [
        lambda: twilio.run(stream, args.rate, began, stop) for _ in range(8)
    ]
    people += [
        functools.partial(load.liaison, base, s, recorder, stop, seed=n)
        for n, s in enumerate(world.liaisons)
    ]
    people += [
        functools.partial(load.supervisor, base, s, recorder, stop) for s in world.supervisors
    ]
    people.append(lambda: load.program_system(base, world, recorder, stop, seed=99))
    people.append(lambda: load.health_check(base, recorder, stop))
    return people


def _faults(
    seconds: float,
    began: float,
    database: str,
    web: procs.Web,
    schedulers: list[procs.Scheduler],
    observer: procs.Observer,
) -> list[soak_report.Fault]:
    """Do each fault at its instant (in the main thread, while the load runs); answer when and
    what was done."""
    done: list[soak_report.Fault] = []
    for share, name in FAULTS:
        time.sleep(max(0.0, began + share * seconds - time.time()))
        start = time.time()
        if name.startswith("web worker"):
            victim = web.worker_pids()[0]
            os.kill(victim, 9)
            detail = f"worker {victim}"
        elif name.startswith("leading scheduler"):
            detail = _kill_leader(schedulers, observer)
        elif name.startswith("every backend"):
            detail = f"{procs.terminate_backends(database)} backends"
        else:
            ended = procs.simulated_restart(database, RESTART_DOWN_SECONDS)
            detail = f"{ended} backends, connections refused {RESTART_DOWN_SECONDS:.0f} s"
        done.append(soak_report.Fault(name, start, time.time(), detail))
    return done


def _kill_leader(schedulers: list[procs.Scheduler], observer: procs.Observer) -> str:
    for _ in range(50):  # bounded: the leader is usually known at once
        name = procs.leader(observer)
        found = [s for s in schedulers if s.name == name and s.alive()]
        if found and found[0].process is not None:
            found[0].kills.append(time.time())
            os.kill(found[0].process.pid, 9)
            return name or ""
        time.sleep(0.2)
    return "no leader found to kill"


if __name__ == "__main__":
    main()
