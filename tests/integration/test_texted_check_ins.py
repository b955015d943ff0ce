"""Texted check-ins, as a Caring Dads mother contact advocate lives three months of them.

seeds/001, Caring Dads: "Mother contact calls are made voluntary for the mothers and they can
decline. For consenting mothers, calls are made weekly"; advocates "encourage and support
mother's autonomy" and "give them the freedom to choose their level of involvement".
PRODUCT.md "Consented reminders": "a consented, check-in-style text where she chose texts over
calls"; issue 20 item 4: "her check-in is a discreet text inviting her to reply or ask for a
call. Replies reach the liaison sealed, as today." S13: check-ins open on her rhythm.

She is reached for the intake call; in it she says "no calls, texts are fine, every two weeks".
From then on the scheduler ticks every three hours for twelve weeks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.base import BridgedCall, SafeCheckCall, Sms
from outreach.models import Attempt, Delivery, InboundMessage, OutreachTask
from outreach.runtime import Runtime, runtime
from outreach.scheduler import jobs
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log, closing
from outreach.services.contact_persons import preference_changes
from outreach.services.delivery import due_texts, inbound
from outreach.services.errors import Invalid
from outreach.services.intake import check_ins
from tests.conftest import NOW
from tests.factories import Case, build_case, report_case_event
from tests.fakes import RecordingChannel

NEW_YORK = ZoneInfo("America/New_York")
# The scheduler ticks every 30 seconds; six-hourly ticks on the UTC clock's quarters keep the
# test short and still fall inside his group time (23:45-01:15 UTC) at midnight UTC.
TICK = timedelta(hours=6)
WEEKS = 12
PHONE = "+1 404-555-0190"  # build_case's contact


@pytest.fixture
def channel(app: Flask) -> RecordingChannel:
    recording = RecordingChannel()
    runtime(app).channel = recording
    return recording


@pytest.fixture
def rt(app: Flask, channel: RecordingChannel) -> Runtime:
    return runtime(app)


@pytest.fixture
def mother(db: Session, vault: Vault, rt: Runtime) -> Case:
    """He enrols today; the advocate reaches her an hour later, and she asks for texts, not
    calls, every two weeks (the liaison records her words as she said them)."""
    case = build_case(db, vault, now=NOW, protocol="caring_dads")
    [intake] = report_case_event(db, rt.profiles, case, "enrolled", at=NOW, now=NOW)
    reached = NOW + timedelta(hours=1)
    attempt_log.record_attempt(
        db, vault, actor=case.liaison, task_id=intake.id, channel="voice", at=reached,
        outcome="reached_safe", now=reached,
    )  # fmt: skip
    closing.close_task(
        db, actor=case.liaison, task_id=intake.id, resolution="completed", now=reached
    )
    preference_changes.change_preferences(
        db, vault, rt.profiles, actor=case.liaison, contact_id=case.contact.id,
        changes={"voice": False, "sms": True, "cadence": "fortnightly"}, now=reached,
        source="liaison",
    )  # fmt: skip
    return case


def _tick(db: Session, rt: Runtime, now: datetime) -> None:
    """The check-in steps of the scheduler's tick, in its order (scheduler/jobs.tick)."""
    check_ins.open_periodic_check_ins(db, rt.profiles, now=now)
    check_ins.schedule_texts(
        db, rt.profiles, (rt.settings.calling_start, rt.settings.calling_end), now
    )
    jobs.schedule_reminders(db, rt, now)
    due_texts.send_due(db, rt.outward(), now)


