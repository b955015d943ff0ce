"""What the planner is told: a task to plan, its contact person, his group and the rules.

Each shape checks itself when built, so the planner never meets a naive time, an unknown
zone or calling hours that end before they start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

from outreach.domain.participation import Timeline
from outreach.domain.planning.group_sessions import GroupSchedule
from outreach.domain.planning.safe_times import SafeTime
from outreach.domain.planning.time_zones import require_aware, zone_of
from outreach.domain.vocabulary import Consent, Severity, TaskReason

# The tasks a termination, completion or leave opened: he is out of group, so group time is
# no safe time for them at all, whatever the date of a session (S4).
EXIT_REASONS = frozenset(
    {
        TaskReason.TERMINATED,
        TaskReason.COMPLETED,
        TaskReason.LEAVE_OF_ABSENCE,
        TaskReason.TERMINATION_LETTER,
        TaskReason.COMPLETION_LETTER,
    }
)


@dataclass(frozen=True, slots=True)
class ContactSchedule:
    """What the planner may know about a contact person: consent, channels, safe times.

    `timezones` are the candidate zones (see `candidate_zones`); a window must fit all.
    `region` (e.g. "FL") selects stricter calling hours from `PlanningRules.region_hours`.
    """

    contact_id: str
    consent: Consent
    voice: bool
    sms: bool
    voicemail: bool
    timezones: tuple[str, ...]
    safe_times: tuple[SafeTime, ...] = ()
    only_during_group: bool = False
    region: str | None = None

    def __post_init__(self) -> None:
        if not self.timezones:
            raise ValueError("a contact needs at least one candidate time zone")
        for name in self.timezones:
            zone_of(name)


@dataclass(frozen=True, slots=True)
class TaskToPlan:
    """An open task; `attendance` maps the group's session date to "participant present?".

    `callback_at` is the time the contact person asked to be called back at, on a call where
    it was not safe to talk (S6), while no later call has kept it
    (`attempt_rules.pending_callback`).
    `timeline` is the participant's status over time (domain/participation.py): a group
    session is proposed only inside a period in which he was active (S4); None means
    nothing is known against it. `opens_at` is when the task was raised.
    """

    task_id: str
    contact_id: str
    reason: TaskReason
    due_by: datetime
    severity: Severity = Severity.ROUTINE
    duty_to_warn: bool = False
    duty_to_warn_confirmed: bool = False
    attempted_sessions: frozenset[tuple[str, date]] = frozenset()
    attendance: Mapping[date, bool] = field(default_factory=dict)
    callback_at: datetime | None = None
    timeline: Timeline | None = None
    opens_at: datetime | None = None
    immediate: bool = False

    def __post_init__(self) -> None:
        require_aware(self.due_by, "due_by")
        if self.opens_at is not None:
            require_aware(self.opens_at, "opens_at")
        if self.callback_at is not None:
            require_aware(self.callback_at, "callback_at")

    @property
    def is_duty_to_warn(self) -> bool:
        return self.duty_to_warn or self.reason is TaskReason.DUTY_TO_WARN

    @property
    def rank(self) -> int:
        """0 duty to warn, 1 an immediate safety concern, 2 routine (S8)."""
        return 0 if self.is_duty_to_warn else 1 if self.immediate else 2

    @property
    def after_exit(self) -> bool:
        """Opened because he left group: a termination, completion or leave (S4)."""
        return self.reason in EXIT_REASONS


@dataclass(frozen=True, slots=True)
class PlanningRules:
    """Calling hours and group buffers; a protocol profile may override them.

    `region_hours` holds stricter hours per state, e.g. (("FL", time(8), time(20)),).
    A contact whose region is unknown gets the strictest of them all: when we cannot
    tell which law applies, the narrowest hours are the safe guess.
    """

    calling_start: time = time(8)
    calling_end: time = time(21)
    settle_in_minutes: int = 15
    leave_early_minutes: int = 15
    min_window_minutes: int = 5
    region_hours: tuple[tuple[str, time, time], ...] = ()
    # How long from the time a contact asked to be called back her window stays open (S6).
    callback_minutes: int = 30

    def __post_init__(self) -> None:
        for _, start, end in ((None, self.calling_start, self.calling_end), *self.region_hours):
            if not start < end:
                raise ValueError("calling hours must start before they end, within one day")
        if min(self.settle_in_minutes, self.leave_early_minutes, self.min_window_minutes) < 0:
            raise ValueError("buffers and minimum window length cannot be negative")
        if self.callback_minutes <= 0:
            raise ValueError("a callback window must last at least a minute")

    def hours_for(self, region: str | None) -> tuple[time, time]:
        """Answer the calling hours that apply to a contact in `region`."""
        applicable = [(s, e) for r, s, e in self.region_hours if region in (None, r)]
        starts = [self.calling_start, *(s for s, _ in applicable)]
        ends = [self.calling_end, *(e for _, e in applicable)]
        return max(starts), min(ends)


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One task to plan, with its contact person, the participant's group and the rules."""

    task: TaskToPlan
    contact: ContactSchedule
    group: GroupSchedule | None
    rules: PlanningRules = PlanningRules()
