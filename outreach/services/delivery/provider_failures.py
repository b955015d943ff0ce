"""Failures Twilio reported through a fallback URL, kept for the operator (S3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from outreach.services.records.audit import SYSTEM, AuditAction, record


def record_fallback(
    session: Session, *, channel: str, error_code: str, failed_path: str, now: datetime
) -> None:
    """Audit that Twilio could not fetch or run our TwiML and came to the fallback URL."""
    record(
        session,
        now=now,
        actor=SYSTEM,
        action=AuditAction.PROVIDER_FALLBACK,
        object_type="webhook",
        channel=channel,
        error_code=error_code or None,
        failed_path=failed_path or None,
    )
    session.commit()
