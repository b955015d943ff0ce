"""A reminder's send waits on the SMS pacer and on the provider with no database lock held
(issue 21 finding 14), and it is judged on the clock at the moment it is made (finding 18).

While the provider takes its time, a liaison's claim, a webhook or any other audited write goes
on at once: before, the scheduler kept its transaction (and with it the audit chain's append
lock, or SQLite's one write lock) open across the pacer and the provider call, and every web
worker queued behind it.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.base import Sent, Sms
from outreach.clock import FixedClock
from outreach.models import AuditEvent, Delivery, OutreachTask
from outreach.runtime import Runtime, runtime
from outreach.scheduler import jobs
from outreach.services.contact_persons import her_word
from outreach.services.delivery import due_texts
from outreach.services.delivery.outward import Outward
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM, AuditAction, record
from tests.conftest import NOW
from tests.factories import (
    World,
    make_contact,
    make_group,
    make_participant,
    make_program,
    report_event,
)
from tests.fakes import RecordingChannel

# The world's group meets Tuesdays 18:30-20:30 New York: tonight's window is 23:45-01:15 UTC.
WINDOW_START = datetime(2026, 11, 17, 23, 45, tzinfo=UTC)
WINDOW_END = datetime(2026, 11, 18, 1, 15, tzinfo=UTC)
# Calling hours end at 21:00 in New York: 02:00 UTC.
CALLING_HOURS_END = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


@dataclass
class SlowProvider:
    """A provider whose every send blocks until the test lets it go."""

    name: str = "twilio"
    sending: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    sent: list[Sms] = field(default_factory=list)

    def send_sms(self, sms: Sms) -> Sent:
        self.sending.set()
        assert self.release.wait(30), "the test never let the send go"
        self.sent.append(sms)
        return Sent("SM" + "1" * 32, "queued")


@dataclass
class TakesItsTime(RecordingChannel):
    """A channel whose every send lasts `each` on the domain's clock (pacer and provider)."""

    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    each: timedelta = timedelta(minutes=5)

    def send_sms(self, sms: Sms) -> Sent:
        self.clock.advance(seconds=self.each.total_seconds())
        return super().send_sms(sms)


def _reminders(
    db: Session, task: OutreachTask, due: datetime, expires: datetime | None, n: int
) -> None:
    for i in range(n):
        db.add(
            Delivery(
                task_id=task.id,
                contact_id=task.contact_id,
                kind="sms",
                script="reminder",
                language="en",
                code=f"slow-{i}-{task.id.hex[:12]}",
                due_at=due + timedelta(seconds=i),
                expires_at=expires,
                created_at=NOW,
            )
        )
    db.commit()


@pytest.fixture
def due_reminder(own_runtime: Runtime) -> Iterator[OutreachTask]:
    with own_runtime.session() as db:
        program = make_program(db, now=NOW)
        participant = make_participant(db, make_group(db, program, now=NOW), now=NOW)
        make_contact(db, own_runtime.vault, participant, now=NOW, consent="consented", sms=True)
        _, [task] = events.report_event(
            db,
            own_runtime.profiles,
            actor=SYSTEM,
            participant_id=participant.id,
            event_type="class_cancelled",
            at=NOW,
            severity="routine",
            now=NOW,
        )
        _reminders(db, task, WINDOW_START, WINDOW_END, 1)
        yield task


def test_while_the_provider_takes_its_time_other_writes_go_on_at_once(
    own_runtime: Runtime, due_reminder: OutreachTask
) -> None:
    provider = SlowProvider()
    out = Outward(provider, own_runtime.vault, own_runtime.library, own_runtime.settings)  # type: ignore[arg-type]
    done: list[tuple[int, int, int]] = []

    def scheduler() -> None:
        with own_runtime.session() as session:
            done.append(due_texts.send_due(session, out, WINDOW_START + timedelta(minutes=1)))

    sending = threading.Thread(target=scheduler)
    sending.start()
    try:
        assert provider.sending.wait(30)
        # A liaison's audited write, made while the reminder waits on the provider.
        written: list[float] = []

        def web_write() -> None:
            started = time.monotonic()
            with own_runtime.session() as db:
                record(
                    db,
                    now=NOW,
                    actor=SYSTEM,
                    action=AuditAction.PLAN_VIEWED,
                    object_type="task",
                    object_id=due_reminder.id,
                    program_id=due_reminder.program_id,
                )
                db.commit()
            written.append(time.monotonic() - started)

        writer = threading.Thread(target=web_write)
        writer.start()
        writer.join(3)
        assert not writer.is_alive(), "the write waited on the scheduler's provider call"
        assert written
        assert written[0] < 1.0
    finally:
        provider.release.set()
        sending.join(30)
        if "writer" in locals():
            writer.join(30)
    assert done == [(1, 0, 0)]
    with own_runtime.session() as db:
        assert db.scalar(select(Delivery.status)) == "sent"
        actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    # The reveal for the send was committed before the provider was called.
    assert actions.index("contact.revealed") < actions.index("task.plan_viewed")


# --- the clock at the moment of sending (finding 18) --------------------------------------


