"""Interval algebra over half-open spans of aware UTC instants.

Every function accepts intervals in any order, overlapping or not, and answers a
*normalised* list: sorted, non-empty, pairwise disjoint and non-adjacent. The planner
builds call windows from these operations, so they are kept small and property-tested.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple


class Interval(NamedTuple):
    """A half-open span [start, end) of aware UTC instants; build it with `span()`."""

    start: datetime
    end: datetime


def span(start: datetime, end: datetime) -> Interval:
    """Build a non-empty interval, converting both ends to UTC."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("interval ends must be timezone-aware")
    # Aware datetimes sharing a zoneinfo tzinfo compare by wall clock, which is wrong
    # across a DST fold; comparing in UTC is always right.
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start >= end:
        raise ValueError("an interval must end after it starts")
    return Interval(start, end)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Answer the union of `intervals`, normalised."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1].end:
            if end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, end)
        else:
            merged.append(Interval(start, end))
    return merged


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """Answer the instants that lie in both `a` and `b`, normalised."""
    return intersect_normalised(merge(a), merge(b))


def intersect_normalised(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Intersect two already normalised lists in one sweep (the planner's hot path)."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i].start, b[j].start)
        end = min(a[i].end, b[j].end)
        if start < end:
            out.append(Interval(start, end))
        # Advance whichever ends first: it cannot overlap anything further on.
        if a[i].end <= b[j].end:
            i += 1
        else:
            j += 1
    return out


def intersect_all(lists: Iterable[Iterable[Interval]]) -> list[Interval]:
    """Answer the instants common to every list; no lists at all is an error."""
    result: list[Interval] | None = None
    for intervals in lists:
        current = merge(intervals)
        result = current if result is None else intersect_normalised(result, current)
    if result is None:
        raise ValueError("intersect_all needs at least one list")
    return result


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """Answer the instants of `a` that are not in `b`, normalised."""
    out: list[Interval] = []
    holes = merge(b)
    for start, end in merge(a):
        out.extend(_punch(start, end, holes))
    return out


def subtract_normalised(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Subtract two already normalised lists in one sweep (the planner's hot path)."""
    out: list[Interval] = []
    j = 0
    for start, end in a:
        while j < len(b) and b[j].end <= start:
            j += 1  # holes wholly before this piece cannot touch later pieces either
        k = j
        while k < len(b) and b[k].start < end:
            if b[k].start > start:
                out.append(Interval(start, b[k].start))
            start = max(start, b[k].end)
            k += 1
        if start < end:
            out.append(Interval(start, end))
    return out


def _punch(start: datetime, end: datetime, holes: list[Interval]) -> list[Interval]:
    pieces: list[Interval] = []
    for hole_start, hole_end in holes:
        if hole_end <= start or hole_start >= end:
            continue
        if hole_start > start:
            pieces.append(Interval(start, hole_start))
        start = max(start, hole_end)
    if start < end:
        pieces.append(Interval(start, end))
    return pieces


def clip(intervals: Iterable[Interval], lo: datetime, hi: datetime) -> list[Interval]:
    """Answer the parts of `intervals` inside [lo, hi), normalised."""
    if lo >= hi:
        return []
    return intersect_normalised(merge(intervals), [span(lo, hi)])


def covers(intervals: Iterable[Interval], start: datetime, end: datetime) -> bool:
    """Tell whether the span [start, end) lies wholly inside the union of `intervals`."""
    return any(i.start <= start and end <= i.end for i in merge(intervals))
