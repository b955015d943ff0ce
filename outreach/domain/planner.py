"""The call-window planner: when is it safe to call a contact person about a task (S4).

Pure: no clock, no database. Every instant is timezone-aware and every answer is in UTC.
A window is proposed only where it is inside calling hours in *every* candidate time zone
of the contact person, and either inside a group session the participant is (as far as
we know) attending, minus settle-in and leave-early buffers, or inside a time the contact
person named as safe. Whatever is left out for a reason a liaison should see is reported
as `Skipped`, so the UI can say "participant not in group" rather than stay silent.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from dateutil import rrule as rr
from phonenumbers import timezone as phone_timezone

from outreach.domain.intervals import (
    Interval,
    intersect_normalised,
    merge,
    subtract_normalised,
)
from outreach.domain.participation import StatusAt, Timeline
from outreach.domain.vocabulary import Consent, Severity, TaskReason, WindowKind

DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_MAX_SESSION_MINUTES = 12 * 60
_MAX_HORIZON_DAYS = 366
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
_ALLOWED_FREQS = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
_FORBIDDEN_RULE_PARTS = {"DTSTART", "BYHOUR", "BYMINUTE", "BYSECOND"}
_Hours = tuple[time, time]
_Indexed = tuple[list[Interval], list[datetime]]  # a normalised list and its starts, for bisect


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class GroupSchedule:
    """When a participant's group meets, as local wall-clock times in the group's zone."""

    group_id: str
    timezone: str
    rrule: str
    start_time: time
    duration_minutes: int
    starts_on: date
    ends_on: date | None = None
    cancelled: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        zone_of(self.timezone)
        if self.start_time.tzinfo is not None:
            raise ValueError("a group's start_time is a local wall-clock time, without a zone")
        if not 0 < self.duration_minutes <= _MAX_SESSION_MINUTES:
            raise ValueError(f"duration_minutes must be 1..{_MAX_SESSION_MINUTES}")
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("a group cannot end before it starts")
        _rule(self.rrule, datetime.combine(self.starts_on, self.start_time))


@dataclass(frozen=True, slots=True)
class SafeTime:
    """A weekly time the contact person named as safe, in their local time.

    `days` are weekdays, 0 = Monday; an `end` at or before `start` runs past midnight.
    """

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(7)):
            raise ValueError("safe-time days must be weekdays 0 (Monday) to 6 (Sunday)")
        if self.start == self.end:
            raise ValueError("a safe time must not start and end at the same time")

    @classmethod
    def parse(cls, days: str, start: str, end: str) -> SafeTime:
        """Build from the API shape: days "MO,TU", times "HH:MM"."""
        codes = [code.strip().upper() for code in days.split(",") if code.strip()]
        unknown = [code for code in codes if code not in DAY_CODES]
        if unknown or not codes:
            raise ValueError(f"days must be a list of {','.join(DAY_CODES)}")
        indexes = frozenset(DAY_CODES.index(code) for code in codes)
        return cls(indexes, time.fromisoformat(start), time.fromisoformat(end))


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
        _require_aware(self.due_by, "due_by")
        if self.opens_at is not None:
            _require_aware(self.opens_at, "opens_at")
        if self.callback_at is not None:
            _require_aware(self.callback_at, "callback_at")

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


# ---------------------------------------------------------------- outputs


class SkipReason(StrEnum):
    """Why the planner proposed nothing for a task or for one session of it."""

    CONTACT_DECLINED = "contact_declined"
    VOICE_NOT_PERMITTED = "voice_not_permitted"
    PARTICIPANT_NOT_IN_GROUP = "participant_not_in_group"
    # S4: not enrolled yet, or completed, terminated, rejected or on leave at that session.
    PARTICIPANT_NOT_ACTIVE = "participant_not_active"
    # S4: a task his exit opened never uses group time; only the times she named.
    GROUP_TIME_AFTER_EXIT = "group_time_after_exit"
    SESSION_CANCELLED = "session_cancelled"
    ALREADY_ATTEMPTED = "already_attempted"
    OUTSIDE_CALLING_HOURS = "outside_calling_hours"
    OUTSIDE_SAFE_TIMES = "outside_safe_times"


class CallWindow(NamedTuple):
    """A span in which a liaison may call the contact person about a task.

    An immutable named tuple rather than a dataclass: the planner makes one per
    session per contact, and a tuple is six times cheaper to build.
    """

    task_id: str
    contact_id: str
    start: datetime
    end: datetime
    kind: WindowKind
    group_id: str | None = None
    session_date: date | None = None
    participant_present: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """Answer the INTERFACES.md window shape; optional keys only when they apply."""
        out: dict[str, Any] = {
            "task_id": self.task_id,
            "contact_id": self.contact_id,
            "start": self.start.astimezone(UTC).isoformat(),
            "end": self.end.astimezone(UTC).isoformat(),
            "kind": self.kind.value,
        }
        if self.group_id is not None:
            out["group_id"] = self.group_id
        if self.session_date is not None:
            out["session_date"] = self.session_date.isoformat()
        out["participant_present"] = self.participant_present
        return out


class Skipped(NamedTuple):
    """Something the planner left out on purpose, so the UI can say why."""

    task_id: str
    contact_id: str
    reason: SkipReason
    group_id: str | None = None
    session_date: date | None = None

    def to_json(self) -> dict[str, Any]:
        """Answer a JSON-ready dict."""
        return {
            "task_id": self.task_id,
            "contact_id": self.contact_id,
            "reason": self.reason.value,
            "group_id": self.group_id,
            "session_date": self.session_date.isoformat() if self.session_date else None,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """Ranked call windows, and what was left out and why."""

    windows: tuple[CallWindow, ...]
    skipped: tuple[Skipped, ...]
    # Each planned task's participant status at the planning instant, where it is known.
    statuses: Mapping[str, StatusAt] = field(default_factory=dict)


class Session(NamedTuple):
    """One occurrence of a group, in UTC, dated by the group's local calendar."""

    group_id: str
    session_date: date
    start: datetime
    end: datetime
    cancelled: bool


