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
from outreach.models import Delivery
from outreach.services.delivery import callbacks, inbox

log = logging.getLogger("outreach.reconcile")

# A call still without a final status this long after it was placed has lost its callbacks.
CALL_QUIET = timedelta(minutes=15)
# A text may be tried by the carrier for an hour (channels.base.Sms.validity_seconds).
TEXT_QUIET = timedelta(minutes=75)
OPEN = ("sent", "in_progress")
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
        .where(Delivery.status == "sending", Delivery.claimed_at < now - STUCK_AFTER)
        .values(status="unknown", settled_at=now)
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
        if row.kind not in callbacks.TEXTS or row.sent_at < now - TEXT_QUIET
    ]


def _ask(channel: Channel, sid: str, kind: str) -> tuple[ProviderRecord | None, ...]:
    if kind == "bridged_call":  # the liaison's call, then the leg its <Dial> placed to her
        return channel.fetch_record(sid), channel.fetch_record(sid, leg_dialled=True)
    return (channel.fetch_record(sid),)


def _settle(
    session: Session, code: str, found: tuple[ProviderRecord | None, ...], now: datetime
) -> int:
    delivery = inbox.delivery_caught_up(session, code, now)
    if delivery is None or delivery.status not in OPEN:
        session.commit()
        return 0
    callbacks.settle_from_provider(session, delivery, found, now)
    session.commit()
    return 1
