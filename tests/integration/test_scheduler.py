"""Due work, exactly once: reminders at the window's start, never late; escalations once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from outreach.channels.base import Sms
from outreach.domain.vocabulary import Role
from outreach.models import AuditEvent, Delivery, OutreachTask
from outreach.runtime import Runtime, runtime
from outreach.scheduler import jobs
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log, closing
from outreach.services.contact_persons import her_word
from outreach.services.delivery import due_texts, reconcile
from outreach.services.delivery.outward import Outward
from outreach.services.intake import check_ins, events
from outreach.services.records.audit import SYSTEM, Actor
from outreach.services.supervision import escalation
from tests.conftest import NOW
from tests.factories import (
    World,
    make_contact,
    make_group,
    make_participant,
    make_program,
    make_user,
    report_event,
)
from tests.fakes import RecordingChannel

# The world's group meets Tuesdays 18:30-20:30 New York: tonight's window is 23:45-01:15 UTC.
WINDOW_START = datetime(2026, 11, 17, 23, 45, tzinfo=UTC)
WINDOW_END = datetime(2026, 11, 18, 1, 15, tzinfo=UTC)


@pytest.fixture
def channel(app: Flask) -> RecordingChannel:
    recording = RecordingChannel()
    runtime(app).channel = recording
    return recording


@pytest.fixture
def rt(app: Flask, channel: RecordingChannel) -> Runtime:
    return runtime(app)


@pytest.fixture
def cancelled_class(db: Session, world: World, rt: Runtime) -> OutreachTask:
    [task] = report_event(db, rt.profiles, world, "class_cancelled", now=NOW)
    return task


def _sms(channel: RecordingChannel) -> list[Sms]:
    return [item for item in channel.sent if isinstance(item, Sms)]


def test_a_reminder_is_planned_once_for_the_start_of_the_next_window(
    db: Session, rt: Runtime, cancelled_class: OutreachTask
) -> None:
    assert jobs.schedule_reminders(db, rt, NOW) == 1
    assert jobs.schedule_reminders(db, rt, NOW + timedelta(minutes=30)) == 0
    [reminder] = db.scalars(select(Delivery)).all()
    assert (reminder.due_at, reminder.expires_at) == (WINDOW_START, WINDOW_END)
    assert reminder.status == "pending"


def test_it_is_sent_at_the_windows_start_exactly_once(
    db: Session, rt: Runtime, channel: RecordingChannel, cancelled_class: OutreachTask
) -> None:
    jobs.schedule_reminders(db, rt, NOW)
    out = rt.outward()
    assert due_texts.send_due(db, out, WINDOW_START - timedelta(minutes=1)) == (0, 0, 0)
    assert due_texts.send_due(db, out, WINDOW_START + timedelta(minutes=1)) == (1, 0, 0)
    assert due_texts.send_due(db, out, WINDOW_START + timedelta(minutes=2)) == (0, 0, 0)
    [sms] = _sms(channel)
    assert sms.body.startswith("Hi Avery")


def test_a_reminder_whose_window_closed_is_missed_never_sent_late(
    db: Session, rt: Runtime, channel: RecordingChannel, cancelled_class: OutreachTask
) -> None:
    jobs.schedule_reminders(db, rt, NOW)
    assert due_texts.send_due(db, rt.outward(), WINDOW_END + timedelta(minutes=5)) == (0, 1, 0)
    assert _sms(channel) == []
    assert db.scalar(select(Delivery.status)) == "missed"


def test_a_contact_who_declined_after_planning_gets_nothing(
    db: Session,
    world: World,
    rt: Runtime,
    channel: RecordingChannel,
    cancelled_class: OutreachTask,
) -> None:
    jobs.schedule_reminders(db, rt, NOW)
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"sms": False},
        now=NOW,
    )
    assert due_texts.send_due(db, rt.outward(), WINDOW_START + timedelta(minutes=1)) == (0, 0, 1)
    assert _sms(channel) == []


def test_no_reminder_is_planned_without_sms_consent(
    db: Session, world: World, rt: Runtime, cancelled_class: OutreachTask
) -> None:
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"sms": False},
        now=NOW,
    )
    assert jobs.schedule_reminders(db, rt, NOW) == 0


def test_a_duty_to_warn_queues_one_on_call_notice_and_overdue_tasks_escalate_once(
    db: Session, world: World, rt: Runtime
) -> None:
    # S8: the raise itself queues the on-call notice, in its own transaction.
    _, [warning] = events.report_event(
        db,
        rt.profiles,
        actor=world.actor("facilitator"),
        participant_id=world.participant.id,
        event_type="duty_to_warn",
        at=NOW,
        severity="high",
        now=NOW,
    )
    [notice] = db.scalars(select(Delivery).where(Delivery.kind == "on_call_sms")).all()
    assert notice.task_id == warning.id
    assert jobs.notify_duty_to_warn(db, NOW) == 0
    # One left without a notice (opened before notices existed) gets one, once.
    db.delete(notice)
    db.commit()
    assert jobs.notify_duty_to_warn(db, NOW) == 1
    assert jobs.notify_duty_to_warn(db, NOW + timedelta(minutes=1)) == 0
    later = NOW + timedelta(days=30)
    assert escalation.escalate_overdue(db, later) == 1
    assert escalation.escalate_overdue(db, later + timedelta(minutes=1)) == 0
    actions = db.scalars(select(AuditEvent.action)).all()
    # Nobody is on call in this world: never silently dropped, said each time.
    assert actions.count("task.on_call_notice_unsent") == 2
    assert actions.count("task.escalated") == 1


def test_a_send_that_never_settled_is_left_for_a_person_not_resent(
    db: Session, rt: Runtime, channel: RecordingChannel, cancelled_class: OutreachTask
) -> None:
    jobs.schedule_reminders(db, rt, NOW)
    db.execute(update(Delivery).values(status="sending", claimed_at=NOW))
    db.commit()
    assert reconcile.reconcile_stuck(db, NOW + timedelta(minutes=5)) == 0
    assert reconcile.reconcile_stuck(db, NOW + timedelta(minutes=11)) == 1
    assert db.scalar(select(Delivery.status)) == "unknown"
    assert due_texts.send_due(db, rt.outward(), WINDOW_START + timedelta(minutes=1)) == (0, 0, 0)
    assert channel.sent == []


@pytest.mark.parametrize(
    "day", [datetime(2026, 11, 1, 12, 0, tzinfo=UTC), datetime(2026, 3, 8, 12, 0, tzinfo=UTC)]
)
def test_across_a_daylight_saving_change_each_window_gets_one_reminder(
    db: Session, vault: Vault, world: World, rt: Runtime, day: datetime
) -> None:
    group = make_group(
        db,
        world.home,
        now=NOW,
        rrule="FREQ=DAILY",
        start_time="19:00",
        starts_on=day.date() - timedelta(days=3),
    )
    # On the roster before the cancellation is reported (issue 19: no event before him).
    participant = make_participant(db, group, now=day - timedelta(days=2))
    make_contact(
        db, vault, participant, now=NOW, phone="404-555-0170", consent="consented", sms=True
    )
    events.report_event(
        db,
        rt.profiles,
        actor=world.actor("facilitator"),
        participant_id=participant.id,
        event_type="class_cancelled",
        at=day - timedelta(days=1),
        severity="routine",
        now=day - timedelta(days=1),
    )
    for hour in range(0, 48, 1):  # tick every hour across the change, twice a day's worth
        jobs.schedule_reminders(db, rt, day - timedelta(hours=12) + timedelta(hours=hour))
    starts = db.scalars(select(Delivery.due_at).order_by(Delivery.due_at)).all()
    local = [s.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York")) for s in starts]
    assert len({s.date() for s in local}) == len(local)  # never two on one day
    assert all((s.hour, s.minute) == (19, 15) for s in local), local  # 19:00 + settle-in


def test_racing_schedulers_send_each_reminder_exactly_once(own_runtime: Runtime) -> None:
    rt, sessions = own_runtime, own_runtime.sessions
    with sessions() as db:
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
        for n in range(40):
            db.add(
                Delivery(
                    task_id=task.id,
                    contact_id=contact.id,
                    kind="sms",
                    script="reminder",
                    language="en",
                    code=f"race-{n}",
                    due_at=WINDOW_START,
                    expires_at=WINDOW_END,
                    created_at=NOW,
                )
            )
        db.commit()
    channel = RecordingChannel()
    out = Outward(channel, rt.vault, rt.library, rt.settings)

    def scheduler() -> None:
        with sessions() as session:
            due_texts.send_due(session, out, WINDOW_START + timedelta(minutes=1))

    workers = [threading.Thread(target=scheduler) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    with sessions() as db:
        statuses = db.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        assert dict(statuses.all()) == {"sent": 40}
    assert len(_sms(channel)) == 40


def test_a_consenting_mother_in_caring_dads_gets_a_weekly_check_in_and_no_one_else_does(
    db: Session, vault: Vault, rt: Runtime
) -> None:
    dads = make_program(db, now=NOW, protocol="caring_dads")
    colorado = make_program(db, now=NOW, protocol="colorado_dvomb")
    mother = make_contact(
        db,
        vault,
        make_participant(db, make_group(db, dads, now=NOW), now=NOW),
        now=NOW,
        phone="404-555-0180",
        consent="consented",
    )
    make_contact(
        db,
        vault,
        make_participant(db, make_group(db, dads, now=NOW), now=NOW),
        now=NOW,
        phone="404-555-0181",
        consent="declined",
    )
    make_contact(
        db,
        vault,
        make_participant(db, make_group(db, colorado, now=NOW), now=NOW),
        now=NOW,
        phone="404-555-0182",
        consent="consented",
    )  # Colorado: she chooses
    assert check_ins.open_periodic_check_ins(db, rt.profiles, now=NOW + timedelta(days=6)) == 0
    week = NOW + timedelta(days=7)  # S13: a week after the mother consented
    assert check_ins.open_periodic_check_ins(db, rt.profiles, now=week) == 1
    assert check_ins.open_periodic_check_ins(db, rt.profiles, now=week) == 0
    [check_in] = db.scalars(
        select(OutreachTask).where(OutreachTask.reason == "periodic_check_in")
    ).all()
    assert check_in.contact_id == mother.id
    actor = Actor.of(make_user(db, Role.LIAISON, [dads], now=NOW))
    attempt_log.record_attempt(
        db,
        vault,
        actor=actor,
        task_id=check_in.id,
        channel="voice",
        at=week,
        outcome="reached_safe",
        now=week,
    )
    closing.close_task(db, actor=actor, task_id=check_in.id, resolution="completed", now=week)
    assert check_ins.open_periodic_check_ins(db, rt.profiles, now=week + timedelta(days=3)) == 0
    assert check_ins.open_periodic_check_ins(db, rt.profiles, now=week + timedelta(days=8)) == 1