# ---------------------------------------------------------------- public functions


def plan_task(
    task: TaskToPlan,
    group: GroupSchedule | None,
    contact: ContactSchedule,
    rules: PlanningRules,
    *,
    now: datetime,
    horizon_days: int,
) -> Plan:
    """Plan the call windows of one task."""
    return plan([PlanItem(task, contact, group, rules)], now=now, horizon_days=horizon_days)


def plan(items: Iterable[PlanItem], *, now: datetime, horizon_days: int) -> Plan:
    """Plan many tasks, sharing each group's occurrences, and rank the windows.

    Ranking: duty to warn first, then immediate safety concerns (S8), then the earliest
    deadline, then group time with the
    participant confirmed present, then the earliest start.
    """
    planner = _Planner(now, horizon_days)
    buckets: dict[tuple[int, datetime], list[CallWindow]] = {}
    skipped: list[Skipped] = []
    statuses: dict[str, StatusAt] = {}
    for item in items:
        task = item.task
        bucket = buckets.setdefault((task.rank, task.due_by), [])
        planner.plan_item(item, bucket, skipped)
        if task.timeline is not None:
            statuses[task.task_id] = task.timeline.status_at(planner.now)
    # Windows of tasks with different deadlines never interleave, so rank the few
    # deadlines first and sort only within each: far cheaper than one big sort.
    windows: list[CallWindow] = []
    for key in sorted(buckets):
        windows.extend(sorted(buckets[key], key=_rank_within_deadline))
    return Plan(tuple(windows), tuple(skipped), statuses)


