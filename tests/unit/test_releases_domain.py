"""The rules of a release's term and cover, without a database (S7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from outreach.domain.releases import LONGEST_TERM, Term, covers, term_problem

NOW = datetime(2026, 11, 17, 20, 0, tzinfo=UTC)
minutes = st.integers(min_value=0, max_value=60).map(lambda n: timedelta(minutes=10 * n))


@given(granted=minutes, lasts=minutes, revoked=st.none() | minutes, t=minutes)
def test_a_term_is_live_on_the_half_open_interval_before_its_end(
    granted: timedelta, lasts: timedelta, revoked: timedelta | None, t: timedelta
) -> None:
    term = Term(NOW + granted, NOW + granted + lasts, None if revoked is None else NOW + revoked)
    end = granted + lasts if revoked is None else min(granted + lasts, revoked)
    assert term.live_at(NOW + t) == (granted <= t < end)


def test_the_instant_of_expiry_and_of_revocation_are_already_outside() -> None:
    term = Term(NOW, NOW + timedelta(days=1))
    assert term.live_at(NOW)
    assert not term.live_at(NOW + timedelta(days=1))
    revoked = Term(NOW, NOW + timedelta(days=1), NOW + timedelta(hours=1))
    assert revoked.live_at(NOW + timedelta(minutes=59))
    assert not revoked.live_at(NOW + timedelta(hours=1))


def test_a_release_covers_a_share_only_within_its_scope_recipient_and_purpose() -> None:
    scope = ("contact_made",)
    ask = {"wanted_purpose": "group_work", "wanted_kind": "program_facilitators"}
    assert covers(scope, "group_work", "program_facilitators", items=["contact_made"], **ask)
    assert not covers(scope, "group_work", "program_facilitators", items=["statement"], **ask)
    assert not covers(scope, "group_work", "court", items=["contact_made"], **ask)
    assert not covers(scope, "progress_report", "program_facilitators", items=[], **ask)


def test_a_term_must_start_by_now_end_after_now_and_last_a_year_at_most() -> None:
    assert term_problem(NOW, NOW + LONGEST_TERM, NOW) is None
    assert term_problem(NOW + timedelta(seconds=1), NOW + timedelta(days=1), NOW)
    assert term_problem(NOW - timedelta(days=2), NOW, NOW)
    assert term_problem(NOW, NOW + LONGEST_TERM + timedelta(seconds=1), NOW)
