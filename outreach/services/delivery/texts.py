"""Texts to a contact: the approved neutral texts she allowed (S2), sent at once or planned.

A text a person sends goes out at once; a reminder the scheduler planned is checked again
against every safety rule when its turn comes (S1-S4), as consent, permissions and calling
hours may have changed since.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.channels.base import Sms
from outreach.domain.phones import may_receive_sms
from outreach.domain.vocabulary import Channel, DeliveryKind, DeliveryStatus
from outreach.models import Delivery
from outreach.services.delivery.outward import Outward
from outreach.services.delivery.sending import (
    dispatch,
    keep_outbox,
    new_delivery,
    send_claimed,
    settle_unsent,
)
from outreach.services.delivery.targets import render, reveal_for_sending, target_for
from outreach.services.errors import Conflict, NotFound, ServiceError
from outreach.services.records.audit import SYSTEM, Actor

log = logging.getLogger("outreach.deliveries")
SMS_SCRIPTS = ("reminder", "safe_check")


def send_sms(
    session: Session,
    out: Outward,
    *,
    task_id: uuid.UUID,
    script: str,
    now: datetime,
    actor: Actor,
    expires_at: datetime | None = None,
) -> Delivery:
    """Send an approved neutral text to a contact who allowed SMS (S2)."""
    if script not in SMS_SCRIPTS:
        raise NotFound(f"no SMS script named {script!r}")
    target = target_for(session, out, task_id, DeliveryKind.SMS, now, actor=actor)
    phone = reveal_for_sending(session, target, actor, now)
    if not may_receive_sms(phone):
        raise Conflict("the contact's number cannot receive SMS")
    body = render(out, target, "sms", script)
    delivery = new_delivery(
        session, target, DeliveryKind.SMS, script, actor, now, expires_at=expires_at
    )
    keep_outbox(session, out, delivery, target, Channel.SMS, body, now)
    return dispatch(
        session,
        out,
        delivery,
        now,
        lambda cb: out.channel.send_sms(Sms(phone, out.settings.neutral_number, body, cb)),
    )


def send_scheduled_sms(session: Session, out: Outward, delivery: Delivery, now: datetime) -> None:
    """Send a reminder the scheduler claimed, checking every safety rule again now (S1-S4):
    consent, permissions and calling hours may have changed since it was planned."""
    try:
        target = target_for(session, out, delivery.task_id, DeliveryKind.SMS, now, actor=SYSTEM)
        phone = reveal_for_sending(session, target, SYSTEM, now)
        if not may_receive_sms(phone):
            raise Conflict("the contact's number cannot receive SMS")
        body = render(out, target, "sms", delivery.script)
    except ServiceError as refused:
        settle_unsent(session, delivery, DeliveryStatus.REFUSED, now)
        log.info("scheduled delivery %s refused: %s", delivery.id, refused.message)
        return
    keep_outbox(session, out, delivery, target, Channel.SMS, body, now)
    # The reveal and the outbox copy are committed before the pacer's wait and the provider
    # call: no lock (the audit chain's, SQLite's write lock) is held across either (issue 21
    # finding 14). The row is already `sending`: a crash from here on leaves it for
    # reconciliation, never for a second send.
    session.commit()
    with contextlib.suppress(Conflict):  # a provider refusal is already recorded on the row
        send_claimed(
            session,
            out,
            delivery,
            now,
            lambda cb: out.channel.send_sms(Sms(phone, out.settings.neutral_number, body, cb)),
        )
