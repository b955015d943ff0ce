"""Several scheduler processes over a simulated day: every reminder goes out exactly once,
and a process killed in the middle of dispatch loses nothing silently and doubles nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from outreach.models import Delivery
from outreach.runtime import Runtime
from outreach.services.delivery import reconcile
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM
from tests.conftest import NOW, engine_url
from tests.factories import make_contact, make_group, make_participant, make_program

DAY = datetime(2026, 11, 18, 0, 0, tzinfo=UTC)
REMINDERS = 120
# A scheduler process: walks the simulated day in 30-minute ticks, sending what is due, and
# prints the id of every reminder its channel was asked to send.
WORKER = """
import sys
from datetime import datetime, timedelta
from outreach import create_app
from outreach.runtime import runtime
from outreach.services.delivery import due_texts
from outreach.services.delivery.outward import Outward
from outreach.settings import load_settings
import os

class Printing:
    name = "twilio"
    def send_sms(self, sms):
        from outreach.channels.base import Sent
        print(sms.callbacks.code, flush=True)
        return Sent("SM" + sms.callbacks.code[:30], "queued")

rt = runtime(create_app(settings=load_settings(dict(os.environ))))
out = Outward(Printing(), rt.vault, rt.library, rt.settings)
day = datetime.fromisoformat(sys.argv[1])
for step in range(49):
    with rt.session() as session:
        due_texts.send_due(session, out, day + timedelta(minutes=30 * step))
"""


def _seed(rt: Runtime) -> None:
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
        for n in range(REMINDERS):  # spread over the day's calling hours in New York
            due = DAY + timedelta(hours=13, minutes=(n * 7) % 600)
            db.add(
                Delivery(
                    task_id=task.id,
                    contact_id=contact.id,
                    kind="sms",
                    script="reminder",
                    language="en",
                    code=f"r{n:04d}{'x' * 20}",
                    due_at=due,
                    expires_at=due + timedelta(hours=2),
                    created_at=NOW,
                )
            )
        db.commit()


def _environ(rt: Runtime, test_environ: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(
        {
            **test_environ,
            "OUTREACH_CHANNEL": "console",
            "OUTREACH_LOG_LEVEL": "ERROR",
            "OUTREACH_DATABASE_URL": engine_url(rt.engine),
        }
    )
    return env


def _start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, DAY.isoformat()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.mark.parametrize("processes", [2, 4])
def test_every_reminder_of_a_day_is_sent_exactly_once_by_racing_processes(
    own_runtime: Runtime, processes: int, test_environ: dict[str, str]
) -> None:
    _seed(own_runtime)
    env = _environ(own_runtime, test_environ)
    workers = [_start(env) for _ in range(processes)]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert [w.returncode for w in workers] == [0] * processes, [e for _, e in outputs]
    sent = Counter(code for out, _ in outputs for code in out.split())
    assert len(sent) == REMINDERS
    assert set(sent.values()) == {1}
    with own_runtime.engine.connect() as conn:
        statuses = dict(
            conn.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        )
    assert statuses == {"sent": REMINDERS}


def test_a_process_killed_mid_dispatch_doubles_nothing_and_loses_nothing_silently(
    own_runtime: Runtime, test_environ: dict[str, str]
) -> None:
    _seed(own_runtime)
    env = _environ(own_runtime, test_environ)
    victim = _start(env)
    assert victim.stdout is not None
    first = [victim.stdout.readline().strip() for _ in range(5)]  # it is mid-dispatch now
    os.killpg(victim.pid, signal.SIGKILL)
    rest, _ = victim.communicate(timeout=60)
    survivor = _start(env)
    out, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, err
    sent = Counter(first + rest.split() + out.split())
    assert set(sent.values()) == {1}  # nothing doubled
    with own_runtime.session() as db:
        reconcile.reconcile_stuck(db, DAY + timedelta(days=1, minutes=15))
        statuses = dict(
            db.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        )
    # Whatever the dead process had claimed but not settled is left for a person ("unknown"),
    # never resent; every other reminder went out.
    assert statuses.get("sent", 0) + statuses.get("unknown", 0) == REMINDERS
    assert statuses.get("sent", 0) >= len(sent) - statuses.get("unknown", 0)
