"""Benchmark the liaison's queue page and the supervisor's filtered attempt log.

Run: .venv/bin/python bench/web.py [--tasks 10000] [--attempts 1000000] [--repeats 20]

Builds a SQLite file (bench/results/web.db) with bulk inserts: one program, 50 groups, one
contact per task, the open tasks and the attempts spread over them. Then serves each page
through Flask's test client, signed in, and times it; in the same run it times the bare
query each page runs, and prints page p50/p95 and the page-to-query ratio. Synthetic data:
the sealed columns hold random bytes, never anything that opens.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import statistics
import sys
import time as clock
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from outreach.services.records.audit import SYSTEM

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, insert, select  # noqa: E402

from outreach import create_app  # noqa: E402
from outreach.clock import FixedClock  # noqa: E402
from outreach.db import make_engine, migrate  # noqa: E402
from outreach.models import (  # noqa: E402
    Attempt,
    ContactPerson,
    ContactPreferences,
    Group,
    OutreachTask,
    Participant,
    Program,
    TaskPlan,
    User,
    user_program,
)
from outreach.security.passwords import hash_password  # noqa: E402
from outreach.services.scheduling import call_windows, queue  # noqa: E402
from outreach.services.supervision import review  # noqa: E402
from outreach.settings import load_settings  # noqa: E402

NOW = datetime(2026, 11, 17, 20, 0, tzinfo=UTC)
# The program's zone; its contacts state none, so their calls are dated in it (S5 windows).
ZONE = ZoneInfo("America/New_York")
PASSWORD = "bench password for a synthetic database"  # noqa: S105
OUTCOMES = ("no_answer", "busy", "machine_hung_up", "reached_safe", "reached_not_safe")
CHUNK = 50_000


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def build(path: Path, tasks: int, attempts: int) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    rng = random.Random(7)
    started = clock.perf_counter()
    ids: dict[str, Any] = {
        "program": uuid.uuid4(),
        "liaison": uuid.uuid4(),
        "supervisor": uuid.uuid4(),
    }
    with engine.begin() as conn:
        _people(conn, ids)
        groups = _groups(conn, ids["program"], 50)
        task_ids = _tasks(conn, rng, ids["program"], groups, tasks)
    print(f"built {tasks} open tasks in {clock.perf_counter() - started:.1f} s")
    started = clock.perf_counter()
    with engine.begin() as conn:
        _attempts(conn, rng, task_ids, attempts, ids["liaison"])
    print(f"built {attempts} attempts in {clock.perf_counter() - started:.1f} s")
    _analyze(engine)
    engine.dispose()
    return ids


def _analyze(engine: Any) -> None:
    # Without statistics SQLite drives the log query from the program (every attempt) instead
    # of the attempt.at index; a deployment on SQLite runs ANALYZE (or PRAGMA optimize) too.
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def _people(conn: Any, ids: dict[str, Any]) -> None:
    conn.execute(
        insert(Program),
        [
            {
                "id": ids["program"],
                "key": "bench",
                "name": "Bench program",
                "protocol": "georgia_fvip",
                "timezone": ZONE.key,
                "created_at": NOW,
            }
        ],
    )
    digest = hash_password(PASSWORD)
    for name in ("liaison", "supervisor"):
        conn.execute(
            insert(User),
            [
                {
                    "id": ids[name],
                    "username": name,
                    "role": name,
                    "password_hash": digest,
                    "active": True,
                    "failed_logins": 0,
                    "created_at": NOW,
                }
            ],
        )
        conn.execute(insert(user_program), [{"user_id": ids[name], "program_id": ids["program"]}])


def _groups(conn: Any, program_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    days = ("MO", "TU", "WE", "TH")
    rows = [
        {
            "id": uuid.uuid4(),
            "program_id": program_id,
            "name": f"Group {n}",
            "timezone": "America/New_York",
            "rrule": f"FREQ=WEEKLY;BYDAY={days[n % 4]}",
            "start_time": time(18, 30),
            "duration_minutes": 120,
            "starts_on": date(2026, 9, 1),
            "ends_on": None,
            "created_at": NOW,
        }
        for n in range(count)
    ]
    conn.execute(insert(Group), rows)
    return [r["id"] for r in rows]


def _tasks(
    conn: Any, rng: random.Random, program_id: uuid.UUID, groups: list[uuid.UUID], count: int
) -> list[uuid.UUID]:
    people, contacts, prefs, tasks = [], [], [], []
    for n in range(count):
        pid, cid, tid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        people.append(
            {
                "id": pid,
                "program_id": program_id,
                "group_id": rng.choice(groups),
                "reference": f"P-{n}",
                "created_at": NOW,
            }
        )
        contacts.append(
            {
                "id": cid,
                "participant_id": pid,
                "program_id": program_id,
                "name_sealed": os.urandom(40),
                "phone_sealed": os.urandom(40),
                "phone_index": os.urandom(16).hex(),
                "phone_zones": "America/New_York",
                "relationship_to_participant": "ex_partner",
                "created_at": NOW,
            }
        )
        prefs.append(
            {
                "id": uuid.uuid4(),
                "contact_id": cid,
                "version": 1,
                "consent": "consented",
                "voice": True,
                "sms": False,
                "voicemail": False,
                "mail": False,
                "safe_times": [{"days": "SA", "start": "10:00", "end": "12:00"}] if n % 3 else [],
                "only_during_group": False,
                "language": "en" if n % 4 else "es",
                "timezone": None,
                "source": "import",
                "recorded_by": None,
                "recorded_at": NOW,
            }
        )
        reason = "duty_to_warn" if n % 500 == 0 else "intake"
        tasks.append(
            {
                "id": tid,
                "program_id": program_id,
                "contact_id": cid,
                "event_id": None,
                "reason": reason,
                "script": reason,
                "channels": ["voice"],
                "opens_at": NOW - timedelta(days=3),
                "due_by": NOW + timedelta(hours=rng.randrange(-48, 24 * 14)),
                "severity": "routine",
                "min_attempts": 2,
                "priority": 0 if n % 500 == 0 else 2,
                "consent_override": False,
                "status": "open",
                "claim_version": 0,
                "created_at": NOW - timedelta(days=3),
            }
        )
    for model, rows in (
        (Participant, people),
        (ContactPerson, contacts),
        (ContactPreferences, prefs),
        (OutreachTask, tasks),
    ):
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(model), rows[start : start + CHUNK])
    return [t["id"] for t in tasks]


def _attempts(
    conn: Any, rng: random.Random, task_ids: list[uuid.UUID], count: int, liaison: uuid.UUID
) -> None:
    batch = []
    for n in range(count):
        at = NOW - timedelta(minutes=rng.randrange(1, 60 * 24 * 365))
        batch.append(
            {
                "id": uuid.uuid4(),
                "task_id": task_ids[n % len(task_ids)],
                "channel": "voice",
                "at": at,
                "outcome": rng.choice(OUTCOMES),
                "made_by": liaison,
                "group_id": None,
                "session_date": None,
                # As append_attempt logs a call outside group time: the contact's local day.
                "window_day": at.astimezone(ZONE).date(),
                "callback_at": None,
                "notes_sealed": None,
                "corrects_id": None,
                "recorded_at": at,
            }
        )
        if len(batch) == CHUNK:
            conn.execute(insert(Attempt), batch)
            batch = []
    if batch:
        conn.execute(insert(Attempt), batch)


def timed(fn: Callable[[], object], repeats: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock milliseconds of each call; with `cpu`, also this process's CPU milliseconds.

    On a machine shared with other work the wall clock includes waiting for a core; the CPU
    time is what the page itself costs (the test client runs it in this one thread)."""
    fn()  # warm caches and the planner's zone tables
    out = []
    for _ in range(repeats):
        started, cpu_started = clock.perf_counter(), clock.process_time()
        fn()
        out.append((clock.perf_counter() - started) * 1000)
        if cpu is not None:
            cpu.append((clock.process_time() - cpu_started) * 1000)
    return out


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, round(0.95 * len(samples)) - 1)]


