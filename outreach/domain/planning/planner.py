"""The window proposal: the call windows of many tasks, ranked, and what was skipped.

A window is group time he is (as far as we know) attending, minus settle-in and
leave-early buffers, or a time she named as safe, or the time she asked to be called back
at; always inside calling hours in every zone she may be in, except a duty to warn (S8).
Group sessions, calling hours and safe times are expanded once per planning run and shared
by every contact who has the same ones.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from outreach.domain.intervals import (
    Interval,
    intersect_normalised,
    merge,
    subtract_normalised,
)
from outreach.domain.participation import StatusAt
from outreach.domain.planning.group_sessions import GroupSchedule, Session, group_sessions
from outreach.domain.planning.inputs import ContactSchedule, PlanItem, PlanningRules, TaskToPlan
from outreach.domain.planning.safe_times import safe_intervals
from outreach.domain.planning.time_zones import calling_hours, require_aware
from outreach.domain.planning.windows import CallWindow, Plan, Skipped, SkipReason
from outreach.domain.vocabulary import Consent, WindowKind

_MAX_HORIZON_DAYS = 366
_Hours = tuple[time, time]
_Indexed = tuple[list[Interval], list[datetime]]  # a normalised list and its starts, for bisect


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


# ---------------------------------------------------------------- the planner


class _Planner:
    """Plans items against one `now` and horizon, caching what contacts share."""

    def __init__(self, now: datetime, horizon_days: int) -> None:
        require_aware(now, "now")
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
            calling = calling_hours(zones, hours, self.now, self.end - self.now)
            self._calling[key] = (calling, [i.start for i in calling])
        return self._calling[key]

    def _safe_times(self, contact: ContactSchedule, hours: _Hours) -> _Indexed:
        """Answer the contact's named safe times within calling hours, and their starts."""
        key = (contact.safe_times, contact.timezones, hours)
        if key not in self._safe:
            safe = safe_intervals(*key, self.now, self.end)
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
