"""The claim-send-settle sequence every call and text goes through (S5).

Each action writes and commits its delivery row, claims it, then calls the provider, then
records what the provider said. A crash between claim and result leaves a `sending` row for
reconciliation to settle; nothing is ever sent twice blindly. A sealed copy of what was sent
is kept in the outbox where the channel keeps none of its own.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from outreach.channels.base import Callbacks, ChannelError, Sent
from outreach.domain.vocabulary import Channel, DeliveryKind, DeliveryStatus
from outreach.models import Delivery, OutboxMessage, OutreachTask
from outreach.security.vault import place
from outreach.services.contact_persons import her_word
from outreach.services.delivery.outward import Outward
from outreach.services.delivery.targets import Target
from outreach.services.errors import Conflict
from outreach.services.records.audit import SYSTEM, Actor

log = logging.getLogger("outreach.deliveries")


def new_delivery(
    session: Session,
    target: Target,
    kind: DeliveryKind,
    script: str,
    actor: Actor,
    now: datetime,
    *,
    expires_at: datetime | None = None,
) -> Delivery:
    """A pending delivery to the target's contact, asked for by the actor."""
    return delivery_row(
        session, target.task, kind, script, target.language, actor, now, expires_at=expires_at
    )


def delivery_row(
    session: Session,
    task: OutreachTask,
    kind: DeliveryKind,
    script: str,
    language: str,
    actor: Actor,
    now: datetime,
    *,
    expires_at: datetime | None = None,
    sent: bool = False,
) -> Delivery:
    """A delivery a person asked for, pending, or already `sent` (a letter they mailed)."""
    delivery = Delivery(
        task_id=task.id,
        contact_id=task.contact_id,
        kind=kind,
        script=script,
        language=language,
        status=DeliveryStatus.SENT if sent else DeliveryStatus.PENDING,
        code=secrets.token_urlsafe(32),
        requested_by=actor.user_id,
        due_at=now,
        expires_at=expires_at,
        created_at=now,
        sent_at=now if sent else None,
    )
    delivery.ensure_id()
    session.add(delivery)
    session.flush()
    return delivery


def dispatch(
    session: Session,
    out: Outward,
    delivery: Delivery,
    now: datetime,
    send: Callable[[Callbacks], Sent],
) -> Delivery:
    """Commit the row, claim it, then send: the row exists before the provider hears of it."""
    session.commit()
    if not claim(session, delivery.id, now):
        raise Conflict("this delivery is already being sent")
    return send_claimed(session, out, delivery, now, send)


def settle_unsent(
    session: Session, delivery: Delivery, status: DeliveryStatus, now: datetime
) -> None:
    """Finish a claimed delivery that was never sent, keeping nothing of the refused try."""
    session.rollback()  # nothing half-done from the refused attempt goes in
    row = session.get(Delivery, delivery.id)
    assert row is not None
    row.status, row.settled_at = status, now
    session.commit()


def send_claimed(
    session: Session,
    out: Outward,
    delivery: Delivery,
    now: datetime,
    send: Callable[[Callbacks], Sent],
) -> Delivery:
    """Hand a claimed delivery to the provider and record what it said."""
    callbacks = Callbacks(out.settings.public_url, delivery.code)
    try:
        sent = send(callbacks)
    except ChannelError as exc:
        _failed(session, delivery, exc, now)
        raise Conflict(f"not sent: {exc}") from None
    delivery.status, delivery.provider_sid = DeliveryStatus.SENT, sent.sid
    delivery.provider_status, delivery.sent_at = sent.status, now
    session.commit()
    log.info("delivery %s sent kind=%s", delivery.id, delivery.kind)
    return delivery


def claim(session: Session, delivery_id: uuid.UUID, now: datetime) -> bool:
    """Move a delivery from pending to sending; only one caller ever wins (run-twice safe)."""
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SENDING, claimed_at=now)
    )
    session.commit()
    session.expire_all()
    return result.rowcount == 1


def _failed(session: Session, delivery: Delivery, exc: ChannelError, now: datetime) -> None:
    delivery.status, delivery.error_code = DeliveryStatus.FAILED, exc.code
    delivery.permanent_failure, delivery.settled_at = exc.permanent, now
    if exc.opted_out:  # S2: the carrier says STOP was sent; SMS ends for good
        her_word.revoke_sms(
            session, actor=SYSTEM, contact_id=delivery.contact_id, now=now, source="carrier_opt_out"
        )
    session.commit()
    log.warning("delivery %s failed code=%s permanent=%s", delivery.id, exc.code, exc.permanent)


def keep_outbox(
    session: Session,
    out: Outward,
    delivery: Delivery,
    target: Target,
    channel: Channel,
    text: str,
    now: datetime,
) -> None:
    """Keep a sealed copy of what was sent, where the channel keeps none of its own."""
    if not out.keeps_outbox:
        return
    sealed = target.cipher.seal(place("outbox_message", "text", delivery.id), text)
    session.add(
        OutboxMessage(
            delivery_id=delivery.id,
            contact_id=target.contact.id,
            channel=channel,
            kind=delivery.kind,
            script=delivery.script,
            text_sealed=sealed,
            at=now,
        )
    )
