"""Tables only: models never commit (services own transactions)."""

from outreach.models.audit import AuditEvent
from outreach.models.base import Base, UTCDateTime
from outreach.models.contact import ContactKey, ContactPerson, ContactPreferences
from outreach.models.delivery import Delivery, InboundMessage, OutboxMessage, WebhookEvent
from outreach.models.program import (
    Attendance,
    Group,
    Participant,
    Program,
    ProgramEvent,
    SessionCancellation,
)
from outreach.models.task import Attempt, OutreachTask
from outreach.models.user import ApiToken, User, WebSession, user_program

__all__ = [
    "ApiToken",
    "Attempt",
    "Attendance",
    "AuditEvent",
    "Base",
    "ContactKey",
    "ContactPerson",
    "ContactPreferences",
    "Delivery",
    "Group",
    "InboundMessage",
    "OutboxMessage",
    "OutreachTask",
    "Participant",
    "Program",
    "ProgramEvent",
    "SessionCancellation",
    "UTCDateTime",
    "User",
    "WebSession",
    "WebhookEvent",
    "user_program",
]
