"""What the channel layer sends, and what providers tell us back.

A delivery row is written and committed before the provider is called, and settled after;
a crash in between leaves a row that reconciliation settles, never a silent resend.
Provider callbacks land first in the webhook inbox under a unique natural key, so a retry
or a duplicate has no second effect.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from outreach.domain.vocabulary import DeliveryKind, DeliveryStatus
from outreach.models.base import Base, HasId, Vocabulary


class Delivery(HasId, Base):
    """One outward action: a bridged call, an automated safe-check call, an SMS or a letter."""

    __tablename__ = "delivery"
    __table_args__ = (
        Index("ix_delivery_status_due_at", "status", "due_at"),
        # S8: one on-call notice per duty to warn, however many paths or schedulers try.
        Index(
            "uq_delivery_on_call_notice",
            "task_id",
            unique=True,
            sqlite_where=text("kind = 'on_call_sms'"),
            postgresql_where=text("kind = 'on_call_sms'"),
        ),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outreach_task.id"), index=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact_person.id"), index=True)
    # A DeliveryKind: bridged_call | safe_check_call | sms | letter | on_call_sms (S8)
    kind: Mapped[DeliveryKind] = mapped_column(Vocabulary(DeliveryKind, 20))
    script: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(8))
    # A DeliveryStatus: pending -> sending -> sent -> (in_progress) -> a final status.
    status: Mapped[DeliveryStatus] = mapped_column(
        Vocabulary(DeliveryStatus, 20), default=DeliveryStatus.PENDING
    )
    # The opaque code in every callback URL: unguessable, ASCII, names nothing (S10).
    code: Mapped[str] = mapped_column(String(43), unique=True)
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The highest provider status seen; statuses only move forward.
    provider_status: Mapped[str | None] = mapped_column(String(30))
    answered_by: Mapped[str | None] = mapped_column(String(30))
    digits: Mapped[str | None] = mapped_column(String(4))
    error_code: Mapped[str | None] = mapped_column(String(10))
    permanent_failure: Mapped[bool] = mapped_column(default=False)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    # Whom an on-call notice goes to: a staff member's own phone, never the contact's (S8).
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    due_at: Mapped[datetime]
    # A reminder never goes out after its window closed: past this it is marked missed.
    expires_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    # The attempt this delivery's outcome was logged as, once settled (S5).
    attempt_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("attempt.id"))
    created_at: Mapped[datetime]


class WebhookEvent(HasId, Base):
    """A provider callback, stored once under its natural key before anything acts on it.

    Status callbacks are applied later, in batches, by the inbox applier; a row is marked
    applied in the same transaction as its effect, so each is applied exactly once.
    """

    __tablename__ = "webhook_event"
    __table_args__ = (
        # Only the rows still to apply: a handful at any moment, however large the inbox.
        Index(
            "ix_webhook_event_unapplied",
            "received_at",
            sqlite_where=text("applied_at IS NULL"),
            postgresql_where=text("applied_at IS NULL"),
        ),
    )

    natural_key: Mapped[str] = mapped_column(String(200), unique=True)
    route: Mapped[str] = mapped_column(String(40))
    # Only the fields we act on: SIDs, statuses, digits, error codes. Never From/To/Body.
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime]
    # The delivery the callback's opaque code named; none for inbound SMS.
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("delivery.id"))
    # Null until the callback's effect is applied (at once for the routes that answer TwiML).
    applied_at: Mapped[datetime | None]


class InboundMessage(HasId, Base):
    """An SMS from a contact that was not a keyword: kept sealed for the liaison (S10)."""

    __tablename__ = "inbound_message"

    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact_person.id"), index=True)
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # The message's SID; "SID:contact id" when the number is shared, so each copy is unique.
    provider_sid: Mapped[str] = mapped_column(String(80), unique=True)
    received_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class TextTrace(HasId, Base):
    """A text to or from a contact that nothing else keeps: her keyword or safe-check answer,
    or our one reply to her. Only its SID, so retention's end can have the provider erase its
    own record, which holds her number and the words (S10; issue 24 item 5).

    A reply's SID is known only once its status callback arrives, under the opaque `code`
    its `<Message action>` carried; until then `sid` is empty."""

    __tablename__ = "text_trace"

    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact_person.id"), index=True)
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    code: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]


class OutboxMessage(HasId, Base):
    """What the console or simulator channel "sent", sealed, for `outreach outbox` and demos."""

    __tablename__ = "outbox_message"

    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("delivery.id"), index=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact_person.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(30))
    script: Mapped[str] = mapped_column(String(60))
    text_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[datetime]


class ProviderErasure(HasId, Base):
    """A purged contact's call or text in the provider's own log, still to be deleted there.

    The purge queues it in the contact's own transaction, so the pointer outlives the rows that
    held it, and `outreach purge` then asks the provider to delete the record (S10). A SID names
    no one by itself; it points into the provider's log, where the number is.
    """

    __tablename__ = "provider_erasure"

    sid: Mapped[str] = mapped_column(String(64), unique=True)
    queued_at: Mapped[datetime]
    tries: Mapped[int] = mapped_column(default=0)
    last_tried_at: Mapped[datetime | None]
    # Why the provider has not deleted it yet: a code and a short reason, never a number.
    last_refusal: Mapped[str | None] = mapped_column(String(80))
