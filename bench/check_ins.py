"""bench/check_ins: the tick's texting steps at 10,000 open tasks, 10% of contacts texting.

Issue 20: "reminders and check-ins at 10,000 open tasks with 10% texting: report the tick's
reminder step before and after; it must stay under 1 s." Before texted check-ins the tick
planned heads-up reminders only (`jobs.schedule_reminders`); it now also plans the check-in
texts of contacts who chose texts over calls (`check_ins.schedule_texts`). Both are timed on
the same database, median of --repeats runs, the rows they made deleted between runs.

The data are bench/plan.py's (groups of twenty, one open task per contact, about 10% of
contacts allow SMS, 2% more texted STOP since), and half the texting contacts have since turned
calls off, their task being a text-only periodic check-in. Nothing here is real data.

    .venv/bin/python bench/check_ins.py [--tasks 10000] [--repeats 3] [--on sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import random
import statistics
import sys
import tempfile
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bench import plan as bench_plan
from bench import webhook_harness as harness
from outreach import create_app
from outreach.db import migrate
from outreach.domain.planning import group_sessions as group_sessions_module
from outreach.domain.vocabulary import TaskReason
from outreach.models import ContactPreferences, Delivery, OutreachTask
from outreach.runtime import Runtime, runtime
from outreach.scheduler import jobs
from outreach.services.contact_persons import preferences
from outreach.services.intake import check_ins
from outreach.settings import load_settings

NOW = bench_plan.NOW
Step = Callable[[Session, Runtime, datetime], int]


def reminders(session: Session, rt: Runtime, now: datetime) -> int:
    return jobs.schedule_reminders(session, rt, now)


def check_in_texts(session: Session, rt: Runtime, now: datetime) -> int:
    hours = (rt.settings.calling_start, rt.settings.calling_end)
    return check_ins.schedule_texts(session, rt.profiles, hours, now)


def both(session: Session, rt: Runtime, now: datetime) -> int:
    return check_in_texts(session, rt, now) + reminders(session, rt, now)


def texts_instead_of_calls(session: Session, rng: random.Random) -> int:
    """Half the contacts who allow SMS turn calls off; their task becomes a texted check-in."""
    tasks = list(session.scalars(select(OutreachTask)))
    prefs = preferences.current_preferences_of(session, {t.contact_id for t in tasks})
    chosen = [t for t in tasks if prefs[t.contact_id].sms and rng.random() < 0.5]
    for task in chosen:
        session.execute(
            update(ContactPreferences)
            .where(ContactPreferences.id == prefs[task.contact_id].id)
            .values(voice=False, consent="consented")
        )
        session.execute(
            update(OutreachTask)
            .where(OutreachTask.id == task.id)
            .values(reason=TaskReason.PERIODIC_CHECK_IN.value, script="periodic_check_in")
            .values(channels=["sms"])
        )
    session.commit()
    return len(chosen)


@dataclass(frozen=True)
class Timing:
    """Median wall-clock seconds of a step, and the median CPU seconds of this process in it.

    On SQLite the database runs in this process, so the CPU time is the step's whole cost, and
    it does not grow when other work shares the cores as the wall clock does."""

    wall: float
    cpu: float
    made: int = 0

    def __str__(self) -> str:
        return f"{self.wall * 1000:7.1f} ms (CPU {self.cpu * 1000:7.1f} ms)"


def timed(rt: Runtime, step: Step, repeats: int) -> Timing:
    walls, cpus, made = [], [], 0
    for _ in range(repeats):
        group_sessions_module._rule.cache_clear()
        gc.collect()
        with rt.session() as session:
            started, cpu_started = clock.perf_counter(), clock.process_time()
            made = step(session, rt, NOW)
            walls.append(clock.perf_counter() - started)
            cpus.append(clock.process_time() - cpu_started)
            session.execute(delete(Delivery))
            session.commit()
    return Timing(statistics.median(walls), statistics.median(cpus), made)


def steady(rt: Runtime, repeats: int) -> Timing:
    """The next ticks: the texts and reminders already planned stay, as they do in service."""
    with rt.session() as session:
        both(session, rt, NOW)
    walls, cpus = [], []
    for _ in range(repeats):
        with rt.session() as session:
            started, cpu_started = clock.perf_counter(), clock.process_time()
            both(session, rt, NOW)
            walls.append(clock.perf_counter() - started)
            cpus.append(clock.process_time() - cpu_started)
    return Timing(statistics.median(walls), statistics.median(cpus))


def run(tasks: int, database: str, seed: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = (
            harness.fresh_postgres("outreach_bench_check_ins")
            if database == "postgresql"
            else f"sqlite:///{Path(tmp) / 'check_ins.db'}"
        )
        env = harness.environment(Path(tmp), url, harness.free_port())
        rt = runtime(create_app(settings=load_settings(env)))
        migrate(rt.engine)
        rng = random.Random(seed)
        with rt.session() as session:
            bench_plan.seed(session, tasks, rng)
            texted = texts_instead_of_calls(session, rng)
        before = timed(rt, reminders, repeats)
        texts_alone = timed(rt, check_in_texts, repeats)
        after = timed(rt, both, repeats)
        later = steady(rt, repeats)
        rt.engine.dispose()
    print(f"{tasks:>7} open tasks on {database}, {texted} texted check-ins")
    print(f"  before (reminders only)      {before}, {before.made} reminders")
    print(f"  check-in texts alone         {texts_alone}, {texts_alone.made} texts")
    print(f"  after (both)                 {after}, {after.made} rows")
    print(f"  next ticks (both, rows kept) {later}")
    ratio, cpu_ratio = after.wall / before.wall, after.cpu / before.cpu
    print(f"  ratio after/before           {ratio:.2f} (CPU {cpu_ratio:.2f})")
    print(f"  load average (1 min) after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if after.wall >= 1.0:
        print("over one second of wall clock: see the CPU figure and docs/benchmarks.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260220)
    parser.add_argument("--on", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    print(f"python {sys.version.split()[0]}, tick at {NOW.isoformat()}")
    run(args.tasks, args.on, args.seed, args.repeats)


if __name__ == "__main__":
    main()
