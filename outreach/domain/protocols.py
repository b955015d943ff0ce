"""The protocol engine: which contacts a program event requires, by when, how often.

A profile in `config/protocols/<name>.toml` (format: config/protocols/README.md) says
what one program's standard asks for. The same engine runs every profile, and some
rules hold whatever a profile says: a declined contact person gets nothing but a duty to
warn a supervisor confirms (S1); a duty to warn is immediate, top priority, on every
permitted channel (S8); when the participant may be the victim there is one resources-only
contact (S11), except in a no-contact program, which makes nothing but a duty to warn; a
required contact takes at least two attempts (S5).
Voicemail is never a task's business: only the contact's permission and a neutral
script allow one (S3).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

from outreach.domain.planner import PlanningRules
from outreach.domain.vocabulary import (
    DATED_EVENTS,
    UPDATE_EVENTS,
    Channel,
    Consent,
    EventType,
    Severity,
    TaskReason,
)

MIN_ATTEMPTS_FLOOR = 2  # S5
PRIORITY_DUTY_TO_WARN, PRIORITY_IMMEDIATE, PRIORITY_ROUTINE = 0, 1, 2
NO_CADENCE = "none"
_RESOURCES_ONLY_DUE = timedelta(days=7)
_LETTERS = frozenset({TaskReason.COMPLETION_LETTER, TaskReason.TERMINATION_LETTER})
_Path = tuple[str | int, ...]
_E = TypeVar("_E", EventType, TaskReason, Channel)


class ProfileError(ValueError):
    """A protocol profile is malformed; the message names the file, line and reason."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {reason}")
        self.file, self.line, self.reason = file, line, reason


# ---------------------------------------------------------------- the profile


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


# ---------------------------------------------------------------- the engine


def tasks_for_event(
    profile: Profile,
    event: EventType,
    *,
    at: datetime,
    severity: Severity,
    permissions: Permissions,
    supervisor_confirmed: bool = False,
    participant_may_be_victim: bool = False,
    day_begins: datetime | None = None,
) -> list[TaskSpec]:
    """Answer the tasks a program event requires for one contact person.

    `participant_may_be_victim` says the case was already flagged (S11): after its one
    resources-only contact, only a duty to warn creates anything. `day_begins` is when the
    day a dated event is about begins (a planned discharge, DATED_EVENTS), in the program's
    time zone; a rule due before that day needs it.
    """
    _require_aware(at)
    if event is EventType.DUTY_TO_WARN:
        return _duty_to_warn(profile, at, severity, permissions, supervisor_confirmed)
    if permissions.consent is Consent.DECLINED or participant_may_be_victim:
        return []  # S1, S11
    if not profile.partner_contact:
        return []  # a no-contact program: nothing but a duty to warn, not even S11's call
    if event is EventType.PARTICIPANT_MAY_BE_VICTIM:
        # S11: one call to offer resources; none where she turned calls off (S1).
        return [_resources_only(profile, at)] if permissions.allowed(Channel.VOICE) else []
    specs = (
        _spec(rule, profile, at, severity, permissions, day_begins)
        for rule in profile.events.get(event, ())
    )
    return [spec for spec in specs if spec is not None]


def cadence_due(
    profile: Profile,
    *,
    permissions: Permissions,
    cadence_choice: str | None,
    last_contact_at: datetime | None,
    now: datetime,
    participant_may_be_victim: bool = False,
) -> TaskSpec | None:
    """Answer the periodic check-in that is due now, if the contact person wants one."""
    _require_aware(now)
    if permissions.consent is not Consent.CONSENTED or participant_may_be_victim:
        return None  # S1: periodic contact is victim-driven; S11: contact made once
    cadence = profile.cadence
    choice = _cadence_choice(profile, cadence_choice)
    if cadence is None or choice is None:
        return None
    opens_at = now if last_contact_at is None else last_contact_at + choice.every
    if opens_at > now:
        return None
    channels = cadence.channels_for(permissions)
    if not channels:
        return None
    attempts = profile.attempts[Severity.ROUTINE]
    return TaskSpec(
        TaskReason.PERIODIC_CHECK_IN, opens_at, opens_at + choice.window, False,
        PRIORITY_ROUTINE, channels, attempts, Channel.MAIL in channels,
    )  # fmt: skip


