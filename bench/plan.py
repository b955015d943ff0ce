"""Benchmark the call-window planner on synthetic programs.

Run: .venv/bin/python bench/plan.py [--contacts N] [--with-100k] [--seed S] [--tasks N]
     [--reminders-on sqlite|postgresql]

Twenty contacts per group (10,000 contacts in 500 groups), 28 days ahead. Reports wall
time (median of --repeats runs), peak memory (tracemalloc, in a separate run: tracing
slows Python down) and the ratio of planning time to merely expanding the same groups'
occurrences with dateutil.rrule, measured in the same process, two ways: each group
expanded once (the strict floor) and each contact's group expanded (what planning per
contact without sharing would cost). Nothing here is real data.

Then, on a database (a fresh SQLite file, or --reminders-on postgresql for the local
server), one scheduler tick's reminder step for N open tasks where about 10% of contacts
allow SMS: planning every open task (as it did before) against planning only the tasks that
may text their contact (schedule_reminders now), both live, median of --repeats runs.
"""

from __future__ import annotations

import argparse
import gc
import logging
import random
import statistics
import sys
import tempfile
import time as clock
import tracemalloc
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from dateutil.rrule import rrulestr
from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from outreach.services.records.audit import SYSTEM

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import webhook_harness as harness
from outreach import create_app
from outreach.db import migrate
from outreach.domain.participation import Mark, Timeline
from outreach.domain.planning import group_sessions as group_sessions_module
from outreach.domain.planning.group_sessions import GroupSchedule
from outreach.domain.planning.inputs import ContactSchedule, PlanItem, PlanningRules, TaskToPlan
from outreach.domain.planning.planner import plan
from outreach.domain.planning.safe_times import DAY_CODES, SafeTime
from outreach.domain.vocabulary import Consent, EventType, Severity, TaskReason
from outreach.models import (
    ContactPerson,
    ContactPreferences,
    Delivery,
    Group,
    OutreachTask,
    Participant,
)
from outreach.runtime import Runtime, runtime
from outreach.scheduler import jobs
from outreach.services.intake import programs
from outreach.services.scheduling import planning, reminders
from outreach.settings import load_settings

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
    task = replace(task, timeline=make_timeline(rng))
    return PlanItem(task, contact, group, PlanningRules())


def make_timeline(rng: random.Random) -> Timeline:
    """His status over time (S4): most are in group; some leave, go on leave or come back
    within the horizon, so the planner checks every session against his periods."""
    created = NOW - timedelta(days=90)
    marks = [Mark(EventType.ENROLLED, created + timedelta(days=1), created)]
    roll = rng.random()
    when = NOW + timedelta(days=rng.uniform(-5, HORIZON_DAYS))
    if roll < 0.08:
        marks.append(Mark(EventType.TERMINATED, when, when))
    elif roll < 0.13:
        marks.append(Mark(EventType.LEAVE_OF_ABSENCE, when, when))
        back = when + timedelta(days=rng.randint(7, 21))
        marks.append(Mark(EventType.RETURNED_FROM_LEAVE, back, back))
    return Timeline(marks, created)


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
        group_sessions_module._rule.cache_clear()  # no head start from an earlier run
        gc.collect()
        started = clock.perf_counter()
        fn()
        samples.append(clock.perf_counter() - started)
    return statistics.median(samples)


def peak_memory(fn: Callable[[], object]) -> int:
    group_sessions_module._rule.cache_clear()
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


# --- the scheduler's reminder step on a database ------------------------------------------

SMS_SHARE = 0.10  # contacts who allow SMS
STOPPED_SHARE = 0.02  # allowed SMS when their task opened, then texted STOP


def plan_every_task(session: Session, rt: Runtime, now: datetime) -> int:
    """The reminder step as it was: every open task planned, then the same checks per window."""
    plan = planning.plan_open_tasks(
        session,
        rt.profiles,
        now=now,
        days=2,
        calling_hours=(rt.settings.calling_start, rt.settings.calling_end),
    )
    created = 0
    for window in reminders._next_windows(
        plan.windows, now, now + reminders.REMINDER_LOOKAHEAD
    ).values():
        created += reminders._schedule_one(session, rt.profiles, window, now)
    session.commit()
    return created


