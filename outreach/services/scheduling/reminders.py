"""Consented reminders (PRODUCT.md): the discreet heads-up text a contact who allowed texts gets
at the start of her next window in the coming day, before a liaison calls (S1, S2, S4). Which
tasks may have one, and planning it once per task per day; sending it is `due_texts`."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from datetime import time as dt_time

from sqlalchemy import ColumnElement, String, cast, select
from sqlalchemy.orm import Session

from outreach.domain.planning.windows import CallWindow
from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import (
    DeliveryKind,
    DeliveryStatus,
    TaskReason,
    TaskStatus,
    WindowKind,
)
from outreach.models import ContactPreferences, Delivery, OutreachTask, Program
from outreach.services.contact_persons import preferences
from outreach.services.scheduling import planning

REMINDER_LOOKAHEAD = timedelta(hours=24)


def schedule_reminders(
    session: Session,
    profiles: Mapping[str, Profile],
    *,
    calling_hours: tuple[dt_time, dt_time],
    now: datetime,
) -> int:
    """Plan one SMS reminder per task at the start of its next window in the coming day,
    only for contacts who allowed SMS; the window's end is the reminder's expiry."""
    # Planning is the dear part of a tick and most contacts never allow SMS: plan only the
    # tasks that could get a reminder at all, still live (S4).
    task_ids = reminder_candidates(session, profiles)
    if not task_ids:
        session.commit()  # end the read, as every step of a tick does
        return 0
    plan = planning.plan_open_tasks(
        session, profiles, now=now, days=2, calling_hours=calling_hours, task_ids=task_ids
    )
    created = 0
    for window in _next_windows(plan.windows, now, now + REMINDER_LOOKAHEAD).values():
        created += _schedule_one(session, profiles, window, now)
    session.commit()
    return created


def reminder_candidates(session: Session, profiles: Mapping[str, Profile]) -> list[uuid.UUID]:
    """The open tasks whose contact may get a heads-up text before a call (consented
    reminders, PRODUCT.md): a call among the task's channels, never a duty to warn, in a
    program whose profile keeps reminders on, and a contact whose newest preferences allow
    texts and calls (S1, S2: never not yet asked, never after STOP). One query, however many
    tasks."""
    reminding = [key for key, profile in profiles.items() if profile.reminders]
    if not reminding:
        return []
    rows = session.execute(
        select(OutreachTask.id, OutreachTask.channels, ContactPreferences)
        .join(Program, Program.id == OutreachTask.program_id)
        .join(ContactPreferences, ContactPreferences.contact_id == OutreachTask.contact_id)
        .where(
            OutreachTask.status == TaskStatus.OPEN.value,
            OutreachTask.reason != TaskReason.DUTY_TO_WARN.value,
            Program.protocol.in_(reminding),
            _may_list_voice(),
            preferences.newest_version(),
            # Only narrows what is read (most contacts never allow texts): _may_remind below
            # is the rule, on every row that remains.
            ContactPreferences.sms.is_(True),
            ContactPreferences.voice.is_(True),
        )
    )
    return [
        task_id
        for task_id, channels, prefs in rows
        if "voice" in channels and _may_remind(prefs)  # the rule, as _schedule_one has it
    ]


def _may_list_voice() -> ColumnElement[bool]:
    # Only spares decoding every text- or letter-only task's row: the stored JSON text of a
    # list holding "voice" always holds it quoted so, on SQLite and PostgreSQL alike.
    return cast(OutreachTask.channels, String).like('%"voice"%')


def _may_remind(prefs: ContactPreferences | None) -> bool:
    # The rule _schedule_one and every send apply, so only tasks they would refuse drop out:
    # she allows texts (consented, no STOP standing) and may still be called.
    if prefs is None or not prefs.voice:
        return False
    return preferences.permission_of(prefs).refusal(DeliveryKind.SMS) is None


def _next_windows(
    windows: tuple[CallWindow, ...], now: datetime, until: datetime
) -> dict[str, CallWindow]:
    first: dict[str, CallWindow] = {}
    for window in windows:
        if window.kind is WindowKind.DUTY_TO_WARN or not now < window.start < until:
            # A duty to warn is a person's call, never a text (S8); a window already open
            # is not announced halfway through.
            continue
        if window.task_id not in first or window.start < first[window.task_id].start:
            first[window.task_id] = window
    return first


def _schedule_one(
    session: Session, profiles: Mapping[str, Profile], window: CallWindow, now: datetime
) -> int:
    task = session.get(OutreachTask, uuid.UUID(window.task_id))
    if task is None or not _reminds(session, profiles, task):
        return 0
    prefs = preferences.current_preferences(session, task.contact_id)
    if not _may_remind(prefs) or _already_planned(session, task, window):
        return 0
    session.add(
        Delivery(
            task_id=task.id,
            contact_id=task.contact_id,
            kind=DeliveryKind.SMS,
            script="reminder",
            language=prefs.language,
            status=DeliveryStatus.PENDING,
            code=secrets.token_urlsafe(32),
            due_at=window.start,
            expires_at=window.end,
            created_at=now,
        )
    )
    return 1


def _reminds(session: Session, profiles: Mapping[str, Profile], task: OutreachTask) -> bool:
    """A heads-up goes before a call, never before a duty to warn (S8), where the program
    keeps reminders on."""
    program = session.get(Program, task.program_id)
    profile = None if program is None else profiles.get(program.protocol)
    return (
        profile is not None
        and profile.reminders
        and task.reason != TaskReason.DUTY_TO_WARN
        and "voice" in task.channels
    )


def _already_planned(session: Session, task: OutreachTask, window: CallWindow) -> bool:
    """One reminder per task per day, however often the plan is run."""
    day_start = window.start.replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        session.scalar(
            select(Delivery.id)
            .where(
                Delivery.task_id == task.id,
                Delivery.kind == DeliveryKind.SMS,
                Delivery.script == "reminder",
                Delivery.due_at >= day_start,
                Delivery.due_at < day_start + timedelta(days=1),
            )
            .limit(1)
        )
        is not None
    )
