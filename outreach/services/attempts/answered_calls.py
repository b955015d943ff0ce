"""The voice webhooks that must act before they answer Twilio, each one service call in one
transaction: the liaison's keypress on a bridged call, and the automated safe-check's look-up.

The handlers in webhooks/voice.py parse, call one of these, and render TwiML (ARCHITECTURE.md:
entry points never commit)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.domain.vocabulary import DeliveryKind
from outreach.models import Delivery
from outreach.security.vault import Vault
from outreach.services.delivery import call_answers, callbacks, inbox
from outreach.services.delivery.call_answers import BridgeTarget


def bridge_keypress(
    session: Session, vault: Vault, code: str, fields: Mapping[str, str], now: datetime
) -> tuple[Delivery, BridgeTarget] | None:
    """The liaison's key on their own leg, applied once: the delivery and the number to dial
    after their 1; None hangs up (another key, none, a refused call, or a repeat).

    A repeat dials no one and opens nothing again: Twilio acts on one answer per keypress, and
    a replayed request must never learn the contact's number (S3, S9)."""
    delivery = inbox.delivery_caught_up(session, code, now)
    if delivery is None:
        return None
    sid, digits = fields.get("CallSid", "")[:64], fields.get("Digits", "")[:64]
    key = call_answers.bridge_confirm_key(sid, digits)
    if not inbox.remember(session, "bridge-confirm", key, fields, now, delivery):
        session.commit()  # the delivery's lock goes with the transaction
        return None
    target = call_answers.confirm_bridge(session, vault, delivery, sid, digits, now)
    return None if target is None else (delivery, target)


def safe_check_call(session: Session, code: str) -> Delivery | None:
    """The automated safe-check call a code names, or None; read in a transaction that ends
    here, since the verdict is then stored in one of its own and, on SQLite, a transaction left
    open would hold the write lock that storing waits for."""
    delivery = callbacks.delivery_by_code(session, code)
    session.commit()
    return (
        delivery if delivery is not None and delivery.kind == DeliveryKind.SAFE_CHECK_CALL else None
    )