def group_sessions(group: GroupSchedule, *, start: datetime, end: datetime) -> list[Session]:
    """Answer the group's sessions (cancelled ones flagged) that overlap [start, end)."""
    _require_aware(start, "start")
    zone = zone_of(group.timezone)
    first = start.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    last = end.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    sessions = []
    for local in _occurrences(group, first, last):
        session = _session(group, zone, local)
        if session.start < end and session.end > start:
            sessions.append(session)
    return sessions


def candidate_zones(
    stated_tz: str | None, phone_e164: str | None, program_tz: str
) -> tuple[str, ...]:
    """Answer the zones the contact person may be in: stated, else by phone, else program.

    When the number could be in several zones, all are answered and a window must fit
    every one of them: a wrong guess could ring at night.
    """
    if stated_tz:
        zone_of(stated_tz)
        return (stated_tz,)
    by_phone = _zones_for_phone(phone_e164) if phone_e164 else ()
    if by_phone:
        return by_phone
    zone_of(program_tz)
    return (program_tz,)


def zone_of(name: str) -> ZoneInfo:
    """Load a time zone by IANA name, or raise ValueError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


# ---------------------------------------------------------------- the planner


class _Planner:
    """Plans items against one `now` and horizon, caching what contacts share."""

    def __init__(self, now: datetime, horizon_days: int) -> None:
        _require_aware(now, "now")
        if not 0 < horizon_days <= _MAX_HORIZON_DAYS:
            raise ValueError(f"horizon_days must be 1..{_MAX_HORIZON_DAYS}")
        self.now = now.astimezone(UTC)
        self.end = self.now + timedelta(days=horizon_days)
        self._calling: dict[tuple[Any, ...], _Indexed] = {}
        self._safe: dict[tuple[Any, ...], _Indexed] = {}
        self._sessions: dict[tuple[Any, ...], list[tuple[Session, list[Interval]]]] = {}
        self._busy: dict[GroupSchedule, list[Interval]] = {}
        self._occurring: dict[GroupSchedule, list[Session]] = {}

    def plan_item(self, item: PlanItem, windows: list[CallWindow], skipped: list[Skipped]) -> None:
        task, contact = item.task, item.contact
        refusal = _refusal(task, contact)
        hours = item.rules.hours_for(contact.region)
        if refusal is not None:
            skipped.append(Skipped(task.task_id, contact.contact_id, refusal))
        elif task.is_duty_to_warn:
            self._duty_to_warn(item, hours, windows, skipped)
        elif task.immediate and not contact.only_during_group:
            self._immediate(item, hours, windows)
            self._callback_window(item, hours, windows, skipped)
        else:
            self._group_windows(item, hours, windows, skipped)
            self._preferred_windows(item, hours, windows)
            self._callback_window(item, hours, windows, skipped)

    def _duty_to_warn(
        self, item: PlanItem, hours: _Hours, windows: list[CallWindow], skipped: list[Skipped]
    ) -> None:
        # S8: callable at once at any hour, from the moment it is raised until the task is
        # done: calling hours govern routine outreach, not an emergency warning.
        task, contact = item.task, item.contact
        start = max(self.now, task.opens_at.astimezone(UTC)) if task.opens_at else self.now
        if start < self.end:
            windows.append(
                CallWindow(
                    task.task_id, contact.contact_id, start, self.end, WindowKind.DUTY_TO_WARN
                )
            )

    def _immediate(self, item: PlanItem, hours: _Hours, windows: list[CallWindow]) -> None:
        """S8 (amended): an immediate safety concern is callable at once, not at the next group
        session: from the moment it is raised, inside calling hours in every zone she may be
        in, and inside the times she named as safe when she named any. A contact who wants
        group time only keeps it (plan_item): then he must be in a session."""
        task, contact = item.task, item.contact
        start = max(self.now, task.opens_at.astimezone(UTC)) if task.opens_at else self.now
        if contact.safe_times:
            spans, starts = self._safe_times(contact, hours)
        else:
            spans, starts = self._calling_for(contact.timezones, hours)
        min_length = timedelta(minutes=item.rules.min_window_minutes)
        kind = WindowKind.IMMEDIATE
        for lo, hi in (
            _within([Interval(start, self.end)], spans, starts) if start < self.end else []
        ):
            if hi - lo >= min_length:
                windows.append(CallWindow(task.task_id, contact.contact_id, lo, hi, kind))

    def _group_windows(
        self, item: PlanItem, hours: _Hours, windows: list[CallWindow], skipped: list[Skipped]
    ) -> None:
        if item.group is None:
            return
        task, contact = item.task, item.contact
        if task.after_exit:
            exit_ = SkipReason.GROUP_TIME_AFTER_EXIT  # S4: he may be at home at group time
            skipped.append(Skipped(task.task_id, contact.contact_id, exit_, item.group.group_id))
            return
        safe = self._safe_times(contact, hours) if contact.safe_times else None
        min_length = timedelta(minutes=item.rules.min_window_minutes)
        for session, pieces in self._session_pieces(item, hours):
            reason = _session_refusal(task, session)
            if reason is None and not pieces:
                reason = SkipReason.OUTSIDE_CALLING_HOURS
            if reason is None and safe is not None:
                # S4: group time counts only where it is also a time the contact named.
                pieces = _within(pieces, *safe)
                reason = None if pieces else SkipReason.OUTSIDE_SAFE_TIMES
            if reason is not None:
                skipped.append(_skip(task, contact, reason, session))
                continue
            present = task.attendance.get(session.session_date)
            for start, end in pieces:
                if end - start >= min_length:
                    windows.append(_group_window(task, contact, session, start, end, present))

    def _preferred_windows(self, item: PlanItem, hours: _Hours, windows: list[CallWindow]) -> None:
        contact = item.contact
        if not contact.safe_times or contact.only_during_group:
            return  # S4: outside group only where the contact named the time as safe
        free, _ = self._safe_times(contact, hours)
        if item.group is not None:
            # Every session, cancelled or missed ones too, is the group's business:
            # its time is proposed (or refused) as group time, never as "preferred".
            free = subtract_normalised(free, self._group_busy(item.group))
        min_length = timedelta(minutes=item.rules.min_window_minutes)
        task_id, kind = item.task.task_id, WindowKind.PREFERRED
        for start, end in free:
            if end - start >= min_length:
                windows.append(CallWindow(task_id, contact.contact_id, start, end, kind))

    def _callback_window(
        self, item: PlanItem, hours: _Hours, windows: list[CallWindow], skipped: list[Skipped]
    ) -> None:
        """S6: the time she asked to be called back at is a time she named as safe, so it is
        proposed as one, whatever her standing safe times say: her latest word on it. Calling
        hours still bind, and a session of his that is cancelled or that he missed refuses it,
        since she may have chosen the hour because he would be in group."""
        task, contact = item.task, item.contact
        if task.callback_at is None:
            return
        start = task.callback_at.astimezone(UTC)
        asked = Interval(start, start + timedelta(minutes=item.rules.callback_minutes))
        if asked.end <= self.now or asked.start >= self.end:
            return  # kept by no call and now past: the task page shows when she asked
        reason = self._callback_refusal(item, asked)
        pieces: list[Interval] = []
        if reason is None:
            ahead = [Interval(max(asked.start, self.now), asked.end)]
            pieces = _within(ahead, *self._calling_for(contact.timezones, hours))
            reason = None if pieces else SkipReason.OUTSIDE_CALLING_HOURS
        if reason is not None:
            skipped.append(Skipped(task.task_id, contact.contact_id, reason))
            return
        min_length = timedelta(minutes=item.rules.min_window_minutes)
        kind = WindowKind.PREFERRED
        for lo, hi in pieces:
            if hi - lo >= min_length:
                windows.append(CallWindow(task.task_id, contact.contact_id, lo, hi, kind))

    def _callback_refusal(self, item: PlanItem, asked: Interval) -> SkipReason | None:
        if item.group is None:
            return None
        for session in self._group_sessions(item.group):
            if session.start < asked.end and session.end > asked.start:
                if session.cancelled:
                    return SkipReason.SESSION_CANCELLED  # S4
                if item.task.attendance.get(session.session_date) is False:
                    return SkipReason.PARTICIPANT_NOT_IN_GROUP  # S4: he may be at home
        return None

    # --- shared, cached pieces

    def _calling_for(self, zones: tuple[str, ...], hours: _Hours) -> _Indexed:
        key = (zones, hours)
        if key not in self._calling:
            calling = _calling_hours(zones, hours, self.now, self.end - self.now)
            self._calling[key] = (calling, [i.start for i in calling])
        return self._calling[key]

    def _safe_times(self, contact: ContactSchedule, hours: _Hours) -> _Indexed:
        """Answer the contact's named safe times within calling hours, and their starts."""
        key = (contact.safe_times, contact.timezones, hours)
        if key not in self._safe:
            safe = _safe_intervals(*key, self.now, self.end)
            self._safe[key] = (safe, [i.start for i in safe])
        return self._safe[key]

    def _session_pieces(
        self, item: PlanItem, hours: _Hours
    ) -> list[tuple[Session, list[Interval]]]:
        """Answer each session's time inside calling hours, shared by same-zone contacts."""
        assert item.group is not None
        rules, zones = item.rules, item.contact.timezones
        key = (item.group, rules.settle_in_minutes, rules.leave_early_minutes, zones, hours)
        if key not in self._sessions:
            calling = self._calling_for(zones, hours)
            inner = [
                (s, _inner(s, rules, self.now, self.end)) for s in self._group_sessions(item.group)
            ]
            self._sessions[key] = [(s, _within(i, *calling) if i else []) for s, i in inner]
        return self._sessions[key]

    def _group_busy(self, group: GroupSchedule) -> list[Interval]:
        if group not in self._busy:
            sessions = self._group_sessions(group)
            self._busy[group] = merge(Interval(s.start, s.end) for s in sessions)
        return self._busy[group]

    def _group_sessions(self, group: GroupSchedule) -> list[Session]:
        # Expanded once per group and shared by all its participants' contacts.
        if group not in self._occurring:
            self._occurring[group] = group_sessions(group, start=self.now, end=self.end)
        return self._occurring[group]


