"""Profile sections: each table of a profile file checked and turned into its shape.

Where a profile could break a safety rule, the section refuses it here, at start-up:
at least two attempts (S5), a duty to warn only from its own event (S8), resources only
when he may be the victim (S11), and a letter only with her permission (S1).
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from outreach.domain.planning.inputs import PlanningRules
from outreach.domain.protocols.profile import (
    MIN_ATTEMPTS_FLOOR,
    NO_CADENCE,
    Cadence,
    CadenceChoice,
    Profile,
    TaskRule,
    Updates,
)
from outreach.domain.protocols.toml_values import (
    Invalid,
    KeyPath,
    as_table,
    channels_at,
    clock,
    flag_at,
    known_keys,
    member,
    table_at,
    text_at,
    time_at,
    whole,
    whole_at,
)
from outreach.domain.vocabulary import (
    DATED_EVENTS,
    UPDATE_EVENTS,
    Channel,
    EventType,
    Severity,
    TaskReason,
)


def read_profile(key: str, data: dict[str, Any]) -> Profile:
    """Turn a parsed profile file into a Profile; raise Invalid naming the offending key."""
    return _Reader(key).profile(data)


class _Reader:
    """Turns parsed TOML into a Profile, raising Invalid with the offending key's path."""

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
        known_keys(data, self.TOP, ())
        attempts = self._attempts(data.get("attempts", {}), ("attempts",), complete=True)
        return Profile(
            key=self.key,
            name=text_at(data, "name", ()),
            retention_years=whole_at(data, "retention_years", (), low=1, high=100),
            language=text_at(data, "language", (), default="en"),
            partner_contact=flag_at(data, "partner_contact", (), default=True),
            attempts=attempts,
            events=self._events(table_at(data, "on", ())),
            cadence=self._cadence(data["cadence"]) if "cadence" in data else None,
            planning=self._planning(table_at(data, "planner", ())),
            reminders=flag_at(data, "reminders", (), default=True),
            rights_statement=flag_at(data, "rights_statement", (), default=False),
            victim_services_referral=flag_at(data, "victim_services_referral", (), default=False),
            updates=self._updates(data["updates"]) if "updates" in data else None,
        )

    # --- sections

    def _attempts(self, raw: Any, path: KeyPath, *, complete: bool) -> dict[Severity, int]:
        table = as_table(raw, path)
        known_keys(table, frozenset(s.value for s in Severity), path)
        out: dict[Severity, int] = {}
        for severity in Severity:
            if severity.value in table or complete:
                value = table.get(severity.value, MIN_ATTEMPTS_FLOOR)
                out[severity] = self._attempt_count(value, (*path, severity.value))
        return out

    def _attempt_count(self, value: Any, path: KeyPath) -> int:
        count = whole(value, path, low=1, high=20)
        if count < MIN_ATTEMPTS_FLOOR:
            raise Invalid(
                path, f"S5: a required contact needs at least {MIN_ATTEMPTS_FLOOR} attempts"
            )
        return count

    def _events(self, table: dict[str, Any]) -> dict[EventType, tuple[TaskRule, ...]]:
        events: dict[EventType, tuple[TaskRule, ...]] = {}
        for name, rules in table.items():
            event = member(EventType, name, ("on", name))
            if not isinstance(rules, list):
                raise Invalid(("on", name), f"write the rules for {name} as [[on.{name}]] tables")
            events[event] = tuple(
                self._rule(r, event, ("on", name, i)) for i, r in enumerate(rules)
            )
        return events

    def _rule(self, raw: Any, event: EventType, path: KeyPath) -> TaskRule:
        rule = as_table(raw, path)
        known_keys(rule, self.RULE, path)
        reason = member(TaskReason, text_at(rule, "reason", path), (*path, "reason"))
        self._check_invariants(event, reason, path)
        channels = channels_at(rule, "channels", path, required=True)
        self._check_mail(rule, channels, path)
        due_before = self._due_before(rule, event, path)
        due, immediate = (timedelta(0), False) if due_before else self._deadline(rule, path)
        return TaskRule(
            reason=reason,
            due_within=due,
            immediate=immediate,
            channels=channels,
            fallback_channels=channels_at(rule, "fallback_channels", path, required=False),
            min_attempts=self._attempts(
                rule.get("min_attempts", {}), (*path, "min_attempts"), complete=False
            ),
            consented_only=flag_at(rule, "consented_only", path, default=False),
            due_before=due_before,
        )

    def _due_before(
        self, rule: dict[str, Any], event: EventType, path: KeyPath
    ) -> timedelta | None:
        if "due_before_days" not in rule:
            return None
        if event not in DATED_EVENTS:
            dated = ", ".join(e.value for e in DATED_EVENTS)
            raise Invalid((*path, "due_before_days"), f"due_before_days is only for {dated}")
        if any(k in rule for k in ("due_within_days", "due_within_hours", "immediate")):
            raise Invalid(path, "give due_before_days or a deadline after the event, not both")
        return timedelta(days=whole_at(rule, "due_before_days", path, low=0, high=366))

    def _check_invariants(self, event: EventType, reason: TaskReason, path: KeyPath) -> None:
        expected = {
            EventType.DUTY_TO_WARN: TaskReason.DUTY_TO_WARN,  # S8
            EventType.PARTICIPANT_MAY_BE_VICTIM: TaskReason.RESOURCES_ONLY,  # S11
        }.get(event)
        if expected is not None and reason is not expected:
            raise Invalid((*path, "reason"), f"{event.value} can only create {expected.value}")
        if reason is TaskReason.DUTY_TO_WARN and event is not EventType.DUTY_TO_WARN:
            raise Invalid(
                (*path, "reason"), "duty_to_warn tasks come only from a duty_to_warn event"
            )

    def _check_mail(
        self, rule: dict[str, Any], channels: tuple[Channel, ...], path: KeyPath
    ) -> None:
        needs = flag_at(rule, "requires_mail_permission", path, default=Channel.MAIL in channels)
        if Channel.MAIL in channels and not needs:
            raise Invalid(
                (*path, "requires_mail_permission"),
                "S1: a letter always needs the contact's permission",
            )

    def _deadline(self, rule: dict[str, Any], path: KeyPath) -> tuple[timedelta, bool]:
        given = [k for k in ("due_within_days", "due_within_hours", "immediate") if k in rule]
        if len(given) != 1:
            raise Invalid(
                path, "give exactly one of due_within_days, due_within_hours, immediate = true"
            )
        if given[0] == "immediate":
            if rule["immediate"] is not True:
                raise Invalid((*path, "immediate"), "immediate must be true (or give a deadline)")
            return timedelta(0), True
        unit = "days" if given[0] == "due_within_days" else "hours"
        amount = whole_at(rule, given[0], path, low=0, high=366 if unit == "days" else 24 * 366)
        return timedelta(**{unit: amount}), False

    def _cadence(self, raw: Any) -> Cadence:
        path: KeyPath = ("cadence",)
        table = as_table(raw, path)
        known_keys(table, frozenset({"choices", "default", "channels", "fallback_channels"}), path)
        choices = {
            name: self._choice(value, (*path, "choices", name))
            for name, value in table_at(table, "choices", path).items()
        }
        if not choices or NO_CADENCE in choices:
            raise Invalid(
                (*path, "choices"), f"list at least one rhythm; {NO_CADENCE!r} is built in"
            )
        default = table.get("default")
        if default is not None and default not in choices:
            raise Invalid((*path, "default"), f"default {default!r} is not one of the choices")
        channels = channels_at(table, "channels", path, required=False) or (Channel.VOICE,)
        fallback = channels_at(table, "fallback_channels", path, required=False)
        if Channel.MAIL in fallback:
            raise Invalid((*path, "fallback_channels"), "a check-in falls back to a text or a call")
        return Cadence(choices, default, channels, fallback)

    def _updates(self, raw: Any) -> Updates | None:
        path: KeyPath = ("updates",)
        table = as_table(raw, path)
        known = {"offered", "on", "channels", "fallback_channels", "due_within_days"}
        known_keys(table, frozenset(known), path)
        if not flag_at(table, "offered", path, default=True):
            return None
        on = table.get("on")
        if not isinstance(on, list) or not on:
            raise Invalid((*path, "on"), 'on must list events such as ["absent"]')
        events = frozenset(member(EventType, e, (*path, "on", i)) for i, e in enumerate(on))
        outside = sorted(e.value for e in events - UPDATE_EVENTS)
        if outside:
            allowed = ", ".join(sorted(e.value for e in UPDATE_EVENTS))
            raise Invalid((*path, "on"), f"updates follow only {allowed}; not {', '.join(outside)}")
        channels = channels_at(table, "channels", path, required=False) or (Channel.VOICE,)
        fallback = channels_at(table, "fallback_channels", path, required=False)
        if Channel.MAIL in (*channels, *fallback):
            raise Invalid((*path, "channels"), "an update is a call or a text inviting one")
        due = whole_at(table, "due_within_days", path, low=1, high=90, default=7)
        return Updates(events, channels, fallback, timedelta(days=due))

    def _choice(self, raw: Any, path: KeyPath) -> CadenceChoice:
        table = as_table(raw, path)
        known_keys(table, frozenset({"every_days", "window_days"}), path)
        every = whole_at(table, "every_days", path, low=1, high=366)
        window = whole_at(table, "window_days", path, low=0, high=366, default=0)
        return CadenceChoice(timedelta(days=every), timedelta(days=window))

    def _planning(self, table: dict[str, Any]) -> PlanningRules:
        path: KeyPath = ("planner",)
        known_keys(table, self.PLANNER, path)
        defaults = PlanningRules()
        try:
            return PlanningRules(
                calling_start=time_at(table, "calling_start", path, defaults.calling_start),
                calling_end=time_at(table, "calling_end", path, defaults.calling_end),
                settle_in_minutes=self._minutes(table, "settle_in_minutes", defaults),
                leave_early_minutes=self._minutes(table, "leave_early_minutes", defaults),
                min_window_minutes=self._minutes(table, "min_window_minutes", defaults),
                callback_minutes=self._minutes(table, "callback_minutes", defaults),
                region_hours=self._region_hours(table_at(table, "region_hours", path)),
            )
        except ValueError as exc:
            raise Invalid(path, str(exc)) from None

    def _minutes(self, table: dict[str, Any], key: str, defaults: PlanningRules) -> int:
        default: int = getattr(defaults, key)
        return whole_at(table, key, ("planner",), low=0, high=120, default=default)

    def _region_hours(self, table: dict[str, Any]) -> tuple[tuple[str, time, time], ...]:
        out = []
        for region, hours in table.items():
            path: KeyPath = ("planner", "region_hours", region)
            if not (isinstance(hours, list) and len(hours) == 2):
                raise Invalid(path, 'give hours as ["HH:MM", "HH:MM"]')
            out.append((region, clock(hours[0], path), clock(hours[1], path)))
        return tuple(out)
