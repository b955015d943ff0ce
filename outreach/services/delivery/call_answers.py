"""What a call's answers decide at once: the liaison's key, the screen, her keypad (S1, S3, S6).

The liaison presses 1 on their own leg before a bridged call dials her; her phone's answer
is screened by a key press before anything is said; a safe-check call reads her 1 or 2. Each
is stored in the webhook inbox first, then decided here and committed at once, since the
provider waits for the answer (TwiML) while the call is live.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.calling import Permission
from outreach.domain.vocabulary import DeliveryKind, TaskStatus
from outreach.models import ContactPerson, Delivery, OutreachTask, User, WebhookEvent
from outreach.security.vault import Vault, place
from outreach.services.contact_persons import preferences
from outreach.services.delivery.callbacks import FINISHED, refuse, settle_if_known
from outreach.services.records.audit import SYSTEM, AuditAction, record, record_reveal
from outreach.services.staff import users
from outreach.services.supervision import holds

log = logging.getLogger("outreach.callbacks")


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
        refuse(delivery, now)
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
    record_reveal(session, actor=SYSTEM, contact=contact, purpose="bridge", now=now)
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
    """The neutral voicemail was said: the call settles as a voicemail (S3)."""
    delivery.digits = "vm"  # the neutral voicemail was played: it settles as voicemail_neutral
    settle_if_known(session, delivery, now)
    session.commit()


def must_hang_up(answered_by: str) -> bool:
    """Machine detection's verdict: anything but a person is hung up on, in silence (S3).
    A verdict Twilio could not reach ("unknown") is not a person either: silence costs her a
    later call, a word said to a recording could cost her more."""
    return answered_by != "human"


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


def _bridge_over(delivery: Delivery) -> bool:
    return delivery.kind != DeliveryKind.BRIDGED_CALL or delivery.status in FINISHED


def _may_bridge(session: Session, delivery: Delivery, now: datetime) -> bool:
    if _bridge_over(delivery):
        return False
    if _may_still_call(session, delivery):
        return True
    refuse(delivery, now)
    return False


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
    refusal = _permission(session, delivery).refusal(DeliveryKind.BRIDGED_CALL, override=override)
    return refusal is None


def _permission(session: Session, delivery: Delivery) -> Permission:
    return preferences.permission_of(preferences.current_preferences(session, delivery.contact_id))