# ---------------------------------------------------------------- helpers


def _refusal(task: TaskToPlan, contact: ContactSchedule) -> SkipReason | None:
    confirmed = task.is_duty_to_warn and task.duty_to_warn_confirmed
    if contact.consent is Consent.DECLINED and not confirmed:
        return SkipReason.CONTACT_DECLINED  # S1: only a supervisor-confirmed duty to warn
    if not contact.voice and not confirmed:  # S1/S8: a confirmed warning is a person's call
        return SkipReason.VOICE_NOT_PERMITTED  # windows are for calls; other channels plan none
    return None


def _session_refusal(task: TaskToPlan, session: Session) -> SkipReason | None:
    if session.cancelled:
        return SkipReason.SESSION_CANCELLED  # S4
    if task.timeline is not None and not task.timeline.covers(session.start, session.end):
        return SkipReason.PARTICIPANT_NOT_ACTIVE  # S4: before enrolment, after exit, on leave
    if task.attendance.get(session.session_date) is False:
        return SkipReason.PARTICIPANT_NOT_IN_GROUP  # S4: he may be at home
    if (session.group_id, session.session_date) in task.attempted_sessions:
        return SkipReason.ALREADY_ATTEMPTED  # S5: attempts in different windows
    return None


def _skip(task: TaskToPlan, contact: ContactSchedule, reason: SkipReason, s: Session) -> Skipped:
    return Skipped(task.task_id, contact.contact_id, reason, s.group_id, s.session_date)