def _live(db: Session, rt: Runtime, start: datetime, end: datetime) -> None:
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    at = midnight + -((midnight - start) // TICK) * TICK  # the first tick at or after start
    while at < end:
        _tick(db, rt, at)
        at += TICK


def _texts(db: Session) -> list[Delivery]:
    rows = db.scalars(select(Delivery).where(Delivery.kind == "sms").order_by(Delivery.sent_at))
    return [d for d in rows if d.status == "sent"]


def _in_his_group(at: datetime) -> bool:
    """S4: Tuesdays 18:30-20:30 New York, less the 15-minute settle-in and leave-early."""
    local = at.astimezone(NEW_YORK)
    minutes = local.hour * 60 + local.minute
    return local.weekday() == 1 and 18 * 60 + 45 <= minutes < 20 * 60 + 15


def test_her_check_ins_come_as_texts_every_two_weeks_on_time_and_never_as_calls(
    db: Session, rt: Runtime, mother: Case, channel: RecordingChannel
) -> None:
    _live(db, rt, NOW + timedelta(hours=2), NOW + timedelta(weeks=WEEKS))

    texts = _texts(db)
    # Fortnightly after the intake call of Tuesday 17 November, each in his Tuesday group.
    assert [t.sent_at.astimezone(NEW_YORK).date().isoformat() for t in texts if t.sent_at] == [
        "2026-12-01", "2026-12-15", "2026-12-29", "2027-01-12", "2027-01-26",
    ]  # fmt: skip
    assert {t.script for t in texts} == {"check_in"}  # never a reminder: no call to announce
    assert [type(s) for s in channel.sent] == [Sms] * 5
    assert not [s for s in channel.sent if isinstance(s, BridgedCall | SafeCheckCall)]
    previous = NOW + timedelta(hours=1)  # the intake call that reached her
    for text in texts:
        assert text.sent_at is not None
        task = db.get(OutreachTask, text.task_id)
        assert task is not None
        assert (task.reason, task.channels) == ("periodic_check_in", ["sms"])
        # S13: two weeks after she was last reached, by its deadline; S4: in his group time.
        assert text.sent_at - previous >= timedelta(days=14)
        assert text.sent_at <= task.due_by
        assert _in_his_group(text.sent_at)
        # The text she chose is the check-in made: logged and closed by the service.
        assert task.status == "completed"
        [attempt] = db.scalars(select(Attempt).where(Attempt.task_id == task.id))
        assert (attempt.channel, attempt.outcome, attempt.made_by) == ("sms", "text_sent", None)
        previous = text.sent_at


def test_the_text_is_discreet_and_invites_a_reply_or_a_call(
    db: Session, rt: Runtime, mother: Case, channel: RecordingChannel
) -> None:
    _live(db, rt, NOW + timedelta(hours=2), NOW + timedelta(weeks=3))

    [sms] = [s for s in channel.sent if isinstance(s, Sms)]
    body = sms.body.lower()
    assert "reply" in body
    assert "call" in body
    # PRODUCT.md: "A reminder never names the program, the participant or the reason."
    for word in ("program", "caring", "dads", "group", "partner", "father", "class"):
        assert word not in body
    assert sms.neutral_number == rt.settings.neutral_number  # S9


def test_her_reply_reaches_the_liaison_sealed(
    db: Session, rt: Runtime, vault: Vault, mother: Case
) -> None:
    _live(db, rt, NOW + timedelta(hours=2), NOW + timedelta(weeks=3))
    reply_at = NOW + timedelta(weeks=3)

    inbound.handle(
        db, vault, sender=PHONE, body="CALL me Thursday after 2", sid="SMr1", now=reply_at
    )
    db.commit()

    [kept] = db.scalars(
        select(InboundMessage).where(InboundMessage.contact_id == mother.contact.id)
    )
    assert b"Thursday" not in kept.body_sealed  # S10: sealed for the liaison


def test_after_stop_no_check_in_text_is_ever_sent(
    db: Session, rt: Runtime, vault: Vault, mother: Case, channel: RecordingChannel
) -> None:
    _live(db, rt, NOW + timedelta(hours=2), NOW + timedelta(weeks=3))
    stopped = NOW + timedelta(weeks=3)
    sent_before = len(channel.sent)

    inbound.handle(db, vault, sender=PHONE, body="STOP", sid="SMstop", now=stopped)
    db.commit()
    _live(db, rt, stopped, NOW + timedelta(weeks=WEEKS))

    # S2: "STOP-type keywords ... stop SMS at once and for good"; she turned calls off, so
    # nothing reaches her at all, and nothing was declined either.
    assert len(channel.sent) == sent_before


def test_a_slower_rhythm_or_calls_back_on_follow_her_word(
    db: Session, rt: Runtime, vault: Vault, mother: Case, channel: RecordingChannel
) -> None:
    """Back to calls: her check-in is a call again, announced by a heads-up text."""
    _live(db, rt, NOW + timedelta(hours=2), NOW + timedelta(weeks=3))
    changed = NOW + timedelta(weeks=3)
    preference_changes.change_preferences(
        db, vault, rt.profiles, actor=mother.liaison, contact_id=mother.contact.id,
        changes={"voice": True}, now=changed, source="liaison",
    )  # fmt: skip
    _live(db, rt, changed, NOW + timedelta(weeks=6))

    opened = db.scalars(
        select(OutreachTask).where(OutreachTask.opens_at > changed).order_by(OutreachTask.opens_at)
    ).all()
    assert [task.channels for task in opened] == [["voice"]]
    assert [d.script for d in _texts(db)] == ["check_in", "reminder"]


def test_only_the_service_records_a_text_sent(
    db: Session, rt: Runtime, vault: Vault, mother: Case
) -> None:
    due = NOW + timedelta(days=15)
    check_ins.open_periodic_check_ins(db, rt.profiles, now=due)
    [check_in] = db.scalars(select(OutreachTask).where(OutreachTask.status == "open"))

    with pytest.raises(Invalid):
        attempt_log.record_attempt(
            db, vault, actor=mother.liaison, task_id=check_in.id, channel="sms", at=due,
            outcome="text_sent", now=due,
        )  # fmt: skip