def update_due(
    profile: Profile,
    event: EventType,
    *,
    at: datetime,
    permissions: Permissions,
    wants_updates: bool,
    participant_may_be_victim: bool = False,
) -> TaskSpec | None:
    """Answer the status update an event of his opens for one contact, if any (issue 20
    item 8): only where her program offers updates on this event and she asked for them,
    consenting (S1: victim-driven; a declined contact gets nothing), never once he may be
    the victim (S11), and only on a channel she allows."""
    _require_aware(at)
    updates = profile.updates
    if updates is None or event not in updates.on or not wants_updates:
        return None
    if permissions.consent is not Consent.CONSENTED or participant_may_be_victim:
        return None
    if not profile.partner_contact:
        return None
    channels = updates.channels_for(permissions)
    if not channels:
        return None
    return TaskSpec(
        TaskReason.STATUS_UPDATE, at, at + updates.due_within, False, PRIORITY_ROUTINE,
        channels, profile.attempts[Severity.ROUTINE], False,
    )  # fmt: skip


def offers_updates(profile: Profile) -> bool:
    """Tell whether her program offers status updates at all (issue 20 item 8)."""
    return profile.updates is not None and bool(profile.updates.on)


def channels_for(
    profile: Profile, reason: TaskReason, permissions: Permissions
) -> tuple[Channel, ...]:
    """The channels a task for `reason` may use now: the protocol's, narrowed by hers (S1).

    Read again whenever her permissions change, so an open task follows her word both ways.
    """
    if reason is TaskReason.DUTY_TO_WARN:
        return tuple(c for c in (Channel.VOICE, Channel.SMS) if permissions.allowed(c))
    if reason is TaskReason.RESOURCES_ONLY:
        return (Channel.VOICE,) if permissions.allowed(Channel.VOICE) else ()
    if reason is TaskReason.PERIODIC_CHECK_IN and profile.cadence is not None:
        return profile.cadence.channels_for(permissions)
    if reason is TaskReason.STATUS_UPDATE:
        return () if profile.updates is None else profile.updates.channels_for(permissions)
    for rules in profile.events.values():
        for rule in rules:
            if rule.reason is reason:
                found = tuple(c for c in rule.channels if permissions.allowed(c))
                return found or tuple(c for c in rule.fallback_channels if permissions.allowed(c))
    return ()


def wants_check_ins(profile: Profile, chosen: str | None) -> bool:
    """Tell whether her rhythm (or the profile's default, if she chose none yet) asks for
    periodic check-ins (S13)."""
    return _cadence_choice(profile, chosen) is not None


def _cadence_choice(profile: Profile, chosen: str | None) -> CadenceChoice | None:
    if profile.cadence is None or chosen == NO_CADENCE:
        return None
    name = chosen if chosen is not None else profile.cadence.default
    if name is None:
        return None  # the contact has not asked for periodic contact
    if name not in profile.cadence.choices:
        offered = ", ".join(profile.cadence_choices)
        raise ValueError(f"cadence {name!r} is not offered by {profile.key}; choose {offered}")
    return profile.cadence.choices[name]


def _duty_to_warn(
    profile: Profile, at: datetime, severity: Severity, permissions: Permissions, confirmed: bool
) -> list[TaskSpec]:
    if permissions.consent is Consent.DECLINED:
        # S1/S8: the task exists for a declined contact, but it is held (consent_override)
        # until a supervisor confirms it (tasks.confirm_duty_to_warn); `confirmed` only
        # says a confirmation came with the event.
        channels: tuple[Channel, ...] = (Channel.VOICE,)  # a person's call, nothing left behind
    else:
        # S8: every permitted channel that can warn in time; a letter cannot.
        channels = tuple(c for c in (Channel.VOICE, Channel.SMS) if permissions.allowed(c))
    # S1: she refused every channel that can warn: like a decline, only a supervisor's
    # confirmation lets a person's call through (the task is held until then).
    override = permissions.consent is Consent.DECLINED or not channels
    channels = channels or (Channel.VOICE,)
    attempts = max(profile.attempts[severity], profile.attempts[Severity.HIGH])
    return [
        TaskSpec(
            TaskReason.DUTY_TO_WARN, at, at, True, PRIORITY_DUTY_TO_WARN, channels, attempts,
            False, notify_supervisor=True, consent_override=override,
        )
    ]  # fmt: skip


