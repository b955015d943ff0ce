"""Two scheduler processes while the database ends the leader's session, then every session
(issue 21 finding 5): at no moment do two lead, no reminder goes out twice, and leadership is
back within one tick (the runner's jobs ask every 2 s; these processes every 0.1 s).

"Leading" is measured by the database: a process counts an interval as led only between two
moments at which the server confirmed, on the lock's own connection, that it held the lock
(`Leadership.verified_at`), so two intervals of different processes may never overlap.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text

from outreach.models import Delivery
from outreach.runtime import Runtime
from outreach.scheduler.runner import LOCK_KEY
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM
from tests.conftest import DATABASES, NOW, engine_url
from tests.factories import make_contact, make_group, make_participant, make_program

APP_NAME = f"outreach_failover_{os.getpid()}"
REMINDERS = 60
RUN_SECONDS = 10.0
ONE_TICK = timedelta(seconds=2)  # the runner's apply job: the soonest a follower asks
pytestmark = pytest.mark.parametrize("own_engine", ["postgresql"], indirect=True)

# A scheduler process: every 0.1 s it asks to lead and, leading, sends what is due, judged
# on the real clock; it prints each reminder its provider was asked to send and each
# interval the database confirmed it led.
WORKER = """
import os, sys, time
from outreach import create_app
from outreach.channels.base import Sent
from outreach.runtime import runtime
from outreach.scheduler import jobs
from outreach.services.delivery import due_texts
from outreach.scheduler.runner import Leadership
from outreach.services.delivery.outward import Outward
from outreach.settings import load_settings

class Printing:
    name = "twilio"
    def send_sms(self, sms):
        print("sent", sms.callbacks.code, flush=True)
        return Sent("SM" + sms.callbacks.code[:30], "queued")

rt = runtime(create_app(settings=load_settings(dict(os.environ))))
out = Outward(Printing(), rt.vault, rt.library, rt.settings)
leadership = Leadership(rt.engine, rt.settings.instance_path)
until = time.monotonic() + float(sys.argv[1])
while time.monotonic() < until:
    try:
        if leadership.try_acquire():
            start = leadership.verified_at()
            with rt.session() as session:
                due_texts.send_due(
                    session, out, rt.clock.now(), clock=rt.clock.now,
                    leading=lambda: leadership.held,
                )
            end = leadership.verified_at()
            if start is not None and end is not None:
                print("led", start.isoformat(), end.isoformat(), flush=True)
    except Exception as exc:
        print("error", type(exc).__name__, flush=True)
    time.sleep(0.1)
"""


def _seed(rt: Runtime, start: datetime) -> None:
    with rt.session() as db:
        program = make_program(db, now=NOW)
        participant = make_participant(db, make_group(db, program, now=NOW), now=NOW)
        contact = make_contact(db, rt.vault, participant, now=NOW, consent="consented", sms=True)
        _, [task] = events.report_event(
            db,
            rt.profiles,
            actor=SYSTEM,
            participant_id=participant.id,
            event_type="class_cancelled",
            at=NOW,
            severity="routine",
            now=NOW,
        )
        for n in range(REMINDERS):  # due one after another, across both faults
            due = start + timedelta(seconds=n * 6.0 / REMINDERS)
            db.add(
                Delivery(
                    task_id=task.id,
                    contact_id=contact.id,
                    kind="sms",
                    script="reminder",
                    language="en",
                    code=f"f{n:04d}{'x' * 20}",
                    due_at=due,
                    expires_at=due + timedelta(hours=1),
                    created_at=NOW,
                )
            )
        db.commit()


def _start(rt: Runtime, test_environ: dict[str, str]) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(
        {
            **test_environ,
            "OUTREACH_CHANNEL": "console",
            "OUTREACH_LOG_LEVEL": "ERROR",
            # Any hour counts here: this test is about leadership, not S4.
            "OUTREACH_CALLING_START": "00:00",
            "OUTREACH_CALLING_END": "23:59",
            "OUTREACH_DATABASE_URL": f"{engine_url(rt.engine)}&application_name={APP_NAME}",
        }
    )
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(RUN_SECONDS)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for_a_leader(engine: Engine) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid) "
                    "WHERE application_name = :name AND locktype = 'advisory' AND granted"
                ),
                {"name": APP_NAME},
            ).scalar_one()
        if found:
            return
        time.sleep(0.1)
    raise AssertionError("no scheduler process took the lead")


def _end(engine: Engine, only_the_leader: bool) -> datetime:
    """End the leader's lock session, or every session of both processes; answer when."""
    leader = (
        " AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = :key AND objid = CAST(hashtext(current_schema()) AS oid))"
    )
    with engine.connect() as conn:
        at, ended = conn.execute(
            text(
                "SELECT clock_timestamp(), count(pg_terminate_backend(pid)) "
                "FROM pg_stat_activity WHERE application_name = :name"
                + (leader if only_the_leader else "")
            ),
            {"name": APP_NAME, "key": LOCK_KEY},
        ).one()
        conn.commit()
    assert ended >= 1
    return at  # type: ignore[no-any-return]


def _test_two_schedulers_never_lead_at_once_and_a_lost_lock_is_taken_again_within_a_tick(
    own_runtime: Runtime, test_environ: dict[str, str]
) -> None:
    _seed(own_runtime, datetime.now(UTC) + timedelta(seconds=3))
    workers = [_start(own_runtime, test_environ) for _ in range(2)]
    _wait_for_a_leader(own_runtime.engine)
    time.sleep(2.0)
    leader_lost = _end(own_runtime.engine, only_the_leader=True)
    time.sleep(3.0)
    all_lost = _end(own_runtime.engine, only_the_leader=False)
    outputs = [worker.communicate(timeout=60) for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]
    lines = [(n, line.split()) for n, (out, _) in enumerate(outputs) for line in out.splitlines()]
    led = [
        (n, datetime.fromisoformat(w[1]), datetime.fromisoformat(w[2]))
        for n, w in lines
        if w[0] == "led"
    ]
    # At no moment two leaders.
    for n, start, end in led:
        for m, other_start, other_end in led:
            assert n == m or end < other_start or other_end < start, (n, start, end, m)
    # Leadership back within one tick of each loss.
    for lost in (leader_lost, all_lost):
        assert any(lost < start <= lost + ONE_TICK for _, start, _ in led), lost
    # No reminder twice. One handed to the provider as its session was ended may still be
    # `sending` (reconciliation leaves it for a person, never resends it); none is lost.
    sent = Counter(w[1] for _, w in lines if w[0] == "sent")
    assert set(sent.values()) == {1}
    with own_runtime.session() as db:
        status = dict(db.execute(select(Delivery.code, Delivery.status)).all())
    assert {code for code, st in status.items() if st == "sent"} <= set(sent)
    assert all(status[code] in ("sent", "sending") for code in sent)
    assert Counter(status.values())["sent"] >= REMINDERS - 5


if "postgresql" in DATABASES:  # only a PostgreSQL server ends its clients' sessions
    test_two_schedulers_never_lead_at_once_and_a_lost_lock_is_taken_again_within_a_tick = (
        _test_two_schedulers_never_lead_at_once_and_a_lost_lock_is_taken_again_within_a_tick
    )
