"""Interval algebra: examples first, then properties checked against a minute grid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.domain.intervals import (
    Interval,
    clip,
    covers,
    intersect,
    intersect_all,
    intersect_normalised,
    merge,
    span,
    subtract,
    subtract_normalised,
)

T0 = datetime(2026, 3, 8, 0, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def iv(start: int, end: int) -> Interval:
    return span(at(start), at(end))


def test_it_refuses_naive_or_empty_intervals() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        span(datetime(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="end after"):
        span(at(5), at(5))


def test_it_converts_both_ends_to_utc() -> None:
    ny = ZoneInfo("America/New_York")
    made = span(
        datetime(2026, 11, 1, 1, 30, tzinfo=ny), datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ny)
    )
    assert made == Interval(
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    )
    assert made.start.tzinfo is UTC


def test_it_merges_overlapping_and_touching_intervals() -> None:
    assert merge([iv(30, 40), iv(0, 10), iv(10, 20), iv(35, 50)]) == [iv(0, 20), iv(30, 50)]


def test_it_intersects_two_lists() -> None:
    assert intersect([iv(0, 10), iv(20, 30)], [iv(5, 25)]) == [iv(5, 10), iv(20, 25)]


def test_intervals_that_only_touch_have_no_intersection() -> None:
    assert intersect([iv(0, 10)], [iv(10, 20)]) == []


def test_it_subtracts_holes() -> None:
    assert subtract([iv(0, 100)], [iv(10, 20), iv(90, 120)]) == [iv(0, 10), iv(20, 90)]


def test_intersect_all_needs_at_least_one_list() -> None:
    with pytest.raises(ValueError, match="at least one"):
        intersect_all([])


def test_it_clips_to_a_range_and_answers_nothing_for_an_empty_range() -> None:
    assert clip([iv(0, 100)], at(10), at(20)) == [iv(10, 20)]
    assert clip([iv(0, 100)], at(20), at(10)) == []


def test_covers_needs_the_span_wholly_inside() -> None:
    assert covers([iv(0, 10), iv(10, 20)], at(5), at(15))
    assert not covers([iv(0, 10), iv(11, 20)], at(5), at(15))


# --- properties: every operation agrees with plain set arithmetic on minutes

minute_intervals = st.lists(
    st.tuples(st.integers(0, 200), st.integers(1, 60)).map(lambda p: iv(p[0], p[0] + p[1])),
    max_size=8,
)


def minutes(intervals: list[Interval]) -> set[int]:
    return {
        m
        for i in intervals
        for m in range(
            int((i.start - T0).total_seconds() // 60), int((i.end - T0).total_seconds() // 60)
        )
    }


def is_normalised(intervals: list[Interval]) -> bool:
    pairs = pairwise(intervals)
    return all(i.start < i.end for i in intervals) and all(a.end < b.start for a, b in pairs)


@settings(max_examples=200, deadline=None)
@given(minute_intervals)
def test_merge_keeps_every_instant_and_answers_a_normalised_list(a: list[Interval]) -> None:
    merged = merge(a)
    assert is_normalised(merged)
    assert minutes(merged) == minutes(a)


@settings(max_examples=200, deadline=None)
@given(minute_intervals, minute_intervals)
def test_intersection_is_set_intersection(a: list[Interval], b: list[Interval]) -> None:
    result = intersect(a, b)
    assert is_normalised(result)
    assert minutes(result) == minutes(a) & minutes(b)
    assert intersect_normalised(merge(a), merge(b)) == result


@settings(max_examples=200, deadline=None)
@given(minute_intervals, minute_intervals)
def test_subtraction_is_set_difference(a: list[Interval], b: list[Interval]) -> None:
    result = subtract(a, b)
    assert is_normalised(result)
    assert minutes(result) == minutes(a) - minutes(b)
    assert subtract_normalised(merge(a), merge(b)) == result


@settings(max_examples=200, deadline=None)
@given(minute_intervals, minute_intervals, minute_intervals)
def test_intersect_all_is_the_common_part(
    a: list[Interval], b: list[Interval], c: list[Interval]
) -> None:
    assert minutes(intersect_all([a, b, c])) == minutes(a) & minutes(b) & minutes(c)
