"""What provider callbacks do: in any order, with no second effect, never regressing.

Every callback is first stored in the webhook inbox under its natural key
(services/delivery/inbox.py);
a duplicate finds the key taken and changes nothing. Status callbacks are applied later by the
inbox applier; the answer screen and the keypad decide at once. Statuses only move forward: a
late "ringing" never overwrites "completed". The effects here never commit: the applier commits
a batch, and each decision commits what it decided.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.base import ProviderRecord
from outreach.domain.calling import Permission
from outreach.domain.vocabulary import EntryPoint, Outcome, TaskStatus
from outreach.models import ContactPerson, Delivery, OutreachTask, User, WebhookEvent
from outreach.security.vault import Vault, place
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons import contacts
from outreach.services.errors import ServiceError
from outreach.services.records.audit import SYSTEM, AuditAction, record
from outreach.services.staff import users
from outreach.services.supervision import holds

log = logging.getLogger("outreach.callbacks")

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
FINISHED = ("settled", "failed", "refused")
# Twilio's "attempt to send to unsubscribed recipient": the contact sent STOP to the carrier.
OPTED_OUT = "21610"
# The kinds that are texts: hers, and the on-call notice to a supervisor's own phone (S8).
TEXTS = frozenset({"sms", "on_call_sms"})


class Screen(StrEnum):
    """What to do when the contact's phone is answered on a bridged call."""

    BRIDGE = "bridge"
    VOICEMAIL = "voicemail"
    HANG_UP = "hang_up"


class Answer(StrEnum):
    """What the contact's keypad answer to an automated safe-check means (S6)."""

    CONNECT = "connect"
    LATER = "later"
    HANG_UP = "hang_up"


@dataclass(frozen=True)
class BridgeTarget:
    """Where a bridged call's second leg goes, and whether a neutral voicemail is allowed."""

    contact_phone: str
    leave_voicemail: bool


def delivery_by_code(session: Session, code: str) -> Delivery | None:
    if not code or len(code) > 64:
        return None
    return session.scalar(select(Delivery).where(Delivery.code == code))


def bridge_answered(session: Session, delivery: Delivery, now: datetime) -> bool:
    """The liaison's phone answered: whether the call may still go ahead (S1).

    The liaison's phone rang for up to half a minute after the click, and a decline or a
    closed task recorded meanwhile refuses the call for good: the contact is never dialled."""
    allowed = _may_bridge(session, delivery, now)
    session.commit()
    return allowed


def confirm_bridge(
    session: Session, vault: Vault, delivery: Delivery, call_sid: str, digits: str, now: datetime
) -> BridgeTarget | None:
    """The keypress on the liaison's own leg: 1 opens the contact's number for the second leg;
    any other key, or none, refuses the call for good and the contact is never dialled.

    Only a person presses 1. The liaison's own voicemail presses nothing, and the contact
    must never be connected to its greeting, which may name the agency (S3, S9)."""
    if digits == "1":
        return bridge_target(session, vault, delivery, now)
    if _may_refuse(session, delivery, call_sid):
        _refuse(delivery, now)
        log.info("bridged call %s refused: the liaison's leg did not press 1", delivery.id)
    session.commit()
    return None


def bridge_confirm_key(call_sid: str, digits: str) -> str:
    """The inbox's natural key for a keypress on the liaison's leg of a bridged call."""
    return f"bridge-confirm:{call_sid}:{digits}"


def bridge_target(
    session: Session, vault: Vault, delivery: Delivery, now: datetime
) -> BridgeTarget | None:
    """Open the contact's number for the second leg (an audited read by the system).

    None, and the liaison's leg is hung up, unless the call may still go ahead: a decline or
    a closed task recorded since the click stops the call (S1)."""
    if not _may_bridge(session, delivery, now):
        session.commit()
        return None
    contact = session.get(ContactPerson, delivery.contact_id)
    assert contact is not None
    cipher = vault.cipher_for(session, contact.id)
    phone = cipher.open(place("contact_person", "phone", contact.id), contact.phone_sealed)
    record(
        session,
        now=now,
        actor=SYSTEM,
        action=AuditAction.CONTACT_REVEALED,
        object_type="contact",
        object_id=contact.id,
        program_id=contact.program_id,
        purpose="bridge",
    )
    session.commit()
    return BridgeTarget(phone, _permission(session, delivery).leave_voicemail)