def _resources_only(profile: Profile, at: datetime) -> TaskSpec:
    # S11: one contact, made once, to offer resources; voice only, never a letter.
    rules = profile.events.get(EventType.PARTICIPANT_MAY_BE_VICTIM, ())
    due = rules[0].due_within if rules else _RESOURCES_ONLY_DUE
    immediate = bool(rules) and rules[0].immediate
    priority = PRIORITY_IMMEDIATE if immediate else PRIORITY_ROUTINE
    return TaskSpec(
        TaskReason.RESOURCES_ONLY, at, at + due, immediate, priority, (Channel.VOICE,), 1, False
    )


def _spec(
    rule: TaskRule,
    profile: Profile,
    at: datetime,
    severity: Severity,
    permissions: Permissions,
    day_begins: datetime | None = None,
) -> TaskSpec | None:
    if rule.consented_only and permissions.consent is not Consent.CONSENTED:
        return None
    channels = tuple(c for c in rule.channels if permissions.allowed(c))
    if not channels:
        channels = tuple(c for c in rule.fallback_channels if permissions.allowed(c))
    if not channels:
        return None
    attempts = _min_attempts(rule, profile, severity, channels)
    priority = PRIORITY_IMMEDIATE if rule.immediate else PRIORITY_ROUTINE
    return TaskSpec(
        rule.reason, at, _due_by(rule, at, day_begins), rule.immediate, priority, channels,
        attempts, Channel.MAIL in channels,
    )  # fmt: skip


def _due_by(rule: TaskRule, at: datetime, day_begins: datetime | None) -> datetime:
    if rule.due_before is None:
        return at + rule.due_within
    if day_begins is None:
        raise ValueError(f"{rule.reason.value} is due before a day the event must carry")
    _require_aware(day_begins)
    # seeds/001 (Colorado): "prior to discharge". Due the rule's lead before that day; news
    # that comes later than that makes the contact due at once (the service refuses a day
    # already past, so that is still before it).
    return max(at, day_begins - rule.due_before)


def _min_attempts(
    rule: TaskRule, profile: Profile, severity: Severity, channels: tuple[Channel, ...]
) -> int:
    if channels == (Channel.MAIL,):
        return 1  # a letter is sent once; S5's attempts are about reaching a person
    return max(rule.min_attempts.get(severity, 0), profile.attempts[severity], MIN_ATTEMPTS_FLOOR)


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("times passed to the protocol engine must be timezone-aware")


# ---------------------------------------------------------------- loading


