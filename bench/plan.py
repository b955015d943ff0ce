"""Benchmark the call-window planner on synthetic programs.

Run: .venv/bin/python bench/plan.py [--contacts N] [--with-100k] [--seed S]

Twenty contacts per group (10,000 contacts in 500 groups), 28 days ahead. Reports wall
time (median of --repeats runs), peak memory (tracemalloc, in a separate run: tracing
slows Python down) and the ratio of planning time to merely expanding the same groups'
occurrences with dateutil.rrule, measured in the same process, two ways: each group
expanded once (the strict floor) and each contact's group expanded (what planning per
contact without sharing would cost). Nothing here is real data.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time as clock
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from dateutil.rrule import rrulestr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from outreach.domain import planner as planner_module
from outreach.domain.planner import (
    ContactSchedule,
    GroupSchedule,
    PlanItem,
    PlanningRules,
    SafeTime,
    TaskToPlan,
    plan,
)
from outreach.domain.vocabulary import Consent, Severity, TaskReason

NOW = datetime(2026, 2, 20, 15, 0, tzinfo=UTC)  # the horizon spans the 2026-03-08 DST change
HORIZON_DAYS = 28
CONTACTS_PER_GROUP = 20
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
# Intervention groups meet weekly, a few twice a week; one in fifty meets every weekday.
RULES = (
    *["FREQ=WEEKLY;BYDAY=TU", "FREQ=WEEKLY;BYDAY=WE", "FREQ=WEEKLY;BYDAY=TH"] * 10,
    *["FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=WEEKLY;BYDAY=TU,TH", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA"] * 6,
    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
)


def make_groups(rng: random.Random, count: int) -> list[GroupSchedule]:
    groups = []
    for n in range(count):
        start_on = date(2026, 1, 5)
        cancelled = frozenset(start_on + timedelta(days=rng.randrange(40, 80)) for _ in range(2))
        groups.append(
            GroupSchedule(
                group_id=f"g{n}",
                timezone=rng.choice(ZONES),
                rrule=rng.choice(RULES),
                start_time=time(rng.choice((17, 18, 19)), rng.choice((0, 30))),
                duration_minutes=rng.choice((90, 120)),
                starts_on=start_on,
                ends_on=None,
                cancelled=cancelled,
            )
        )
    return groups


def make_safe_times(rng: random.Random) -> tuple[SafeTime, ...]:
    days = frozenset(rng.sample(range(7), rng.randint(1, 5)))
    start = time(rng.randint(8, 18))
    return (SafeTime(days, start, time(min(start.hour + rng.randint(1, 4), 23))),)


def make_item(rng: random.Random, n: int, group: GroupSchedule) -> PlanItem:
    zones = (group.timezone,) if rng.random() < 0.8 else ("America/Chicago", "America/New_York")
    consent = rng.choices(list(Consent), weights=(10, 85, 5))[0]
    contact = ContactSchedule(
        contact_id=f"c{n}",
        consent=consent,
        voice=rng.random() < 0.97,
        sms=rng.random() < 0.5,
        voicemail=False,
        timezones=zones,
        safe_times=make_safe_times(rng) if rng.random() < 0.5 else (),
        only_during_group=rng.random() < 0.3,
    )
    days = [NOW.date() + timedelta(days=d) for d in range(-3, HORIZON_DAYS)]
    task = TaskToPlan(
        task_id=f"t{n}",
        contact_id=contact.contact_id,
        reason=TaskReason.INTAKE,
        due_by=NOW + timedelta(days=rng.randint(1, 20)),
        severity=Severity.ROUTINE,
        duty_to_warn=rng.random() < 0.01,
        attempted_sessions=frozenset((group.group_id, d) for d in rng.sample(days, 2)),
        attendance={d: rng.random() < 0.85 for d in days[:10]},
    )
    return PlanItem(task, contact, group, PlanningRules())


def make_items(contacts: int, seed: int) -> tuple[list[GroupSchedule], list[PlanItem]]:
    rng = random.Random(seed)
    groups = make_groups(rng, max(contacts // CONTACTS_PER_GROUP, 1))
    items = [make_item(rng, n, groups[n % len(groups)]) for n in range(contacts)]
    return groups, items


def expand_only(groups: list[GroupSchedule]) -> int:
    """The baseline: parse each group's rule and list its occurrences over the horizon."""
    total = 0
    for group in groups:
        rule = rrulestr(group.rrule, dtstart=datetime.combine(group.starts_on, group.start_time))
        lo = NOW.replace(tzinfo=None) - timedelta(days=1)
        total += len(rule.between(lo, lo + timedelta(days=HORIZON_DAYS + 2), inc=True))
    return total


def expand_per_contact(items: list[PlanItem]) -> int:
    """What a planner without sharing would pay: each contact's group expanded again."""
    return expand_only([item.group for item in items if item.group is not None])


def timed(fn: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        planner_module._rule.cache_clear()  # no head start from an earlier run
        gc.collect()
        started = clock.perf_counter()
        fn()
        samples.append(clock.perf_counter() - started)
    return statistics.median(samples)


def peak_memory(fn: Callable[[], object]) -> int:
    planner_module._rule.cache_clear()
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def run(contacts: int, seed: int, repeats: int) -> None:
    groups, items = make_items(contacts, seed)
    result = plan(items, now=NOW, horizon_days=HORIZON_DAYS)
    planning = timed(lambda: plan(items, now=NOW, horizon_days=HORIZON_DAYS), repeats)
    expanding = timed(lambda: expand_only(groups), repeats)
    per_contact = timed(lambda: expand_per_contact(items), 1)
    peak = peak_memory(lambda: plan(items, now=NOW, horizon_days=HORIZON_DAYS))
    print(
        f"{contacts:>7} contacts {len(groups):>5} groups | plan {planning * 1000:8.1f} ms"
        f" = {planning / contacts * 1e6:5.1f} us/contact | peak {peak / 2**20:6.1f} MiB"
        f" | {len(result.windows):>7} windows {len(result.skipped):>6} skipped"
    )
    print(
        f"{'':>30}rrule expansion, each group once {expanding * 1000:7.1f} ms"
        f" -> ratio {planning / expanding:5.2f}; each contact's group {per_contact * 1000:7.1f} ms"
        f" -> ratio {planning / per_contact:5.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, action="append", help="repeatable")
    parser.add_argument("--with-100k", action="store_true", help="also run 100,000 contacts")
    parser.add_argument("--seed", type=int, default=20260220)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = args.contacts or [1_000, 10_000]
    if args.with_100k:
        sizes.append(100_000)
    print(f"python {sys.version.split()[0]}, horizon {HORIZON_DAYS} days from {NOW.isoformat()}")
    for size in sizes:
        run(size, args.seed, args.repeats)


if __name__ == "__main__":
    main()
