"""A program's protocol profile as the engine reads it, and what a contact person allows.

The shapes a `config/protocols/<name>.toml` file becomes once checked (sections.py): the
task rules each event requires, the check-in rhythms, the status updates offered, and the
program's calling hours and buffers (planning.inputs.PlanningRules).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from outreach.domain.planning.inputs import PlanningRules
from outreach.domain.vocabulary import Channel, Consent, EventType, Severity, TaskReason

MIN_ATTEMPTS_FLOOR = 2  # S5
PRIORITY_DUTY_TO_WARN, PRIORITY_IMMEDIATE, PRIORITY_ROUTINE = 0, 1, 2
NO_CADENCE = "none"


@dataclass(frozen=True, slots=True)
class TaskRule:
    """One contact a profile requires after an event."""

    reason: TaskReason
    due_within: timedelta
    immediate: bool
    channels: tuple[Channel, ...]
    fallback_channels: tuple[Channel, ...]
    min_attempts: Mapping[Severity, int]
    consented_only: bool
    # Due this long before the day a dated event is about (a planned discharge), instead of
    # `due_within` after the event; never later than that day, never before the news came.
    due_before: timedelta | None = None


@dataclass(frozen=True, slots=True)
class CadenceChoice:
    """A periodic check-in rhythm: next one opens `every` after the last contact."""

    every: timedelta
    window: timedelta


@dataclass(frozen=True, slots=True)
class Cadence:
    choices: Mapping[str, CadenceChoice]
    default: str | None
    channels: tuple[Channel, ...]
    # Used when she allows none of `channels`: ["sms"] makes her check-in a discreet text
    # where she chose texts over calls (PRODUCT.md "Consented reminders", S13).
    fallback_channels: tuple[Channel, ...] = ()

    def channels_for(self, permissions: Permissions) -> tuple[Channel, ...]:
        """The check-in's channels: the cadence's she allows, else its fallback's (S1)."""
        found = tuple(c for c in self.channels if permissions.allowed(c))
        return found or tuple(c for c in self.fallback_channels if permissions.allowed(c))


@dataclass(frozen=True, slots=True)
class Updates:
    """Status updates a program offers to a contact who asks for them (issue 20 item 8):
    which events of his open one, on which channels, due how soon."""

    on: frozenset[EventType]
    channels: tuple[Channel, ...]
    # Used when she allows none of `channels`: ["sms"] makes the update a discreet text
    # inviting a call, where she chose texts over calls. Never a word about him in a text.
    fallback_channels: tuple[Channel, ...] = ()
    due_within: timedelta = timedelta(days=7)

    def channels_for(self, permissions: Permissions) -> tuple[Channel, ...]:
        """The update's channels: the offer's she allows, else its fallback's (S1)."""
        found = tuple(c for c in self.channels if permissions.allowed(c))
        return found or tuple(c for c in self.fallback_channels if permissions.allowed(c))


@dataclass(frozen=True, slots=True)
class Profile:
    """A program's protocol, typed and checked."""

    key: str
    name: str
    retention_years: int
    language: str
    partner_contact: bool
    attempts: Mapping[Severity, int]
    events: Mapping[EventType, tuple[TaskRule, ...]]
    cadence: Cadence | None
    planning: PlanningRules
    # Consented reminders (PRODUCT.md): one discreet heads-up text before a window in which
    # she may be called, for a contact who consented to texts; a program may turn them off.
    reminders: bool = True
    # seeds/004 (PCADV) item 2: "Informing battered partners of their right to be free of
    # violence and to access legal protections": the intake script's [rights] section is read.
    rights_statement: bool = False
    # seeds/000 (NY OPDV): safety concerns are handled "in conjunction with a victim services
    # program": the referral there (outcome referred_to_victim_services) handles the task.
    victim_services_referral: bool = False
    # Issue 20 item 8: None where the program offers no status updates.
    updates: Updates | None = None

    @property
    def cadence_choices(self) -> tuple[str, ...]:
        """Answer the rhythms a contact person may pick (for validating input)."""
        return (NO_CADENCE, *self.cadence.choices) if self.cadence else (NO_CADENCE,)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A task the engine asks the service layer to open. `script` names the call script."""

    reason: TaskReason
    opens_at: datetime
    due_by: datetime
    immediate: bool
    priority: int
    channels: tuple[Channel, ...]
    min_attempts: int
    requires_mail_permission: bool
    notify_supervisor: bool = False
    consent_override: bool = False

    @property
    def script(self) -> str:
        return self.reason.value


@dataclass(frozen=True, slots=True)
class Permissions:
    """What the contact person allows (S1, S2); not-asked allows only a first call."""

    consent: Consent
    voice: bool = True
    sms: bool = False
    mail: bool = False

    def allowed(self, channel: Channel) -> bool:
        """Tell whether `channel` may be used for an ordinary task."""
        if self.consent is Consent.DECLINED:
            return False
        if channel is Channel.VOICE:
            return self.voice
        granted = self.sms if channel is Channel.SMS else self.mail
        return self.consent is Consent.CONSENTED and granted