def screened(session: Session, delivery: Delivery, digits: str, now: datetime) -> Screen:
    """Decide what happens once her phone answered and heard the key-press screen (S3).

    Only a 1 proves a person is listening: a bridged call is then put through. No key, or
    another one, is treated as a machine: nothing is said, unless she allowed messages, when
    the approved neutral voicemail is left. Twilio's answering-machine detection is not used
    on this leg: on a `<Dial><Number>` it reports only to an `amdStatusCallback`, seconds after
    the answer, and is biased toward "human" (twilio.com/docs/voice/twiml/number,
    twilio.com/docs/voice/answering-machine-detection); the key press decides at once."""
    pressed = digits[:1] == "1"
    if pressed:
        delivery.answered_by = "human"  # a key press outweighs any earlier guess
    else:
        delivery.answered_by = delivery.answered_by or "unknown"
    settle_if_known(session, delivery, now)
    session.commit()
    if pressed:
        return Screen.BRIDGE
    if _permission(session, delivery).leave_voicemail:
        return Screen.VOICEMAIL
    return Screen.HANG_UP  # a machine, a fax, or no one pressed 1: say nothing more


def voicemail_left(session: Session, delivery: Delivery, now: datetime) -> None:
    delivery.digits = "vm"  # the neutral voicemail was played: it settles as voicemail_neutral
    settle_if_known(session, delivery, now)
    session.commit()


def must_hang_up(answered_by: str) -> bool:
    """Machine detection's verdict: anything but a person is hung up on, in silence (S3).
    A verdict Twilio could not reach ("unknown") is not a person either: silence costs her a
    later call, a word said to a recording could cost her more."""
    return answered_by != "human"


def call_status(session: Session, delivery: Delivery, leg: str, status: str, now: datetime) -> None:
    """Apply a call status; statuses only move forward, and the contact's leg decides."""
    if leg == "contact" and CALL_RANK.get(status, -1) > CALL_RANK.get(
        delivery.provider_status or "", -1
    ):
        delivery.provider_status = status
        if delivery.status == "sent":
            delivery.status = "in_progress"
    settle_if_known(session, delivery, now)


def amd_result(session: Session, delivery: Delivery, answered_by: str, now: datetime) -> None:
    """Record async machine detection (the first verdict stands)."""
    delivery.answered_by = delivery.answered_by or answered_by or "unknown"
    settle_if_known(session, delivery, now)


def safe_check_answer(session: Session, delivery: Delivery, digits: str, now: datetime) -> Answer:
    """Read the keypad: 1 talk now, 2 later, anything else ends the call (S6)."""
    if delivery.digits is None:
        delivery.digits = digits[:1] or "-"
        record(
            session,
            now=now,
            actor=SYSTEM,
            action=AuditAction.SAFE_CHECK_ANSWERED,
            object_type="task",
            object_id=delivery.task_id,
            answer=delivery.digits,
        )
    settle_if_known(session, delivery, now)
    session.commit()
    if delivery.answered_by not in (None, "human"):
        return Answer.HANG_UP
    return {"1": Answer.CONNECT, "2": Answer.LATER}.get(delivery.digits, Answer.HANG_UP)


def liaison_phone_for(session: Session, vault: Vault, delivery: Delivery) -> str | None:
    """The liaison a "press 1" connects to: who asked for the call, else who holds the task."""
    task = session.get(OutreachTask, delivery.task_id)
    for user_id in (delivery.requested_by, task.claimed_by if task else None):
        user = session.get(User, user_id) if user_id else None
        phone = None if user is None else users.own_phone(vault.keyring, user)
        if phone is not None:
            return phone
    return None


def sms_status(
    session: Session, delivery: Delivery, status: str, error_code: str, now: datetime
) -> None:
    """Apply an SMS status; statuses only move forward, a carrier opt-out revokes SMS (S2)."""
    if SMS_RANK.get(status, -1) <= SMS_RANK.get(delivery.provider_status or "", -1):
        return
    delivery.provider_status, delivery.error_code = status, error_code or None
    # S2: SMS ends for good, hers only: an on-call notice went to a supervisor's own phone.
    if delivery.kind == "sms" and carrier_opted_out(error_code):
        contacts.revoke_sms(
            session, contact_id=delivery.contact_id, now=now, source="carrier_opt_out"
        )
    if status in ("delivered", "undelivered", "failed"):
        delivery.status, delivery.settled_at = "settled", now


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
    if delivery.kind == "bridged_call" and status is None and _liaison_gave_up(session, delivery):
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
    if delivery.kind == "bridged_call":
        return True, None  # a person answered: the liaison records how it went
    if delivery.digits is None:
        return False, None  # wait for the keypad answer
    return True, {"1": Outcome.REACHED_SAFE, "2": Outcome.REACHED_NOT_SAFE}.get(
        delivery.digits, Outcome.NO_ANSWER
    )


def settle_from_provider(
    session: Session,
    delivery: Delivery,
    found: tuple[ProviderRecord | None, ...],
    now: datetime,
) -> None:
    """Settle a delivery whose callbacks stopped coming on what the provider's records say.

    `found` is the call or text as the provider holds it; for a bridged call, the liaison's
    call and then the leg it dialled to her. What the records cannot tell (which key she
    pressed) never becomes a reached contact (S6): a call answered with no screen answer is
    left to a person (status "unknown"), as is a delivery the provider has no record of."""
    if delivery.kind in TEXTS:
        _text_from_provider(session, delivery, found[0], now)
    elif delivery.kind == "bridged_call":
        _bridge_from_provider(session, delivery, found[0], found[1], now)
    else:
        _safe_check_from_provider(session, delivery, found[0], now)