def _group_window(
    task: TaskToPlan,
    contact: ContactSchedule,
    session: Session,
    start: datetime,
    end: datetime,
    present: bool | None,
) -> CallWindow:
    return CallWindow(
        task.task_id,
        contact.contact_id,
        start,
        end,
        WindowKind.GROUP,
        session.group_id,
        session.session_date,
        present,
    )


def _rank_within_deadline(window: CallWindow) -> tuple[bool, datetime, str]:
    return (window.participant_present is not True, window.start, window.task_id)


def _inner(session: Session, rules: PlanningRules, lo: datetime, hi: datetime) -> list[Interval]:
    # The participant is not reliably in the room at the very start or end of group.
    start = max(session.start + timedelta(minutes=rules.settle_in_minutes), lo)
    end = min(session.end - timedelta(minutes=rules.leave_early_minutes), hi)
    return [Interval(start, end)] if start < end else []


def _within(pieces: list[Interval], safe: list[Interval], starts: list[datetime]) -> list[Interval]:
    """Intersect a few pieces with a long normalised list, looking only where they are."""
    if len(pieces) == 1:
        return _within_one(pieces[0], safe, starts)
    first = max(bisect_right(starts, pieces[0].start) - 1, 0)
    last = bisect_right(starts, pieces[-1].end)
    return intersect_normalised(pieces, safe[first:last])


