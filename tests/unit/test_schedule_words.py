"""Issue 22 item 6: a facilitator reads a group's schedule in words, never as rule text."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.web import window_end
from outreach.web.schedules import DAYS, in_words


@pytest.mark.parametrize(
    ("rule", "start", "minutes", "zone", "said"),
    [
        (
            "FREQ=WEEKLY;BYDAY=MO,TH",
            time(18),
            120,
            "America/Denver",
            "Mondays and Thursdays, 18:00 to 20:00, Denver time",
        ),
        (
            "FREQ=WEEKLY;BYDAY=TU",
            time(18, 30),
            120,
            "America/New_York",
            "Tuesdays, 18:30 to 20:30, New York time",
        ),
        ("FREQ=DAILY", time(9), 90, "America/Chicago", "Every day, 09:00 to 10:30, Chicago time"),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA",
            time(10),
            60,
            "America/Chicago",
            "Every other week on Saturdays, 10:00 to 11:00, Chicago time",
        ),
        (
            "FREQ=MONTHLY;BYDAY=1TU",
            time(19),
            60,
            "America/Denver",
            "The first Tuesday of each month, 19:00 to 20:00, Denver time",
        ),
        (
            "FREQ=WEEKLY;BYDAY=TH,MO,WE",
            time(23),
            90,
            "UTC",
            "Mondays, Wednesdays and Thursdays, 23:00 to 00:30, UTC time",
        ),
    ],
)
def test_schedules_read_as_people_say_them(
    rule: str, start: time, minutes: int, zone: str, said: str
) -> None:
    assert in_words(rule, start, minutes, zone) == said


def test_a_rule_the_words_cannot_say_is_shown_as_a_custom_schedule_not_guessed() -> None:
    said = in_words("FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2", time(18), 60, "America/Denver")
    assert said.startswith("A custom schedule (FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2)")


@given(st.sets(st.sampled_from(list(DAYS)), min_size=1), st.integers(1, 4))
def test_every_weekly_day_is_named_once_and_no_rule_text_is_left(
    days: set[str], interval: int
) -> None:
    rule = f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={','.join(sorted(days))}"
    said = in_words(rule, time(18), 120, "America/Denver")
    for code, name in DAYS.items():
        assert said.count(name) == (1 if code in days else 0)
    assert "FREQ" not in said
    assert "BYDAY" not in said


def test_a_window_that_runs_on_past_its_day_shows_its_end_day() -> None:
    """S8: a duty to warn is callable from now until the task is done, a week of plan later;
    its window must never read "07:21 to 07:21" as if it were a moment."""
    denver = ZoneInfo("America/Denver")
    start = datetime(2026, 12, 6, 14, 21, tzinfo=UTC)
    assert window_end(start, start + timedelta(hours=2), denver) == "09:21"
    assert window_end(start, start + timedelta(days=7), denver).endswith("13 Dec 07:21")
