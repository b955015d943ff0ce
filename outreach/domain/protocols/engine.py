"""The protocol engine: the tasks an event, a check-in rhythm or a status update requires.

The same engine runs every profile, and the rules in this module hold whatever a profile
says (S1, S5, S8, S11; see the package docstring).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from outreach.domain.protocols.profile import (
    MIN_ATTEMPTS_FLOOR,
    NO_CADENCE,
    PRIORITY_DUTY_TO_WARN,
    PRIORITY_IMMEDIATE,
    PRIORITY_ROUTINE,
    CadenceChoice,
    Permissions,
    Profile,
    TaskRule,
    TaskSpec,
)
from outreach.domain.vocabulary import Channel, Consent, EventType, Severity, TaskReason

_RESOURCES_ONLY_DUE = timedelta(days=7)


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