def _within_one(piece: Interval, safe: list[Interval], starts: list[datetime]) -> list[Interval]:
    out = []
    for index in range(max(bisect_right(starts, piece.start) - 1, 0), len(safe)):
        start, end = safe[index]
        if start >= piece.end:
            break
        start, end = max(start, piece.start), min(end, piece.end)
        if start < end:
            out.append(Interval(start, end))
    return out


def _calling_hours(
    zones: tuple[str, ...], hours: tuple[time, time], lo: datetime, length: timedelta
) -> list[Interval]:
    every_day = frozenset(range(7))
    return _in_every_zone(zones, ((every_day, *hours),), lo, lo + length)


def _safe_intervals(
    safe_times: tuple[SafeTime, ...],
    zones: tuple[str, ...],
    hours: tuple[time, time],
    lo: datetime,
    hi: datetime,
) -> list[Interval]:
    # Calling hours and safe times are both local to the same zone, so clip them
    # there, by the clock, before going to UTC: far cheaper than intersecting in UTC.
    spans = [span for t in safe_times for span in _clip_to_hours(t, hours)]
    return _in_every_zone(zones, spans, lo, hi)


def _clip_to_hours(
    safe: SafeTime, hours: tuple[time, time]
) -> list[tuple[frozenset[int], time, time]]:
    """Answer the parts of a weekly safe time inside daily calling hours, by weekday."""
    open_, close = hours
    if safe.start < safe.end:
        parts = [(safe.days, safe.start, safe.end)]
    else:  # runs past midnight: the evening of its days, the morning of the next
        next_days = frozenset((day + 1) % 7 for day in safe.days)
        parts = [(safe.days, safe.start, time.max), (next_days, time.min, safe.end)]
    clipped = [(days, max(start, open_), min(end, close)) for days, start, end in parts]
    return [(days, start, end) for days, start, end in clipped if start < end]


def _in_every_zone(
    zones: tuple[str, ...],
    spans: Iterable[tuple[frozenset[int], time, time]],
    lo: datetime,
    hi: datetime,
) -> list[Interval]:
    """Answer, in UTC, the instants inside one of the local `spans` in every zone."""
    spans = tuple(spans)
    result: list[Interval] | None = None
    for name in zones:
        local = [i for days, s, e in spans for i in _daily(name, days, s, e, lo, hi)]
        if len(spans) > 1:
            local = merge(local)  # one daily span is already sorted and disjoint
        result = local if result is None else intersect_normalised(result, local)
    return result or []


