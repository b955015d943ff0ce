"""What provider status callbacks do: in any order, with no second effect, never regressing.

Every callback is first stored in the webhook inbox under its natural key
(services/delivery/inbox.py); a duplicate finds the key taken and changes nothing. Status
callbacks are applied later by the inbox applier; the answer screen and the keypad decide at
once (services/delivery/call_answers.py), and both settle through here. Statuses only move
forward: a late "ringing" never overwrites "completed". A delivery settles, and its attempt is
logged, once everything its outcome depends on is known. The effects here never commit: the
applier commits a batch, and each decision commits what it decided.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import (
    Channel,
    DeliveryKind,
    DeliveryStatus,
    EntryPoint,
    Outcome,
    TaskStatus,
)
from outreach.models import Delivery, OutreachTask, WebhookEvent
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons import her_word
from outreach.services.errors import ServiceError
from outreach.services.records.audit import SYSTEM

log = logging.getLogger("outreach.callbacks")

# The provider's call and text statuses (Twilio's words, kept as it sends them), by progress.
CALL_RANK = {
    "queued": 0,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "answered": 3,
    "completed": 4,
    "busy": 4,
    "failed": 4,
    "no-answer": 4,
    "canceled": 4,
}
SMS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "read": 4,
}
FINAL_CALL = {"completed", "busy", "failed", "no-answer", "canceled"}
# A delivery in one of these is finished: later callbacks change nothing on it.
FINISHED = (DeliveryStatus.SETTLED, DeliveryStatus.FAILED, DeliveryStatus.REFUSED)
# Twilio's "attempt to send to unsubscribed recipient": the contact sent STOP to the carrier.
OPTED_OUT = "21610"
# The kinds that are texts: hers, and the on-call notice to a supervisor's own phone (S8).
TEXTS = frozenset({DeliveryKind.SMS, DeliveryKind.ON_CALL_SMS})


def delivery_by_code(session: Session, code: str) -> Delivery | None:
    """The delivery a callback URL's opaque code names, or None (S10)."""
    if not code or len(code) > 64:
        return None
    return session.scalar(select(Delivery).where(Delivery.code == code))


def call_status(session: Session, delivery: Delivery, leg: str, status: str, now: datetime) -> None:
    """Apply a call status; statuses only move forward, and the contact's leg decides."""
    if leg == "contact" and CALL_RANK.get(status, -1) > CALL_RANK.get(
        delivery.provider_status or "", -1
    ):
        delivery.provider_status = status
        if delivery.status == DeliveryStatus.SENT:
            delivery.status = DeliveryStatus.IN_PROGRESS
    settle_if_known(session, delivery, now)


def amd_result(session: Session, delivery: Delivery, answered_by: str, now: datetime) -> None:
    """Record async machine detection (the first verdict stands)."""
    delivery.answered_by = delivery.answered_by or answered_by or "unknown"
    settle_if_known(session, delivery, now)


def sms_status(
    session: Session, delivery: Delivery, status: str, error_code: str, now: datetime
) -> None:
    """Apply an SMS status; statuses only move forward, a carrier opt-out revokes SMS (S2)."""
    if SMS_RANK.get(status, -1) <= SMS_RANK.get(delivery.provider_status or "", -1):
        return
    delivery.provider_status, delivery.error_code = status, error_code or None
    # S2: SMS ends for good, hers only: an on-call notice went to a supervisor's own phone.
    if delivery.kind == DeliveryKind.SMS and carrier_opted_out(error_code):
        her_word.revoke_sms(
            session, actor=SYSTEM, contact_id=delivery.contact_id, now=now, source="carrier_opt_out"
        )
    if status in ("delivered", "undelivered", "failed"):  # the carrier's final words
        delivery.status, delivery.settled_at = DeliveryStatus.SETTLED, now


def carrier_opted_out(error_code: str) -> bool:
    """The carrier refused the text because the contact sent STOP to it (S2)."""
    return error_code == OPTED_OUT


# --- settling ------------------------------------------------------------------------
#
# Callbacks arrive in any order and more than once. A delivery settles once everything its
# outcome depends on is known, whatever order that came in, so every order ends the same.


def settle_if_known(session: Session, delivery: Delivery, now: datetime) -> None:
    """Log the attempt once the outcome is fully known; otherwise just keep what we learnt."""
    if delivery.status in FINISHED:
        return
    known, outcome = _outcome(session, delivery)
    if known:
        _settle(session, delivery, outcome, now)


def _outcome(session: Session, delivery: Delivery) -> tuple[bool, Outcome | None]:
    status = delivery.provider_status
    if (
        delivery.kind == DeliveryKind.BRIDGED_CALL
        and status is None
        and _liaison_gave_up(session, delivery)
    ):
        return True, None  # the liaison never picked up: the contact was never dialled
    if status not in FINAL_CALL:
        return False, None
    if status != "completed":
        return True, Outcome.BUSY if status == "busy" else Outcome.NO_ANSWER
    if delivery.answered_by is None:
        return False, None  # wait for the answer screen or machine detection
    if delivery.answered_by != "human":
        return True, (
            Outcome.VOICEMAIL_NEUTRAL if delivery.digits == "vm" else Outcome.MACHINE_HUNG_UP
        )
    if delivery.kind == DeliveryKind.BRIDGED_CALL:
        return True, None  # a person answered: the liaison records how it went
    if delivery.digits is None:
        return False, None  # wait for the keypad answer
    return True, {"1": Outcome.REACHED_SAFE, "2": Outcome.REACHED_NOT_SAFE}.get(
        delivery.digits, Outcome.NO_ANSWER
    )


def _liaison_gave_up(session: Session, delivery: Delivery) -> bool:
    if delivery.provider_sid is None:
        return False
    keys = [f"status:liaison:{delivery.provider_sid}:{s}" for s in FINAL_CALL - {"completed"}]
    found = session.scalar(select(WebhookEvent.id).where(WebhookEvent.natural_key.in_(keys)))
    return found is not None


def _settle(session: Session, delivery: Delivery, outcome: Outcome | None, now: datetime) -> None:
    delivery.status, delivery.settled_at = DeliveryStatus.SETTLED, now
    if outcome is None:
        return
    try:
        attempt = attempt_log.append_attempt(
            session,
            None,
            actor=SYSTEM,
            task_id=delivery.task_id,
            channel=Channel.VOICE,
            at=delivery.sent_at or now,
            outcome=outcome.value,
            now=now,
            # S5 "who": the liaison who pressed Call made it; the system only records it.
            made_by=delivery.requested_by,
            entry=attempt_log.Entry(EntryPoint.WEBHOOK),
        )
    except ServiceError as exc:  # the task closed meanwhile: the outcome stays on the delivery
        log.info("delivery %s settled without attempt: %s", delivery.id, exc.message)
        return
    delivery.attempt_id = attempt.id


def refuse(delivery: Delivery, now: datetime) -> None:
    """Finish a call with no attempt: the contact was never dialled, so nothing about her
    happened."""
    delivery.status, delivery.settled_at = DeliveryStatus.REFUSED, now


def task_is_open(session: Session, task_id: uuid.UUID) -> bool:
    task = session.get(OutreachTask, task_id)
    return task is not None and task.status == TaskStatus.OPEN