def measure(path: Path, ids: dict[str, Any], repeats: int) -> None:
    env = {
        "OUTREACH_DATABASE_URL": f"sqlite:///{path}",
        "OUTREACH_SECRET_KEY": "b" * 48,
        "OUTREACH_DATA_KEYS": f"bench1:{_key()}",
        "OUTREACH_INDEX_KEY": _key(),
        "OUTREACH_AUDIT_KEY": _key(),
        "OUTREACH_CHANNEL": "simulator",
        "OUTREACH_INSTANCE_PATH": str(path.parent / "instance"),
    }
    app = create_app({"TESTING": True}, settings=load_settings(env), clock=FixedClock(NOW))
    rt = app.extensions["outreach"]
    scope = frozenset({ids["program"]})
    log_args = "outcome=reached_safe&from=2026-10-01&to=2026-10-31"
    filters = review.parse_filter(
        {"outcome": "reached_safe", "from": "2026-10-01", "to": "2026-10-31"}
    )
    _replan_all(rt, scope)
    pages = {
        "queue page": (
            "liaison",
            "/queue",
            lambda s: s.execute(
                queue.ordered(scope, NOW, actor=SYSTEM).limit(queue.PER_PAGE + 1)
            ).all(),
        ),
        "attempt log page (filtered)": (
            "supervisor",
            f"/review/attempts?{log_args}",
            lambda s: s.execute(review.log_query(filters, scope).limit(51)).all(),
        ),
    }
    for label, (who, url, bare) in pages.items():
        client = app.test_client()
        _log_in(client, who)
        cpu: list[float] = []
        page = timed(lambda url=url, client=client: _get(client, url), repeats, cpu)
        with rt.session() as session:
            query = timed(lambda bare=bare, session=session: bare(session), repeats)
        print(
            f"{label:<28} p50 {statistics.median(page):8.1f} ms  p95 {p95(page):8.1f} ms | "
            f"bare query p50 {statistics.median(query):7.1f} ms p95 {p95(query):7.1f} ms | "
            f"ratio p95 {p95(page) / max(p95(query), 0.001):6.1f} | "
            f"page CPU p50 {statistics.median(cpu):6.1f} ms p95 {p95(cpu):6.1f} ms"
        )
    print(f"load average (1 min) after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    _queue_after_changes(app, rt, repeats)


def _replan_all(rt: Any, scope: frozenset[uuid.UUID]) -> None:
    """What the scheduler does once (and then only for what changed): plan every open task."""
    with rt.session() as session:
        session.execute(delete(TaskPlan))  # from nothing, as on the first tick after an upgrade
        session.commit()
    started = clock.perf_counter()
    with rt.session() as session:
        count = call_windows.refresh_all(
            session, rt.profiles, now=NOW, calling_hours=_hours(rt), program_ids=scope
        )
    seconds = clock.perf_counter() - started
    print(
        f"stored plan: {count} open tasks planned in {seconds:.1f} s "
        f"({seconds / count * 1e3:.2f} ms a task)"
    )


def _queue_after_changes(app: Any, rt: Any, repeats: int) -> None:
    """The queue page when changes since the last tick left some plans stale, by how many."""
    client = app.test_client()
    _log_in(client, "liaison")
    for stale in (10, 100, 1000):
        samples = []
        for _ in range(max(repeats // 2, 3)):
            with rt.session() as session:
                ids = session.scalars(select(TaskPlan.task_id).limit(stale)).all()
                session.execute(delete(TaskPlan).where(TaskPlan.task_id.in_(ids)))
                session.commit()
            started = clock.perf_counter()
            _get(client, "/queue")
            samples.append((clock.perf_counter() - started) * 1000)
        print(
            f"queue page, {stale:>4} stale plans p50 {statistics.median(samples):8.1f} ms  "
            f"p95 {p95(samples):8.1f} ms"
        )


def _hours(rt: Any) -> tuple[time, time]:
    return (rt.settings.calling_start, rt.settings.calling_end)


def _log_in(client: Any, username: str) -> None:
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, "bench sign-in failed"


def _get(client: Any, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="Measure the existing database file.")
    args = parser.parse_args()
    path = ROOT / "bench" / "results" / "web.db"
    print(f"python {sys.version.split()[0]}, SQLite file {path}")
    ids = _existing_ids(path) if args.reuse else build(path, args.tasks, args.attempts)
    measure(path, ids, args.repeats)


def _existing_ids(path: Path) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)  # a file built before the newest migration gets its indexes now
    _analyze(engine)
    with engine.connect() as conn:
        found = {"program": conn.scalar(select(Program.id).where(Program.key == "bench"))}
    engine.dispose()
    return found


if __name__ == "__main__":
    main()