def _daily(
    name: str, days: frozenset[int], start: time, end: time, lo: datetime, hi: datetime
) -> list[Interval]:
    """Expand a local daily span (start < end) on `days` into UTC, within [lo, hi)."""
    return [span for weekday, span in _every_day(name, start, end, lo, hi) if weekday in days]


@lru_cache(maxsize=4096)
def _every_day(
    name: str, start: time, end: time, lo: datetime, hi: datetime
) -> tuple[tuple[int, Interval], ...]:
    # Contacts name the same few hours, so one expansion per zone and span serves many.
    zone = zone_of(name)
    first = lo.astimezone(zone).date() - timedelta(days=1)
    count = (hi.astimezone(zone).date() - first).days + 1
    spans = []
    for day in (first + timedelta(days=offset) for offset in range(count)):
        utc_start = max(_utc(datetime.combine(day, start), zone, later=True), lo)
        utc_end = min(_utc(datetime.combine(day, end), zone, later=False), hi)
        if utc_start < utc_end:
            spans.append((day.weekday(), Interval(utc_start, utc_end)))
    return tuple(spans)


def _utc(local: datetime, zone: ZoneInfo, *, later: bool) -> datetime:
    """Convert a wall-clock time to UTC, erring inward at a DST gap or fold.

    A time that happens twice (fall back) or never (spring forward) has two readings;
    the later one for a start and the earlier one for an end keep a span inside the
    times the contact person meant.
    """
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return max(first, second) if later else min(first, second)


def _session(group: GroupSchedule, zone: ZoneInfo, local: datetime) -> Session:
    start = _utc(local, zone, later=True)
    end = start + timedelta(minutes=group.duration_minutes)
    cancelled = local.date() in group.cancelled
    return Session(group.group_id, local.date(), start, end, cancelled)


def _occurrences(group: GroupSchedule, first: datetime, last: datetime) -> list[datetime]:
    dtstart = datetime.combine(group.starts_on, group.start_time)
    if group.ends_on is not None:
        last = min(last, datetime.combine(group.ends_on, time.max))
    if last < first:
        return []
    return _rule(group.rrule, dtstart).between(first, last, inc=True)


def group_rule(text: str, dtstart: datetime) -> rr.rrule:
    """Read a group's rule exactly as the planner expands it, or raise ValueError."""
    return _rule(text, dtstart)


@lru_cache(maxsize=4096)
def _rule(text: str, dtstart: datetime) -> rr.rrule:
    """Parse an RFC 5545 rule anchored at a naive local start (so DST keeps wall time)."""
    body = text.strip().removeprefix("RRULE:")
    parts = dict(_rule_part(p) for p in body.split(";") if p)
    if parts.get("FREQ") not in _ALLOWED_FREQS:
        raise ValueError("rrule FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
    if _FORBIDDEN_RULE_PARTS & parts.keys():
        raise ValueError("rrule must not set DTSTART, BYHOUR, BYMINUTE or BYSECOND")
    # dateutil never moves past dtstart with INTERVAL=0: expanding it would never end.
    if not parts.get("INTERVAL", "1").isdigit() or int(parts.get("INTERVAL", "1")) < 1:
        raise ValueError("rrule INTERVAL must be a whole number from 1")
    try:
        rule = rr.rrulestr(body, dtstart=dtstart)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid rrule: {exc}") from exc
    assert isinstance(rule, rr.rrule)
    return rule


def _rule_part(part: str) -> tuple[str, str]:
    name, sep, value = part.partition("=")
    if not sep:
        raise ValueError(f"invalid rrule part {part!r}")
    return name.strip().upper(), value.strip().upper()


def _zones_for_phone(phone_e164: str) -> tuple[str, ...]:
    # Never log or echo the number: an unparseable one simply gives no zone hint.
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return ()
    known = _known_zones()
    zones = phone_timezone.time_zones_for_number(number)
    return tuple(dict.fromkeys(z for z in zones if z in known))


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
