"""Tables only: models never commit (services own transactions)."""

from outreach.models.audit import AuditEvent
from outreach.models.base import Base, UTCDateTime
from outreach.models.contact import ContactKey, ContactPerson, ContactPreferences, OptBackIn
from outreach.models.delivery import (
    Delivery,
    InboundMessage,
    OutboxMessage,
    ProviderErasure,
    TextTrace,
    WebhookEvent,
)
from outreach.models.program import (
    Attendance,
    Group,
    Participant,
    Program,
    ProgramEvent,
    SessionCancellation,
)
from outreach.models.release import CompelledDisclosure, ContactRelease
from outreach.models.task import Attempt, OutreachTask, PlannedWindow, TaskPlan
from outreach.models.user import ApiToken, SignInFailure, User, WebSession, user_program

__all__ = [
    "ApiToken",
    "Attempt",
    "Attendance",
    "AuditEvent",
    "Base",
    "CompelledDisclosure",
    "ContactKey",
    "ContactPerson",
    "ContactPreferences",
    "ContactRelease",
    "Delivery",
    "Group",
    "InboundMessage",
    "OptBackIn",
    "OutboxMessage",
    "OutreachTask",
    "Participant",
    "PlannedWindow",
    "Program",
    "ProgramEvent",
    "ProviderErasure",
    "SessionCancellation",
    "SignInFailure",
    "TaskPlan",
    "TextTrace",
    "UTCDateTime",
    "User",
    "WebSession",
    "WebhookEvent",
    "user_program",
]