@pytest.fixture
def slow(app: Flask, clock: FixedClock) -> TakesItsTime:
    channel = TakesItsTime(clock=clock)
    runtime(app).channel = channel
    return channel


def test_a_reminder_whose_window_closes_while_earlier_ones_go_out_is_missed_not_sent(
    db: Session, world: World, app: Flask, clock: FixedClock, slow: TakesItsTime
) -> None:
    rt = runtime(app)
    [task] = report_event(db, rt.profiles, world, "class_cancelled", now=NOW)
    # Two reminders for tonight's window, the tick three minutes before it closes. Each send
    # takes five minutes of real time (a slow provider, a full pacer): the second would go out
    # two minutes after the window closed.
    _reminders(db, task, WINDOW_END - timedelta(minutes=4), WINDOW_END, 2)
    clock.at = WINDOW_END - timedelta(minutes=3)
    assert due_texts.send_due(db, rt.outward(), clock.now(), clock=clock.now) == (1, 1, 0)
    assert len(slow.sent) == 1
    statuses = sorted(db.scalars(select(Delivery.status)).all())
    assert statuses == ["missed", "sent"]


def test_a_reminder_reached_after_calling_hours_end_is_not_sent(
    db: Session, world: World, app: Flask, clock: FixedClock, slow: TakesItsTime
) -> None:
    """S4: the contact's calling hours are judged when the text leaves, not at the tick."""
    rt = runtime(app)
    # She named Tuesday evenings until ten as safe: the window runs to the calling hours' end,
    # and a reminder is planned in it (the tick's send checks the window still stands, S4).
    her_word.change_preferences(
        db, actor=SYSTEM, contact_id=world.contact.id, now=NOW,
        changes={"safe_times": [{"days": "TU", "start": "20:30", "end": "22:00"}]},
    )  # fmt: skip
    [task] = report_event(db, rt.profiles, world, "class_cancelled", now=NOW)
    _reminders(db, task, CALLING_HOURS_END - timedelta(minutes=4), None, 2)
    clock.at = CALLING_HOURS_END - timedelta(minutes=3)
    jobs.tick(rt, clock.now())
    assert len(slow.sent) == 1
    # The second reaches the provider's turn at 21:02: her window ended with the calling
    # hours, so it is missed, as any text whose window closed (the window is judged as the
    # text leaves, on the clock of that moment).
    statuses = sorted(db.scalars(select(Delivery.status)).all())
    assert statuses == ["missed", "sent"]


@dataclass
class Stopwatch(RecordingChannel):
    """Notes the domain's time as each text leaves, then lets the next send's time pass."""

    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    durations: list[int] = field(default_factory=list)
    left_at: dict[str, datetime] = field(default_factory=dict)

    def send_sms(self, sms: Sms) -> Sent:
        self.left_at[sms.callbacks.code] = self.clock.now()
        self.clock.advance(minutes=self.durations.pop(0) if self.durations else 0)
        return super().send_sms(sms)


_examples = itertools.count()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    durations=st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=6),
    minutes_left=st.integers(min_value=1, max_value=40),
)
def test_property_no_reminder_leaves_at_or_after_its_window_closes(
    db: Session,
    world: World,
    app: Flask,
    clock: FixedClock,
    durations: list[int],
    minutes_left: int,
) -> None:
    """S4 over any run of slow sends: a reminder leaves only while its window is open by the
    clock at the moment it leaves; one reached after the window closed is missed, never sent
    late; and one reached in time is never held back."""
    rt = runtime(app)
    watch = Stopwatch(clock=clock, durations=list(durations))
    rt.channel = watch
    task = db.scalar(select(OutreachTask).where(OutreachTask.contact_id == world.contact.id))
    if task is None:
        [task] = report_event(db, rt.profiles, world, "class_cancelled", now=NOW)
    n = next(_examples)
    closes = WINDOW_END
    codes = [f"p{n}-{i}-{task.id.hex[:12]}" for i in range(len(durations))]
    for i, code in enumerate(codes):
        db.add(
            Delivery(
                task_id=task.id,
                contact_id=task.contact_id,
                kind="sms",
                script="reminder",
                language="en",
                code=code,
                due_at=WINDOW_START + timedelta(seconds=i),
                expires_at=closes,
                created_at=NOW,
            )
        )
    db.commit()
    clock.at = closes - timedelta(minutes=minutes_left)
    due_texts.send_due(db, rt.outward(), clock.now(), clock=clock.now)
    status = dict(
        db.execute(select(Delivery.code, Delivery.status).where(Delivery.code.in_(codes))).all()
    )
    for code in codes:
        if code in watch.left_at:
            assert watch.left_at[code] < closes
            assert status[code] == "sent"
        else:
            assert status[code] == "missed"
    # In due order, the first one reached after closing is missed and so are all after it.
    sent = [code for code in codes if status[code] == "sent"]
    assert codes[: len(sent)] == sent
    elapsed = timedelta(minutes=sum(durations[: len(sent)]))
    assert len(sent) == len(codes) or clock.now() >= closes
    assert clock.now() == closes - timedelta(minutes=minutes_left) + elapsed