def load_profile(path: Path) -> Profile:
    """Read and check one profile file; raise ProfileError naming file, line and reason."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        raise ProfileError(path.name, line, f"not valid TOML: {exc}") from None
    try:
        return _Reader(path.stem).profile(data)
    except _Invalid as exc:
        raise ProfileError(path.name, _KeyLines(text).line_of(exc.path), exc.reason) from None


def load_profiles(directory: Path) -> dict[str, Profile]:
    """Read every profile in a directory, keyed by file stem."""
    return {path.stem: load_profile(path) for path in sorted(directory.glob("*.toml"))}


def _line_from_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


class _Invalid(Exception):
    def __init__(self, path: _Path, reason: str) -> None:
        super().__init__(reason)
        self.path, self.reason = path, reason


class _Reader:
    """Turns parsed TOML into a Profile, raising _Invalid with the offending key's path."""

    TOP = frozenset(
        [
            "name",
            "retention_years",
            "language",
            "partner_contact",
            "attempts",
            "on",
            "cadence",
            "planner",
            "reminders",
            "rights_statement",
            "victim_services_referral",
            "updates",
        ]
    )
    RULE = frozenset(
        [
            "reason",
            "due_within_days",
            "due_within_hours",
            "due_before_days",
            "immediate",
            "channels",
            "fallback_channels",
            "min_attempts",
            "requires_mail_permission",
            "consented_only",
        ]
    )
    PLANNER = frozenset(
        [
            "calling_start",
            "calling_end",
            "settle_in_minutes",
            "leave_early_minutes",
            "min_window_minutes",
            "callback_minutes",
            "region_hours",
        ]
    )

    def __init__(self, key: str) -> None:
        self.key = key

    def profile(self, data: dict[str, Any]) -> Profile:
        self._known(data, self.TOP, ())
        attempts = self._attempts(data.get("attempts", {}), ("attempts",), complete=True)
        return Profile(
            key=self.key,
            name=self._str(data, "name", ()),
            retention_years=self._int(data, "retention_years", (), low=1, high=100),
            language=self._str(data, "language", (), default="en"),
            partner_contact=self._bool(data, "partner_contact", (), default=True),
            attempts=attempts,
            events=self._events(self._table(data, "on", ())),
            cadence=self._cadence(data["cadence"]) if "cadence" in data else None,
            planning=self._planning(self._table(data, "planner", ())),
            reminders=self._bool(data, "reminders", (), default=True),
            rights_statement=self._bool(data, "rights_statement", (), default=False),
            victim_services_referral=self._bool(
                data, "victim_services_referral", (), default=False
            ),
            updates=self._updates(data["updates"]) if "updates" in data else None,
        )

    # --- sections

    def _attempts(self, raw: Any, path: _Path, *, complete: bool) -> dict[Severity, int]:
        table = self._as_table(raw, path)
        self._known(table, frozenset(s.value for s in Severity), path)
        out: dict[Severity, int] = {}
        for severity in Severity:
            if severity.value in table or complete:
                value = table.get(severity.value, MIN_ATTEMPTS_FLOOR)
                out[severity] = self._attempt_count(value, (*path, severity.value))
        return out

    def _attempt_count(self, value: Any, path: _Path) -> int:
        count = self._int_value(value, path, low=1, high=20)
        if count < MIN_ATTEMPTS_FLOOR:
            raise _Invalid(
                path, f"S5: a required contact needs at least {MIN_ATTEMPTS_FLOOR} attempts"
            )
        return count

    def _events(self, table: dict[str, Any]) -> dict[EventType, tuple[TaskRule, ...]]:
        events: dict[EventType, tuple[TaskRule, ...]] = {}
        for name, rules in table.items():
            event = self._enum(EventType, name, ("on", name))
            if not isinstance(rules, list):
                raise _Invalid(("on", name), f"write the rules for {name} as [[on.{name}]] tables")
            events[event] = tuple(
                self._rule(r, event, ("on", name, i)) for i, r in enumerate(rules)
            )
        return events

    def _rule(self, raw: Any, event: EventType, path: _Path) -> TaskRule:
        rule = self._as_table(raw, path)
        self._known(rule, self.RULE, path)
        reason = self._enum(TaskReason, self._str(rule, "reason", path), (*path, "reason"))
        self._check_invariants(event, reason, path)
        channels = self._channels(rule, "channels", path, required=True)
        self._check_mail(rule, channels, path)
        due_before = self._due_before(rule, event, path)
        due, immediate = (timedelta(0), False) if due_before else self._deadline(rule, path)
        return TaskRule(
            reason=reason,
            due_within=due,
            immediate=immediate,
            channels=channels,
            fallback_channels=self._channels(rule, "fallback_channels", path, required=False),
            min_attempts=self._attempts(
                rule.get("min_attempts", {}), (*path, "min_attempts"), complete=False
            ),
            consented_only=self._bool(rule, "consented_only", path, default=False),
            due_before=due_before,
        )

    def _due_before(self, rule: dict[str, Any], event: EventType, path: _Path) -> timedelta | None:
        if "due_before_days" not in rule:
            return None
        if event not in DATED_EVENTS:
            dated = ", ".join(e.value for e in DATED_EVENTS)
            raise _Invalid((*path, "due_before_days"), f"due_before_days is only for {dated}")
        if any(k in rule for k in ("due_within_days", "due_within_hours", "immediate")):
            raise _Invalid(path, "give due_before_days or a deadline after the event, not both")
        return timedelta(days=self._int(rule, "due_before_days", path, low=0, high=366))

    def _check_invariants(self, event: EventType, reason: TaskReason, path: _Path) -> None:
        expected = {
            EventType.DUTY_TO_WARN: TaskReason.DUTY_TO_WARN,  # S8
            EventType.PARTICIPANT_MAY_BE_VICTIM: TaskReason.RESOURCES_ONLY,  # S11
        }.get(event)
        if expected is not None and reason is not expected:
            raise _Invalid((*path, "reason"), f"{event.value} can only create {expected.value}")
        if reason is TaskReason.DUTY_TO_WARN and event is not EventType.DUTY_TO_WARN:
            raise _Invalid(
                (*path, "reason"), "duty_to_warn tasks come only from a duty_to_warn event"
            )

    def _check_mail(self, rule: dict[str, Any], channels: tuple[Channel, ...], path: _Path) -> None:
        needs = self._bool(rule, "requires_mail_permission", path, default=Channel.MAIL in channels)
        if Channel.MAIL in channels and not needs:
            raise _Invalid(
                (*path, "requires_mail_permission"),
                "S1: a letter always needs the contact's permission",
            )

    def _deadline(self, rule: dict[str, Any], path: _Path) -> tuple[timedelta, bool]:
        given = [k for k in ("due_within_days", "due_within_hours", "immediate") if k in rule]
        if len(given) != 1:
            raise _Invalid(
                path, "give exactly one of due_within_days, due_within_hours, immediate = true"
            )
        if given[0] == "immediate":
            if rule["immediate"] is not True:
                raise _Invalid((*path, "immediate"), "immediate must be true (or give a deadline)")
            return timedelta(0), True
        unit = "days" if given[0] == "due_within_days" else "hours"
        amount = self._int(rule, given[0], path, low=0, high=366 if unit == "days" else 24 * 366)
        return timedelta(**{unit: amount}), False

    def _cadence(self, raw: Any) -> Cadence:
        path: _Path = ("cadence",)
        table = self._as_table(raw, path)
        self._known(table, frozenset({"choices", "default", "channels", "fallback_channels"}), path)
        choices = {
            name: self._choice(value, (*path, "choices", name))
            for name, value in self._table(table, "choices", path).items()
        }
        if not choices or NO_CADENCE in choices:
            raise _Invalid(
                (*path, "choices"), f"list at least one rhythm; {NO_CADENCE!r} is built in"
            )
        default = table.get("default")
        if default is not None and default not in choices:
            raise _Invalid((*path, "default"), f"default {default!r} is not one of the choices")
        channels = self._channels(table, "channels", path, required=False) or (Channel.VOICE,)
        fallback = self._channels(table, "fallback_channels", path, required=False)
        if Channel.MAIL in fallback:
            raise _Invalid(
                (*path, "fallback_channels"), "a check-in falls back to a text or a call"
            )
        return Cadence(choices, default, channels, fallback)

    def _updates(self, raw: Any) -> Updates | None:
        path: _Path = ("updates",)
        table = self._as_table(raw, path)
        known = {"offered", "on", "channels", "fallback_channels", "due_within_days"}
        self._known(table, frozenset(known), path)
        if not self._bool(table, "offered", path, default=True):
            return None
        on = table.get("on")
        if not isinstance(on, list) or not on:
            raise _Invalid((*path, "on"), 'on must list events such as ["absent"]')
        events = frozenset(self._enum(EventType, e, (*path, "on", i)) for i, e in enumerate(on))
        outside = sorted(e.value for e in events - UPDATE_EVENTS)
        if outside:
            allowed = ", ".join(sorted(e.value for e in UPDATE_EVENTS))
            raise _Invalid(
                (*path, "on"), f"updates follow only {allowed}; not {', '.join(outside)}"
            )
        channels = self._channels(table, "channels", path, required=False) or (Channel.VOICE,)
        fallback = self._channels(table, "fallback_channels", path, required=False)
        if Channel.MAIL in (*channels, *fallback):
            raise _Invalid((*path, "channels"), "an update is a call or a text inviting one")
        due = self._int(table, "due_within_days", path, low=1, high=90, default=7)
        return Updates(events, channels, fallback, timedelta(days=due))

    def _choice(self, raw: Any, path: _Path) -> CadenceChoice:
        table = self._as_table(raw, path)
        self._known(table, frozenset({"every_days", "window_days"}), path)
        every = self._int(table, "every_days", path, low=1, high=366)
        window = self._int(table, "window_days", path, low=0, high=366, default=0)
        return CadenceChoice(timedelta(days=every), timedelta(days=window))

    def _planning(self, table: dict[str, Any]) -> PlanningRules:
        path: _Path = ("planner",)
        self._known(table, self.PLANNER, path)
        defaults = PlanningRules()
        try:
            return PlanningRules(
                calling_start=self._time(table, "calling_start", path, defaults.calling_start),
                calling_end=self._time(table, "calling_end", path, defaults.calling_end),
                settle_in_minutes=self._minutes(table, "settle_in_minutes", defaults),
                leave_early_minutes=self._minutes(table, "leave_early_minutes", defaults),
                min_window_minutes=self._minutes(table, "min_window_minutes", defaults),
                callback_minutes=self._minutes(table, "callback_minutes", defaults),
                region_hours=self._region_hours(self._table(table, "region_hours", path)),
            )
        except ValueError as exc:
            raise _Invalid(path, str(exc)) from None

    def _minutes(self, table: dict[str, Any], key: str, defaults: PlanningRules) -> int:
        default: int = getattr(defaults, key)
        return self._int(table, key, ("planner",), low=0, high=120, default=default)

    def _region_hours(self, table: dict[str, Any]) -> tuple[tuple[str, time, time], ...]:
        out = []
        for region, hours in table.items():
            path: _Path = ("planner", "region_hours", region)
            if not (isinstance(hours, list) and len(hours) == 2):
                raise _Invalid(path, 'give hours as ["HH:MM", "HH:MM"]')
            out.append((region, self._clock(hours[0], path), self._clock(hours[1], path)))
        return tuple(out)

    # --- values

    def _known(self, table: dict[str, Any], allowed: frozenset[str], path: _Path) -> None:
        for key in table:
            if key not in allowed:
                raise _Invalid(
                    (*path, key), f"unknown key {key!r} (known: {', '.join(sorted(allowed))})"
                )

    def _table(self, data: dict[str, Any], key: str, path: _Path) -> dict[str, Any]:
        return self._as_table(data.get(key, {}), (*path, key))

    def _as_table(self, value: Any, path: _Path) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _Invalid(path, "expected a table")
        return value

    def _str(self, data: dict[str, Any], key: str, path: _Path, default: str | None = None) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or not value:
            raise _Invalid((*path, key), f"{key} must be a non-empty string")
        return value

    def _bool(self, data: dict[str, Any], key: str, path: _Path, *, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise _Invalid((*path, key), f"{key} must be true or false")
        return value

    def _int(
        self,
        data: dict[str, Any],
        key: str,
        path: _Path,
        *,
        low: int,
        high: int,
        default: int | None = None,
    ) -> int:
        if key not in data and default is None:
            raise _Invalid((*path, key), f"{key} is required")
        return self._int_value(data.get(key, default), (*path, key), low=low, high=high)

    def _int_value(self, value: Any, path: _Path, *, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _Invalid(path, f"{path[-1]} must be a whole number from {low} to {high}")
        return int(value)

    def _enum(self, enum: type[_E], value: Any, path: _Path) -> _E:
        try:
            return enum(value)
        except ValueError:
            known = ", ".join(m.value for m in enum)
            raise _Invalid(path, f"{value!r} is not one of: {known}") from None

    def _channels(
        self, data: dict[str, Any], key: str, path: _Path, *, required: bool
    ) -> tuple[Channel, ...]:
        raw = data.get(key, [] if not required else None)
        if not isinstance(raw, list) or (required and not raw):
            raise _Invalid((*path, key), f'{key} must be a list such as ["voice"]')
        return tuple(self._enum(Channel, c, (*path, key, i)) for i, c in enumerate(raw))

    def _time(self, data: dict[str, Any], key: str, path: _Path, default: time) -> time:
        return self._clock(data[key], (*path, key)) if key in data else default

    def _clock(self, value: Any, path: _Path) -> time:
        if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise _Invalid(path, 'times are written "HH:MM"')
        return time.fromisoformat(value)


class _KeyLines:
    """Finds the line of a key path in TOML text, for error messages.

    A heuristic, not a parser: it tracks [table] and [[array]] headers and `key =`
    lines, which is how every shipped profile is written. An unknown path falls back
    to its nearest known parent.
    """

    HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
    KEY = re.compile(r'^\s*([A-Za-z0-9_."-]+)\s*=')
    INLINE_KEY = re.compile(r"[{,]\s*([A-Za-z0-9_-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.lines: dict[_Path, int] = {}
        table: _Path = ()
        counts: dict[_Path, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            header = self.HEADER.match(line)
            if header:
                table = self._header(header, counts)
                self.lines.setdefault(table, number)
                self.lines.setdefault(table[:-1] if header.group(1) == "[[" else table, number)
                continue
            self._keys(line, table, number)

    def _header(self, match: re.Match[str], counts: dict[_Path, int]) -> _Path:
        path: _Path = tuple(part.strip().strip('"') for part in match.group(2).split("."))
        if match.group(1) == "[[":
            counts[path] = counts.get(path, -1) + 1
            path = (*path, counts[path])
        return path

    def _keys(self, line: str, table: _Path, number: int) -> None:
        key = self.KEY.match(line)
        if not key:
            return
        path = (*table, *(k.strip('"') for k in key.group(1).split(".")))
        self.lines.setdefault(path, number)
        for inline in self.INLINE_KEY.finditer(line):
            self.lines.setdefault((*path, inline.group(1)), number)

    def line_of(self, path: _Path) -> int | None:
        """Answer the line of `path`, or of its nearest parent that has one."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None
