"""The on-call supervisor hears of a duty to warn the moment it is raised (S8).

S8: a duty to warn "notifies the on-call supervisor on their own phone and on screen". The
notice is a delivery row written in the raise's own transaction (API, facilitator page, demo:
every path goes through `events.report_event`), so it exists exactly when the warning does and
is never lost; the scheduler's two-second job sends it with no transaction open, as every
other send (claim, commit, provider, record). Its text is the approved neutral
`sms/on_call_notice`: no contact, number, program or participant, as a phone left on a
kitchen table may be read by anyone. Nothing is ever dropped silently: with no on-call
supervisor, or one without a phone, the row is written `refused` with the reason, audited,
and the compliance page says the notice could not be sent; the banner shows regardless.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from outreach.channels.base import Callbacks, ChannelError, Sms
from outreach.domain import scripts
from outreach.domain.script_library import RenderError
from outreach.domain.vocabulary import (
    Channel,
    DeliveryKind,
    DeliveryStatus,
    EventType,
    TaskReason,
    TaskStatus,
)
from outreach.models import (
    Attempt,
    Delivery,
    OutboxMessage,
    OutreachTask,
    Program,
    ProgramEvent,
    User,
)
from outreach.security.vault import place
from outreach.services.records.audit import SYSTEM, Actor, AuditAction, record
from outreach.services.staff import users
from outreach.services.supervision import holds

if TYPE_CHECKING:  # sending reaches tasks, which calls this module at every raise
    from outreach.services.delivery.outward import Outward

log = logging.getLogger("outreach.on_call")
KIND = DeliveryKind.ON_CALL_SMS
SCRIPT = "on_call_notice"
# Why a notice was not sent, as stored on its delivery row (error_code) and said in words.
NO_ON_CALL = "no_on_call"
NO_PHONE = "no_phone"
TEXT_REFUSED = "text"
UNSENT_WORDS = {
    NO_ON_CALL: "no on-call supervisor is set for the program",
    NO_PHONE: "the on-call supervisor has no phone of their own on file",
    TEXT_REFUSED: "the notice's text failed the safety check",
}
NOT_DELIVERED = (DeliveryStatus.REFUSED, DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN)


# --- at the raise --------------------------------------------------------------------------


def event_recorded(
    session: Session,
    actor: Actor,
    event: ProgramEvent,
    program_id: uuid.UUID,
    opened: Sequence[OutreachTask],
    now: datetime,
) -> None:
    """Audit a program event; a duty to warn also queues its on-call notices (S8)."""
    warning = event.type == EventType.DUTY_TO_WARN
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.DUTY_TO_WARN_RAISED if warning else AuditAction.EVENT_REPORTED,
        object_type="program_event",
        object_id=event.id,
        program_id=program_id,
        event=event.type,
        tasks=len(opened),
    )
    for task in opened:
        if task.reason == TaskReason.DUTY_TO_WARN:
            queue(session, task, now)


def queue(session: Session, task: OutreachTask, now: datetime) -> Delivery:
    """Write the task's notice to the on-call supervisor, in the caller's transaction: due now,
    or refused at once with the reason when nobody could receive it (never dropped)."""
    recipient = on_call_of(session, task.program_id)
    unsent = _unsendable(recipient)
    notice = Delivery(
        task_id=task.id,
        contact_id=task.contact_id,
        kind=KIND,
        script=SCRIPT,
        language="en",  # staff screens and staff texts are English for now
        status=DeliveryStatus.REFUSED if unsent else DeliveryStatus.PENDING,
        error_code=unsent,
        code=secrets.token_urlsafe(32),
        recipient_id=None if recipient is None else recipient.id,
        due_at=now,
        settled_at=now if unsent else None,
        created_at=now,
    )
    notice.ensure_id()
    session.add(notice)
    record(
        session,
        now=now,
        actor=SYSTEM,
        action=AuditAction.ON_CALL_NOTICE_UNSENT if unsent else AuditAction.ON_CALL_NOTICE_QUEUED,
        object_type="task",
        object_id=task.id,
        program_id=task.program_id,
        supervisor=None if recipient is None else str(recipient.id),
        reason=unsent,
    )
    return notice


def on_call_of(session: Session, program_id: uuid.UUID) -> User | None:
    """The program's on-call supervisor, if one is named and still active."""
    program = session.get(Program, program_id)
    if program is None or program.on_call_supervisor_id is None:
        return None
    user = session.get(User, program.on_call_supervisor_id)
    return user if user is not None and user.active else None


