"""Checks on program-side input that every entry point shares (API, CLI import, demo seed)."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule

from outreach.domain.planning.group_sessions import group_rule

_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Dates outside these years are typing mistakes. Far-off ones would also make every plan
# expand centuries of sessions, and instants near year 1 or 9999 overflow when made UTC.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
_FIRST_YEAR = timedelta(days=366)


class InvalidInput(ValueError):
    """One field is wrong; `field` names it for a form or a JSON error body."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def timezone_name(field: str, value: str) -> str:
    if not isinstance(value, str) or "/" not in value:
        raise InvalidInput(field, "must be an IANA time zone such as America/New_York")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(field, "must be an IANA time zone such as America/New_York") from None
    return value


def clock_time(field: str, value: str) -> time:
    if not isinstance(value, str) or not _CLOCK.fullmatch(value):
        raise InvalidInput(field, "must be a time as HH:MM (24-hour)")
    return time.fromisoformat(value)


def recurrence_rule(field: str, value: str, starts_on: date) -> str:
    """Accept an RFC 5545 RRULE body such as FREQ=WEEKLY;BYDAY=TU,TH that the planner expands.

    The planner's own reading decides, so a stored rule can never fail later, when tasks are
    planned; a rule that gives no session in the group's first year is refused too.
    """
    if not isinstance(value, str) or not value.startswith("FREQ=") or len(value) > 500:
        raise InvalidInput(field, "must be an RFC 5545 rule such as FREQ=WEEKLY;BYDAY=TU")
    if {"COUNT", "UNTIL"} <= _rule_parts(value).keys():
        # RFC 5545 3.3.10: COUNT and UNTIL MUST NOT occur in the same rule (dateutil warns).
        raise InvalidInput(field, "may end by COUNT or by UNTIL, not both (RFC 5545)")
    start = _midnight(starts_on)
    try:
        with warnings.catch_warnings(record=True) as warned:
            # What dateutil warns about now it refuses in a later version: a stored rule would
            # then stop the planner, so a warning refuses the rule today. (The warning filters
            # are process-wide; the one warning dateutil has today is refused by name above.)
            warnings.simplefilter("always")
            _refuse_rules_that_never_meet(value)
            first = _first_session(group_rule(value, start), start, bounded=_bounded(value))
    except (ValueError, TypeError, OverflowError):
        raise InvalidInput(field, "is not a valid RFC 5545 rule") from None
    if warned:
        raise InvalidInput(field, "is not a valid RFC 5545 rule")
    if first is None:
        raise InvalidInput(field, "gives no session in the group's first year")
    return value


def plausible_day(field: str, value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise InvalidInput(field, f"must be a date from {FIRST_DAY.year} to {LAST_DAY.year}")
    return value


def plausible_instant(field: str, value: datetime) -> datetime:
    """Accept an aware instant whose UTC date lies within the plausible years."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, "must be a date-time with an offset")
    try:
        day = value.astimezone(UTC).date()
    except OverflowError:
        day = date.min
    plausible_day(field, day)
    return value


def local_instant(field: str, local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time someone typed, read in `zone`.

    In the autumn fold a time such as 01:30 happens twice and a form cannot say which was
    meant; fold=0 deliberately takes the first (still on summer time): at most an hour off,
    and only in the small hours. A time in the spring gap is refused: the clocks jump past
    it, so no instant carries it, and guessing would move it by an hour.
    """
    if local.tzinfo is not None:  # already an instant: reading it as a wall clock would move it
        raise ValueError("local_instant takes a wall-clock time without a zone")
    aware = local.replace(tzinfo=zone, fold=0)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise InvalidInput(
            field,
            "that time does not exist on that day: the clocks jump past it when summer time "
            "starts; give a time outside the change",
        )
    return aware


def weekdays(field: str, value: str) -> str:
    days = [d.strip().upper() for d in value.split(",")] if isinstance(value, str) else []
    if not days or any(d not in _DAYS for d in days):
        raise InvalidInput(field, "must list days as MO,TU,WE,TH,FR,SA,SU")
    return ",".join(days)


def choice(field: str, value: str, allowed: type[StrEnum]) -> str:
    try:
        return allowed(value).value
    except ValueError:
        names = ", ".join(member.value for member in allowed)
        raise InvalidInput(field, f"must be one of {names}") from None


def _first_session(rule: rrule, start: datetime, *, bounded: bool) -> datetime | None:
    # Searched within a year, so a rule that never meets (30 February) is not searched until
    # year 9999; a rule with its own COUNT or UNTIL keeps it (the two may not be combined).
    bound = start + _FIRST_YEAR
    first = (rule if bounded else rule.replace(until=bound)).after(start, inc=True)
    return first if first is not None and first <= bound else None


def _refuse_rules_that_never_meet(text: str) -> None:
    """Refuse day rules no group needs, month days no month has (30 February) and positions
    past every period's sessions (the third of one a week).

    dateutil looks for a first session of such a rule all the way to year 9999, which takes
    seconds; what is left to the first-session search below ends well within a second.
    """
    parts = _rule_parts(text)
    if parts.keys() & {"BYYEARDAY", "BYWEEKNO", "BYEASTER"}:
        raise ValueError("a group's rule has no use for year days, week numbers or Easter")
    if "BYSETPOS" in parts:
        weekdays = len(parts.get("BYDAY", "MO").split(","))
        most = {"DAILY": 1, "WEEKLY": weekdays, "MONTHLY": min(31, 5 * weekdays)}
        positions = [abs(int(n)) for n in parts["BYSETPOS"].split(",")]
        if min(positions) > most.get(parts.get("FREQ", ""), 366):
            raise ValueError("no period has that many sessions")
    if "BYMONTHDAY" in parts:
        months = [int(m) for m in parts.get("BYMONTH", "1,2,3,4,5,6,7,8,9,10,11,12").split(",")]
        days = [abs(int(d)) for d in parts["BYMONTHDAY"].split(",")]
        if not any(d <= _LONGEST[m - 1] for m in months if 1 <= m <= 12 for d in days):
            raise ValueError("none of the months has that day")


def _rule_parts(text: str) -> dict[str, str]:
    pairs = (part.partition("=") for part in text.upper().split(";"))
    return {name.strip(): value.strip() for name, _, value in pairs}


_LONGEST = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _bounded(text: str) -> bool:
    return any(part in text.upper() for part in ("COUNT", "UNTIL"))


def _midnight(day: date) -> datetime:
    # rrule expands wall-clock dates; the zone is applied when occurrences are placed.
    return datetime(day.year, day.month, day.day)  # noqa: DTZ001
