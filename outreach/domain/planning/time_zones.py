"""Time zones: which zones a contact person may be in, and her local hours as UTC.

A window must fit every zone she may be in (a wrong guess could ring at night), so local
wall-clock spans are expanded into UTC per zone and intersected. Times that a daylight
saving change skips or repeats are read inward, inside the hours she meant.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from phonenumbers import timezone as phone_timezone

from outreach.domain.intervals import Interval, intersect_normalised, merge


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


def calling_hours(
    zones: tuple[str, ...], hours: tuple[time, time], lo: datetime, length: timedelta
) -> list[Interval]:
    """Answer, in UTC, the calling hours of every day in [lo, lo + length) in every zone."""
    every_day = frozenset(range(7))
    return in_every_zone(zones, ((every_day, *hours),), lo, lo + length)


def in_every_zone(
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
        utc_start = max(to_utc(datetime.combine(day, start), zone, later=True), lo)
        utc_end = min(to_utc(datetime.combine(day, end), zone, later=False), hi)
        if utc_start < utc_end:
            spans.append((day.weekday(), Interval(utc_start, utc_end)))
    return tuple(spans)


def to_utc(local: datetime, zone: ZoneInfo, *, later: bool) -> datetime:
    """Convert a wall-clock time to UTC, erring inward at a DST gap or fold.

    A time that happens twice (fall back) or never (spring forward) has two readings;
    the later one for a start and the earlier one for an end keep a span inside the
    times the contact person meant.
    """
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return max(first, second) if later else min(first, second)


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


def require_aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime: the planner answers in UTC and cannot guess a zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
