"""Her safe times: the weekly times a contact person named as safe to call her.

Outside group time she is called only inside a time she named (S4), and only where it is
also inside calling hours; a safe time may run past midnight into the next day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from outreach.domain.intervals import Interval
from outreach.domain.planning.time_zones import in_every_zone

DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


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


def safe_intervals(
    safe_times: tuple[SafeTime, ...],
    zones: tuple[str, ...],
    hours: tuple[time, time],
    lo: datetime,
    hi: datetime,
) -> list[Interval]:
    """Answer, in UTC, her safe times inside calling hours in every zone, within [lo, hi)."""
    # Calling hours and safe times are both local to the same zone, so clip them
    # there, by the clock, before going to UTC: far cheaper than intersecting in UTC.
    spans = [span for t in safe_times for span in _clip_to_hours(t, hours)]
    return in_every_zone(zones, spans, lo, hi)


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
