"""Before discharge (issue 20 item 7): a planned discharge opens Colorado's advocate call
ahead of the day, never after it (seeds/001, Colorado: the advocate is consulted "prior to
discharge"), and never for a contact who declined (S1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.domain.protocols.engine import tasks_for_event
from outreach.domain.protocols.loading import ProfileError, load_profile
from outreach.domain.protocols.profile import Permissions, TaskSpec
from outreach.domain.vocabulary import Channel, Consent, EventType, Severity, TaskReason
from tests.unit.test_protocols import PROFILES

COLORADO = PROFILES["colorado_dvomb"]
AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
CONSENTED = Permissions(Consent.CONSENTED, sms=True)


def _planned(day_begins: datetime, permissions: Permissions = CONSENTED) -> list[TaskSpec]:
    return tasks_for_event(
        COLORADO, EventType.DISCHARGE_PLANNED, at=AT, severity=Severity.ROUTINE,
        permissions=permissions, day_begins=day_begins,
    )  # fmt: skip


def test_colorado_calls_a_week_before_the_planned_discharge() -> None:
    day = datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # midnight in Denver

    [spec] = _planned(day)

    # seeds/001: "prior to discharge"; a week ahead is the profile's choice.
    assert spec.reason is TaskReason.BEFORE_DISCHARGE
    assert spec.opens_at == AT
    assert spec.due_by == day - timedelta(days=7)
    assert spec.channels == (Channel.VOICE,)
    assert spec.min_attempts >= 2  # S5


def test_news_that_comes_late_is_due_at_once_not_after_the_discharge() -> None:
    tomorrow = AT + timedelta(days=1)

    [spec] = _planned(tomorrow)

    assert spec.due_by == AT


def test_a_planned_discharge_needs_its_day() -> None:
    with pytest.raises(ValueError, match="before_discharge"):
        tasks_for_event(
            COLORADO, EventType.DISCHARGE_PLANNED, at=AT, severity=Severity.ROUTINE,
            permissions=CONSENTED,
        )  # fmt: skip


def test_profiles_without_the_rule_open_nothing_for_a_planned_discharge() -> None:
    for key, profile in PROFILES.items():
        if key == "colorado_dvomb":
            continue
        specs = tasks_for_event(
            profile, EventType.DISCHARGE_PLANNED, at=AT, severity=Severity.ROUTINE,
            permissions=CONSENTED, day_begins=AT + timedelta(days=20),
        )  # fmt: skip
        assert specs == [], key


@given(
    lead=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=120)),
    consent=st.sampled_from(list(Consent)),
    voice=st.booleans(),
)
def test_the_call_is_never_due_after_the_day_and_never_reaches_one_who_declined(
    lead: timedelta, consent: Consent, voice: bool
) -> None:
    permissions = Permissions(consent, voice=voice, sms=True)

    specs = _planned(AT + lead, permissions)

    if consent is Consent.DECLINED or not voice:
        assert specs == []  # S1: nothing for a decline; no call where she turned calls off
        return
    [spec] = specs
    assert AT <= spec.due_by <= AT + lead  # "prior to discharge", never before the news
    assert spec.channels == (Channel.VOICE,)


def test_due_before_days_is_refused_on_an_event_that_carries_no_day(tmp_path: Path) -> None:
    path = tmp_path / "odd.toml"
    path.write_text(
        'name = "Odd"\nretention_years = 3\n\n[[on.completed]]\nreason = "completed"\n'
        'due_before_days = 3\nchannels = ["voice"]\n'
    )

    with pytest.raises(ProfileError, match=r"odd\.toml:6: due_before_days is only for"):
        load_profile(path)


def test_due_before_days_with_a_deadline_after_the_event_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.toml"
    path.write_text(
        'name = "Odd"\nretention_years = 3\n\n[[on.discharge_planned]]\n'
        'reason = "before_discharge"\ndue_before_days = 3\ndue_within_days = 2\n'
        'channels = ["voice"]\n'
    )

    with pytest.raises(ProfileError, match="not both"):
        load_profile(path)
