"""Request and answer bodies of /api/v1, defined once: they check what comes in and, through
openapi.py, write the document (issue 23 item 7).

A request model refuses a value its schema does not allow, and allows every value its schema
does; rules that need the database (a program key that exists, a rule the planner can expand,
her program's rhythms, a phone number that dials) stay in the services, and the field's
description says so. Adding a field is one line in its model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from outreach.api.fields import (
    RRULE,
    WEEKDAYS,
    Clock,
    Day,
    Flag,
    Id,
    Instant,
    OneOf,
    Text,
    TimeZone,
    WholeNumber,
)
from outreach.domain.participation import Status as ParticipantStatus
from outreach.domain.planning.windows import SkipReason
from outreach.domain.vocabulary import (
    LANGUAGES,
    STAFF_OUTCOMES,
    AttemptFlag,
    AttendanceStatus,
    Channel,
    Consent,
    EntryPoint,
    EventType,
    Severity,
    WindowKind,
)
from outreach.services.attempts.attempt_log import MAX_REASON
from outreach.services.contact_persons.contacts import MAX_NAME, RELATIONSHIPS
from outreach.services.contact_persons.opt_back_in import MAX_WORDS
from outreach.services.intake.programs import PROTOCOLS_DIR


def _protocols() -> list[str]:
    return sorted(path.stem for path in PROTOCOLS_DIR.glob("*.toml"))


Name = Annotated[str, Text(200)]
ProgramKey = Annotated[str, Text(40, description="a program's key")]
Language = Annotated[str, OneOf.of(LANGUAGES)]
# Left out, the field keeps its value; null is refused, as the services refuse it.
UNSTATED: Any = Field(None)


class Body(BaseModel):
    """A request body: fields it does not name are ignored, as they always were."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Closed(Body):
    """A body whose unknown fields are refused (422 naming them), as the service refuses them."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- programs, groups, participants, attendance, events (no contact data, S7) -------------


class NewProgram(Body):
    key: Annotated[str, Text(40)]
    name: Name
    protocol: Annotated[str, OneOf.of(_protocols(), "a protocol profile in config/protocols/")]
    timezone: TimeZone
    # S12: a Spanish-first program (Caminar Latino on the Georgia profile); without it, the
    # profile's language.
    language: Language | None = None


class NewGroup(Body):
    program: ProgramKey
    name: Name
    timezone: TimeZone
    rrule: Annotated[
        str,
        Text(
            500,
            RRULE,
            "an RFC 5545 rule: weekly on some days, daily, or monthly on the nth weekday."
            " Other rules the planner can expand are accepted too; one that gives no session"
            " in the group's first year is refused (422).",
            accepts="^FREQ=[^\\u0000]*$",
        ),
    ]
    start_time: Clock
    duration_minutes: Annotated[int, WholeNumber(15, 600)]
    starts_on: Day
    ends_on: Day | None = Field(None, description="not before starts_on (422)")


class Cancellation(Body):
    date: Day
    reason: Name


class NewParticipant(Body):
    program: ProgramKey
    group_id: Id | None = None
    reference: Annotated[str, Text(80)]


class Attendance(Body):
    participant_id: Id
    date: Day
    status: Annotated[str, OneOf.of(AttendanceStatus)]
    checked_in_at: Instant | None = None


class ProgramEvent(Body):
    type: Annotated[str, OneOf.of(EventType)]
    at: Instant
    severity: Annotated[str, OneOf.of(Severity)] = "routine"
    # Each dated event's own day: required with its event type, refused with any other, and
    # never past (422; services/intake/event_dates.py says so in words).
    discharge_on: Annotated[Day | None, Field(description="with discharge_planned only")] = None
    report_date: Annotated[Day | None, Field(description="with progress_report_due only")] = None


# --- contacts and her preferences (S1, S3, S12, S13) -------------------------------------


class SafeTime(Body):
    days: Annotated[str, Text(500, WEEKDAYS, "days as MO,TU,WE,TH,FR,SA,SU")]
    start: Clock
    end: Clock = Field(description="after start (422)")


class Preferences(Closed):
    """Her preferences as a new contact states them; unstated ones keep their defaults."""

    consent: Annotated[str, OneOf.of(Consent)] = UNSTATED
    voice: Flag = UNSTATED
    sms: Flag = UNSTATED
    voicemail: Flag = UNSTATED
    mail: Flag = UNSTATED
    safe_times: list[SafeTime] = UNSTATED
    only_during_group: Flag = UNSTATED
    language: Language = UNSTATED
    timezone: TimeZone | None = None
    # S13: one of her program profile's rhythms or "none"; another answers 422 listing them.
    cadence: Annotated[str, Text(40, "^[\\s\\S]+$")] | None = None
    # Issue 20 item 8: she asks for status updates on his attendance and progress; true
    # where her program offers none answers 422 naming `updates`.
    updates: Flag = UNSTATED


class PreferenceChanges(Preferences):
    """A new version of her preferences: only the fields given change."""

    # S1: with consent "consented" for a contact who declined, what she said; the change is
    # then held until a supervisor confirms it (202 with the request's id).
    her_words: Annotated[str, Text(MAX_WORDS)] = UNSTATED


class NewContact(Body):
    participant_id: Id
    name: Annotated[str, Text(MAX_NAME)]
    phone: Annotated[str, Text(40, description="a phone number that can be dialled (422)")]
    relationship: Annotated[str, OneOf.of(RELATIONSHIPS)]
    # S12: unstated, her language is her program's (a Spanish-first program: Spanish).
    language: Language | None = None
    preferences: Preferences = UNSTATED


class MailingAddress(Body):
    # seeds/001 "Massachusetts": the address she named as safe for letters, sealed at rest;
    # its lines parted by line breaks (at most 6 of 80 characters, 422 otherwise).
    mailing_address: Annotated[str, Text(1000, description="her safe address, one line a line")]


# --- tasks and attempts (S5, S14) ---------------------------------------------------------


class NewAttempt(Body):
    channel: Annotated[str, OneOf.of(Channel)]
    at: Instant
    outcome: Annotated[str, OneOf.of(STAFF_OUTCOMES)]
    callback_at: Instant | None = None
    reason: Annotated[str, Text(MAX_REASON)] | None = None


class Closing(Body):
    resolution: Annotated[str, OneOf.of(["completed", "unreachable"])]


# --- answers ------------------------------------------------------------------------------


class Answer(BaseModel):
    """An answer body; these models write the document, the routes build the JSON."""


class Error(Answer):
    error: str
    fields: dict[str, str] = Field(default_factory=dict)


class Created(Answer):
    id: UUID


class EventAnswer(Created):
    # S7: "tasks" only for a caller who may read contacts in the program.
    tasks: list[UUID] = Field(default_factory=list)


class PreferencesAnswer(Answer):
    id: UUID
    version: int
    consent: str
    cadence: str | None = None
    updates: bool = False


class MailingAddressAnswer(Answer):
    id: UUID
    # Whether one is on file; the address itself is never answered.
    mailing_address_on_file: bool


class HeldAnswer(Answer):
    id: UUID
    held: Literal[True]
    request_id: UUID


class ConsentAnswer(Answer):
    id: UUID
    version: int
    consent: str


class Window(Answer):
    task_id: UUID
    contact_id: UUID
    start: datetime
    end: datetime
    kind: Annotated[str, OneOf.of(WindowKind)]
    group_id: str | None = None
    session_date: str | None = None
    participant_present: bool | None


class Task(Answer):
    id: UUID
    contact_id: UUID
    reason: str
    due_by: datetime
    severity: str
    min_attempts: int
    attempts: int
    status: str
    # S13: his real current status from the program events (issue 19); null without a record.
    participant_status: Annotated[str, OneOf.of(ParticipantStatus)] | None
    participant_status_since: str | None = None
    refused: list[Annotated[str, OneOf.of(SkipReason)]] = UNSTATED
    held: bool = False
    windows: list[Window]


class Attempt(Answer):
    id: UUID
    at: datetime
    entered_at: datetime
    # The user who entered it; null when the service logged a call's outcome itself, or for an
    # attempt logged before who entered it was kept (entered_via "unknown").
    entered_by: UUID | None
    entered_via: Annotated[str, OneOf.of(EntryPoint)]
    channel: str
    outcome: str
    corrects: Annotated[UUID, Field(description="the attempt this one corrects")] = UNSTATED
    flags: list[Annotated[str, OneOf.of(AttemptFlag)]]
    reason: str | None = None


class TaskStatus(Answer):
    id: UUID
    status: str


class Confirmed(TaskStatus):
    held: bool
