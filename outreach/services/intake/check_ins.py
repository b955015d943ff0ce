"""Texted check-ins: where she chose texts over calls, her check-in is one discreet text.

PRODUCT.md "Consented reminders": "a consented, check-in-style text where she chose texts
over calls"; issue 20 item 4: "her check-in is a discreet text inviting her to reply or ask
for a call. Replies reach the liaison sealed, as today." S13: her rhythm opens the check-in
(tasks.open_periodic_check_ins); a profile's `[cadence] fallback_channels = ["sms"]` makes it
a text-only task when she allows texts but not calls (protocols.profile.Cadence.channels_for).

The text is planned like a reminder, at the start of the check-in's next window (S4: his
group time or the times she named as safe, inside calling hours), and sent by the tick's
`send_due`, which checks every rule again as it sends (S1, S2: consent, SMS allowed, no
STOP). Once it has gone out, the service records it as the check-in made (`text_sent`) and
closes the task: her next check-in counts from it. Her reply, if any, reaches the liaison's
messages sealed, as every reply does (services/delivery/inbound.py).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from outreach.domain.planning.windows import CallWindow
from outreach.domain.vocabulary import (
    INVITED_BY_TEXT,
    TEXTED_REASONS,
    DeliveryKind,
    DeliveryStatus,
    EntryPoint,
    Outcome,
    TaskStatus,
    WindowKind,
)
from outreach.models import Delivery, OutreachTask
from outreach.services.attempts import tasks
from outreach.services.attempts.tasks import Profiles
from outreach.services.contact_persons import contacts
from outreach.services.errors import ServiceError
from outreach.services.records.audit import SYSTEM
from outreach.services.scheduling import planning

SCRIPT = "check_in"
LOOKAHEAD = timedelta(hours=24)
# A text that may still go out, or has: no second one is planned for the same check-in.
_LIVE = (
    DeliveryStatus.PENDING,
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
    DeliveryStatus.SETTLED,
    DeliveryStatus.UNKNOWN,
)
log = logging.getLogger("outreach.check_ins")


def schedule_texts(
    session: Session, profiles: Profiles, calling_hours: tuple[time, time], now: datetime
) -> int:
    """Plan one check-in text for each texted check-in without one, at the start of its
    next window in the coming day (or now, if a window is open); answer how many."""
    task_ids = texted_check_ins(session)
    if not task_ids:
        session.commit()  # end the read, as every step of a tick does
        return 0
    plan = planning.plan_open_tasks(
        session, profiles, now=now, days=2, calling_hours=calling_hours, task_ids=task_ids,
        texting=True,
    )  # fmt: skip
    planned = 0
    for window in _first_windows(plan.windows, now).values():
        planned += _plan_one(session, window, now)
    session.commit()
    return planned


def texted_check_ins(session: Session) -> list[uuid.UUID]:
    """The open check-ins that only text (she turned calls off) and have no live text."""
    live = select(Delivery.task_id).where(Delivery.script == SCRIPT, Delivery.status.in_(_LIVE))
    rows = session.execute(
        select(OutreachTask.id, OutreachTask.channels).where(
            OutreachTask.status == TaskStatus.OPEN.value,
            # Issue 20 item 8: a status update where she chose texts over calls is the same
            # discreet text inviting her to reply or ask for a call; never a word about him.
            OutreachTask.reason.in_([r.value for r in TEXTED_REASONS | INVITED_BY_TEXT]),
            cast(OutreachTask.channels, String).like('%"sms"%'),
            OutreachTask.id.not_in(live),
        )
    )
    return [task_id for task_id, channels in rows if channels == ["sms"]]


def _first_windows(windows: Iterable[CallWindow], now: datetime) -> dict[str, CallWindow]:
    first: dict[str, CallWindow] = {}
    for window in windows:
        if window.kind is WindowKind.DUTY_TO_WARN or not (
            window.end > now and window.start < now + LOOKAHEAD
        ):
            continue
        if window.task_id not in first or window.start < first[window.task_id].start:
            first[window.task_id] = window
    return first


def _plan_one(session: Session, window: CallWindow, now: datetime) -> int:
    task = session.get(OutreachTask, uuid.UUID(window.task_id))
    if task is None:
        return 0
    prefs = contacts.current_preferences(session, task.contact_id)
    if contacts.permission_of(prefs).refusal(DeliveryKind.SMS) is not None:
        return 0  # S1, S2: checked again as it is sent; this only spares a useless row
    session.add(
        Delivery(
            task_id=task.id,
            contact_id=task.contact_id,
            kind=DeliveryKind.SMS,
            script=SCRIPT,
            language=prefs.language,
            status=DeliveryStatus.PENDING,
            code=secrets.token_urlsafe(32),
            due_at=max(window.start, now),
            expires_at=window.end,  # S4: never sent once the window has closed
            created_at=now,
        )
    )
    return 1


def made(session: Session, delivery: Delivery, now: datetime) -> None:
    """Record a check-in text that went out as the check-in made, and close its task; for a
    task the text only invites her on (INVITED_BY_TEXT: a safety concern), record it and leave
    the task open for the liaison, who must still reach her.

    Left to the liaison, with the text's record kept, if the task changed meanwhile (she
    turned texts off, a liaison closed it): the text itself has already gone."""
    if delivery.script != SCRIPT or delivery.status != DeliveryStatus.SENT:
        return
    try:
        attempt = tasks.append_attempt(
            session, None, actor=SYSTEM, task_id=delivery.task_id, channel="sms",
            at=delivery.sent_at or now, outcome=Outcome.TEXT_SENT.value, now=now,
            entry=tasks.Entry(EntryPoint.SCHEDULER),
        )  # fmt: skip
        delivery.attempt_id = attempt.id
        task = session.get(OutreachTask, delivery.task_id)
        if task is not None and task.reason in TEXTED_REASONS:
            tasks.close_task(
                session, actor=SYSTEM, task_id=delivery.task_id, resolution="completed", now=now
            )
    except ServiceError as exc:
        session.rollback()
        log.info("check-in text %s sent, task left open: %s", delivery.id, exc.message)
