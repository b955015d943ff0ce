"""The counting and closing rules over attempts (S5, S6, S14) and the flags on an attempt's
time, without a database: random attempt histories as a liaison's week of calls could leave them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.domain import attempt_rules
from outreach.domain.vocabulary import AttemptFlag, Channel, Outcome, TaskReason, TaskStatus

MONDAY = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
GROUP = uuid.uuid4()
# When the attempts whose times are judged (S14) are entered.
NOW = MONDAY + timedelta(days=1)


@dataclass(frozen=True)
class Made:
    """An attempt as the rules read it: the columns, no row."""

    id: uuid.UUID
    at: datetime
    outcome: str = Outcome.NO_ANSWER.value
    channel: str = Channel.VOICE.value
    corrects_id: uuid.UUID | None = None
    callback_at: datetime | None = None
    group_id: uuid.UUID | None = None
    session_date: date | None = None
    window_day: date | None = None


@st.composite
def made(draw: st.DrawFn) -> Made:
    at = MONDAY + timedelta(minutes=draw(st.integers(0, 14 * 24 * 60)))
    in_group = draw(st.booleans())
    return Made(
        id=uuid.uuid4(),
        at=at,
        outcome=draw(st.sampled_from([o.value for o in Outcome])),
        channel=draw(st.sampled_from([Channel.VOICE.value, Channel.SMS.value, Channel.MAIL.value])),
        callback_at=draw(st.none() | st.just(at + timedelta(hours=draw(st.integers(1, 72))))),
        group_id=GROUP if in_group else None,
        session_date=at.date() if in_group else None,
        window_day=None if in_group else at.date(),
    )


histories = st.lists(made(), max_size=12)


@given(histories, st.data())
def test_standing_drops_exactly_the_corrected_entries(
    history: list[Made], data: st.DataObject
) -> None:
    corrections = [
        Made(id=uuid.uuid4(), at=a.at, corrects_id=a.id)
        for a in history
        if data.draw(st.booleans())
    ]
    rows = history + corrections
    kept = attempt_rules.standing(rows)
    corrected = {c.corrects_id for c in corrections}
    assert [a for a in rows if a.id not in corrected] == kept
    assert all(c in kept for c in corrections)


@given(histories, st.randoms())
def test_windows_count_the_same_in_any_order_and_never_more_than_the_calls(
    history: list[Made], random: object
) -> None:
    shuffled = list(history)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert attempt_rules.distinct_windows(shuffled) == attempt_rules.distinct_windows(history)
    assert attempt_rules.distinct_windows(history) <= len(history)


def test_two_calls_in_one_group_session_or_one_evening_are_one_window() -> None:
    """S5: "at least two logged attempts" means two windows, not two dials a minute apart."""
    session_day = MONDAY.date()
    in_class = [
        Made(uuid.uuid4(), MONDAY, group_id=GROUP, session_date=session_day),
        Made(
            uuid.uuid4(), MONDAY + timedelta(minutes=20), group_id=GROUP, session_date=session_day
        ),
    ]
    assert attempt_rules.distinct_windows(in_class) == 1
    # 18:55 and 19:05 in New York straddle UTC midnight: still one evening of hers.
    evening = date(2026, 12, 7)
    one_evening = [
        Made(uuid.uuid4(), datetime(2026, 12, 7, 23, 55, tzinfo=UTC), window_day=evening),
        Made(uuid.uuid4(), datetime(2026, 12, 8, 0, 5, tzinfo=UTC), window_day=evening),
    ]
    assert attempt_rules.distinct_windows(one_evening) == 1
    assert attempt_rules.distinct_windows([*in_class, *one_evening]) == 2


@given(histories)
def test_a_pending_callback_is_one_no_call_has_kept(history: list[Made]) -> None:
    pending = attempt_rules.pending_callback(history)
    asked = [a for a in history if a.callback_at is not None]
    if not asked:
        assert pending is None
        return
    newest = max(asked, key=lambda a: a.at).callback_at
    assert newest is not None
    kept = any(a.at >= newest for a in history)
    assert pending == (None if kept else newest)


@given(histories, st.sampled_from(list(TaskReason)))
def test_only_a_safe_conversation_or_a_sent_letter_completes(
    history: list[Made], reason: TaskReason
) -> None:
    """S6: a call where it was not safe to talk never completes a contact. A check-in is also
    completed by the text she chose over calls (services/check_ins), and so is a status update
    (issue 20 item 8); a safety concern by its referral to the victim services program (NY
    OPDV, seeds/000); nothing else is."""
    letter = reason in attempt_rules.LETTER_REASONS
    texted = reason in (TaskReason.PERIODIC_CHECK_IN, TaskReason.STATUS_UPDATE)
    referred = reason is TaskReason.SAFETY_CONCERN
    bears = any(
        a.outcome == Outcome.REACHED_SAFE
        or (letter and a.channel == Channel.MAIL)
        or (texted and a.outcome == Outcome.TEXT_SENT)
        or (referred and a.outcome == Outcome.REFERRED_TO_VICTIM_SERVICES)
        for a in history
    )
    refused = attempt_rules.why_not_completed(reason, history)
    assert (refused is None) == bears


@given(histories, st.integers(1, 4))
def test_unreachable_needs_the_windows_and_her_callback_tried(
    history: list[Made], minimum: int
) -> None:
    refused = attempt_rules.why_not_unreachable(minimum, history)
    enough = attempt_rules.distinct_windows(history) >= minimum
    tried = attempt_rules.pending_callback(history) is None
    assert (refused is None) == (enough and tried)
    if refused is not None:
        assert refused.fields["resolution"] in {"callback not yet tried", "too few attempts"}


@given(histories, st.integers(1, 3))
def test_an_unreachable_closure_falls_once_anyone_reached_her(
    history: list[Made], minimum: int
) -> None:
    """S14: a closure stands only on its basis; reaching her takes "unreachable" away."""
    stands = attempt_rules.closure_stands(
        TaskStatus.UNREACHABLE, TaskReason.INTAKE, minimum, history
    )
    reached = any(a.outcome in attempt_rules.REACHED for a in history)
    if reached:
        assert not stands
    else:
        assert stands == (attempt_rules.why_not_unreachable(minimum, history) is None)
    assert attempt_rules.closure_stands(TaskStatus.OPEN, TaskReason.INTAKE, minimum, history)


# --- an attempt's time (S14) -----------------------------------------------------------------

instants = st.integers(min_value=-96 * 60, max_value=0).map(lambda m: NOW + timedelta(minutes=m))


@settings(max_examples=60, deadline=None)
@given(at=instants, opened=instants, late_hours=st.integers(min_value=1, max_value=72))
def test_the_flags_say_exactly_what_is_odd_about_an_attempts_time(
    at: datetime, opened: datetime, late_hours: int
) -> None:
    late = timedelta(hours=late_hours)
    flags = attempt_rules.attempt_flags(at, opened=opened, entered=NOW, late_after=late)
    assert (AttemptFlag.BEFORE_TASK_OPENED in flags) == (at < opened)
    assert (AttemptFlag.ENTERED_LATE in flags) == (NOW - at > late)