def _text_from_provider(
    session: Session, delivery: Delivery, found: ProviderRecord | None, now: datetime
) -> None:
    if found is not None:
        sms_status(session, delivery, found.status, found.error_code or "", now)
    if delivery.status not in FINISHED:  # never a final word from the carrier: nothing more
        delivery.status, delivery.settled_at = "settled", now


def _safe_check_from_provider(
    session: Session, delivery: Delivery, found: ProviderRecord | None, now: datetime
) -> None:
    if found is None or found.status not in FINAL_CALL:
        _leave_to_a_person(delivery, found, now)
        return
    if found.answered_by:
        amd_result(session, delivery, found.answered_by, now)
    if found.status == "completed":
        delivery.answered_by = delivery.answered_by or "unknown"
        if delivery.answered_by == "human" and delivery.digits is None:
            delivery.digits = "-"  # no key reached us: never a reached contact (S6)
    call_status(session, delivery, "contact", found.status, now)


def _bridge_from_provider(
    session: Session,
    delivery: Delivery,
    liaison: ProviderRecord | None,
    her_leg: ProviderRecord | None,
    now: datetime,
) -> None:
    if her_leg is None:
        if liaison is not None and liaison.status in FINAL_CALL:
            _refuse(delivery, now)  # her number was never dialled: no attempt about her
        else:
            _leave_to_a_person(delivery, liaison, now)
        return
    if her_leg.status == "completed" and delivery.answered_by is None:
        _leave_to_a_person(delivery, her_leg, now)  # answered, but her key never reached us
        return
    call_status(session, delivery, "contact", her_leg.status, now)
    if delivery.status not in FINISHED:
        _leave_to_a_person(delivery, her_leg, now)


def _leave_to_a_person(delivery: Delivery, found: ProviderRecord | None, now: datetime) -> None:
    if found is not None and found.status not in FINAL_CALL:
        return  # still going on at the provider: asked again at the next tick
    delivery.status, delivery.settled_at = "unknown", now
    log.warning(
        "delivery %s left for a person: the provider's record cannot settle it", delivery.id
    )


def _liaison_gave_up(session: Session, delivery: Delivery) -> bool:
    if delivery.provider_sid is None:
        return False
    keys = [f"status:liaison:{delivery.provider_sid}:{s}" for s in FINAL_CALL - {"completed"}]
    found = session.scalar(select(WebhookEvent.id).where(WebhookEvent.natural_key.in_(keys)))
    return found is not None


def _settle(session: Session, delivery: Delivery, outcome: Outcome | None, now: datetime) -> None:
    delivery.status, delivery.settled_at = "settled", now
    if outcome is None:
        return
    try:
        attempt = attempt_log.append_attempt(
            session,
            None,
            actor=SYSTEM,
            task_id=delivery.task_id,
            channel="voice",
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


def _bridge_over(delivery: Delivery) -> bool:
    return delivery.kind != "bridged_call" or delivery.status in FINISHED


def _may_bridge(session: Session, delivery: Delivery, now: datetime) -> bool:
    if _bridge_over(delivery):
        return False
    if _may_still_call(session, delivery):
        return True
    _refuse(delivery, now)
    return False


def _refuse(delivery: Delivery, now: datetime) -> None:
    # Finished with no attempt: the contact was never dialled, so nothing about her happened.
    delivery.status, delivery.settled_at = "refused", now


def _may_refuse(session: Session, delivery: Delivery, call_sid: str) -> bool:
    if _bridge_over(delivery):
        return False
    # A call already put through stays as it is, so its outcome is still logged (S5).
    key = bridge_confirm_key(call_sid, "1")
    return session.scalar(select(WebhookEvent.id).where(WebhookEvent.natural_key == key)) is None


def _may_still_call(session: Session, delivery: Delivery) -> bool:
    task = session.get(OutreachTask, delivery.task_id)
    if task is None or task.status != TaskStatus.OPEN:
        return False
    override = holds.override_confirmed(session, task)  # S1/S8: confirmed by a supervisor
    refusal = _permission(session, delivery).refusal("bridged_call", override=override)
    return refusal is None


def _permission(session: Session, delivery: Delivery) -> Permission:
    return contacts.permission_of(contacts.current_preferences(session, delivery.contact_id))


def task_is_open(session: Session, task_id: uuid.UUID) -> bool:
    task = session.get(OutreachTask, task_id)
    return task is not None and task.status == TaskStatus.OPEN
