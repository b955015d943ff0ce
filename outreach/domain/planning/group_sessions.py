"""Group sessions: when a participant's group meets, expanded from its recurrence rule.

A group is written as an RFC 5545 rule anchored at a local wall-clock start, so a session
keeps its local hour across daylight saving changes. Cancelled dates stay in the answer,
flagged, because a cancelled session is a reason the planner must be able to give (S4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from dateutil import rrule as rr

from outreach.domain.planning.time_zones import require_aware, to_utc, zone_of

_MAX_SESSION_MINUTES = 12 * 60
_ALLOWED_FREQS = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
_FORBIDDEN_RULE_PARTS = {"DTSTART", "BYHOUR", "BYMINUTE", "BYSECOND"}


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


class Session(NamedTuple):
    """One occurrence of a group, in UTC, dated by the group's local calendar."""

    group_id: str
    session_date: date
    start: datetime
    end: datetime
    cancelled: bool


def group_sessions(group: GroupSchedule, *, start: datetime, end: datetime) -> list[Session]:
    """Answer the group's sessions (cancelled ones flagged) that overlap [start, end)."""
    require_aware(start, "start")
    zone = zone_of(group.timezone)
    first = start.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    last = end.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    sessions = []
    for local in _occurrences(group, first, last):
        session = _session(group, zone, local)
        if session.start < end and session.end > start:
            sessions.append(session)
    return sessions


def _session(group: GroupSchedule, zone: ZoneInfo, local: datetime) -> Session:
    start = to_utc(local, zone, later=True)
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
