"""Audit events written in the same transaction as the change or read they describe."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from outreach.models import AuditEvent, ContactPerson, User
from outreach.services.records import audit_chain


class AuditAction(StrEnum):
    USER_CREATED = "user.created"
    TOKEN_ISSUED = "user.token_issued"  # noqa: S105 - an event name, not a secret
    USER_PHONE_SET = "user.phone_set"
    USER_PASSWORD_RESET = "user.password_reset"  # noqa: S105 - an event name, not a secret
    USER_SECOND_FACTOR_RESET = "user.second_factor_reset"
    TOKENS_REVOKED = "user.tokens_revoked"
    TOKEN_REVOKED = "user.token_revoked"  # noqa: S105 - an event name, not a secret
    LOGIN_SUCCEEDED = "auth.login_succeeded"
    LOGIN_FAILED = "auth.login_failed"
    LOGGED_OUT = "auth.logged_out"
    ACCESS_DENIED = "auth.access_denied"
    PROGRAM_CREATED = "program.created"
    CONTACT_CREATED = "contact.created"
    CONTACT_REVEALED = "contact.revealed"
    PREFERENCES_CHANGED = "contact.preferences_changed"
    EVENT_REPORTED = "program.event_reported"
    DUTY_TO_WARN_RAISED = "program.duty_to_warn_raised"
    ATTEMPT_RECORDED = "task.attempt_recorded"
    TASK_CLOSED = "task.closed"
    TASK_RESCHEDULED = "task.rescheduled"
    # Issue 20 item 8: a new event of his recorded on a status update already open for her.
    TASK_EVENT_NOTED = "task.event_noted"
    CONTACT_DECLINED = "contact.declined"
    SMS_REVOKED = "contact.sms_revoked"
    SMS_RESTORED = "contact.sms_restored"
    OPT_BACK_IN_REQUESTED = "contact.opt_back_in_requested"
    OPT_BACK_IN_CONFIRMED = "contact.opt_back_in_confirmed"
    OPT_BACK_IN_READ = "contact.opt_back_in_words_read"
    INBOUND_UNKNOWN = "webhook.inbound_from_unknown_number"
    INBOUND_STORED = "webhook.inbound_message_stored"
    SAFE_CHECK_ANSWERED = "task.safe_check_answered"
    PLAN_VIEWED = "task.plan_viewed"
    DEMO_SEEDED = "system.demo_seeded"
    OUTBOX_READ = "system.outbox_read"
    TASK_ESCALATED = "task.escalated"
    DUTY_TO_WARN_NOTIFIED = "task.duty_to_warn_supervisor_notified"
    DUTY_TO_WARN_CONFIRMED = "task.duty_to_warn_confirmed"
    # S8: the on-call notice queued at the raise, and what became of it.
    ON_CALL_NOTICE_QUEUED = "task.on_call_notice_queued"
    ON_CALL_NOTICE_UNSENT = "task.on_call_notice_unsent"
    ON_CALL_SET = "program.on_call_supervisor_set"
    DUTY_TO_WARN_TARGET_SET = "program.duty_to_warn_target_set"
    TASK_CHANNELS_REDERIVED = "task.channels_rederived"
    TASK_CLAIMED = "task.claimed"
    CALL_OUTSIDE_WINDOW = "task.call_outside_window"
    TASK_SIGNED_OFF = "task.signed_off"
    ATTEMPT_CORRECTED = "task.attempt_corrected"
    TASK_REOPENED = "task.reopened"  # S14: a correction took away the basis of its closure
    ATTEMPTS_EXPORTED = "review.attempts_exported"
    USER_DISABLED = "user.disabled"
    SECOND_FACTOR_ENROLLED = "auth.second_factor_enrolled"
    PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105 - an audit action name, not a secret
    IMPORT_COMPLETED = "system.import_completed"
    KEYS_ROTATED = "system.keys_rotated"
    BACKUP_CHECKED = "system.backup_checked"
    CONTACT_PURGED = "contact.purged"
    PROVIDER_RECORDS_ERASED = "system.provider_records_erased"
    PROVIDER_FALLBACK = "system.provider_fallback"
    RELEASE_GRANTED = "release.granted"
    RELEASE_REVOKED = "release.revoked"
    RELEASES_READ = "release.read"
    INFORMATION_SHARED = "release.information_shared"
    SHARE_REFUSED = "release.share_refused"
    DISCLOSURE_RECORDED = "release.compelled_disclosure_recorded"
    DISCLOSURES_READ = "release.compelled_disclosures_read"
    DISCLOSURE_DANGER_CONFIRMED = "release.disclosure_danger_confirmed"


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff user, or the system itself (scheduler, webhooks, CLI)."""

    user_id: uuid.UUID | None
    role: str
    program_ids: frozenset[uuid.UUID] = frozenset()

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.role, frozenset(p.id for p in user.programs))


# The system acts for every program: the scheduler, webhooks, imports and the demo seed.
SYSTEM = Actor(None, "system")


def record(
    session: Session,
    *,
    now: datetime,
    actor: Actor,
    action: AuditAction,
    object_type: str | None = None,
    object_id: uuid.UUID | str | None = None,
    program_id: uuid.UUID | None = None,
    **detail: str | int | bool | None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction. Pass opaque ids only, never contact data.

    The event is chained to the one before it (S10) as the transaction commits, after every
    other write of the transaction: the chain's append lock is the last lock a transaction
    takes and is held for the append alone (docs/architecture.md, "Lock order"). Without an
    audit key on the session this raises AuditKeyMissing at once and the caller's transaction
    must not go on: a read of contact data that cannot be audited is not made (ASVS 16.5.3).
    """
    audit_chain.audit_key_of(session)
    # The rows the event names go in now, as they always have (callers set foreign keys to
    # them next); only the audit row itself waits for the commit.
    session.flush()
    event = AuditEvent(
        at=now,
        actor_id=actor.user_id,
        actor_role=actor.role,
        action=str(action),
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        program_id=program_id,
        detail=dict(detail),
    )
    audit_chain.canonical(event, seq=0)  # a naive time is refused now, not at commit
    audit_chain.append_at_commit(session, event)
    return event


def record_reveal(
    session: Session, *, actor: Actor, contact: ContactPerson, purpose: str, now: datetime
) -> AuditEvent:
    """Every opening of her sealed name, number or address leaves one row saying who opened it
    and why (S10), in the caller's transaction: a read that cannot be audited is not made."""
    return record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.CONTACT_REVEALED,
        object_type="contact",
        object_id=contact.id,
        program_id=contact.program_id,
        purpose=purpose,
    )
