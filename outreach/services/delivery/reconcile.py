"""Deliveries whose callbacks stopped coming are asked of the provider and settled.

Callbacks can be lost: a webhook that answered 500, a request Twilio gave up on. A call with
no final status long after it was placed, or a text still "sent" after its validity, is then
fetched from the provider's REST API and settled on what it says (issue 24 item 6; REFERENCE.md
section 2: "reconcile stuck records periodically"). The provider is asked with no transaction
open: no lock is ever held across a network call (issue 21 finding 14).

A send claimed long ago and never settled (its process died between the claim and the provider's
answer) is not asked of anyone: it may have gone out, so it is marked for a person to check and
never resent blindly.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from outreach.channels.base import Channel, ChannelError, ProviderRecord
from outreach.domain.vocabulary import DeliveryKind, DeliveryStatus
from outreach.models import Delivery
from outreach.services.delivery import inbox
from outreach.services.delivery.callbacks import (
    FINAL_CALL,
    FINISHED,
    TEXTS,
    amd_result,
    call_status,
    refuse,
    sms_status,
)

log = logging.getLogger("outreach.reconcile")

# A call still without a final status this long after it was placed has lost its callbacks.
CALL_QUIET = timedelta(minutes=15)
# A text may be tried by the carrier for an hour (channels.base.Sms.validity_seconds).
TEXT_QUIET = timedelta(minutes=75)
OPEN = (DeliveryStatus.SENT, DeliveryStatus.IN_PROGRESS)
# A send claimed this long ago and never settled is left for a person: it may have gone out.
STUCK_AFTER = timedelta(minutes=10)


def reconcile_quiet(session: Session, channel: Channel, now: datetime) -> int:
    """Settle every quiet delivery on what the provider says; answer how many changed."""
    changed = 0
    for delivery_id, code, sid, kind in _quiet(session, now):
        try:
            found = _ask(channel, sid, kind)
        except ChannelError as exc:  # asked again at the next tick
            log.warning("reconciliation not answered delivery=%s: %s", delivery_id, exc)
            continue
        changed += _settle(session, code, found, now)
    return changed


def reconcile_stuck(session: Session, now: datetime) -> int:
    """Claimed sends that never settled are marked for a person to check; never resent."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < now - STUCK_AFTER)
        .values(status=DeliveryStatus.UNKNOWN, settled_at=now)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def _quiet(session: Session, now: datetime) -> list[tuple[uuid.UUID, str, str, str]]:
    rows = session.execute(
        select(Delivery.id, Delivery.code, Delivery.provider_sid, Delivery.kind, Delivery.sent_at)
        .where(
            Delivery.status.in_(OPEN),
            Delivery.provider_sid.is_not(None),
            Delivery.sent_at < now - CALL_QUIET,
        )
        .order_by(Delivery.sent_at)
        .limit(100)
    ).all()
    session.commit()  # no transaction stays open while the provider is asked
    return [
        (row.id, row.code, row.provider_sid, row.kind)
        for row in rows
        if row.kind not in TEXTS or row.sent_at < now - TEXT_QUIET
    ]


def _ask(channel: Channel, sid: str, kind: str) -> tuple[ProviderRecord | None, ...]:
    # A bridged call: the liaison's call, then the leg its <Dial> placed to her.
    if kind == DeliveryKind.BRIDGED_CALL:
        return channel.fetch_record(sid), channel.fetch_record(sid, leg_dialled=True)
    return (channel.fetch_record(sid),)


def _settle(
    session: Session, code: str, found: tuple[ProviderRecord | None, ...], now: datetime
) -> int:
    delivery = inbox.delivery_caught_up(session, code, now)
    if delivery is None or delivery.status not in OPEN:
        session.commit()
        return 0
    settle_from_provider(session, delivery, found, now)
    session.commit()
    return 1


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
    elif delivery.kind == DeliveryKind.BRIDGED_CALL:
        _bridge_from_provider(session, delivery, found[0], found[1], now)
    else:
        _safe_check_from_provider(session, delivery, found[0], now)


def _text_from_provider(
    session: Session, delivery: Delivery, found: ProviderRecord | None, now: datetime
) -> None:
    if found is not None:
        sms_status(session, delivery, found.status, found.error_code or "", now)
    if delivery.status not in FINISHED:  # never a final word from the carrier: nothing more
        delivery.status, delivery.settled_at = DeliveryStatus.SETTLED, now


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
            refuse(delivery, now)  # her number was never dialled: no attempt about her
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
    delivery.status, delivery.settled_at = DeliveryStatus.UNKNOWN, now
    log.warning(
        "delivery %s left for a person: the provider's record cannot settle it", delivery.id
    )
