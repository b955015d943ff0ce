"""Checks on program-side input that every entry point shares (API, CLI import, demo seed)."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


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
    """Accept an RFC 5545 RRULE body such as FREQ=WEEKLY;BYDAY=TU,TH."""
    if not isinstance(value, str) or not value.startswith("FREQ=") or len(value) > 500:
        raise InvalidInput(field, "must be an RFC 5545 rule such as FREQ=WEEKLY;BYDAY=TU")
    try:
        rrulestr(value, dtstart=_midnight(starts_on))
    except (ValueError, TypeError):
        raise InvalidInput(field, "is not a valid RFC 5545 rule") from None
    return value


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


def _midnight(day: date) -> datetime:
    # rrule expands wall-clock dates; the zone is applied when occurrences are placed.
    return datetime(day.year, day.month, day.day)  # noqa: DTZ001
