"""What the console or simulator channel "sent", opened for the operator (audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import Delivery, OutboxMessage
from outreach.security.vault import ContactErased, Vault, place
from outreach.services.records.audit import SYSTEM, AuditAction, record


def read_outbox(session: Session, vault: Vault, *, now: datetime) -> list[dict[str, Any]]:
    """Answer every outbox entry, oldest first, in the INTERFACES.md shape."""
    rows = session.execute(
        select(OutboxMessage, Delivery.task_id)
        .join(Delivery, Delivery.id == OutboxMessage.delivery_id)
        .order_by(OutboxMessage.at, OutboxMessage.id)
    ).all()
    entries = [_entry(session, vault, message, task_id) for message, task_id in rows]
    record(session, now=now, actor=SYSTEM, action=AuditAction.OUTBOX_READ, entries=len(entries))
    session.commit()
    return entries


def _entry(
    session: Session, vault: Vault, message: OutboxMessage, task_id: object
) -> dict[str, Any]:
    try:
        text = vault.cipher_for(session, message.contact_id).open(
            place("outbox_message", "text", message.delivery_id), message.text_sealed
        )
    except ContactErased:
        text = "(erased)"
    return {
        "at": message.at.isoformat(),
        "channel": message.channel,
        "kind": message.kind,
        "contact_id": str(message.contact_id),
        "task_id": str(task_id),
        "script": message.script,
        "text": text,
    }
