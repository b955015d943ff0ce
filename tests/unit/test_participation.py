"""His status over time, replayed from program events (S4, S13, issue 19).

The property's oracle is written apart from the replay: for a history the checks accepted,
he is active at an instant exactly when the latest status event by then is an entry or a
return, or when there is none yet and his history does not start with an entry.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from random import Random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.domain.participation import (
    STATUS_EVENTS,
    HistoryError,
    Mark,
    Status,
    Timeline,
    check_new_event,
)
from outreach.domain.planning.planner import plan
from outreach.domain.vocabulary import EventType, WindowKind
from tests.unit.test_planner_properties import scenarios

CREATED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ENTRIES = {EventType.ENROLLED, EventType.ACCEPTED, EventType.RETURNED_FROM_LEAVE}


def mark(kind: EventType, days: float) -> Mark:
    at = CREATED + days * DAY
    return Mark(kind, at, at)


def test_a_participant_on_the_roster_without_events_is_enrolled_since_his_record() -> None:
    timeline = Timeline([], CREATED)
    assert timeline.status_at(CREATED + DAY).status is Status.ENROLLED
    assert timeline.active()[0].start == CREATED


def test_before_his_entry_he_is_not_enrolled_and_after_his_exit_he_is_out() -> None:
    timeline = Timeline([mark(EventType.ENROLLED, 3), mark(EventType.TERMINATED, 10)], CREATED)
    assert timeline.status_at(CREATED + DAY).status is Status.NOT_ENROLLED
    assert timeline.status_at(CREATED + 4 * DAY).status is Status.ENROLLED
    gone = timeline.status_at(CREATED + 11 * DAY)
    assert (gone.status, gone.since) == (Status.TERMINATED, CREATED + 10 * DAY)
    assert [(p.start, p.end) for p in timeline.active()] == [
        (CREATED + 3 * DAY, CREATED + 10 * DAY)
    ]


def test_a_leave_and_his_return_split_his_time_in_group() -> None:
    timeline = Timeline(
        [
            mark(EventType.LEAVE_OF_ABSENCE, 2),
            mark(EventType.RETURNED_FROM_LEAVE, 5),
        ],
        CREATED,
    )
    assert timeline.status_at(CREATED + 3 * DAY).status is Status.ON_LEAVE
    assert len(timeline.active()) == 2


@pytest.mark.parametrize(
    ("history", "new", "field"),
    [
        ([], mark(EventType.RETURNED_FROM_LEAVE, 1), "type"),  # no leave before it
        ([mark(EventType.TERMINATED, 1)], mark(EventType.LEAVE_OF_ABSENCE, 2), "type"),
        ([], mark(EventType.ENROLLED, -1), "at"),  # before his record existed
        ([], mark(EventType.SAFETY_CONCERN, -1), "at"),
        # A return at day 5 stands only on the leave at day 3: a termination dated day 2
        # would leave the return without a leave (out of order).
        (
            [mark(EventType.LEAVE_OF_ABSENCE, 3), mark(EventType.RETURNED_FROM_LEAVE, 5)],
            mark(EventType.TERMINATED, 2),
            "at",
        ),
    ],
)
def test_an_impossible_event_is_refused_naming_the_field(
    history: list[Mark], new: Mark, field: str
) -> None:
    with pytest.raises(HistoryError) as refused:
        check_new_event(history, new, CREATED)
    assert refused.value.field == field


def test_a_late_report_of_an_earlier_stint_is_accepted() -> None:
    # He was on the roster, terminated on day 2; the re-enrolment on day 9 came first.
    check_new_event([mark(EventType.ENROLLED, 9)], mark(EventType.TERMINATED, 2), CREATED)


# --- the property ------------------------------------------------------------------------

kinds = st.sampled_from(sorted(STATUS_EVENTS))
histories = st.lists(st.tuples(kinds, st.floats(0, 40), st.integers(0, 40)), max_size=10)


def accepted(raw: list[tuple[EventType, float, int]], base: datetime) -> list[Mark]:
    """Record the events one by one, in report order, as the service would: refused ones
    are not kept."""
    kept: list[Mark] = []
    for n, (kind, days, _) in enumerate(raw):
        new = Mark(kind, base + days * DAY, base + timedelta(minutes=n))
        try:
            check_new_event(kept, new, base)
        except HistoryError:
            continue
        kept.append(new)
    return kept


def oracle_active(kept: list[Mark], at: datetime, created: datetime) -> bool:
    ordered = sorted(kept, key=lambda m: (m.at, m.recorded_at))
    before = [m for m in ordered if m.at <= at]
    if before:
        return before[-1].type in ENTRIES
    return at >= created and not (ordered and ordered[0].type in ENTRIES)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), raw=histories, offset=st.integers(-20, 5))
def test_no_group_window_lies_outside_a_period_in_which_he_was_active(
    scenario: tuple[object, datetime, int],
    raw: list[tuple[EventType, float, int]],
    offset: int,
) -> None:
    item, now, days = scenario  # type: ignore[misc]
    created = now.astimezone(UTC) + offset * DAY
    kept = accepted(raw, created)
    timeline = Timeline(kept, created)
    item = replace(item, task=replace(item.task, timeline=timeline))  # type: ignore[type-var]
    for window in plan([item], now=now, horizon_days=days).windows:
        if window.kind is not WindowKind.GROUP:
            continue
        step = (window.end - window.start) / 8
        for n in range(9):
            at = min(window.start + n * step, window.end - timedelta(microseconds=1))
            assert oracle_active(kept, at, created), (kept, window)


@settings(max_examples=200, deadline=None)
@given(raw=histories)
def test_any_stored_history_replays_without_error_even_one_never_checked(
    raw: list[tuple[EventType, float, int]],
) -> None:
    # Old data, or an import, may hold histories no check ever saw: the replay is total.
    marks = [
        Mark(kind, CREATED + days * DAY, CREATED + timedelta(minutes=n)) for kind, days, n in raw
    ]
    timeline = Timeline(marks, CREATED)
    for period in timeline.active():
        assert period.start < period.end
        assert timeline.status_at(period.start).status in {Status.ENROLLED, Status.ACCEPTED}


@given(
    st.lists(st.sampled_from(sorted(STATUS_EVENTS)), min_size=1, max_size=5),
    st.randoms(use_true_random=False),
)
def test_events_of_one_instant_give_one_status_whatever_order_the_rows_come_back_in(
    kinds: list[EventType], random: Random
) -> None:
    """Two events dated and recorded at the same instant (one import, one request): his status
    must not depend on the order the database returns them in (it did, on PostgreSQL)."""
    same = datetime(2026, 11, 17, 12, tzinfo=UTC)
    marks = [Mark(kind, same, same) for kind in kinds]
    shuffled = list(marks)
    random.shuffle(shuffled)
    later = same + timedelta(hours=1)
    assert Timeline(marks, CREATED).status_at(later) == Timeline(shuffled, CREATED).status_at(later)