def seed(session: Session, tasks: int, rng: random.Random) -> None:
    """Groups of twenty, one contact and one open task each; rows written directly."""
    program = programs.create_program(
        session,
        key="bench",
        name="Bench",
        protocol="georgia_fvip",
        timezone=ZONES[0],
        now=NOW,
        actor=SYSTEM,
    )
    groups = [
        group_row(program.id, g) for g in make_groups(rng, max(tasks // CONTACTS_PER_GROUP, 1))
    ]
    session.execute(insert(Group), groups)
    rows: dict[type, list[dict[str, Any]]] = defaultdict(list)
    for n in range(tasks):
        for model, row in contact_with_task(rng, n, program.id, groups[n % len(groups)]):
            rows[model].append(row)
    for model in (Participant, ContactPerson, ContactPreferences, OutreachTask):
        session.execute(insert(model), rows[model])
    session.commit()


def group_row(program_id: uuid.UUID, group: GroupSchedule) -> dict[str, Any]:
    fields = ("timezone", "rrule", "start_time", "duration_minutes", "starts_on")
    return {
        **{name: getattr(group, name) for name in fields},
        "id": uuid.uuid4(),
        "program_id": program_id,
        "name": group.group_id,
        "ends_on": None,
        "created_at": NOW,
    }


def contact_with_task(
    rng: random.Random, n: int, program_id: uuid.UUID, group: dict[str, Any]
) -> list[tuple[type, dict[str, Any]]]:
    """A participant, their contact's preference versions and one open intake task."""
    participant, contact = uuid.uuid4(), uuid.uuid4()
    share = rng.random()
    texting = share < SMS_SHARE + STOPPED_SHARE  # as the task opened
    consent = Consent.CONSENTED if texting else rng.choices(list(Consent), weights=(10, 85, 5))[0]
    versions = [preferences_row(rng, contact, 1, consent, texting)]
    if share >= SMS_SHARE and texting:  # STOP since: a newer version without SMS
        versions.append(preferences_row(rng, contact, 2, consent, False))
    return [
        (
            Participant,
            {
                "id": participant,
                "program_id": program_id,
                "group_id": group["id"],
                "reference": f"B-{n}",
                "created_at": NOW,
            },
        ),
        (
            ContactPerson,
            {
                "id": contact,
                "participant_id": participant,
                "program_id": program_id,
                "name_sealed": b"",
                "phone_sealed": b"",
                "phone_index": f"{n:064}",
                "phone_zones": group["timezone"],
                "relationship_to_participant": "ex_partner",
                "created_at": NOW,
            },
        ),
        *((ContactPreferences, row) for row in versions),
        (
            OutreachTask,
            task_row(rng, program_id, contact, ["voice", "sms"] if texting else ["voice"]),
        ),
    ]


def task_row(
    rng: random.Random, program_id: uuid.UUID, contact_id: uuid.UUID, channels: list[str]
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "program_id": program_id,
        "contact_id": contact_id,
        "reason": TaskReason.INTAKE.value,
        "script": "intake",
        "channels": channels,
        "opens_at": NOW,
        "due_by": NOW + timedelta(days=rng.randint(1, 20)),
        "severity": Severity.ROUTINE.value,
        "min_attempts": 2,
        "priority": 2,
        "consent_override": False,
        "status": "open",
        "claim_version": 0,
        "created_at": NOW,
    }


def preferences_row(
    rng: random.Random, contact_id: uuid.UUID, version: int, consent: Consent, sms: bool
) -> dict[str, Any]:
    safe = make_safe_times(rng)[0] if rng.random() < 0.5 else None
    return {
        "id": uuid.uuid4(),
        "contact_id": contact_id,
        "version": version,
        "consent": consent.value,
        "voice": rng.random() < 0.97,
        "sms": sms,
        "voicemail": False,
        "mail": False,
        "only_during_group": rng.random() < 0.3,
        "safe_times": [] if safe is None else [safe_time_json(safe)],
        "language": "en",
        "timezone": None,
        "source": "import",
        "recorded_by": None,
        "recorded_at": NOW,
    }


def safe_time_json(safe: SafeTime) -> dict[str, str]:
    days = ",".join(DAY_CODES[d] for d in sorted(safe.days))
    return {"days": days, "start": f"{safe.start:%H:%M}", "end": f"{safe.end:%H:%M}"}


def timed_step(
    rt: Runtime, step: Callable[[Session, Runtime, datetime], int], repeats: int
) -> tuple[float, int]:
    """Median time of one reminder step; the reminders it made are deleted between runs."""
    samples, made = [], 0
    for _ in range(repeats):
        group_sessions_module._rule.cache_clear()
        gc.collect()
        with rt.session() as session:
            started = clock.perf_counter()
            made = step(session, rt, NOW)
            samples.append(clock.perf_counter() - started)
            session.execute(delete(Delivery))
            session.commit()
    return statistics.median(samples), made


def run_reminders(tasks: int, database: str, seed_value: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = (
            harness.fresh_postgres("outreach_bench_plan")
            if database == "postgresql"
            else f"sqlite:///{Path(tmp) / 'plan.db'}"
        )
        env = harness.environment(Path(tmp), url, harness.free_port())
        rt = runtime(create_app(settings=load_settings(env)))
        migrate(rt.engine)
        with rt.session() as session:
            seed(session, tasks, random.Random(seed_value))
            may_text = len(reminders.reminder_candidates(session, rt.profiles))
        before, made_before = timed_step(rt, plan_every_task, repeats)
        after, made_after = timed_step(rt, jobs.schedule_reminders, repeats)
        rt.engine.dispose()
    assert made_before == made_after, (made_before, made_after)
    print(
        f"{tasks:>7} open tasks {may_text:>5} may text | every task planned"
        f" {before * 1000:8.1f} ms | only those {after * 1000:7.1f} ms"
        f" -> ratio {before / after:6.1f} | {made_after:>5} reminders either way"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, action="append", help="repeatable")
    parser.add_argument("--with-100k", action="store_true", help="also run 100,000 contacts")
    parser.add_argument("--seed", type=int, default=20260220)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks", type=int, action="append", help="open tasks; repeatable")
    parser.add_argument("--reminders-on", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    sizes = args.contacts or [1_000, 10_000]
    if args.with_100k:
        sizes.append(100_000)
    print(f"python {sys.version.split()[0]}, horizon {HORIZON_DAYS} days from {NOW.isoformat()}")
    for size in sizes:
        run(size, args.seed, args.repeats)
    logging.disable(logging.INFO)
    print(
        f"reminder step on {args.reminders_on}, {SMS_SHARE:.0%} of contacts allow SMS"
        f" ({STOPPED_SHARE:.0%} more stopped it since their task opened)"
    )
    for tasks in args.tasks or [1_000, 10_000]:
        run_reminders(tasks, args.reminders_on, args.seed, args.repeats)


if __name__ == "__main__":
    main()
