"""The audit log: who did what to which record. Opaque ids only, never contact data (S10)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from outreach.models.base import Base


class AuditEvent(Base):
    __tablename__ = "audit_event"

    # A sequence, not a UUID: the order of events is part of what the log proves.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    program_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("program.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The keyed hash chain (S10): mac = HMAC(audit key, prev_mac || canonical row), in hex.
    # Nullable only for events written before migration 0004; every later event has both.
    prev_mac: Mapped[str | None] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))