def _unsendable(recipient: User | None) -> str | None:
    if recipient is None:
        return NO_ON_CALL
    return NO_PHONE if recipient.phone_sealed is None else None


def queue_missing(session: Session, now: datetime) -> int:
    """Give every open duty to warn without a notice one (a task opened before this version,
    or by a path that bypassed the raise): never a duty to warn nobody was told of."""
    missing = session.scalars(
        select(OutreachTask).where(
            OutreachTask.status == TaskStatus.OPEN.value,
            OutreachTask.reason == TaskReason.DUTY_TO_WARN.value,
            ~exists().where(Delivery.task_id == OutreachTask.id, Delivery.kind == KIND),
        )
    ).all()
    for task in missing:
        queue(session, task, now)
    session.commit()
    return len(missing)


# --- sending (scheduler) ---------------------------------------------------------------------


def send_due(session: Session, out: Outward, now: datetime) -> int:
    """Send every due notice once: claim it, commit, then the provider with no transaction
    open; a second scheduler or a second run finds it claimed and does nothing."""
    # Every pending notice is due: it was due the moment its warning was raised.
    query = select(Delivery.id).where(
        Delivery.kind == KIND, Delivery.status == DeliveryStatus.PENDING
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = list(session.scalars(query.order_by(Delivery.due_at).limit(100)))
    session.commit()
    return sum(_send(session, out, i, now) for i in due if _claimed(session, i, now))


def _claimed(session: Session, notice_id: uuid.UUID, now: datetime) -> bool:
    """pending -> sending; only one caller ever wins (as sending.claim)."""
    won = session.execute(
        update(Delivery)
        .where(Delivery.id == notice_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SENDING, claimed_at=now)
    )
    session.commit()
    session.expire_all()
    return getattr(won, "rowcount", 0) == 1


def _send(session: Session, out: Outward, notice_id: uuid.UUID, now: datetime) -> int:
    notice = session.get(Delivery, notice_id)
    assert notice is not None
    recipient = None if notice.recipient_id is None else session.get(User, notice.recipient_id)
    # Checked again now: they may have left, or taken their phone off, since the raise.
    unsent = _unsendable(recipient if recipient is not None and recipient.active else None)
    body = None if unsent else _text(session, out, notice)
    if recipient is None or unsent or body is None:
        return _unsent(session, notice, unsent or TEXT_REFUSED, now)
    phone = users.own_phone(out.vault.keyring, recipient)
    assert phone is not None  # _unsendable checked it
    _keep_outbox(session, out, notice, body, now)
    session.commit()  # the outbox copy is in before the provider hears of it
    links = Callbacks(out.settings.public_url, notice.code)
    try:
        sent = out.channel.send_sms(Sms(phone, out.settings.neutral_number, body, links))
    except ChannelError as exc:
        notice.status, notice.error_code = DeliveryStatus.FAILED, exc.code
        notice.permanent_failure, notice.settled_at = exc.permanent, now
        return _unsent(session, notice, "provider", now, code=exc.code)
    notice.status, notice.provider_sid = DeliveryStatus.SENT, sent.sid
    notice.provider_status, notice.sent_at = sent.status, now
    _audit(session, notice, AuditAction.DUTY_TO_WARN_NOTIFIED, now, supervisor=str(recipient.id))
    session.commit()
    log.info("on-call notice %s sent", notice.id)
    return 1


def _text(session: Session, out: Outward, notice: Delivery) -> str | None:
    task = session.get(OutreachTask, notice.task_id)
    program = None if task is None else session.get(Program, task.program_id)
    assert program is not None
    try:
        return scripts.render(
            out.library, "sms", SCRIPT, notice.language, {}, forbidden=(program.name, program.key)
        )
    except RenderError:
        return None


def _keep_outbox(
    session: Session, out: Outward, notice: Delivery, body: str, now: datetime
) -> None:
    if not out.keeps_outbox:
        return
    # Sealed like every outbox entry, under the task's contact key: purged with her records.
    cipher = out.vault.cipher_for(session, notice.contact_id)
    session.add(
        OutboxMessage(
            delivery_id=notice.id,
            contact_id=notice.contact_id,
            channel=Channel.SMS,
            kind=KIND,
            script=SCRIPT,
            text_sealed=cipher.seal(place("outbox_message", "text", notice.id), body),
            at=now,
        )
    )


def _unsent(
    session: Session, notice: Delivery, reason: str, now: datetime, *, code: str | None = None
) -> int:
    if notice.status != DeliveryStatus.FAILED:
        notice.status, notice.error_code = DeliveryStatus.REFUSED, reason[:10]
        notice.settled_at = now
    _audit(session, notice, AuditAction.ON_CALL_NOTICE_UNSENT, now, reason=reason, code=code)
    session.commit()
    log.warning("on-call notice %s not sent: %s", notice.id, reason)
    return 0


def _audit(
    session: Session, notice: Delivery, action: AuditAction, now: datetime, **detail: str | None
) -> None:
    task = session.get(OutreachTask, notice.task_id)
    record(
        session,
        now=now,
        actor=SYSTEM,
        action=action,
        object_type="task",
        object_id=notice.task_id,
        program_id=None if task is None else task.program_id,
        **detail,
    )


# --- on screen --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """A duty to warn nobody has claimed yet, as the supervisor's banner shows it."""

    task_id: uuid.UUID
    raised_at: datetime
    timezone: str
    notice: str | None  # why the on-call supervisor could not be told; None: told (or telling)
    held: bool = False  # her decline stands: a supervisor confirms it before anyone calls (S1)


def waiting(session: Session, actor: Actor, now: datetime) -> list[Waiting]:
    """Open duties to warn in the actor's programs that nobody holds and nobody has tried yet
    (S8: on screen until someone claims it), oldest first."""

    nobody_holds = or_(OutreachTask.claimed_by.is_(None), OutreachTask.claim_expires_at <= now)
    query = (
        select(
            OutreachTask.id,
            OutreachTask.opens_at,
            Program.timezone,
            Delivery.status,
            Delivery.provider_status,
            Delivery.error_code,
            holds.held_clause().label("held"),
        )
        .join(Program, Program.id == OutreachTask.program_id)
        .outerjoin(Delivery, and_(Delivery.task_id == OutreachTask.id, Delivery.kind == KIND))
        .where(
            OutreachTask.status == TaskStatus.OPEN.value,
            OutreachTask.reason == TaskReason.DUTY_TO_WARN.value,
            OutreachTask.program_id.in_(actor.program_ids),
            nobody_holds,
            ~exists().where(Attempt.task_id == OutreachTask.id),
        )
        .order_by(OutreachTask.opens_at)
    )
    return [
        Waiting(task_id, raised, zone, unsent_words(status, provider_status, code), bool(held))
        for task_id, raised, zone, status, provider_status, code, held in session.execute(query)
    ]


def unsent_words(status: str | None, provider_status: str | None, code: str | None) -> str | None:
    """Why a notice did not reach the on-call supervisor's phone, in words; None: it went out
    (or is going out now)."""
    if status is None:
        return "no notice was queued yet; the scheduler queues one within a minute"
    if status in NOT_DELIVERED or provider_status in ("undelivered", "failed"):
        return UNSENT_WORDS.get(code or "", "the text could not be delivered")
    return None
